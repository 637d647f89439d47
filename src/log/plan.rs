//! Turning a list of append requests into rows, given the tips of the
//! tickets they touch and the next global index. Pure and shared by every
//! backend, so SQLite and PostgreSQL apply identical rules; the backend only
//! supplies the tips and writes the rows, inside its transaction.

use std::collections::HashMap;

use super::{AppendRequest, StoreError};
use crate::protocol::append::{ChainTip, next_record};
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::record::HashedRecord;
use crate::protocol::state::Policy;

pub struct PlannedEvent<'a> {
    pub hashed: HashedRecord,
    /// Salt and text, borrowed from the request.
    pub content: Option<&'a ([u8; 32], String)>,
}

pub struct Plan<'a> {
    pub events: Vec<PlannedEvent<'a>>,
    /// New tip of every ticket the requests touched.
    pub tips: HashMap<TicketHandle, ChainTip>,
}

pub fn plan_appends<'a>(
    requests: &'a [AppendRequest],
    first_index: u64,
    mut tips: HashMap<TicketHandle, ChainTip>,
    recorded_at: Timestamp,
    policy: &Policy,
) -> Result<Plan<'a>, StoreError> {
    let mut events = Vec::with_capacity(requests.len());
    for (item, req) in requests.iter().enumerate() {
        let tip = tips
            .get(&req.ticket)
            .ok_or_else(|| StoreError::TicketNotFound(req.ticket.to_string()))?;
        let index = first_index + item as u64;
        let (hashed, state) = next_record(&req.ticket, tip, &req.draft, index, recorded_at, policy)
            .map_err(|reason| StoreError::Rejected { item, reason })?;
        let next = tip.advance(hashed.leaf, state);
        tips.insert(req.ticket.clone(), next);
        events.push(PlannedEvent {
            hashed,
            content: req.content.as_ref(),
        });
    }
    Ok(Plan { events, tips })
}
