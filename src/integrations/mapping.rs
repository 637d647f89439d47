//! From a vendor's view of a ticket to Proofdesk events. Pure: the caller
//! supplies the log's current ticket state and what the adapter remembers
//! of the vendor ticket (`Mirror`); the result is the events to append and
//! a note for every vendor change that was skipped or translated.
//!
//! The one rule: never ask the state machine (PROTOCOL §10) for a
//! transition it rejects. `from` always comes from the log's state, a
//! vendor "solved" becomes ticket.resolved, "closed" on an unresolved
//! ticket becomes ticket.resolved then ticket.closed, and what cannot be
//! expressed (back to new, leaving a closed ticket when the policy forbids
//! reopening) is skipped with a note in the delivery ledger.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Integration, Vendor};
use crate::protocol::event::{
    Assigned, Created, Direction, EventData, Message, Priority, PriorityChange, Rated, Reopened,
    Resolved, Status, StatusChange, Visibility,
};
use crate::protocol::fields::{Code, PseudoRef, Timestamp};
use crate::protocol::record::{Actor, Channel, Role};
use crate::protocol::state::{Policy, TicketState};

/// The Proofdesk state a vendor state maps to. `resolution` is set for
/// vendor states that close a ticket for a reason of their own (Zammad
/// "merged").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub status: Status,
    pub resolution: Option<&'static str>,
}

/// THE mapping of vendor states onto Proofdesk's (README "Vendor states").
pub fn map_state(vendor: Vendor, state: &str) -> Option<Target> {
    let s = state.trim().to_ascii_lowercase();
    let t = |status| {
        Some(Target {
            status,
            resolution: None,
        })
    };
    match (vendor, s.as_str()) {
        (_, "new") => t(Status::New),
        (_, "open") => t(Status::Open),
        (Vendor::Zendesk, "pending") => t(Status::Pending),
        (Vendor::Zendesk, "hold" | "on-hold" | "on hold") => t(Status::OnHold),
        (Vendor::Zendesk, "solved") => t(Status::Solved),
        (Vendor::Zendesk, "closed") => t(Status::Closed),
        (Vendor::Zammad, "pending reminder") => t(Status::Pending),
        (Vendor::Zammad, "pending close") => t(Status::Pending),
        (Vendor::Zammad, "closed") => t(Status::Closed),
        (Vendor::Zammad, "merged") => Some(Target {
            status: Status::Closed,
            resolution: Some("merged"),
        }),
        _ => None,
    }
}

/// A comment (Zendesk) or article (Zammad) in a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: String,
    pub text: String,
    pub public: bool,
    pub author: Option<String>,
    pub role: Role,
    pub channel: Option<Channel>,
}

/// What a delivery says about a vendor ticket, vendor-neutral. Vendor user
/// ids are still raw here; they become refs in `plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub ticket_id: String,
    pub updated_at: Option<Timestamp>,
    pub created_at: Option<Timestamp>,
    /// The vendor's state, as sent (mapped in `plan`).
    pub state: Option<String>,
    /// None when the vendor sent no priority or one we cannot map (noted).
    pub priority: Option<Priority>,
    pub priority_raw: Option<String>,
    pub requester: Option<String>,
    /// None = unassigned.
    pub assignee: Option<String>,
    pub group: Option<String>,
    /// Who made the change, when the vendor says.
    pub actor: Option<String>,
    pub channel: Channel,
    pub comment: Option<Comment>,
    /// (score, scale) of a satisfaction rating.
    pub rating: Option<(u8, u8)>,
}

/// What the adapter remembers of a vendor ticket between deliveries: the
/// vendor-side facts the log's state does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mirror {
    pub assignee: Option<String>,
    pub group: Option<String>,
    /// `updated_at` of the newest snapshot applied, in ms.
    pub updated_at_ms: Option<i64>,
    pub comments: BTreeSet<String>,
    pub rating: Option<(u8, u8)>,
}

/// One event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub data: EventData,
    pub actor: Actor,
    pub channel: Channel,
    pub occurred_at: Timestamp,
    /// Comment text, committed at append like any content.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub events: Vec<Planned>,
    pub notes: Vec<String>,
    pub mirror: Mirror,
}

fn code(s: &str) -> Option<Code> {
    Code::parse("code", s).ok()
}

/// A group code from a vendor group id: `group-<id>`, lowercased; ids
/// that do not fit a code, or that look like personal data (a number with
/// a phone's or a card's shape, crate::ingest::privacy), are hashed like
/// user ids.
fn group_code(integration: &Integration, id: &str) -> Code {
    let candidate = format!("group-{}", id.to_ascii_lowercase());
    code(&candidate)
        .filter(|c| crate::ingest::privacy::find(c.as_str()).is_none())
        .unwrap_or_else(|| {
            let r = integration.pseudonym(&format!("group:{id}"));
            code(&format!("group-{}", &r.as_str()[r.as_str().len() - 16..]))
                .unwrap_or_else(|| unreachable!("hex is a code"))
        })
}

/// The ref of the ticket's assignee; `unassigned` when there is none.
fn assignee_ref(integration: &Integration, id: Option<&str>) -> PseudoRef {
    match id {
        Some(id) => integration.pseudonym(id),
        None => PseudoRef::parse("assignee", "unassigned")
            .unwrap_or_else(|_| unreachable!("a valid ref")),
    }
}

/// Plans the events that bring the log's ticket (`state`, None before its
/// first event) in line with the snapshot.
pub fn plan(
    integration: &Integration,
    state: Option<&TicketState>,
    mirror: &Mirror,
    snap: &Snapshot,
    policy: &Policy,
    now: Timestamp,
) -> Plan {
    let mut out = Plan {
        mirror: mirror.clone(),
        ..Plan::default()
    };
    // §10.4: occurred_at may not run ahead of the server; a vendor clock
    // ahead of ours is clamped to ours.
    let at = snap.updated_at.filter(|t| *t <= now).unwrap_or(now);
    let opts = &integration.options;
    let system = Actor {
        role: Role::Integration,
        reference: PseudoRef::parse("ref", &format!("{}{}", opts.ref_prefix, integration.vendor))
            .unwrap_or_else(|_| unreachable!("checked prefix")),
    };
    let actor = match &snap.actor {
        Some(id) => Actor {
            role: if snap.requester.as_deref() == Some(id.as_str()) {
                Role::Customer
            } else {
                Role::Agent
            },
            reference: integration.pseudonym(id),
        },
        None => system.clone(),
    };
    let mut sim: TicketState;
    match state {
        Some(s) => sim = s.clone(),
        None => {
            let priority = snap.priority.unwrap_or(Priority::Normal);
            let mut labels = BTreeMap::new();
            labels.insert("helpdesk".to_owned(), integration.vendor.to_string());
            let data = EventData::Created(Created {
                category: code(&opts.category).unwrap_or_else(|| unreachable!("checked")),
                priority,
                complaint: opts.complaint,
                labels,
            });
            let creator = match &snap.requester {
                Some(id) => Actor {
                    role: Role::Customer,
                    reference: integration.pseudonym(id),
                },
                None => system.clone(),
            };
            let created_at = snap.created_at.filter(|t| *t <= now).unwrap_or(at);
            sim = TicketState::start(&data).unwrap_or_else(|_| unreachable!("created starts"));
            out.events.push(Planned {
                data,
                actor: creator,
                channel: snap.channel,
                occurred_at: created_at,
                text: None,
            });
        }
    }
    let mut push =
        |out: &mut Plan, sim: &mut TicketState, data: EventData, actor: &Actor, text| match sim
            .apply(&data, policy)
        {
            Ok(next) => {
                *sim = next;
                out.events.push(Planned {
                    data,
                    actor: actor.clone(),
                    channel: snap.channel,
                    occurred_at: at,
                    text,
                });
                true
            }
            Err(e) => {
                out.notes
                    .push(format!("skipped {}: {e}", data.event_type()));
                false
            }
        };

    // A snapshot older than one already applied must not move the ticket
    // back in time; only its new comment and rating still count.
    let stale = match (snap.updated_at, mirror.updated_at_ms) {
        (Some(t), Some(seen)) => t.millis() < seen,
        _ => false,
    };
    if stale {
        out.notes.push(format!(
            "snapshot updated at {} is older than one already applied: status, priority and assignment ignored",
            snap.updated_at.map(|t| t.to_string()).unwrap_or_default()
        ));
    }

    // Comments first: a reply usually comes with the status change it
    // caused, and the message belongs before the status moves. On a ticket
    // closed in the log the status goes first: a reply that reopens it (when
    // the policy allows) is recorded after the reopening.
    let comment_first = sim.status != Status::Closed;
    if comment_first {
        comment(integration, snap, &system, &mut out, &mut sim, &mut push);
    }

    if !stale {
        // Priority.
        match (snap.priority, &snap.priority_raw) {
            (Some(p), _) if p != sim.priority && sim.status != Status::Closed => {
                let data = EventData::PriorityChanged(PriorityChange {
                    from: sim.priority,
                    to: p,
                });
                push(&mut out, &mut sim, data, &actor, None);
            }
            (None, Some(raw)) if !raw.is_empty() && raw != "-" => {
                out.notes.push(format!(
                    "priority {raw:?} has no Proofdesk equivalent: ignored"
                ));
            }
            _ => {}
        }
        // Assignee and group.
        if (snap.assignee.as_ref(), snap.group.as_ref())
            != (out.mirror.assignee.as_ref(), out.mirror.group.as_ref())
        {
            let data = EventData::Assigned(Assigned {
                assignee: assignee_ref(integration, snap.assignee.as_deref()),
                group: snap.group.as_deref().map(|g| group_code(integration, g)),
            });
            if push(&mut out, &mut sim, data, &actor, None) {
                out.mirror.assignee = snap.assignee.clone();
                out.mirror.group = snap.group.clone();
            }
        }
        // Status.
        if let Some(raw) = &snap.state {
            match map_state(integration.vendor, raw) {
                None => out.notes.push(format!(
                    "state {raw:?} has no Proofdesk equivalent: ignored"
                )),
                Some(target) => move_status(
                    integration,
                    &mut out,
                    &mut sim,
                    &target,
                    raw,
                    &actor,
                    policy,
                    &mut push,
                ),
            }
        }
        if let Some(t) = snap.updated_at {
            out.mirror.updated_at_ms = Some(t.millis().max(out.mirror.updated_at_ms.unwrap_or(0)));
        }
    }

    if !comment_first {
        comment(integration, snap, &system, &mut out, &mut sim, &mut push);
    }

    // Satisfaction, last: it needs a solved or closed ticket.
    if let Some((score, scale)) = snap.rating
        && out.mirror.rating != Some((score, scale))
    {
        // Help desks' satisfaction ratings are CSAT (how this ticket was
        // handled), never NPS: written as v1 writes every rating.
        let data = EventData::Rated(Rated {
            score,
            scale,
            survey: None,
        });
        let rater = match &snap.requester {
            Some(id) => Actor {
                role: Role::Customer,
                reference: integration.pseudonym(id),
            },
            None => system.clone(),
        };
        if push(&mut out, &mut sim, data, &rater, None) {
            out.mirror.rating = Some((score, scale));
        }
    }
    out
}

/// A comment or article becomes message.added, once per vendor comment id.
fn comment(
    integration: &Integration,
    snap: &Snapshot,
    system: &Actor,
    out: &mut Plan,
    sim: &mut TicketState,
    push: &mut PushFn<'_>,
) {
    let Some(c) = &snap.comment else {
        return;
    };
    if out.mirror.comments.contains(&c.id) {
        // Already recorded from an earlier delivery.
        return;
    }
    if sim.status == Status::Closed {
        out.notes.push(format!(
            "skipped comment {}: the ticket is closed in the log",
            c.id
        ));
        return;
    }
    let author = match &c.author {
        Some(id) => Actor {
            role: c.role,
            reference: integration.pseudonym(id),
        },
        None => system.clone(),
    };
    let direction = match c.role {
        Role::Customer => Direction::Inbound,
        _ => Direction::Outbound,
    };
    let data = EventData::Message(Message {
        direction,
        visibility: if c.public {
            Visibility::Public
        } else {
            Visibility::Internal
        },
    });
    if push(out, sim, data, &author, Some(c.text.clone())) {
        // The article's own channel (a phone note on a web ticket).
        if let (Some(ch), Some(last)) = (c.channel, out.events.last_mut()) {
            last.channel = ch;
        }
        out.mirror.comments.insert(c.id.clone());
    }
}

type PushFn<'a> =
    dyn FnMut(&mut Plan, &mut TicketState, EventData, &Actor, Option<String>) -> bool + 'a;

#[allow(clippy::too_many_arguments)]
fn move_status(
    integration: &Integration,
    out: &mut Plan,
    sim: &mut TicketState,
    target: &Target,
    raw: &str,
    actor: &Actor,
    policy: &Policy,
    push: &mut PushFn<'_>,
) {
    use Status::*;
    let to = target.status;
    let from = sim.status;
    if from == to {
        return;
    }
    let resolution = || {
        code(target.resolution.unwrap_or(&integration.options.resolution))
            .unwrap_or_else(|| unreachable!("checked"))
    };
    let reopen = |out: &mut Plan, sim: &mut TicketState, push: &mut PushFn<'_>| {
        if sim.status == Closed && !policy.reopen_closed {
            out.notes.push(format!(
                "vendor state {raw:?} would reopen a closed ticket, and this log's policy does not allow reopening closed tickets: ignored"
            ));
            return false;
        }
        push(
            out,
            sim,
            EventData::Reopened(Reopened { reason: None }),
            actor,
            None,
        )
    };
    match to {
        New => out.notes.push(format!(
            "vendor state {raw:?} would move the ticket back to new from {from}: ignored (no ticket goes back to new)"
        )),
        Open | Pending | OnHold => {
            if matches!(from, Solved | Closed) {
                if !reopen(out, sim, push) {
                    return;
                }
                if sim.status != to {
                    out.notes.push(format!(
                        "vendor state {raw:?} on a {from} ticket: recorded as ticket.reopened then status.changed"
                    ));
                }
            }
            if sim.status != to {
                let data = EventData::StatusChanged(StatusChange {
                    from: sim.status,
                    to,
                });
                push(out, sim, data, actor, None);
            }
        }
        Solved => {
            if from == Closed {
                out.notes.push(format!(
                    "vendor state {raw:?} on a closed ticket: ignored (a closed ticket is not solved again)"
                ));
                return;
            }
            push(out, sim, EventData::Resolved(Resolved { resolution: resolution() }), actor, None);
        }
        Closed => {
            if from != Solved {
                out.notes.push(format!(
                    "vendor state {raw:?} on a {from} ticket: recorded as ticket.resolved then ticket.closed"
                ));
                if !push(out, sim, EventData::Resolved(Resolved { resolution: resolution() }), actor, None) {
                    return;
                }
            }
            push(out, sim, EventData::Closed(crate::protocol::event::Empty {}), actor, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zd() -> Integration {
        Integration::new(
            "support",
            Vendor::Zendesk,
            None,
            super::super::MappingOptions::defaults_for(Vendor::Zendesk),
        )
        .unwrap()
    }

    fn snap(state: &str) -> Snapshot {
        Snapshot {
            ticket_id: "1".into(),
            updated_at: None,
            created_at: None,
            state: Some(state.into()),
            priority: Some(Priority::Normal),
            priority_raw: Some("normal".into()),
            requester: Some("100".into()),
            assignee: None,
            group: None,
            actor: Some("200".into()),
            channel: Channel::Web,
            comment: None,
            rating: None,
        }
    }

    fn types(p: &Plan) -> Vec<&'static str> {
        p.events
            .iter()
            .map(|e| e.data.event_type().as_str())
            .collect()
    }

    /// Replays the plan through the real state machine: every plan must be
    /// accepted whatever the order of deliveries.
    fn replay(state: Option<&TicketState>, p: &Plan, policy: &Policy) -> TicketState {
        let mut it = p.events.iter();
        let mut s = match state {
            Some(s) => s.clone(),
            None => TicketState::start(&it.next().unwrap().data).unwrap(),
        };
        for e in it {
            s = s.apply(&e.data, policy).unwrap();
        }
        s
    }

    fn reachable(cur: Status, t: Status, policy: &Policy) -> bool {
        use Status::*;
        t == cur
            || match t {
                New => false,
                Open | Pending | OnHold => cur != Closed || policy.reopen_closed,
                Solved => cur != Closed,
                Closed => true,
            }
    }

    #[test]
    fn every_vendor_state_sequence_is_accepted_by_the_state_machine() {
        let zm = Integration::new(
            "helpdesk",
            Vendor::Zammad,
            None,
            super::super::MappingOptions::defaults_for(Vendor::Zammad),
        )
        .unwrap();
        let cases = [
            (
                zd(),
                vec![
                    "new", "open", "pending", "hold", "solved", "closed", "bogus",
                ],
            ),
            (
                zm,
                vec![
                    "new",
                    "open",
                    "pending reminder",
                    "pending close",
                    "closed",
                    "merged",
                    "removed",
                ],
            ),
        ];
        for (i, states) in &cases {
            for policy in [
                Policy {
                    reopen_closed: false,
                },
                Policy {
                    reopen_closed: true,
                },
            ] {
                // Every sequence of three vendor states, starting from nothing.
                for &a in states {
                    for &b in states {
                        for &c in states {
                            let now = Timestamp::now();
                            let mut state: Option<TicketState> = None;
                            let mut mirror = Mirror::default();
                            for s in [a, b, c] {
                                let p = plan(i, state.as_ref(), &mirror, &snap(s), &policy, now);
                                let next = replay(state.as_ref(), &p, &policy);
                                if let Some(t) = map_state(i.vendor, s) {
                                    let cur = state.as_ref().map_or(Status::New, |st| st.status);
                                    if reachable(cur, t.status, &policy) {
                                        assert_eq!(
                                            next.status, t.status,
                                            "{a}->{b}->{c} at {s}: {:?}",
                                            p.notes
                                        );
                                    } else {
                                        assert_eq!(
                                            next.status, cur,
                                            "{a}->{b}->{c} at {s}: {:?}",
                                            p.notes
                                        );
                                        assert!(!p.notes.is_empty(), "a skipped change is noted");
                                    }
                                }
                                state = Some(next);
                                mirror = p.mirror;
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn closed_on_an_open_ticket_is_resolved_then_closed() {
        let i = zd();
        let now = Timestamp::now();
        let p0 = plan(
            &i,
            None,
            &Mirror::default(),
            &snap("open"),
            &Policy::default(),
            now,
        );
        assert_eq!(types(&p0), ["ticket.created", "status.changed"]);
        let s = replay(None, &p0, &Policy::default());
        let p = plan(
            &i,
            Some(&s),
            &p0.mirror,
            &snap("closed"),
            &Policy::default(),
            now,
        );
        assert_eq!(types(&p), ["ticket.resolved", "ticket.closed"]);
        assert!(
            p.notes[0].contains("ticket.resolved then ticket.closed"),
            "{:?}",
            p.notes
        );
        // Then a late "open": the policy forbids reopening, so it is noted.
        let s = replay(Some(&s), &p, &Policy::default());
        let late = plan(
            &i,
            Some(&s),
            &p.mirror,
            &snap("open"),
            &Policy::default(),
            now,
        );
        assert!(late.events.is_empty());
        assert!(
            late.notes[0].contains("does not allow reopening"),
            "{:?}",
            late.notes
        );
    }

    #[test]
    fn a_reply_that_reopens_a_closed_ticket_follows_the_reopening() {
        let i = zd();
        let now = Timestamp::now();
        let policy = Policy {
            reopen_closed: true,
        };
        let p = plan(&i, None, &Mirror::default(), &snap("closed"), &policy, now);
        let s = replay(None, &p, &policy);
        let mut reply = snap("open");
        reply.comment = Some(Comment {
            id: "c9".into(),
            text: "it happened again".into(),
            public: true,
            author: Some("100".into()),
            role: Role::Customer,
            channel: None,
        });
        let p2 = plan(&i, Some(&s), &p.mirror, &reply, &policy, now);
        assert_eq!(types(&p2), ["ticket.reopened", "message.added"]);
        // Without the policy the reply is skipped, and both are noted.
        let p3 = plan(&i, Some(&s), &p.mirror, &reply, &Policy::default(), now);
        assert!(p3.events.is_empty());
        assert_eq!(p3.notes.len(), 2, "{:?}", p3.notes);
    }

    #[test]
    fn stale_snapshots_do_not_move_the_ticket_back() {
        let i = zd();
        let now = Timestamp::now();
        let mut newer = snap("solved");
        newer.updated_at = Some(Timestamp::parse_input("t", "2026-01-01T10:00:00Z").unwrap());
        let p = plan(
            &i,
            None,
            &Mirror::default(),
            &newer,
            &Policy::default(),
            now,
        );
        let s = replay(None, &p, &Policy::default());
        let mut older = snap("open");
        older.updated_at = Some(Timestamp::parse_input("t", "2026-01-01T09:00:00Z").unwrap());
        older.comment = Some(Comment {
            id: "c1".into(),
            text: "late comment".into(),
            public: true,
            author: Some("100".into()),
            role: Role::Customer,
            channel: None,
        });
        let p2 = plan(&i, Some(&s), &p.mirror, &older, &Policy::default(), now);
        assert_eq!(types(&p2), ["message.added"]);
        assert!(p2.notes[0].contains("older than one already applied"));
    }

    #[test]
    fn refs_are_keyed_and_stable() {
        let a = zd();
        let b = zd();
        assert_eq!(a.pseudonym("42"), a.pseudonym("42"));
        assert_ne!(a.pseudonym("42"), b.pseudonym("42"), "per-integration key");
        assert!(a.pseudonym("42").as_str().starts_with("zd_"));
        assert_eq!(a.pseudonym("42").as_str().len(), 3 + 32);
    }
}
