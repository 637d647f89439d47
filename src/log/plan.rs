//! Turning a group of appends into rows, given the tips of the tickets they
//! touch, the next global index and the idempotency keys already used. Pure
//! and shared by every backend, so SQLite and PostgreSQL apply identical
//! rules; the backend only reads the inputs and writes the rows, inside one
//! transaction per group: a handful of statements whatever the group's size.

use std::collections::{HashMap, HashSet};

use super::{AppendRequest, Idempotency, Outcome, StoreError, StoredEvent, WriteResult};
use crate::protocol::Hash32;
use crate::protocol::append::{ChainTip, next_record};
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::state::Policy;

/// One caller's append within a group.
pub struct GroupMember<'a> {
    pub requests: &'a [AppendRequest],
    pub idem: Option<&'a Idempotency>,
}

/// What becomes of one member.
#[derive(Debug)]
pub enum MemberPlan {
    /// Its `count` events are the next ones in `GroupPlan::events`.
    Applied { count: usize, result: WriteResult },
    /// Its idempotency key was used before with the same body: the first
    /// answer, whose events the backend reads back.
    Replayed(WriteResult),
    /// Refused before writing anything; the rest of the group goes on.
    Rejected(StoreError),
}

/// Everything the group writes.
pub struct GroupPlan<'a> {
    pub members: Vec<MemberPlan>,
    /// New events of every applied member, in index order, as they will be
    /// stored (so nothing is re-read to answer the callers).
    pub events: Vec<StoredEvent>,
    /// Salt and text of the events sent with content, by index.
    pub contents: Vec<(u64, &'a ([u8; 32], String))>,
    /// New tip of every ticket an applied member touched.
    pub tips: Vec<(TicketHandle, ChainTip)>,
    /// Idempotency keys claimed by applied members.
    pub remember: Vec<(&'a Idempotency, WriteResult)>,
}

impl GroupPlan<'_> {
    /// How far the log grows.
    pub fn grows_by(&self) -> u64 {
        self.events.len() as u64
    }
}

/// A key's stored request hash and result.
pub type KnownKeys = HashMap<String, (Hash32, WriteResult)>;

/// Plans the members in order, as if each were appended alone after the
/// ones before it: a later member sees the tips and keys of earlier ones.
pub fn plan_group<'a>(
    members: &[GroupMember<'a>],
    first_index: u64,
    mut tips: HashMap<TicketHandle, ChainTip>,
    mut known: KnownKeys,
    recorded_at: Timestamp,
    policy: &Policy,
) -> Result<GroupPlan<'a>, StoreError> {
    let mut plan = GroupPlan {
        members: Vec::with_capacity(members.len()),
        events: Vec::new(),
        contents: Vec::new(),
        tips: Vec::new(),
        remember: Vec::new(),
    };
    let mut touched: HashSet<TicketHandle> = HashSet::new();
    for member in members {
        if let Some(idem) = member.idem
            && let Some((hash, result)) = known.get(&idem.key)
        {
            plan.members.push(if *hash == idem.request_hash {
                MemberPlan::Replayed(result.clone())
            } else {
                MemberPlan::Rejected(StoreError::IdempotencyConflict {
                    key: idem.key.clone(),
                    first: result.clone(),
                })
            });
            continue;
        }
        let next_index = first_index + plan.events.len() as u64;
        match plan_member(member.requests, next_index, &tips, recorded_at, policy) {
            Err(rejected) => plan.members.push(MemberPlan::Rejected(rejected)),
            Ok((events, new_tips)) => {
                let result = WriteResult::Events {
                    first_index: next_index,
                    count: events.len() as u64,
                };
                if let Some(idem) = member.idem {
                    known.insert(idem.key.clone(), (idem.request_hash, result.clone()));
                    plan.remember.push((idem, result.clone()));
                }
                for (handle, tip) in new_tips {
                    touched.insert(handle.clone());
                    tips.insert(handle, tip);
                }
                plan.members.push(MemberPlan::Applied {
                    count: events.len(),
                    result,
                });
                for (event, content) in events {
                    if let Some(c) = content {
                        plan.contents.push((event.index, c));
                    }
                    plan.events.push(event);
                }
            }
        }
    }
    plan.tips = touched
        .into_iter()
        .filter_map(|h| tips.remove(&h).map(|tip| (h, tip)))
        .collect();
    Ok(plan)
}

type PlannedEvents<'a> = Vec<(StoredEvent, Option<&'a ([u8; 32], String)>)>;

/// One member's events, or the first reason to refuse it. The tips of the
/// tickets it touches are overlaid, so a refused member changes nothing.
fn plan_member<'a>(
    requests: &'a [AppendRequest],
    first_index: u64,
    tips: &HashMap<TicketHandle, ChainTip>,
    recorded_at: Timestamp,
    policy: &Policy,
) -> Result<(PlannedEvents<'a>, HashMap<TicketHandle, ChainTip>), StoreError> {
    let mut overlay: HashMap<TicketHandle, ChainTip> = HashMap::new();
    let mut events = Vec::with_capacity(requests.len());
    for (item, req) in requests.iter().enumerate() {
        let tip = overlay
            .get(&req.ticket)
            .or_else(|| tips.get(&req.ticket))
            .ok_or_else(|| StoreError::TicketNotFound(req.ticket.to_string()))?;
        let index = first_index + item as u64;
        let (hashed, state) = next_record(&req.ticket, tip, &req.draft, index, recorded_at, policy)
            .map_err(|reason| StoreError::Rejected { item, reason })?;
        let next = tip.advance(hashed.leaf, state);
        overlay.insert(req.ticket.clone(), next);
        let record = String::from_utf8(hashed.canonical).map_err(StoreError::corrupt)?;
        events.push((
            StoredEvent {
                index,
                ticket: req.ticket.clone(),
                seq: hashed.record.seq,
                record,
                leaf: hashed.leaf,
                recorded_at_ms: recorded_at.millis(),
                sealed: None,
            },
            req.content.as_ref(),
        ));
    }
    Ok((events, overlay))
}

impl MemberPlan {
    /// The caller's answer once the group is written; `replayed` holds the
    /// events read back for a replay.
    pub fn answer(
        self,
        events: &mut std::vec::Drain<'_, StoredEvent>,
        replayed: Option<Vec<StoredEvent>>,
    ) -> Result<super::Appended, StoreError> {
        match self {
            MemberPlan::Rejected(e) => Err(e),
            MemberPlan::Replayed(result) => Ok(super::Appended {
                outcome: Outcome::Replayed(result),
                events: replayed.unwrap_or_default(),
            }),
            MemberPlan::Applied { count, result } => Ok(super::Appended {
                outcome: Outcome::Applied(result),
                events: events.take(count).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{EventInput, IntoRequest, new_handle};
    use serde_json::json;

    fn event(kind: &str, data: serde_json::Value) -> EventInput {
        serde_json::from_value(json!({
            "type": kind, "data": data,
            "actor": {"role": "agent", "ref": "agent-1"}, "channel": "web",
            "occurred_at": "2026-01-01T00:00:00.000Z",
        }))
        .unwrap()
    }
    fn created(t: &TicketHandle) -> AppendRequest {
        event(
            "ticket.created",
            json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}}),
        )
        .into_request(t.clone())
        .unwrap()
    }
    fn message(t: &TicketHandle) -> AppendRequest {
        event(
            "message.added",
            json!({"direction": "inbound", "visibility": "public"}),
        )
        .into_request(t.clone())
        .unwrap()
    }
    fn key(k: &str, body: u8) -> Idempotency {
        Idempotency {
            key: k.into(),
            request_hash: Hash32([body; 32]),
        }
    }
    fn plan<'a>(members: &[GroupMember<'a>], tickets: &[&TicketHandle]) -> GroupPlan<'a> {
        let tips = tickets
            .iter()
            .map(|t| ((*t).clone(), ChainTip::EMPTY))
            .collect();
        let at = Timestamp::parse_canonical("2026-01-02T00:00:00.000Z").unwrap();
        plan_group(members, 100, tips, KnownKeys::new(), at, &Policy::default()).unwrap()
    }
    fn applied(m: &MemberPlan) -> Option<(u64, u64)> {
        match m {
            MemberPlan::Applied {
                result: WriteResult::Events { first_index, count },
                ..
            } => Some((*first_index, *count)),
            _ => None,
        }
    }

    /// A group is planned exactly as its members appended one after
    /// another: indices run on, and a later member continues the chain an
    /// earlier one left on the same ticket.
    #[test]
    fn members_follow_each_other_along_the_log_and_the_chain() {
        let (a, b) = (new_handle(), new_handle());
        let first = [created(&a), created(&b)];
        let second = [message(&a)];
        let members = [
            GroupMember {
                requests: &first,
                idem: None,
            },
            GroupMember {
                requests: &second,
                idem: None,
            },
        ];
        let p = plan(&members, &[&a, &b]);
        assert_eq!(applied(&p.members[0]), Some((100, 2)));
        assert_eq!(applied(&p.members[1]), Some((102, 1)));
        let indices: Vec<u64> = p.events.iter().map(|e| e.index).collect();
        assert_eq!(indices, [100, 101, 102]);
        assert_eq!(
            (p.events[2].ticket.clone(), p.events[2].seq),
            (a.clone(), 1)
        );
        assert!(p.events[2].record.contains(&p.events[0].leaf.to_hex()));
        let mut tips: Vec<_> = p
            .tips
            .iter()
            .map(|(h, t)| (h.clone(), t.next_seq))
            .collect();
        tips.sort();
        let mut want = vec![(a.clone(), 2), (b.clone(), 1)];
        want.sort();
        assert_eq!(tips, want);
        assert_eq!(p.grows_by(), 3);
    }

    /// A refused member writes nothing and moves nothing: the next member
    /// takes the index and the tip it would have taken.
    #[test]
    fn a_refused_member_leaves_no_trace() {
        let (a, unknown) = (new_handle(), new_handle());
        let ok = [created(&a)];
        let twice = [message(&a), created(&a)];
        let nowhere = [message(&unknown)];
        let after = [message(&a)];
        let members = [
            GroupMember {
                requests: &ok,
                idem: None,
            },
            GroupMember {
                requests: &twice,
                idem: None,
            },
            GroupMember {
                requests: &nowhere,
                idem: None,
            },
            GroupMember {
                requests: &after,
                idem: None,
            },
        ];
        let p = plan(&members, &[&a]);
        assert!(matches!(
            p.members[1],
            MemberPlan::Rejected(StoreError::Rejected { item: 1, .. })
        ));
        assert!(matches!(
            p.members[2],
            MemberPlan::Rejected(StoreError::TicketNotFound(_))
        ));
        assert_eq!(applied(&p.members[3]), Some((101, 1)));
        assert_eq!(p.events[1].seq, 1);
        assert_eq!(p.tips.len(), 1);
        assert_eq!(p.tips[0].1.next_seq, 2);
    }

    /// A key used twice in one group: the same body replays the first
    /// answer, another body conflicts, and the key is stored once.
    #[test]
    fn a_key_is_claimed_once_even_within_a_group() {
        let a = new_handle();
        let first = [created(&a)];
        let retry = [created(&a)];
        let other = [message(&a)];
        let (k1, k1_again, k2) = (key("k", 1), key("k", 1), key("k", 2));
        let members = [
            GroupMember {
                requests: &first,
                idem: Some(&k1),
            },
            GroupMember {
                requests: &retry,
                idem: Some(&k1_again),
            },
            GroupMember {
                requests: &other,
                idem: Some(&k2),
            },
        ];
        let p = plan(&members, &[&a]);
        assert_eq!(applied(&p.members[0]), Some((100, 1)));
        assert!(matches!(
            &p.members[1],
            MemberPlan::Replayed(WriteResult::Events {
                first_index: 100,
                count: 1
            })
        ));
        assert!(matches!(
            p.members[2],
            MemberPlan::Rejected(StoreError::IdempotencyConflict { .. })
        ));
        assert_eq!(p.remember.len(), 1);
        assert_eq!(p.grows_by(), 1);
    }

    /// Keys already stored are honoured before anything is planned.
    #[test]
    fn a_stored_key_replays_or_conflicts() {
        let a = new_handle();
        let req = [message(&a)];
        let (same, other) = (key("old", 7), key("old", 8));
        let mut known = KnownKeys::new();
        let earlier = WriteResult::Events {
            first_index: 3,
            count: 1,
        };
        known.insert("old".into(), (Hash32([7; 32]), earlier.clone()));
        let members = [
            GroupMember {
                requests: &req,
                idem: Some(&same),
            },
            GroupMember {
                requests: &req,
                idem: Some(&other),
            },
        ];
        let tips = [(a.clone(), ChainTip::EMPTY)].into_iter().collect();
        let p = plan_group(
            &members,
            9,
            tips,
            known,
            Timestamp::now(),
            &Policy::default(),
        )
        .unwrap();
        assert!(matches!(&p.members[0], MemberPlan::Replayed(r) if *r == earlier));
        assert!(matches!(
            p.members[1],
            MemberPlan::Rejected(StoreError::IdempotencyConflict { .. })
        ));
        assert!(p.events.is_empty() && p.tips.is_empty() && p.remember.is_empty());
    }
}
