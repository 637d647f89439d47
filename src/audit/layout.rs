//! Where every anchored index lives, from the chain alone: pure, no I/O.
//!
//! The contract anchors batches in id order, each starting where the last
//! ended (`firstIndex == nextIndex`, `count ≥ 1`), and logs each one as
//! `BatchAnchored(batchId, firstIndex, count, root)`. Those events, read
//! through the auditor's own RPC up to one pinned block, are the audit's
//! map of the log: which indices exist, which batch holds each, and where
//! a range must start and end. Nothing the log says about its own range or
//! batches is used to decide what must be audited.

use super::anchors::AnchorEvent;

/// The chain's batches, contiguous from index 0 to `next_index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    batches: Vec<AnchorEvent>,
    next_index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "the chain's BatchAnchored events start at batch {first_seen}, but batch ids start at 0: search from the contract's deployment block (--from-block)"
    )]
    MissingStart { first_seen: u64 },
    #[error(
        "batchCount() is {batch_count}, but no BatchAnchored event was found for batch {missing}: the RPC's logs are incomplete, or --from-block is after the deployment"
    )]
    MissingBatch { batch_count: u64, missing: u64 },
    #[error(
        "the BatchAnchored event of batch {id} says first index {got}, but the batches before it end at {expected}"
    )]
    NotContiguous { id: u64, expected: u64, got: u64 },
    #[error("the BatchAnchored event of batch {id} has count 0")]
    Empty { id: u64 },
    #[error("the BatchAnchored events end at index {events_end}, but nextIndex() is {next_index}")]
    EndMismatch { events_end: u64, next_index: u64 },
}

impl Layout {
    /// The layout of `batch_count` batches ending at `next_index` (both read
    /// at one block), from the events of that contract up to that block.
    /// Events of later batches (a racing anchor) are ignored.
    pub fn new(
        events: impl IntoIterator<Item = AnchorEvent>,
        batch_count: u64,
        next_index: u64,
    ) -> Result<Layout, LayoutError> {
        let mut batches: Vec<AnchorEvent> = events
            .into_iter()
            .filter(|e| e.batch < batch_count)
            .collect();
        batches.sort_by_key(|e| e.batch);
        batches.dedup_by_key(|e| e.batch);
        if let Some(first) = batches.first()
            && first.batch != 0
        {
            return Err(LayoutError::MissingStart {
                first_seen: first.batch,
            });
        }
        let mut end = 0u64;
        for (i, e) in batches.iter().enumerate() {
            if e.batch != i as u64 {
                return Err(LayoutError::MissingBatch {
                    batch_count,
                    missing: i as u64,
                });
            }
            if e.count == 0 {
                return Err(LayoutError::Empty { id: e.batch });
            }
            if e.first_index != end {
                return Err(LayoutError::NotContiguous {
                    id: e.batch,
                    expected: end,
                    got: e.first_index,
                });
            }
            // The contract keeps indices below 2^48; a sum that overflows is
            // not a chain this contract wrote.
            end = e
                .first_index
                .checked_add(e.count)
                .ok_or(LayoutError::NotContiguous {
                    id: e.batch,
                    expected: end,
                    got: e.first_index,
                })?;
        }
        if (batches.len() as u64) < batch_count {
            return Err(LayoutError::MissingBatch {
                batch_count,
                missing: batches.len() as u64,
            });
        }
        if end != next_index {
            return Err(LayoutError::EndMismatch {
                events_end: end,
                next_index,
            });
        }
        Ok(Layout {
            batches,
            next_index,
        })
    }

    /// Every index below this is anchored.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    pub fn batch_count(&self) -> u64 {
        self.batches.len() as u64
    }

    pub fn batches(&self) -> &[AnchorEvent] {
        &self.batches
    }

    /// The anchored batch holding `index`, if it is anchored.
    pub fn batch_of(&self, index: u64) -> Option<&AnchorEvent> {
        let pos = self
            .batches
            .partition_point(|b| b.first_index + b.count <= index);
        self.batches.get(pos).filter(|b| b.first_index <= index)
    }

    /// `[first, end)` widened to whole anchored batches and cut at
    /// `next_index`: the indices an audit of that range must cover.
    pub fn whole_batches(&self, first: u64, end: u64) -> (u64, u64) {
        let end = end.min(self.next_index);
        if first >= end {
            return (end, end);
        }
        let first = self.batch_of(first).map_or(first, |b| b.first_index);
        let end = self
            .batch_of(end - 1)
            .map_or(end, |b| b.first_index + b.count);
        (first, end)
    }

    /// The batches holding any index of `[first, end)`.
    pub fn batches_in(&self, first: u64, end: u64) -> &[AnchorEvent] {
        let a = self
            .batches
            .partition_point(|b| b.first_index + b.count <= first);
        let z = self.batches.partition_point(|b| b.first_index < end);
        &self.batches[a..z.max(a)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Hash32;

    fn ev(batch: u64, first_index: u64, count: u64) -> AnchorEvent {
        AnchorEvent {
            batch,
            first_index,
            count,
            root: Hash32::ZERO,
            tx: Hash32::ZERO,
            block: 10 + batch,
        }
    }

    fn three() -> Vec<AnchorEvent> {
        vec![ev(0, 0, 4), ev(1, 4, 1), ev(2, 5, 3)]
    }

    #[test]
    fn indices_are_placed_in_their_batch() {
        let l = Layout::new(three(), 3, 8).unwrap();
        let ids: Vec<Option<u64>> = (0..9).map(|i| l.batch_of(i).map(|b| b.batch)).collect();
        assert_eq!(
            ids,
            vec![
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(2),
                Some(2),
                Some(2),
                None
            ]
        );
        assert_eq!(l.whole_batches(1, 5), (0, 5));
        assert_eq!(l.whole_batches(5, 100), (5, 8));
        assert_eq!(l.whole_batches(8, 100), (8, 8));
        assert_eq!(l.whole_batches(6, 3), (3, 3));
        assert_eq!(l.batches_in(3, 6).len(), 3);
        assert_eq!(l.batches_in(4, 5)[0].batch, 1);
        assert!(l.batches_in(8, 9).is_empty());
    }

    #[test]
    fn a_racing_later_anchor_is_ignored() {
        let mut e = three();
        e.push(ev(3, 8, 2));
        let l = Layout::new(e, 3, 8).unwrap();
        assert_eq!(l.batch_count(), 3);
    }

    #[test]
    fn incomplete_or_inconsistent_events_are_refused() {
        assert_eq!(
            Layout::new(three()[1..].to_vec(), 3, 8),
            Err(LayoutError::MissingStart { first_seen: 1 })
        );
        assert_eq!(
            Layout::new(vec![ev(0, 0, 4), ev(2, 5, 3)], 3, 8),
            Err(LayoutError::MissingBatch {
                batch_count: 3,
                missing: 1
            })
        );
        assert_eq!(
            Layout::new(three(), 4, 10),
            Err(LayoutError::MissingBatch {
                batch_count: 4,
                missing: 3
            })
        );
        assert!(matches!(
            Layout::new(vec![ev(0, 0, 4), ev(1, 5, 1)], 2, 6),
            Err(LayoutError::NotContiguous { id: 1, .. })
        ));
        assert!(matches!(
            Layout::new(vec![ev(0, 0, 0)], 1, 0),
            Err(LayoutError::Empty { id: 0 })
        ));
        assert!(matches!(
            Layout::new(three(), 3, 9),
            Err(LayoutError::EndMismatch { .. })
        ));
        // An empty log is a layout too.
        assert_eq!(Layout::new(vec![], 0, 0).unwrap().next_index(), 0);
    }
}
