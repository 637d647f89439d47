//! A version 2 bundle's ticket map proof (PROTOCOL.md §15.4), and its
//! offline check: the bundle's last record anchored at or before batch B
//! is the ticket's tip in the map B's head commits, so no later record
//! anchored by B is withheld and no other version of one was anchored.

use serde::{Deserialize, Serialize};

use super::Hash32;
use super::fields::TicketHandle;
use super::map::{MapError, MapProof, Terminal, Tip, map_key};

/// The ticket's map proof at batch `batch` (B): the latest batch the log
/// had seen anchored when it served the bundle. B is listed in the
/// bundle's `batches`, with its map root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleMap {
    pub batch: u64,
    /// From the terminal's level up to the root's children; null for an
    /// empty subtree.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Option<String>>))]
    pub siblings: Vec<Option<Hash32>>,
    pub terminal: BundleTerminal,
}

impl BundleMap {
    /// A key's map proof at batch `batch`, as a bundle carries it: an
    /// inclusion's tip is not repeated (the bundle's last event anchored by
    /// `batch` is the tip).
    pub fn new(batch: u64, proof: MapProof) -> BundleMap {
        BundleMap {
            batch,
            siblings: proof.siblings,
            terminal: match proof.terminal {
                Terminal::Tip { .. } => BundleTerminal::Tip {},
                Terminal::Empty {} => BundleTerminal::Empty {},
                Terminal::Other { key, tip } => BundleTerminal::Other { key, tip },
            },
        }
    }

    /// The proof with its terminal's tip written out: `tip` is what an
    /// inclusion's terminal stands for. None for an inclusion without one.
    pub fn proof(&self, tip: Option<Tip>) -> Option<MapProof> {
        let terminal = match &self.terminal {
            BundleTerminal::Tip {} => Terminal::Tip { tip: tip? },
            BundleTerminal::Empty {} => Terminal::Empty {},
            BundleTerminal::Other { key, tip } => Terminal::Other {
                key: *key,
                tip: *tip,
            },
        };
        Some(MapProof {
            siblings: self.siblings.clone(),
            terminal,
        })
    }
}

/// Where the ticket's path ends. An inclusion repeats nothing: its tip is
/// the bundle's last record anchored at or before B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum BundleTerminal {
    /// The ticket's own leaf, whose tip is the bundle's last anchored record.
    /// (Variants with no member are written `{}`: serde checks unknown
    /// members only of struct variants.)
    Tip {},
    /// An empty subtree: the map holds no record of the ticket.
    Empty {},
    /// Another ticket's leaf alone where the ticket's path ends: absent.
    Other {
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        key: Hash32,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        tip: Tip,
    },
}

/// What a checked map proof established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MapCheck {
    /// B.
    pub batch: u64,
    /// The ticket's latest record as of B (its seq), or None: the map
    /// holds no record of the ticket at B.
    pub tip_seq: Option<u64>,
}

/// A log switches to head v2 once, at a batch id: no v1 batch may follow
/// a v2 one. `batches` are (id, has a map root).
pub(crate) fn head_versions_in_order(
    batches: impl Iterator<Item = (u64, bool)> + Clone,
) -> Option<String> {
    let first_v2 = batches.clone().filter(|b| b.1).map(|b| b.0).min()?;
    let late_v1 = batches
        .filter(|b| !b.1 && b.0 > first_v2)
        .map(|b| b.0)
        .min()?;
    Some(format!(
        "batch {late_v1} has a v1 head after batch {first_v2}'s head v2: a log switches to head v2 once (PROTOCOL.md §15.3)"
    ))
}

/// The bundle's last event anchored at or before B (batched events are a
/// prefix in index order, so it is the last with batch ≤ B), as shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastAnchored {
    pub seq: u64,
    pub leaf: Hash32,
    /// None when its record could not be read.
    pub index: Option<u64>,
    pub batch: u64,
}

/// B as the bundle lists it: absent, a v1 batch, or a v2 batch's map root.
pub(crate) enum MapBatch {
    NotListed,
    V1,
    V2(Hash32),
}

/// Checks the map proof against B's map root; the reason when it fails.
pub(crate) fn check_map(
    ticket: &TicketHandle,
    map: &BundleMap,
    listed: MapBatch,
    last: Option<LastAnchored>,
) -> Result<MapCheck, String> {
    let b = map.batch;
    let map_root = match listed {
        MapBatch::NotListed => {
            return Err(format!(
                "the map proof is at batch {b}, which is not in the bundle"
            ));
        }
        MapBatch::V1 => {
            return Err(format!(
                "the map proof is at batch {b}, whose head is v1 and commits no ticket map"
            ));
        }
        MapBatch::V2(root) => root,
    };
    let key = map_key(ticket);
    let expected = match &map.terminal {
        BundleTerminal::Tip {} => {
            let last = last.ok_or_else(|| {
                format!(
                    "the map proof says batch {b}'s map holds this ticket's latest record, \
                     but no event of the bundle is anchored at or before batch {b}"
                )
            })?;
            let index = last
                .index
                .ok_or_else(|| format!("seq {}: its record cannot be read", last.seq))?;
            Some(Tip {
                seq: last.seq,
                leaf: last.leaf,
                index,
                batch: last.batch,
            })
        }
        BundleTerminal::Empty {} | BundleTerminal::Other { .. } => None,
    };
    let proof = map
        .proof(expected)
        .ok_or_else(|| format!("the map proof at batch {b} has no tip"))?;
    match (proof.verify_key(&map_root, &key), expected) {
        (Ok(Some(tip)), _) => Ok(MapCheck {
            batch: b,
            tip_seq: Some(tip.seq),
        }),
        (Ok(None), _) => match last {
            None => Ok(MapCheck {
                batch: b,
                tip_seq: None,
            }),
            Some(last) => Err(format!(
                "the map at batch {b} proves this ticket absent, but the bundle shows its seq {} anchored in batch {}: \
                 the map skipped its records",
                last.seq, last.batch
            )),
        },
        (Err(MapError::RootMismatch { .. }), Some(tip)) => Err(format!(
            "the ticket map at batch {b} does not hold seq {} (index {}, batch {}) as this ticket's latest record: \
             a later record anchored by batch {b} is being withheld, or another version of this one was anchored \
             (PROTOCOL.md §15.4)",
            tip.seq, tip.index, tip.batch
        )),
        (Err(e), _) => Err(format!("the ticket's map proof at batch {b} fails: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_has_one_spelling() {
        for ok in [
            r#"{"kind":"tip"}"#,
            r#"{"kind":"empty"}"#,
            r#"{"kind":"other","key":"0x0000000000000000000000000000000000000000000000000000000000000001","tip":{"seq":1,"leaf":"0x0000000000000000000000000000000000000000000000000000000000000002","index":3,"batch":4}}"#,
        ] {
            assert!(serde_json::from_str::<BundleTerminal>(ok).is_ok(), "{ok}");
        }
        // An inclusion repeats nothing, and no terminal takes a member it
        // does not have: one bundle means one thing to every verifier.
        for bad in [
            r#"{"kind":"tip","tip":{"seq":1,"leaf":"0x0000000000000000000000000000000000000000000000000000000000000002","index":3,"batch":4}}"#,
            r#"{"kind":"empty","note":1}"#,
            r#"{"kind":"tip","x":null}"#,
        ] {
            assert!(
                serde_json::from_str::<BundleTerminal>(bad).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            serde_json::to_string(&BundleTerminal::Tip {}).unwrap(),
            r#"{"kind":"tip"}"#
        );
    }
}
