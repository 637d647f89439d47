//! The pure step behind every append: given a ticket's chain tip and the next
//! global index, turn a validated draft into the record that gets hashed.
//! Stores call this inside their write transaction, so every backend applies
//! the same rules.

use super::Hash32;
use super::event::EventData;
use super::fields::{TicketHandle, Timestamp};
use super::record::{Actor, Channel, EventRecord, HashedRecord, RecordError};
use super::state::{Policy, TicketState, TransitionError};

/// An event as a platform describes it, before it has a place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub data: EventData,
    pub actor: Actor,
    pub channel: Channel,
    pub occurred_at: Timestamp,
    pub content: Option<Hash32>,
}

/// Where a ticket's hash chain ends now.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainTip {
    pub next_seq: u64,
    pub last_leaf: Hash32,
    /// None until the ticket's first event.
    pub state: Option<TicketState>,
}

impl ChainTip {
    pub const EMPTY: ChainTip = ChainTip {
        next_seq: 0,
        last_leaf: Hash32::ZERO,
        state: None,
    };
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendRuleError {
    #[error("{0}")]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    Record(#[from] RecordError),
    #[error(
        "occurred_at {occurred_at} is more than {skew_ms} ms after the server's clock ({recorded_at})"
    )]
    FromTheFuture {
        occurred_at: Timestamp,
        recorded_at: Timestamp,
        skew_ms: i64,
    },
}

/// Tolerance for platform clocks running ahead of ours.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Builds the next record of a ticket and the ticket's state after it.
pub fn next_record(
    ticket: &TicketHandle,
    tip: &ChainTip,
    draft: &Draft,
    index: u64,
    recorded_at: Timestamp,
    policy: &Policy,
) -> Result<(HashedRecord, TicketState), AppendRuleError> {
    if draft.occurred_at.millis() > recorded_at.millis() + MAX_FUTURE_SKEW_MS {
        return Err(AppendRuleError::FromTheFuture {
            occurred_at: draft.occurred_at,
            recorded_at,
            skew_ms: MAX_FUTURE_SKEW_MS,
        });
    }
    // A CSAT rating is written without its survey, as v1 writes it.
    let data = draft.data.clone().normalized();
    let state = match &tip.state {
        None => TicketState::start(&data)?,
        Some(s) => s.apply(&data, policy)?,
    };
    let record = EventRecord {
        v: data.record_version(),
        index,
        ticket: ticket.clone(),
        seq: tip.next_seq,
        prev: tip.last_leaf,
        event_type: draft.data.event_type(),
        actor: draft.actor.clone(),
        channel: draft.channel,
        occurred_at: draft.occurred_at,
        recorded_at,
        data: data.to_value(),
        content: draft.content,
    };
    Ok((record.hashed_from(data)?, state))
}

impl ChainTip {
    /// The tip after `record` was appended with resulting `state`.
    pub fn advance(&self, leaf: Hash32, state: TicketState) -> ChainTip {
        ChainTip {
            next_seq: self.next_seq + 1,
            last_leaf: leaf,
            state: Some(state),
        }
    }
}
