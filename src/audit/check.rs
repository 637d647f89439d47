//! The streaming audit checker: pure, no I/O.
//!
//! It is fed the exported records in index order, one at a time, and keeps
//! only what later records need: each ticket's tip (next seq, last leaf,
//! state), the leaves of the batch being read, and the failures so far. A
//! batch is closed when the next record belongs to another batch (or the
//! stream ends); the caller then compares the recomputed head with
//! `batchHead` on chain and reports the result back with
//! [`Checker::batch_checked`].
//!
//! Every check reuses `protocol`: `HashedRecord::from_value` for §3,
//! `TicketState::start/apply` for §10, `tree::root` and `batch_head` for §8
//! and §6. Nothing here is a second implementation of the protocol.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::Hash32;
use crate::protocol::canonical::canonicalize;
use crate::protocol::hashing::{batch_head, leaf_hash};
use crate::protocol::record::HashedRecord;
use crate::protocol::state::{Policy, TicketState};
use crate::protocol::tree;

/// One thing that did not check, named by index, ticket and batch where known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Short machine name: record, leaf, index_gap, index_order, chain_gap,
    /// chain_prev, duplicate, state, batch_order, batch_head, batch_missing.
    pub kind: String,
    pub index: Option<u64>,
    pub ticket: Option<String>,
    pub batch: Option<u64>,
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.kind)?;
        if let Some(i) = self.index {
            write!(f, " index {i}")?;
        }
        if let Some(t) = &self.ticket {
            write!(f, " ticket {t}")?;
        }
        if let Some(b) = self.batch {
            write!(f, " batch {b}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tip {
    next_seq: u64,
    last_leaf: Hash32,
    /// None once the chain is broken: replay cannot continue meaningfully.
    state: Option<TicketState>,
    /// Index of each accepted seq, to name both sides of a duplicate.
    indices: Vec<u64>,
}

/// A batch as read from the export, closed and ready for the chain check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedBatch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    pub head: Hash32,
    /// The recomputed leaves, kept until the chain check to localise a
    /// mismatch; not saved in resume files.
    #[serde(skip)]
    pub leaves: Vec<Hash32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenBatch {
    id: Option<u64>,
    first_index: u64,
    leaves: Vec<Hash32>,
    #[serde(skip)]
    paths: Vec<Option<Vec<Hash32>>>,
}

/// The checker's whole state; serialisable so an audit can resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checker {
    policy: Policy,
    next_index: u64,
    tickets: HashMap<String, Tip>,
    open: Option<OpenBatch>,
    last_batch: Option<u64>,
    pub failures: Vec<Failure>,
    pub records: u64,
    /// Records read that are in no batch yet (not anchored, not verified).
    pub unbatched: u64,
    /// Batches whose head matched the chain: (id, first_index, count).
    pub verified_batches: Vec<ClosedBatch>,
    /// Set when the audit starts after index 0: a ticket first seen with
    /// seq > 0 was created before the range. Its chain start cannot be
    /// checked, so it is listed here, not failed, and left out of reports.
    pub partial_start: bool,
    pub partial_tickets: Vec<String>,
    /// Compare each record's served audit path with the rebuilt tree.
    pub check_paths: bool,
}

/// A parsed export line: the record as given, the log's batch claim and
/// the audit path it serves for the record.
pub struct Line {
    pub batch: Option<u64>,
    pub path: Option<Vec<Hash32>>,
    pub record: Value,
}

impl Line {
    /// Parses `{"batch": N|null, "path": "hex"|null, "record": {…}}`
    /// strictly (§5.3). `path` is the audit path's hashes concatenated, in
    /// hex without `0x` (64 digits per hash).
    pub fn parse(text: &str) -> Result<Line, String> {
        let mut v = crate::protocol::canonical::parse_strict(text).map_err(|e| e.to_string())?;
        let obj = v
            .as_object_mut()
            .ok_or("an export line is not a JSON object")?;
        let record = obj.remove("record").ok_or("an export line has no record")?;
        let batch = match obj.remove("batch") {
            Some(Value::Null) | None => None,
            Some(Value::Number(n)) => Some(n.as_u64().ok_or("batch is not an integer")?),
            Some(_) => return Err("batch is not an integer".into()),
        };
        let path = match obj.remove("path") {
            Some(Value::Null) | None => None,
            Some(Value::String(s)) => {
                let bytes = hex::decode(&s).map_err(|_| "path is not hex")?;
                if bytes.len() % 32 != 0 {
                    return Err("path is not a whole number of hashes".into());
                }
                Some(
                    bytes
                        .chunks_exact(32)
                        .map(|c| Hash32(c.try_into().unwrap_or([0; 32])))
                        .collect(),
                )
            }
            Some(_) => return Err("path is not a string".into()),
        };
        Ok(Line {
            batch,
            path,
            record,
        })
    }

    /// The batch id of a line that does not parse, if its prefix says it.
    pub fn batch_hint(text: &str) -> Option<u64> {
        let rest = text.strip_prefix("{\"batch\":")?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().ok()
    }
}

impl Checker {
    /// A checker expecting the first record at `first_index`.
    pub fn new(first_index: u64, policy: Policy) -> Checker {
        Checker {
            policy,
            next_index: first_index,
            tickets: HashMap::new(),
            open: None,
            last_batch: None,
            failures: Vec::new(),
            records: 0,
            unbatched: 0,
            verified_batches: Vec::new(),
            partial_start: first_index > 0,
            partial_tickets: Vec::new(),
            check_paths: true,
        }
    }

    /// The index the next record must carry.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    pub fn tickets(&self) -> usize {
        self.tickets.len()
    }

    fn fail(
        &mut self,
        kind: &str,
        index: Option<u64>,
        ticket: Option<&str>,
        batch: Option<u64>,
        detail: String,
    ) {
        self.failures.push(Failure {
            kind: kind.into(),
            index,
            ticket: ticket.map(str::to_owned),
            batch,
            detail,
        });
    }

    /// Whether a record of batch `batch` closes the batch being read.
    pub fn closes_open_batch(&self, batch: Option<u64>) -> bool {
        self.open.as_ref().is_some_and(|o| o.id != batch)
    }

    /// Closes the batch being read. Returns it when it is a batch (records
    /// with no batch are not anchored and have nothing to check on chain).
    pub fn close_batch(&mut self) -> Option<ClosedBatch> {
        let open = self.open.take()?;
        let id = open.id?;
        let count = open.leaves.len() as u64;
        // A batch always has a leaf here: it is opened by a record.
        let tree = tree::BatchTree::build(&open.leaves).ok()?;
        let root = tree.root();
        // The path the log serves for each record (what a complainant's
        // bundle carries) must be the one the records' tree gives.
        let paths = if self.check_paths {
            &open.paths[..]
        } else {
            &[]
        };
        for (pos, path) in paths.iter().enumerate() {
            let want = tree.audit_path(pos as u64).unwrap_or_default();
            let index = open.first_index + pos as u64;
            match path {
                Some(p) if *p == want => {}
                Some(_) => self.fail(
                    "path",
                    Some(index),
                    None,
                    Some(id),
                    format!("the audit path the log stores for index {index} does not match the batch's tree (position {pos} of {count})"),
                ),
                None => self.fail(
                    "path",
                    Some(index),
                    None,
                    Some(id),
                    format!("the log has no audit path for index {index} of batch {id}"),
                ),
            }
        }
        Some(ClosedBatch {
            id,
            first_index: open.first_index,
            count,
            root,
            head: batch_head(id, open.first_index, count, &root),
            leaves: open.leaves,
        })
    }

    /// The chain's word on a closed batch: `None` if not anchored.
    pub fn batch_checked(&mut self, batch: ClosedBatch, on_chain: Option<Hash32>) {
        let last = batch.first_index + batch.count - 1;
        match on_chain {
            Some(h) if h == batch.head => self.verified_batches.push(ClosedBatch {
                leaves: Vec::new(),
                ..batch
            }),
            Some(h) => self.fail(
                "batch_head",
                Some(batch.first_index),
                None,
                Some(batch.id),
                format!(
                    "the {} exported records {}..={} rebuild head {} (root {}), but batchHead({}) on chain is {h}: every record of the batch is unverified",
                    batch.count, batch.first_index, last, batch.head, batch.root, batch.id
                ),
            ),
            None => self.fail(
                "batch_missing",
                Some(batch.first_index),
                None,
                Some(batch.id),
                format!(
                    "batch {} (records {}..={}) is not anchored on chain",
                    batch.id, batch.first_index, last
                ),
            ),
        }
    }

    /// A line that is not even JSON: a failure at the expected index, and a
    /// zero leaf so its batch cannot match the chain either.
    pub fn feed_unparsable(&mut self, batch: Option<u64>, detail: String) {
        let index = self.next_index;
        self.fail(
            "record",
            Some(index),
            None,
            batch,
            format!("export line does not parse: {detail}"),
        );
        self.feed(Line {
            batch,
            path: None,
            record: Value::Null,
        });
        // feed() logged the null record as a second failure; keep one.
        if self
            .failures
            .last()
            .is_some_and(|f| f.index == Some(index) && f.kind == "record")
        {
            self.failures.pop();
        }
    }

    /// Checks one record. Call [`Checker::closes_open_batch`] /
    /// [`Checker::close_batch`] first when the batch changes.
    pub fn feed(&mut self, line: Line) {
        let index = self.next_index;
        self.records += 1;
        // §3: the record on its own. If it does not parse, its leaf is still
        // taken over what can be canonicalised, so the batch root check
        // fails too rather than silently skipping a leaf.
        let parsed = HashedRecord::from_value(&line.record);
        let (leaf, hashed) = match parsed {
            Ok(h) => (h.leaf, Some(h)),
            Err(e) => {
                let claimed_index = line.record.get("index").and_then(Value::as_u64);
                let ticket = line
                    .record
                    .get("ticket")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.fail(
                    "record",
                    Some(claimed_index.unwrap_or(index)),
                    ticket.as_deref(),
                    line.batch,
                    format!("record rejected (PROTOCOL §3): {e}"),
                );
                let leaf = canonicalize(&line.record)
                    .map(|c| leaf_hash(&c))
                    .unwrap_or(Hash32::ZERO);
                (leaf, None)
            }
        };
        let record_index = hashed.as_ref().map_or(index, |h| h.record.index);
        // Gap-free, in order.
        if record_index > index {
            self.fail(
                "index_gap",
                Some(index),
                hashed.as_ref().map(|h| h.record.ticket.as_str()),
                line.batch,
                format!(
                    "records {index}..={} are missing from the log (next record is {record_index})",
                    record_index - 1
                ),
            );
        } else if record_index < index {
            self.fail(
                "index_order",
                Some(record_index),
                hashed.as_ref().map(|h| h.record.ticket.as_str()),
                line.batch,
                format!("index {record_index} appears again or out of order (expected {index})"),
            );
        }
        self.next_index = record_index.max(index) + 1;
        // Batch membership: contiguous ids.
        match line.batch {
            None => self.unbatched += 1,
            Some(b) => {
                if self.open.is_none() {
                    if let Some(prev) = self.last_batch
                        && b != prev + 1
                    {
                        self.fail(
                            "batch_order",
                            Some(record_index),
                            None,
                            Some(b),
                            format!(
                                "batch {b} follows batch {prev}; expected batch {}",
                                prev + 1
                            ),
                        );
                    }
                    self.last_batch = Some(b);
                }
            }
        }
        match &mut self.open {
            Some(o) => {
                o.leaves.push(leaf);
                o.paths.push(line.path);
            }
            None => {
                self.open = Some(OpenBatch {
                    id: line.batch,
                    first_index: record_index,
                    leaves: vec![leaf],
                    paths: vec![line.path],
                })
            }
        }
        if let Some(h) = hashed {
            self.chain_and_state(h, line.batch);
        }
    }

    /// §7 ticket chain and §10 replay for a record that passed §3.
    fn chain_and_state(&mut self, h: HashedRecord, batch: Option<u64>) {
        let index = h.record.index;
        let seq = h.record.seq;
        // Borrowed: the handle is only copied when a ticket is first seen.
        let handle: &str = h.record.ticket.as_str();
        let policy = self.policy;
        let Some(tip) = self.tickets.get_mut(handle) else {
            // First sight of the ticket: it must start at seq 0.
            let mut tip = Tip {
                next_seq: seq + 1,
                last_leaf: h.leaf,
                state: None,
                indices: vec![index],
            };
            if seq != 0 && self.partial_start {
                tip.indices = Vec::new();
                tip.indices.resize(seq as usize, u64::MAX);
                tip.indices.push(index);
                self.tickets.insert(handle.to_owned(), tip);
                self.partial_tickets.push(handle.to_owned());
                return;
            }
            if seq != 0 {
                tip.indices = Vec::new();
                self.tickets.insert(handle.to_owned(), tip);
                self.fail(
                    "chain_gap",
                    Some(index),
                    Some(handle),
                    batch,
                    format!("the ticket's first record in the log has seq {seq}; seq 0..{seq} are missing"),
                );
                return;
            }
            match TicketState::start(&h.data) {
                Ok(s) => tip.state = Some(s),
                Err(e) => {
                    self.tickets.insert(handle.to_owned(), tip);
                    self.fail("state", Some(index), Some(handle), batch, e.to_string());
                    return;
                }
            }
            self.tickets.insert(handle.to_owned(), tip);
            return;
        };
        if seq < tip.next_seq {
            let earlier = tip.indices.get(seq as usize).copied();
            let detail = match earlier {
                Some(e) => format!(
                    "equivocation: (ticket, seq {seq}) is claimed by index {e} and again by index {index}"
                ),
                None => format!("(ticket, seq {seq}) appears twice; this copy is at index {index}"),
            };
            self.fail("duplicate", Some(index), Some(handle), batch, detail);
            return;
        }
        let mut broken = false;
        if seq > tip.next_seq {
            let detail = format!(
                "seq {}..={} of this ticket are missing before index {index} (seq {seq})",
                tip.next_seq,
                seq - 1
            );
            self.fail("chain_gap", Some(index), Some(handle), batch, detail);
            broken = true;
        } else if h.record.prev != tip.last_leaf {
            let detail = format!(
                "prev {} is not the leaf {} of the ticket's seq {}",
                h.record.prev,
                tip.last_leaf,
                seq.saturating_sub(1)
            );
            self.fail("chain_prev", Some(index), Some(handle), batch, detail);
            broken = true;
        }
        let tip = self.tickets.get_mut(handle).expect("present");
        if broken {
            tip.state = None;
        }
        let outcome = tip.state.as_ref().map(|s| s.apply(&h.data, &policy));
        tip.next_seq = seq + 1;
        tip.last_leaf = h.leaf;
        tip.indices.resize(seq as usize, u64::MAX);
        tip.indices.push(index);
        match outcome {
            Some(Ok(next)) => tip.state = Some(next),
            Some(Err(e)) => {
                tip.state = None;
                self.fail("state", Some(index), Some(handle), batch, e.to_string());
            }
            None => {}
        }
    }

    /// Failures sorted by index (those without an index last).
    pub fn sorted_failures(&self) -> Vec<Failure> {
        let mut f = self.failures.clone();
        f.sort_by_key(|x| x.index.unwrap_or(u64::MAX));
        f
    }
}

/// Indices whose records cannot be counted: every failing record, and
/// every record of a batch that did not match the chain.
pub fn failed_ranges(failures: &[Failure]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = Vec::new();
    for f in failures {
        match (f.kind.as_str(), f.index) {
            ("batch_head" | "batch_missing", Some(first)) => {
                let last = parse_last(&f.detail).unwrap_or(first);
                v.push((first, last));
            }
            ("index_gap" | "batch_root", _) => {}
            (_, Some(i)) => v.push((i, i)),
            _ => {}
        }
    }
    v
}

fn parse_last(detail: &str) -> Option<u64> {
    let (_, rest) = detail.split_once("..=")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::vectors;

    fn vector_lines() -> Vec<Value> {
        let v = vectors::generate();
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["record"].clone())
            .collect()
    }

    fn run(records: &[Value], batch_of: impl Fn(u64) -> u64) -> (Checker, Vec<ClosedBatch>) {
        let mut c = Checker::new(
            0,
            Policy {
                reopen_closed: true,
            },
        );
        c.check_paths = false;
        let mut closed = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let b = Some(batch_of(i as u64));
            if c.closes_open_batch(b) {
                closed.extend(c.close_batch());
            }
            c.feed(Line {
                batch: b,
                path: None,
                record: r.clone(),
            });
        }
        closed.extend(c.close_batch());
        (c, closed)
    }

    #[test]
    fn the_protocol_vectors_audit_clean() {
        let recs = vector_lines();
        let (c, closed) = run(&recs, |i| i / 10);
        assert!(c.failures.is_empty(), "{:?}", c.failures);
        assert_eq!(closed.len(), 3);
        assert_eq!((closed[2].first_index, closed[2].count), (20, 4));
        assert_eq!(c.tickets(), 2);
    }

    #[test]
    fn a_duplicated_ticket_seq_is_named_as_equivocation() {
        let mut recs = vector_lines();
        // Index 5 claims to be the same (ticket, seq) as an earlier record.
        let target = recs[5].clone();
        let earlier = recs
            .iter()
            .position(|r| r["ticket"] == target["ticket"] && r["seq"] == 1)
            .unwrap();
        let mut dup = recs[earlier].clone();
        dup["index"] = target["index"].clone();
        recs[5] = dup;
        let (c, _) = run(&recs, |_| 0);
        let d = c
            .failures
            .iter()
            .find(|f| f.kind == "duplicate")
            .expect("duplicate found");
        assert_eq!(d.index, Some(5));
        assert!(
            d.detail.contains(&format!("index {earlier}")),
            "{}",
            d.detail
        );
    }

    #[test]
    fn a_missing_record_is_a_gap_and_breaks_the_batch() {
        let mut recs = vector_lines();
        recs.remove(7);
        let (mut c, closed) = run(&recs, |_| 0);
        assert!(
            c.failures
                .iter()
                .any(|f| f.kind == "index_gap" && f.index == Some(7))
        );
        // The log's real head covered 24 leaves; these 23 cannot match it.
        let real = {
            let full = vector_lines();
            let (_, b) = run(&full, |_| 0);
            b[0].head
        };
        c.batch_checked(closed[0].clone(), Some(real));
        assert!(c.failures.iter().any(|f| f.kind == "batch_head"));
        assert!(failed_ranges(&c.failures).contains(&(0, 22)));
    }

    #[test]
    fn an_altered_record_fails_its_chain_successor() {
        let mut recs = vector_lines();
        recs[3]["data"]["group"] = Value::String("other".into());
        let (c, _) = run(&recs, |_| 0);
        // Record 3 itself is well formed; the next record of its ticket
        // points at the original leaf.
        let f = &c.failures[0];
        assert_eq!(f.kind, "chain_prev");
        assert!(f.index.unwrap() > 3);
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn export_lines_parse_strictly_with_their_path() {
        let l = Line::parse(&format!(
            r#"{{"batch":7,"path":"{}{}","record":{{"a":1}}}}"#,
            "11".repeat(32),
            "22".repeat(32)
        ))
        .unwrap();
        assert_eq!(l.batch, Some(7));
        assert_eq!(
            l.path.unwrap(),
            vec![Hash32([0x11; 32]), Hash32([0x22; 32])]
        );
        let l = Line::parse(r#"{"batch":null,"path":null,"record":{}}"#).unwrap();
        assert_eq!((l.batch, l.path), (None, None));
        // Duplicate member names are refused (PROTOCOL §5.3), as are bad paths.
        assert!(Line::parse(r#"{"batch":1,"batch":2,"record":{}}"#).is_err());
        assert!(Line::parse(r#"{"batch":1,"path":"abc","record":{}}"#).is_err());
        assert!(Line::parse(r#"{"batch":1,"path":"00","record":{}}"#).is_err());
        assert_eq!(Line::batch_hint(r#"{"batch":42,"path":garbage"#), Some(42));
    }
}
