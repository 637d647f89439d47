//! The ticket state machine: which event may follow which, and why not.
//!
//! States: new → open / pending / on_hold (status.changed among these),
//! → solved (ticket.resolved only), → closed (ticket.closed, from solved only).
//! solved → open through ticket.reopened; closed → open only when the policy
//! allows reopening closed tickets. Nothing but ticket.reopened and
//! satisfaction.rated is accepted on a closed ticket; no ticket goes back to new.

use serde::{Deserialize, Serialize};

use super::event::{EventData, EventType, Priority, Status};

/// Operator policy the machine consults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    /// Whether ticket.reopened is accepted on a closed ticket.
    pub reopen_closed: bool,
}

/// What the machine knows of a ticket after some prefix of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketState {
    pub status: Status,
    pub priority: Priority,
    pub complaint: bool,
    pub acknowledged: bool,
    pub escalation_level: u8,
    /// Resolution code of the latest ticket.resolved, cleared on reopen.
    pub resolution: Option<String>,
    pub final_response: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the first event of a ticket must be ticket.created, not {0}")]
    MustStartWithCreated(EventType),
    #[error("ticket.created can only be a ticket's first event")]
    AlreadyCreated,
    #[error(
        "{event} is not accepted on a closed ticket: only satisfaction.rated is, and ticket.reopened when the policy allows reopening closed tickets"
    )]
    TicketClosed { event: EventType },
    #[error("this ticket is closed and the policy does not allow reopening closed tickets")]
    ReopenClosedNotAllowed,
    #[error("status.changed claims from={claimed} but the ticket is {actual}")]
    StatusFromMismatch { claimed: Status, actual: Status },
    #[error("status.changed cannot move to {to}: use {use_instead}")]
    StatusTargetReserved { to: Status, use_instead: EventType },
    #[error("status.changed from {0} to {0} changes nothing")]
    StatusUnchanged(Status),
    #[error("status.changed cannot leave {0}: a solved ticket is reopened with ticket.reopened")]
    StatusLeavingSolved(Status),
    #[error("status.changed cannot move a ticket back to new (it is {0})")]
    StatusBackToNew(Status),
    #[error("priority.changed claims from={claimed} but the ticket's priority is {actual}")]
    PriorityFromMismatch { claimed: Priority, actual: Priority },
    #[error("priority.changed from {0} to {0} changes nothing")]
    PriorityUnchanged(Priority),
    #[error("the ticket was already acknowledged")]
    AlreadyAcknowledged,
    #[error("escalation level {got} is not above the current level {current}")]
    EscalationNotHigher { got: u8, current: u8 },
    #[error("ticket.resolved needs an unresolved ticket, but it is {0}")]
    NotResolvable(Status),
    #[error("ticket.reopened needs a solved or closed ticket, but it is {0}")]
    NotReopenable(Status),
    #[error("ticket.closed needs a solved ticket (resolve it first), but it is {0}")]
    NotClosable(Status),
    #[error("satisfaction.rated needs a solved or closed ticket, but it is {0}")]
    RatingBeforeResolution(Status),
}

impl TicketState {
    /// State after a ticket's first event.
    pub fn start(first: &EventData) -> Result<TicketState, TransitionError> {
        match first {
            EventData::Created(c) => Ok(TicketState {
                status: Status::New,
                priority: c.priority,
                complaint: c.complaint,
                acknowledged: false,
                escalation_level: 0,
                resolution: None,
                final_response: None,
            }),
            other => Err(TransitionError::MustStartWithCreated(other.event_type())),
        }
    }

    /// State after one more event, or the precise reason it may not follow.
    pub fn apply(
        &self,
        event: &EventData,
        policy: &Policy,
    ) -> Result<TicketState, TransitionError> {
        use TransitionError as E;
        let status = self.status;
        // A closed ticket takes only a reopen or a late satisfaction rating.
        if status == Status::Closed
            && !matches!(event, EventData::Reopened(_) | EventData::Rated(_))
        {
            return Err(E::TicketClosed {
                event: event.event_type(),
            });
        }
        let mut next = self.clone();
        match event {
            EventData::Created(_) => return Err(E::AlreadyCreated),
            EventData::Acknowledged(_) => {
                if self.acknowledged {
                    return Err(E::AlreadyAcknowledged);
                }
                next.acknowledged = true;
            }
            EventData::Message(_) | EventData::Assigned(_) | EventData::FinalResponse(_) => {
                if let EventData::FinalResponse(f) = event {
                    next.final_response = Some(f.outcome.as_str().to_owned());
                }
            }
            EventData::PriorityChanged(p) => {
                if p.from != self.priority {
                    return Err(E::PriorityFromMismatch {
                        claimed: p.from,
                        actual: self.priority,
                    });
                }
                if p.to == p.from {
                    return Err(E::PriorityUnchanged(p.to));
                }
                next.priority = p.to;
            }
            EventData::StatusChanged(s) => {
                if s.from != status {
                    return Err(E::StatusFromMismatch {
                        claimed: s.from,
                        actual: status,
                    });
                }
                match s.to {
                    Status::Solved => {
                        return Err(E::StatusTargetReserved {
                            to: s.to,
                            use_instead: EventType::TicketResolved,
                        });
                    }
                    Status::Closed => {
                        return Err(E::StatusTargetReserved {
                            to: s.to,
                            use_instead: EventType::TicketClosed,
                        });
                    }
                    _ => {}
                }
                if status == Status::Solved {
                    return Err(E::StatusLeavingSolved(status));
                }
                if s.to == Status::New && status != Status::New {
                    return Err(E::StatusBackToNew(status));
                }
                if s.to == status {
                    return Err(E::StatusUnchanged(status));
                }
                next.status = s.to;
            }
            EventData::Escalated(e) => {
                if e.level <= self.escalation_level {
                    return Err(E::EscalationNotHigher {
                        got: e.level,
                        current: self.escalation_level,
                    });
                }
                next.escalation_level = e.level;
            }
            EventData::Resolved(r) => {
                if matches!(status, Status::Solved | Status::Closed) {
                    return Err(E::NotResolvable(status));
                }
                next.status = Status::Solved;
                next.resolution = Some(r.resolution.as_str().to_owned());
            }
            EventData::Reopened(_) => match status {
                Status::Solved => {}
                Status::Closed if policy.reopen_closed => {}
                Status::Closed => return Err(E::ReopenClosedNotAllowed),
                other => return Err(E::NotReopenable(other)),
            },
            EventData::Closed(_) => {
                if status != Status::Solved {
                    return Err(E::NotClosable(status));
                }
                next.status = Status::Closed;
            }
            EventData::Rated(_) => {
                if !matches!(status, Status::Solved | Status::Closed) {
                    return Err(E::RatingBeforeResolution(status));
                }
            }
        }
        if let EventData::Reopened(_) = event {
            next.status = Status::Open;
            next.resolution = None;
        }
        Ok(next)
    }

    /// Replays a whole history from its first event.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a EventData>,
        policy: &Policy,
    ) -> Result<TicketState, (usize, TransitionError)> {
        let mut iter = events.into_iter();
        let first = iter.next().ok_or((
            0,
            TransitionError::MustStartWithCreated(EventType::TicketCreated),
        ))?;
        let mut state = TicketState::start(first).map_err(|e| (0, e))?;
        for (i, e) in iter.enumerate() {
            state = state.apply(e, policy).map_err(|err| (i + 1, err))?;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::*;
    use serde_json::json;

    fn ev(t: EventType, data: serde_json::Value) -> EventData {
        EventData::parse(t, &data).unwrap()
    }
    fn created() -> EventData {
        ev(
            EventType::TicketCreated,
            json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}}),
        )
    }
    fn resolved() -> EventData {
        ev(EventType::TicketResolved, json!({"resolution": "upheld"}))
    }
    fn closed() -> EventData {
        ev(EventType::TicketClosed, json!({}))
    }
    fn reopened() -> EventData {
        ev(EventType::TicketReopened, json!({"reason": null}))
    }

    #[test]
    fn a_full_lifecycle_is_accepted() {
        let p = Policy::default();
        let history = vec![
            created(),
            ev(EventType::TicketAcknowledged, json!({})),
            ev(
                EventType::StatusChanged,
                json!({"from": "new", "to": "open"}),
            ),
            ev(
                EventType::TicketEscalated,
                json!({"level": 1, "reason": "regulatory"}),
            ),
            resolved(),
            ev(
                EventType::SatisfactionRated,
                json!({"score": 4, "scale": 5}),
            ),
            closed(),
        ];
        let s = TicketState::replay(&history, &p).unwrap();
        assert_eq!(s.status, Status::Closed);
        assert_eq!(s.resolution.as_deref(), Some("upheld"));
    }

    #[test]
    fn invalid_transitions_say_why() {
        let p = Policy::default();
        let s = TicketState::start(&created()).unwrap();
        assert_eq!(
            s.apply(&closed(), &p),
            Err(TransitionError::NotClosable(Status::New))
        );
        assert_eq!(
            s.apply(&created(), &p),
            Err(TransitionError::AlreadyCreated)
        );
        let bad_from = ev(
            EventType::StatusChanged,
            json!({"from": "open", "to": "pending"}),
        );
        assert_eq!(
            s.apply(&bad_from, &p),
            Err(TransitionError::StatusFromMismatch {
                claimed: Status::Open,
                actual: Status::New
            })
        );
        let to_solved = ev(
            EventType::StatusChanged,
            json!({"from": "new", "to": "solved"}),
        );
        assert!(matches!(
            s.apply(&to_solved, &p),
            Err(TransitionError::StatusTargetReserved { .. })
        ));
        let solved = s.apply(&resolved(), &p).unwrap();
        assert_eq!(
            solved.apply(&resolved(), &p),
            Err(TransitionError::NotResolvable(Status::Solved))
        );
        let closed_state = solved.apply(&closed(), &p).unwrap();
        let msg = ev(
            EventType::MessageAdded,
            json!({"direction": "inbound", "visibility": "public"}),
        );
        assert!(matches!(
            closed_state.apply(&msg, &p),
            Err(TransitionError::TicketClosed { .. })
        ));
        assert!(TicketState::start(&msg).is_err());
    }

    #[test]
    fn reopening_a_closed_ticket_is_a_policy_choice() {
        let s = TicketState::start(&created()).unwrap();
        let closed_state = s
            .apply(&resolved(), &Policy::default())
            .unwrap()
            .apply(&closed(), &Policy::default())
            .unwrap();
        assert_eq!(
            closed_state.apply(&reopened(), &Policy::default()),
            Err(TransitionError::ReopenClosedNotAllowed)
        );
        let reopened_state = closed_state
            .apply(
                &reopened(),
                &Policy {
                    reopen_closed: true,
                },
            )
            .unwrap();
        assert_eq!(reopened_state.status, Status::Open);
        assert_eq!(reopened_state.resolution, None);
        assert_eq!(
            s.apply(&reopened(), &Policy::default()),
            Err(TransitionError::NotReopenable(Status::New))
        );
    }
}
