//! `proofdesk audit`: streams the log's export (audit scope) and checks
//! every record, chain, state machine replay, audit path and batch head
//! against the chain, with a progress bar, a resume file and a saved audit
//! that `proofdesk report` reads.
//!
//! The hot loop parses each line once, hashes each record once
//! (`HashedRecord::from_value`), and keeps one small tip per ticket; a batch
//! is checked on chain (one `batchHead` call) when its last record is read.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::anchors::{AnchorEvent, anchor_events};
use super::check::{Checker, ClosedBatch, Failure, Line};
use super::http::LogClient;
use crate::anchor::Chain;
use crate::protocol::Hash32;
use crate::protocol::fields::Timestamp;
use crate::protocol::hashing::batch_head;
use crate::protocol::state::Policy;
use crate::protocol::tree;

/// `--from` / `--to`: a log index, or an RFC 3339 instant (recorded_at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Index(u64),
    Time(i64),
}

impl std::str::FromStr for Bound {
    type Err = String;
    fn from_str(s: &str) -> Result<Bound, String> {
        if let Ok(i) = s.parse::<u64>() {
            return Ok(Bound::Index(i));
        }
        Timestamp::parse_input("bound", s)
            .map(|t| Bound::Time(t.millis()))
            .map_err(|e| format!("{s:?} is neither a log index nor an RFC 3339 instant: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// indicatif bar (on a terminal).
    Bar,
    /// A plain line every few seconds (logs, CI).
    Lines,
    Quiet,
}

impl ProgressStyle {
    pub fn auto() -> ProgressStyle {
        if std::io::stderr().is_terminal() {
            ProgressStyle::Bar
        } else {
            ProgressStyle::Lines
        }
    }
}

pub struct AuditOptions {
    pub log: LogClient,
    pub log_url: String,
    pub chain: Chain,
    pub from: Option<Bound>,
    pub to: Option<Bound>,
    pub resume: Option<PathBuf>,
    /// The saved audit: every exported line, then the result.
    pub out: Option<PathBuf>,
    pub progress: ProgressStyle,
}

/// One anchored batch the audit verified, with its anchoring transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedBatch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub head: Hash32,
    pub tx: Option<Hash32>,
    pub block: Option<u64>,
}

/// What an audit found; the last line of a saved audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditResult {
    pub ok: bool,
    pub log: String,
    pub chain_id: u64,
    pub contract: String,
    pub policy: Policy,
    /// Index range audited, end exclusive.
    pub first_index: u64,
    pub end_index: u64,
    pub records: u64,
    pub tickets: u64,
    pub batches: Vec<VerifiedBatch>,
    /// Records in the log beyond the chain's nextIndex(): not anchored yet,
    /// so not audited.
    pub not_yet_anchored: u64,
    /// Tickets created before the range: their records are read but not
    /// counted (their chain start is outside the range).
    pub partial_tickets: Vec<String>,
    pub failures: Vec<Failure>,
    pub elapsed_ms: u64,
}

impl AuditResult {
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "audited records {}..{} ({} records, {} tickets, {} batches) of {} against contract {} on chain {} in {:.1} s\n",
            self.first_index,
            self.end_index,
            self.records,
            self.tickets,
            self.batches.len(),
            self.log,
            self.contract,
            self.chain_id,
            self.elapsed_ms as f64 / 1000.0
        ));
        if self.not_yet_anchored > 0 {
            s.push_str(&format!(
                "{} newer records are not anchored yet and were not audited\n",
                self.not_yet_anchored
            ));
        }
        if self.ok {
            s.push_str("✓ every record, chain, replay, path and batch head checks\n");
        } else {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &self.failures {
                *kinds.entry(&f.kind).or_default() += 1;
            }
            s.push_str(&format!("✗ {} failures:", self.failures.len()));
            for (k, n) in kinds {
                s.push_str(&format!(" {k} ×{n}"));
            }
            s.push('\n');
            if let Some(f) = self.first_failure() {
                s.push_str(&format!("first failure: {f}\n"));
            }
            s.push_str("(all failures: --json)\n");
        }
        s
    }
}

#[derive(Serialize, Deserialize)]
struct ResumeFile {
    version: u32,
    log: String,
    contract: String,
    chain_id: u64,
    policy: Policy,
    first_index: u64,
    end: u64,
    next: u64,
    out_len: u64,
    started_ms: u64,
    checker: Checker,
}

struct Progress {
    style: ProgressStyle,
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(style: ProgressStyle, total: u64, done: u64) -> Progress {
        let bar = (style == ProgressStyle::Bar).then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} records · {per_sec:0} · ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_position(done);
            b
        });
        Progress {
            style,
            bar,
            total,
            done,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    fn set(&mut self, done: u64) {
        self.done = done;
        if let Some(b) = &self.bar {
            b.set_position(done);
        } else if self.style == ProgressStyle::Lines
            && self.last_line.elapsed() >= Duration::from_secs(2)
        {
            self.last_line = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let rate = done as f64 / secs;
            let eta = if rate > 0.0 {
                (self.total.saturating_sub(done)) as f64 / rate
            } else {
                0.0
            };
            eprintln!(
                "audit: {done}/{} records, {rate:.0}/s, ETA {eta:.0} s",
                self.total
            );
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[derive(Deserialize)]
pub struct LogInfo {
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub log_size: u64,
}

struct Run {
    opts: AuditOptions,
    checker: Checker,
    chain_batches: u64,
    anchors: BTreeMap<u64, AnchorEvent>,
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl Run {
    /// The chain's word on a batch, with the log's claims compared and a
    /// mismatch localised to the record(s) that changed.
    async fn check_batch(&mut self, b: ClosedBatch) -> anyhow::Result<()> {
        if b.id >= self.chain_batches {
            self.checker.batch_checked(b, None);
            return Ok(());
        }
        let on_chain = self.opts.chain.batch_head(b.id).await?;
        let on_chain = (on_chain != Hash32::ZERO).then_some(on_chain);
        let claim = self.opts.log.batch(b.id).await.ok();
        if let Some(c) = &claim
            && (c.root != b.root || c.first_index != b.first_index || c.count != b.count)
        {
            self.checker.failures.push(Failure {
                kind: "batch_root".into(),
                index: Some(b.first_index),
                ticket: None,
                batch: Some(b.id),
                detail: format!(
                    "the log states batch {} = indices {}+{} with root {}, but its exported records give {}+{} with root {}",
                    b.id, c.first_index, c.count, c.root, b.first_index, b.count, b.root
                ),
            });
        }
        if on_chain != Some(b.head) {
            self.localise(&b, on_chain).await;
        }
        self.checker.batch_checked(b, on_chain);
        Ok(())
    }

    /// When a batch's head does not match, fetch the anchored leaves the
    /// log still serves: if they rebuild the chain's head, every position
    /// where an exported record hashes differently names a changed record.
    async fn localise(&mut self, b: &ClosedBatch, on_chain: Option<Hash32>) {
        let Some(chain_head) = on_chain else { return };
        let Ok(claim) = self.opts.log.batch(b.id).await else {
            return;
        };
        let Ok(leaves) = self.opts.log.leaves(b.id, claim.count).await else {
            return;
        };
        let Ok(root) = tree::root(&leaves) else {
            return;
        };
        if batch_head(b.id, claim.first_index, claim.count, &root) != chain_head
            || claim.first_index != b.first_index
            || leaves.len() != b.leaves.len()
        {
            return;
        }
        for (i, (anchored, exported)) in leaves.iter().zip(&b.leaves).enumerate() {
            if anchored != exported {
                let index = b.first_index + i as u64;
                self.checker.failures.push(Failure {
                    kind: "leaf".into(),
                    index: Some(index),
                    ticket: None,
                    batch: Some(b.id),
                    detail: format!(
                        "the exported record at index {index} hashes to leaf {exported}, but the anchored leaf is {anchored}: the record was changed after it was anchored"
                    ),
                });
            }
        }
    }

    fn save_resume(&mut self, meta: &ResumeMeta) -> anyhow::Result<()> {
        let Some(path) = &self.opts.resume else {
            return Ok(());
        };
        let out_len = match &mut self.out {
            Some(w) => {
                w.flush()?;
                w.get_mut().stream_position()?
            }
            None => 0,
        };
        let file = ResumeFile {
            version: 1,
            log: self.opts.log_url.clone(),
            contract: meta.contract.clone(),
            chain_id: meta.chain_id,
            policy: meta.policy,
            first_index: meta.first_index,
            end: meta.end,
            next: self.checker.next_index(),
            out_len,
            started_ms: meta.started_ms,
            checker: self.checker.clone(),
        };
        super::write_atomic(path, &serde_json::to_vec(&file)?)?;
        Ok(())
    }
}

struct ResumeMeta {
    contract: String,
    chain_id: u64,
    policy: Policy,
    first_index: u64,
    end: u64,
    started_ms: u64,
}

fn now_ms() -> u64 {
    Timestamp::now().millis().max(0) as u64
}

/// Runs the audit to the end of the range (or the first transport error).
pub async fn run(opts: AuditOptions) -> anyhow::Result<AuditResult> {
    let started = Instant::now();
    let chain_id = opts.chain.chain_id().await?;
    let contract = format!("{:#x}", opts.chain.contract);
    let anchored_end = opts.chain.next_index().await?;
    let chain_batches = opts.chain.batch_count().await?;
    let anchors = match anchor_events(&opts.chain, opts.chain.from_block).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "audit: cannot list BatchAnchored events ({e}); transactions will be missing from the report"
            );
            BTreeMap::new()
        }
    };
    let resumed: Option<ResumeFile> = match &opts.resume {
        Some(p) if p.exists() => {
            let f: ResumeFile = serde_json::from_slice(
                &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| format!("resume file {}", p.display()))?;
            if f.contract != contract || f.chain_id != chain_id || f.log != opts.log_url {
                bail!(
                    "the resume file {} is for {} / {} on chain {}; delete it to start over",
                    p.display(),
                    f.log,
                    f.contract,
                    f.chain_id
                );
            }
            Some(f)
        }
        _ => None,
    };
    let mut not_yet_anchored = 0;
    let (query, meta, checker, out_len) = match resumed {
        Some(f) => {
            eprintln!(
                "audit: resuming at index {} of {}..{}",
                f.next, f.first_index, f.end
            );
            let meta = ResumeMeta {
                contract: contract.clone(),
                chain_id,
                policy: f.policy,
                first_index: f.first_index,
                end: f.end,
                started_ms: f.started_ms,
            };
            (
                format!("from={}&to={}&whole_batches=true", f.next, f.end),
                meta,
                Some(f.checker),
                Some(f.out_len),
            )
        }
        None => {
            let info: LogInfo = opts.log.get_json("/v1/log").await?;
            let q = match (&opts.from, &opts.to) {
                (Some(Bound::Time(_)), _) | (_, Some(Bound::Time(_))) => {
                    let mut q = "whole_batches=true".to_owned();
                    for (name, b) in [("since", &opts.from), ("until", &opts.to)] {
                        match b {
                            Some(Bound::Time(ms)) => {
                                let t =
                                    Timestamp::from_millis(*ms).context("instant out of range")?;
                                q.push_str(&format!("&{name}={t}"));
                            }
                            Some(Bound::Index(_)) => {
                                bail!("--from and --to must both be indices or both instants")
                            }
                            None => {}
                        }
                    }
                    q
                }
                (from, to) => {
                    let from = match from {
                        Some(Bound::Index(i)) => *i,
                        _ => 0,
                    };
                    let to = match to {
                        Some(Bound::Index(i)) => (*i).min(anchored_end),
                        _ => anchored_end,
                    };
                    format!("from={from}&to={to}&whole_batches=true")
                }
            };
            not_yet_anchored = info.log_size.saturating_sub(anchored_end);
            let meta = ResumeMeta {
                contract: contract.clone(),
                chain_id,
                policy: info.policy,
                first_index: 0,
                end: 0,
                started_ms: now_ms(),
            };
            (q, meta, None, None)
        }
    };
    let mut meta = meta;
    let (resp, range) = opts.log.export(&query).await?;
    let (first, served_end) = range.context("the log's export has no Proofdesk-Range header")?;
    // Only what the chain anchors is audited.
    let end = served_end.min(anchored_end);
    let checker = match checker {
        Some(c) => c,
        None => {
            meta.first_index = first;
            meta.end = end;
            Checker::new(first, meta.policy)
        }
    };
    let out = match (&opts.out, out_len) {
        (Some(p), Some(len)) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?;
            f.set_len(len)?;
            let mut f = f;
            f.seek(std::io::SeekFrom::Start(len))?;
            Some(std::io::BufWriter::with_capacity(1 << 20, f))
        }
        (Some(p), None) => Some(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        (None, _) => None,
    };
    let total = meta.end.saturating_sub(meta.first_index);
    let mut progress = Progress::new(
        opts.progress,
        total,
        checker.next_index().saturating_sub(meta.first_index),
    );
    let mut run = Run {
        opts,
        checker,
        chain_batches,
        anchors,
        out,
    };
    let mut last_save = Instant::now();
    let mut resp = resp;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut stream_error = None;
    'outer: loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                stream_error = Some(e.to_string());
                break;
            }
        };
        buf.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            if run.checker.next_index() >= end {
                break 'outer;
            }
            let raw = &buf[start..start + pos];
            start += pos + 1;
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(_) => {
                    run.checker
                        .feed_unparsable(None, "the line is not UTF-8".into());
                    continue;
                }
            };
            let parsed = Line::parse(text);
            let batch = match &parsed {
                Ok(l) => l.batch,
                Err(_) => Line::batch_hint(text),
            };
            if run.checker.closes_open_batch(batch) {
                if let Some(b) = run.checker.close_batch() {
                    run.check_batch(b).await?;
                }
                if last_save.elapsed() >= Duration::from_secs(5) {
                    run.save_resume(&meta)?;
                    last_save = Instant::now();
                }
            }
            if let Some(w) = &mut run.out {
                w.write_all(raw)?;
                w.write_all(b"\n")?;
            }
            match parsed {
                Ok(l) => run.checker.feed(l),
                Err(e) => run.checker.feed_unparsable(batch, e),
            }
            if run.checker.records.is_multiple_of(1024) {
                progress.set(run.checker.next_index().saturating_sub(meta.first_index));
            }
        }
        buf.drain(..start);
    }
    drop(resp);
    if let Some(b) = run.checker.close_batch() {
        run.check_batch(b).await?;
    }
    progress.set(run.checker.next_index().saturating_sub(meta.first_index));
    progress.finish();
    let reached = run.checker.next_index();
    if reached < end {
        run.checker.failures.push(Failure {
            kind: "index_gap".into(),
            index: Some(reached),
            ticket: None,
            batch: None,
            detail: match &stream_error {
                Some(e) => format!(
                    "the export broke off at index {reached} ({e}); records {reached}..{end} were not received"
                ),
                None => format!(
                    "the export ended at index {reached}; records {reached}..{end} are missing"
                ),
            },
        });
    }
    let Run {
        opts,
        checker,
        out,
        anchors,
        ..
    } = run;
    let verified = checker
        .verified_batches
        .iter()
        .map(|b| {
            let ev = anchors.get(&b.id);
            VerifiedBatch {
                id: b.id,
                first_index: b.first_index,
                count: b.count,
                head: b.head,
                tx: ev.map(|e| e.tx),
                block: ev.map(|e| e.block),
            }
        })
        .collect();
    let failures = checker.sorted_failures();
    let result = AuditResult {
        ok: failures.is_empty(),
        log: opts.log_url.clone(),
        chain_id,
        contract,
        policy: meta.policy,
        first_index: meta.first_index,
        end_index: end,
        records: checker.records,
        tickets: checker.tickets() as u64,
        batches: verified,
        not_yet_anchored,
        partial_tickets: checker.partial_tickets.clone(),
        failures,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    if let Some(mut w) = out {
        serde_json::to_writer(&mut w, &serde_json::json!({ "audit_result": &result }))?;
        w.write_all(b"\n")?;
        w.flush()?;
    }
    if let Some(p) = &opts.resume {
        // Finished: a later run starts over.
        let _ = std::fs::remove_file(p);
    }
    Ok(result)
}
