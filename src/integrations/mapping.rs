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

use super::{Integration, Unmapped, UnmappedReason, Vendor};
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

/// What a vendor state means here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    To(Target),
    /// The admin mapped it to `ignore`: no event, and not unmapped either.
    Ignore,
}

fn to(status: Status) -> Option<Mapped> {
    Some(Mapped::To(Target {
        status,
        resolution: None,
    }))
}

/// A word of `MappingOptions::states` (checked when the options are set).
fn state_word(word: &str) -> Option<Mapped> {
    match word {
        "new" => to(Status::New),
        "open" => to(Status::Open),
        "pending" => to(Status::Pending),
        "on_hold" => to(Status::OnHold),
        "solved" => to(Status::Solved),
        "closed" => to(Status::Closed),
        "merged" => Some(Mapped::To(Target {
            status: Status::Closed,
            resolution: Some("merged"),
        })),
        "ignore" => Some(Mapped::Ignore),
        _ => None,
    }
}

/// THE mapping of vendor states onto Proofdesk's (README "Vendor states"):
/// by id through the integration's `states` option (Zammad), else by the
/// vendor's default name. None: unmapped.
pub fn map_state(
    integration: &Integration,
    name: Option<&str>,
    id: Option<&str>,
) -> Option<Mapped> {
    if let Some(word) = id.and_then(|id| integration.options.states.get(id)) {
        return state_word(word);
    }
    let s = name?.trim().to_ascii_lowercase();
    match (integration.vendor, s.as_str()) {
        (_, "new") => to(Status::New),
        (_, "open") => to(Status::Open),
        (Vendor::Zendesk, "pending") => to(Status::Pending),
        (Vendor::Zendesk, "hold" | "on-hold" | "on hold") => to(Status::OnHold),
        (Vendor::Zendesk, "solved") => to(Status::Solved),
        (Vendor::Zendesk, "closed") => to(Status::Closed),
        (Vendor::Zammad, "pending reminder") => to(Status::Pending),
        (Vendor::Zammad, "pending close") => to(Status::Pending),
        (Vendor::Zammad, "closed") => to(Status::Closed),
        (Vendor::Zammad, "merged") => state_word("merged"),
        _ => None,
    }
}

/// What the admin can do about a state that maps to nothing.
fn unknown_state(integration: &Integration, name: Option<&str>, id: Option<&str>) -> Unmapped {
    let name = name.unwrap_or("");
    let detail = match (integration.vendor, id) {
        (Vendor::Zammad, Some(id)) => format!(
            "Zammad state {id} ({name:?}) has no Proofdesk equivalent: map it with the integration option {{\"states\": {{\"{id}\": \"…\"}}}} (one of {}), e.g. proofdesk integrations update {} --options '{{\"states\": {{\"{id}\": \"closed\"}}}}'",
            super::STATE_WORDS.join(", "),
            integration.name
        ),
        (Vendor::Zammad, None) => format!(
            "Zammad state {name:?} has no Proofdesk equivalent and the payload has no state_id to map it by"
        ),
        (Vendor::Zendesk, _) => format!(
            "Zendesk status {name:?} has no Proofdesk equivalent (new, open, pending, hold, solved and closed do); a trigger template renders statuses in the requester's language: connect the event webhook instead (README \"Connect Zendesk\")"
        ),
    };
    Unmapped::new(UnmappedReason::UnknownState, detail)
}

/// Parsed delivery: a vendor ticket's state, or something not mapped.
#[derive(Debug)]
pub enum Parsed {
    Snapshot(Box<Snapshot>),
    Unmapped(Unmapped),
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
    /// When the vendor last changed the ticket: orders snapshots.
    pub updated_at: Option<Timestamp>,
    /// When this change happened, where the vendor says more precisely
    /// than `updated_at` (a Zendesk event's `time`); else `updated_at`.
    pub occurred_at: Option<Timestamp>,
    pub created_at: Option<Timestamp>,
    /// The vendor's state, as sent (mapped in `plan`).
    pub state: Option<String>,
    /// The vendor's id of that state (Zammad `state_id`).
    pub state_id: Option<String>,
    /// None when the vendor sent no priority or one we cannot map (noted).
    pub priority: Option<Priority>,
    pub priority_raw: Option<String>,
    pub requester: Option<String>,
    /// Whether assignee and group are in this delivery at all (a Zendesk
    /// rating says nothing about them); one that is not is left as it is.
    pub assignee_known: bool,
    pub group_known: bool,
    /// None = unassigned.
    pub assignee: Option<String>,
    pub group: Option<String>,
    /// Who made the change, when the vendor says.
    pub actor: Option<String>,
    pub channel: Channel,
    pub comment: Option<Comment>,
    /// (score, scale) of a satisfaction rating.
    pub rating: Option<(u8, u8)>,
    /// What the parser already found unmappable (a rating value).
    pub unmapped: Vec<Unmapped>,
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
    /// A rating that arrived before the log had the ticket solved (the
    /// rating trigger and the status event race): applied once it is.
    pub pending_rating: Option<(u8, u8)>,
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
    /// Vendor changes skipped or translated, harmlessly.
    pub notes: Vec<String>,
    /// What is not in the log and should be (see `Unmapped`).
    pub unmapped: Vec<Unmapped>,
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
        unmapped: snap.unmapped.clone(),
        ..Plan::default()
    };
    // §10.4: occurred_at may not run ahead of the server; a vendor clock
    // ahead of ours is clamped to ours.
    let at = snap
        .occurred_at
        .or(snap.updated_at)
        .filter(|t| *t <= now)
        .unwrap_or(now);
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
                let fix = match integration.vendor {
                    Vendor::Zammad => format!(
                        "map its id with the integration option \"priorities\" (low, normal, high or urgent), e.g. proofdesk integrations update {} --options '{{\"priorities\": {{\"4\": \"urgent\"}}}}'",
                        integration.name
                    ),
                    Vendor::Zendesk => "a trigger template renders priorities in the requester's language: connect the event webhook instead (README \"Connect Zendesk\")".to_owned(),
                };
                out.unmapped.push(Unmapped::new(
                    UnmappedReason::UnknownPriority,
                    format!("priority {raw:?} has no Proofdesk equivalent: {fix}"),
                ));
            }
            _ => {}
        }
        // Assignee and group; what the delivery does not say stays.
        let assignee = if snap.assignee_known {
            snap.assignee.clone()
        } else {
            out.mirror.assignee.clone()
        };
        let group = if snap.group_known {
            snap.group.clone()
        } else {
            out.mirror.group.clone()
        };
        if (assignee.as_ref(), group.as_ref())
            != (out.mirror.assignee.as_ref(), out.mirror.group.as_ref())
        {
            let data = EventData::Assigned(Assigned {
                assignee: assignee_ref(integration, assignee.as_deref()),
                group: group.as_deref().map(|g| group_code(integration, g)),
            });
            if push(&mut out, &mut sim, data, &actor, None) {
                out.mirror.assignee = assignee;
                out.mirror.group = group;
            }
        }
        // Status.
        if snap.state.is_some() || snap.state_id.is_some() {
            let raw = snap.state.clone().unwrap_or_default();
            match map_state(integration, snap.state.as_deref(), snap.state_id.as_deref()) {
                None => out.unmapped.push(unknown_state(
                    integration,
                    snap.state.as_deref(),
                    snap.state_id.as_deref(),
                )),
                Some(Mapped::Ignore) => out.notes.push(format!(
                    "state {raw:?} ({}) is mapped to ignore",
                    snap.state_id.as_deref().unwrap_or("no id")
                )),
                Some(Mapped::To(target)) => move_status(
                    integration,
                    &mut out,
                    &mut sim,
                    &target,
                    &raw,
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

    // Satisfaction, last: it needs a solved or closed ticket. One that
    // came too early waits in the mirror for the status that allows it.
    let rating = snap.rating.or(out.mirror.pending_rating);
    if let Some((score, scale)) = rating
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
        if matches!(sim.status, Status::Solved | Status::Closed) {
            if push(&mut out, &mut sim, data, &rater, None) {
                out.mirror.rating = Some((score, scale));
                out.mirror.pending_rating = None;
            }
        } else if out.mirror.pending_rating != Some((score, scale)) {
            out.mirror.pending_rating = Some((score, scale));
            out.notes.push(format!(
                "satisfaction rating {score}/{scale} kept until the ticket is solved in the log (it is {})",
                sim.status
            ));
        }
    } else if rating.is_some() {
        out.mirror.pending_rating = None;
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
        out.unmapped.push(Unmapped::new(
            UnmappedReason::CommentOnClosedTicket,
            format!(
                "comment {} was not recorded: the ticket is closed in the log, which takes no message (a late delivery, or a reply to a closed ticket; with --reopen-closed a reopening vendor state records it)",
                c.id
            ),
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
            out.unmapped.push(Unmapped::new(
                UnmappedReason::ReopenNotAllowed,
                format!(
                    "vendor state {raw:?} would reopen a closed ticket, and this log's policy does not allow reopening closed tickets (proofdesk serve --reopen-closed)"
                ),
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
            occurred_at: None,
            created_at: None,
            state: Some(state.into()),
            state_id: None,
            priority: Some(Priority::Normal),
            priority_raw: Some("normal".into()),
            requester: Some("100".into()),
            assignee_known: true,
            group_known: true,
            assignee: None,
            group: None,
            actor: Some("200".into()),
            channel: Channel::Web,
            comment: None,
            rating: None,
            unmapped: Vec::new(),
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
                                if let Some(Mapped::To(t)) = map_state(i, Some(s), None) {
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
                                        assert!(
                                            !(p.notes.is_empty() && p.unmapped.is_empty()),
                                            "a skipped change is noted"
                                        );
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
        assert_eq!(late.unmapped[0].reason, UnmappedReason::ReopenNotAllowed);
        assert!(
            late.unmapped[0].detail.contains("does not allow reopening"),
            "{:?}",
            late.unmapped
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
        // Without the policy the reply is not recorded, and both are said.
        let p3 = plan(&i, Some(&s), &p.mirror, &reply, &Policy::default(), now);
        assert!(p3.events.is_empty());
        let reasons: Vec<_> = p3.unmapped.iter().map(|u| u.reason).collect();
        assert_eq!(
            reasons,
            [
                UnmappedReason::ReopenNotAllowed,
                UnmappedReason::CommentOnClosedTicket
            ],
            "{:?}",
            p3.unmapped
        );
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

    /// A renamed Zammad state is read by its id when mapped, by its default
    /// name otherwise, and is unmapped (with the fix) when neither.
    #[test]
    fn zammad_states_map_by_id_then_by_default_name() {
        let mut options = super::super::MappingOptions::defaults_for(Vendor::Zammad);
        options.states.insert("2".into(), "open".into());
        options.states.insert("8".into(), "on_hold".into());
        options.states.insert("6".into(), "ignore".into());
        let zm = Integration::new("helpdesk", Vendor::Zammad, None, options).unwrap();
        let on = |name: &str, id: &str| map_state(&zm, Some(name), Some(id));
        assert_eq!(on("in Bearbeitung", "2"), to(Status::Open));
        assert_eq!(on("waiting for vendor", "8"), to(Status::OnHold));
        assert_eq!(on("removed", "6"), Some(Mapped::Ignore));
        assert_eq!(on("pending close", "7"), to(Status::Pending));
        assert_eq!(on("gelöst", "9"), None);
        let now = Timestamp::now();
        let mut s = snap("gelöst");
        s.state_id = Some("9".into());
        let p = plan(&zm, None, &Mirror::default(), &s, &Policy::default(), now);
        assert_eq!(types(&p), ["ticket.created"]);
        assert_eq!(p.unmapped.len(), 1);
        assert_eq!(p.unmapped[0].reason, UnmappedReason::UnknownState);
        assert!(
            p.unmapped[0].detail.contains(
                r#"proofdesk integrations update helpdesk --options '{"states": {"9": "closed"}}'"#
            ),
            "{}",
            p.unmapped[0].detail
        );
        // Mapped to ignore: no event, not unmapped, a note.
        let mut s = snap("removed");
        s.state_id = Some("6".into());
        let p2 = plan(&zm, None, &Mirror::default(), &s, &Policy::default(), now);
        assert!(p2.unmapped.is_empty() && p2.notes[0].contains("mapped to ignore"));
    }

    /// The rating trigger and the status event race: a rating that comes
    /// first waits in the mirror and follows the resolution.
    #[test]
    fn a_rating_before_the_resolution_waits_for_it() {
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
        let s0 = replay(None, &p0, &Policy::default());
        let mut rating = snap("open");
        rating.state = None;
        rating.priority = None;
        rating.priority_raw = None;
        rating.assignee_known = false;
        rating.group_known = false;
        rating.rating = Some((1, 1));
        let p1 = plan(&i, Some(&s0), &p0.mirror, &rating, &Policy::default(), now);
        assert!(p1.events.is_empty() && p1.unmapped.is_empty());
        assert_eq!(p1.mirror.pending_rating, Some((1, 1)));
        assert!(
            p1.notes[0].contains("kept until the ticket is solved"),
            "{:?}",
            p1.notes
        );
        let p2 = plan(
            &i,
            Some(&s0),
            &p1.mirror,
            &snap("solved"),
            &Policy::default(),
            now,
        );
        assert_eq!(types(&p2), ["ticket.resolved", "satisfaction.rated"]);
        assert_eq!(p2.mirror.pending_rating, None);
        assert_eq!(p2.mirror.rating, Some((1, 1)));
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
