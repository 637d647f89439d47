//! `proofdesk audit`: reads the chain's layout of the log at one block,
//! streams the log's export (audit scope) for exactly the anchored indices
//! to audit, and checks every record, chain, state machine replay, audit
//! path and batch head against the chain, with a progress bar, a resume
//! file and a saved audit that `proofdesk report` reads.
//!
//! What must be audited comes from the chain: every index below
//! `nextIndex()` (or the `--to` asked for) is fetched, verified and placed
//! in the batch the chain anchored it in. The log's `Proofdesk-Range`
//! header, its batch labels and its own status claims are never used to
//! decide that; anything missing is a failure naming the indices.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::chain_view::{self, BlockTimes, ChainView};
use super::check::{Checker, ClosedBatch, Failure, Line, OnChain, failed_ranges};
use super::http::LogClient;
use super::lines::{DEFAULT_MAX_LINE, LineSplitter};
use super::progress::{Progress, ProgressStyle};
use super::result::{AuditResult, Coverage, CoverageKind, VerifiedBatch};
use super::resume::{self, ResumeState};
use super::saved::SavedWriter;
use crate::anchor::Chain;
use crate::protocol::Hash32;
use crate::protocol::fields::Timestamp;
use crate::protocol::map::{batch_head_of, batch_head_v2};
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

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Index(i) => write!(f, "{i}"),
            Bound::Time(ms) => match Timestamp::from_millis(*ms) {
                Some(t) => write!(f, "{t}"),
                None => write!(f, "{ms} ms"),
            },
        }
    }
}

/// Bounds on what the log's export can make the auditor do.
#[derive(Debug, Clone, Copy)]
pub struct ExportLimits {
    /// Longest line accepted.
    pub max_line: usize,
    /// Longest wait for the next bytes.
    pub idle: Duration,
    /// Longest the whole export may take (none: as long as it makes progress).
    pub overall: Option<Duration>,
}

impl Default for ExportLimits {
    fn default() -> ExportLimits {
        ExportLimits {
            max_line: DEFAULT_MAX_LINE,
            idle: Duration::from_secs(60),
            overall: None,
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
    /// The maximum merge delay the auditor holds the log to (ms): from the
    /// platform's signed receipts or the auditor's own terms, never from
    /// the log's `/v1/log`.
    pub max_merge_delay_ms: Option<u64>,
    pub limits: ExportLimits,
    /// How often the resume file is written while the export streams.
    pub checkpoint_every: Duration,
}

/// Default [`AuditOptions::checkpoint_every`].
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
pub struct LogInfo {
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub log_size: u64,
}

fn now_ms() -> u64 {
    Timestamp::now().millis().max(0) as u64
}

/// The indices to audit: from the chain for an index range; for a time
/// range, the log's answer (the only party that knows recorded_at before
/// reading), widened to the chain's whole batches and cut at its end.
async fn coverage(opts: &AuditOptions, view: &ChainView) -> anyhow::Result<Coverage> {
    let layout = &view.layout;
    let next = layout.next_index();
    let chain_said = format!(
        "nextIndex() = {next} in {} batches at block {}",
        layout.batch_count(),
        view.block
    );
    let (kind, first, end, why) = match (&opts.from, &opts.to) {
        (Some(Bound::Time(_)), _) | (_, Some(Bound::Time(_))) => {
            let mut q = String::new();
            for (name, b) in [("since", &opts.from), ("until", &opts.to)] {
                match b {
                    Some(Bound::Time(ms)) => {
                        let t = Timestamp::from_millis(*ms).context("instant out of range")?;
                        q.push_str(&format!("&{name}={t}"));
                    }
                    Some(Bound::Index(_)) => {
                        bail!("--from and --to must both be indices or both instants")
                    }
                    None => {}
                }
            }
            let (resp, range) = opts.log.export(q.trim_start_matches('&')).await?;
            drop(resp);
            let (a, z) = range.context(
                "the log's export names no index range for that time range (no Proofdesk-Range header)",
            )?;
            let (first, end) = layout.whole_batches(a, z.max(a));
            let why = format!(
                "a time range: the log named indices {a}..{z} for recorded_at {}..{} (recorded_at is the log's clock, so the log chose them), widened to whole anchored batches: {first}..{end}; the chain says {chain_said}. Not the whole log",
                opts.from
                    .as_ref()
                    .map_or("(start)".into(), |b| b.to_string()),
                opts.to.as_ref().map_or("(end)".into(), |b| b.to_string()),
            );
            (CoverageKind::TimeRange, first, end, why)
        }
        (from, to) => {
            let asked_first = match from {
                Some(Bound::Index(i)) => *i,
                _ => 0,
            };
            let asked_end = match to {
                Some(Bound::Index(i)) => *i,
                _ => u64::MAX,
            };
            let (first, end) = layout.whole_batches(asked_first, asked_end);
            if first == 0 && end == next {
                let why = format!(
                    "the whole log as anchored: every index below nextIndex(), {chain_said}"
                );
                (CoverageKind::WholeLog, first, end, why)
            } else {
                let mut why = format!(
                    "indices {}..{} as asked, widened to whole anchored batches: {first}..{end}; the chain says {chain_said}. Not the whole log",
                    asked_first,
                    if asked_end == u64::MAX {
                        "(end)".to_owned()
                    } else {
                        asked_end.to_string()
                    }
                );
                if asked_end != u64::MAX && asked_end > next {
                    why.push_str(&format!(
                        "; indices {next}..{asked_end} are not anchored yet and were not audited"
                    ));
                }
                (CoverageKind::IndexRange, first, end, why)
            }
        }
    };
    Ok(Coverage {
        kind,
        first_index: first,
        end_index: end,
        chain_block: view.block,
        chain_next_index: next,
        chain_batches: layout.batch_count(),
        why,
    })
}

struct Run {
    opts: AuditOptions,
    view: ChainView,
    checker: Checker,
    times: BlockTimes,
    saved: Option<SavedWriter>,
    state: ResumeState,
}

impl Run {
    /// The chain's word on a batch the export has closed: its head, its
    /// anchoring block's time, and the log's own claim about it compared.
    async fn check_batch(&mut self, b: ClosedBatch) -> anyhow::Result<()> {
        let Some(ev) = self.view.layout.batches().get(b.id as usize).copied() else {
            // The checker places records only in batches of the layout.
            bail!("internal: batch {} is not in the chain's layout", b.id);
        };
        let head = self.opts.chain.batch_head(b.id).await?;
        let head = (head != Hash32::ZERO).then_some(head);
        let anchored_at_ms = Some(self.times.get(&self.opts.chain, ev.block).await?);
        let claim = self.opts.log.batch(b.id).await.ok();
        if let Some(c) = &claim
            && (c.root != b.root || c.first_index != b.first_index || c.count != b.count)
        {
            self.checker.failures.push(Failure {
                kind: "batch_root".into(),
                index: Some(b.first_index),
                last_index: None,
                ticket: None,
                batch: Some(b.id),
                detail: format!(
                    "the log states batch {} = indices {}+{} with root {}, but its exported records give {}+{} with root {}",
                    b.id, c.first_index, c.count, c.root, b.first_index, b.count, b.root
                ),
            });
        }
        let claimed_map_root = claim.as_ref().and_then(|c| c.map_root);
        let v2 = |m: &Hash32| batch_head_v2(b.id, b.first_index, b.count, &b.root, m);
        let explained = head == Some(b.head)
            || b.map_root.as_ref().map(v2) == head
            || claimed_map_root.as_ref().map(v2) == head;
        if !explained {
            self.localise(&b, head, ev.count, claimed_map_root).await;
        }
        self.checker.batch_checked(
            b,
            OnChain {
                head,
                anchored_at_ms,
                claimed_map_root,
            },
        );
        Ok(())
    }

    /// When a batch's head does not match, fetch the anchored leaves the
    /// log still serves (no more than the chain's count): if they rebuild
    /// the chain's head, every position where an exported record hashes
    /// differently names a changed record.
    async fn localise(
        &mut self,
        b: &ClosedBatch,
        on_chain: Option<Hash32>,
        count: u64,
        map_root: Option<Hash32>,
    ) {
        let Some(chain_head) = on_chain else { return };
        let Ok(leaves) = self.opts.log.leaves(b.id, count).await else {
            return;
        };
        let Ok(root) = tree::root(&leaves) else {
            return;
        };
        let head = batch_head_of(b.id, b.first_index, count, &root, map_root.as_ref());
        if head != chain_head || leaves.len() != b.leaves.len() {
            return;
        }
        for (i, (anchored, exported)) in leaves.iter().zip(&b.leaves).enumerate() {
            if anchored != exported {
                let index = b.first_index + i as u64;
                self.checker.failures.push(Failure {
                    kind: "leaf".into(),
                    index: Some(index),
                    last_index: None,
                    ticket: None,
                    batch: Some(b.id),
                    detail: format!(
                        "the exported record at index {index} hashes to leaf {exported}, but the anchored leaf is {anchored}: the record was changed after it was anchored"
                    ),
                });
            }
        }
    }

    fn save_resume(&mut self) -> anyhow::Result<()> {
        let Some(path) = &self.opts.resume else {
            return Ok(());
        };
        self.state.saved = match &mut self.saved {
            Some(w) => Some(w.mark()?),
            None => None,
        };
        self.state.checker = self.checker.clone();
        resume::save(path, &self.state)
    }

    /// One export line: saved as received, then checked.
    async fn line(&mut self, raw: &[u8]) -> anyhow::Result<()> {
        if let Some(w) = &mut self.saved {
            w.line(raw)?;
        }
        let layout = &self.view.layout;
        let closed = match std::str::from_utf8(raw)
            .map_err(|_| "the line is not UTF-8".to_owned())
            .and_then(Line::parse)
        {
            Ok(l) => self.checker.feed(l, layout),
            Err(e) => self.checker.feed_unparsable(layout, e),
        };
        if let Some(b) = closed {
            self.check_batch(b).await?;
        }
        Ok(())
    }

    /// Streams the export until every index of the range is read, the log
    /// stops, or a limit is passed; returns why it stopped early, if it did.
    async fn stream(&mut self, progress: &mut Progress) -> anyhow::Result<Option<String>> {
        let query = format!(
            "from={}&to={}",
            self.checker.next_index(),
            self.checker.end()
        );
        let (mut resp, _claimed_range) = self.opts.log.export(&query).await?;
        let limits = self.opts.limits;
        let deadline = limits.overall.map(|d| Instant::now() + d);
        let mut split = LineSplitter::new(limits.max_line);
        let mut last_save = Instant::now();
        loop {
            if self.checker.done() {
                return Ok(None);
            }
            let wait = match deadline {
                Some(d) => limits.idle.min(d.saturating_duration_since(Instant::now())),
                None => limits.idle,
            };
            let chunk = match tokio::time::timeout(wait, resp.chunk()).await {
                Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    return Ok(Some(format!(
                        "the export took longer than {} s (--export-timeout)",
                        limits.overall.unwrap_or_default().as_secs()
                    )));
                }
                Err(_) => {
                    return Ok(Some(format!(
                        "the log sent nothing for {} s",
                        limits.idle.as_secs()
                    )));
                }
                Ok(Err(e)) => return Ok(Some(e.to_string())),
                Ok(Ok(None)) => {
                    if !split.rest().is_empty() && !self.checker.done() {
                        let raw = split.rest().to_vec();
                        self.line(&raw).await?;
                    }
                    return Ok(None);
                }
                Ok(Ok(Some(c))) => c,
            };
            split.push(&chunk);
            loop {
                if self.checker.done() {
                    return Ok(None);
                }
                let range = match split.next_line() {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Ok(Some(e.to_string())),
                };
                let raw = split.bytes()[range].to_vec();
                self.line(&raw).await?;
                if self.checker.records.is_multiple_of(1024) {
                    progress.set(
                        self.checker
                            .next_index()
                            .saturating_sub(self.state.coverage.first_index),
                    );
                }
                if last_save.elapsed() >= self.opts.checkpoint_every {
                    self.save_resume()?;
                    last_save = Instant::now();
                }
            }
        }
    }
}

/// Records in verified batches, less every failed index inside them.
fn verified_records(batches: &[VerifiedBatch], failures: &[Failure]) -> u64 {
    let failed = failed_ranges(failures);
    batches
        .iter()
        .map(|b| {
            let (a, z) = (b.first_index, b.first_index + b.count - 1);
            let bad: u64 = failed
                .iter()
                .map(|&(f, l)| {
                    let (lo, hi) = (f.max(a), l.min(z));
                    if lo <= hi { hi - lo + 1 } else { 0 }
                })
                .sum();
            b.count - bad.min(b.count)
        })
        .sum()
}

/// Runs the audit over the range the chain defines (or the first transport
/// error, which is an error, not a verdict).
pub async fn run(opts: AuditOptions) -> anyhow::Result<AuditResult> {
    let started = Instant::now();
    let view = chain_view::read(&opts.chain).await?;
    let info: LogInfo = opts.log.get_json("/v1/log").await?;
    let not_yet_anchored = info.log_size.saturating_sub(view.layout.next_index());
    let (state, saved) = start(&opts, &view, &info).await?;
    let coverage = &state.coverage;
    let mut progress = Progress::new(
        opts.progress,
        coverage.end_index - coverage.first_index,
        state
            .checker
            .next_index()
            .saturating_sub(coverage.first_index),
    );
    let mut run = Run {
        checker: state.checker.clone(),
        opts,
        view,
        times: BlockTimes::default(),
        saved,
        state,
    };
    let stopped = run.drive(&mut progress).await?;
    progress.set(
        run.checker
            .next_index()
            .saturating_sub(run.state.coverage.first_index),
    );
    progress.finish();
    let fraud_proofs = super::fraud::proofs(super::fraud::Found {
        log: &run.opts.log,
        checker: &run.checker,
        chain_id: run.view.chain_id,
        contract: run.opts.chain.contract,
    })
    .await;
    let mut result = run.into_result(stopped, not_yet_anchored, started.elapsed())?;
    result.fraud_proofs = fraud_proofs;
    Ok(result)
}

/// Where a run starts: the resume file's state, with the saved audit
/// reopened at its mark; or a fresh state over the range the chain defines.
async fn start(
    opts: &AuditOptions,
    view: &ChainView,
    info: &LogInfo,
) -> anyhow::Result<(ResumeState, Option<SavedWriter>)> {
    let contract = format!("{:#x}", opts.chain.contract);
    let asked = (
        opts.from.as_ref().map(Bound::to_string),
        opts.to.as_ref().map(Bound::to_string),
    );
    let resumed = match &opts.resume {
        Some(p) => resume::load(
            p,
            &resume::Expect {
                log: &opts.log_url,
                contract: &contract,
                chain_id: view.chain_id,
                asked: &asked,
            },
        )?,
        None => None,
    };
    if let Some(state) = resumed {
        eprintln!(
            "audit: resuming at index {} of {}..{}",
            state.checker.next_index(),
            state.coverage.first_index,
            state.coverage.end_index
        );
        let saved = match (&opts.out, state.saved) {
            (Some(p), Some(mark)) => Some(SavedWriter::resume(p, mark)?),
            (Some(p), None) => bail!(
                "the resume file was written without a saved audit, so {} cannot be continued; delete the resume file to start over",
                p.display()
            ),
            (None, _) => None,
        };
        return Ok((state, saved));
    }
    let coverage = coverage(opts, view).await?;
    let checker = Checker::new(
        coverage.first_index,
        coverage.end_index,
        info.policy,
        opts.max_merge_delay_ms,
    );
    let state = ResumeState {
        version: ResumeState::VERSION,
        log: opts.log_url.clone(),
        contract,
        chain_id: view.chain_id,
        asked,
        policy: info.policy,
        coverage,
        saved: None,
        started_ms: now_ms(),
        checker,
    };
    let saved = opts.out.as_deref().map(SavedWriter::create).transpose()?;
    Ok((state, saved))
}

impl Run {
    /// Streams the export to its end (or to where the log stopped: the
    /// reason is returned), then checks the batch the last record closed.
    async fn drive(&mut self, progress: &mut Progress) -> anyhow::Result<Option<String>> {
        let stopped = if self.checker.done() {
            None
        } else {
            self.stream(progress).await?
        };
        if let Some(b) = self
            .checker
            .finish_stream(&self.view.layout, stopped.as_deref())
        {
            self.check_batch(b).await?;
        }
        Ok(stopped)
    }

    /// The verdict: what verified, batch by batch, and every failure. The
    /// saved audit is closed with it, and a finished run's resume file is
    /// removed.
    fn into_result(
        self,
        stopped: Option<String>,
        not_yet_anchored: u64,
        elapsed: Duration,
    ) -> anyhow::Result<AuditResult> {
        let Run {
            opts,
            view,
            checker,
            saved,
            state,
            ..
        } = self;
        let batches: Vec<VerifiedBatch> = checker
            .verified_batches
            .iter()
            .map(|b| {
                let ev = view.layout.batches().get(b.id as usize);
                VerifiedBatch {
                    id: b.id,
                    first_index: b.first_index,
                    count: b.count,
                    head: b.head,
                    tx: ev.map(|e| e.tx),
                    block: ev.map(|e| e.block),
                    anchored_at_ms: b.anchored_at_ms,
                }
            })
            .collect();
        let failures = checker.sorted_failures();
        let coverage = state.coverage;
        let mut result = AuditResult {
            ok: failures.is_empty(),
            log: opts.log_url.clone(),
            chain_id: view.chain_id,
            contract: state.contract,
            policy: state.policy,
            first_index: coverage.first_index,
            end_index: coverage.end_index,
            coverage,
            records: checker.records,
            verified_records: verified_records(&batches, &failures),
            tickets: checker.tickets() as u64,
            batches,
            not_yet_anchored,
            partial_tickets: checker.partial_tickets.clone(),
            failures,
            max_merge_delay_ms: checker.max_merge_delay_ms(),
            late_anchors: checker.late_anchors.clone(),
            recorded_after_anchor: checker.recorded_after_anchor.clone(),
            lines_sha256: None,
            stopped_early: stopped,
            elapsed_ms: elapsed.as_millis() as u64,
            fraud_proofs: Vec::new(),
        };
        if let Some(w) = saved {
            result.lines_sha256 = Some(w.lines_sha256());
            w.finish(&result)?;
        }
        if let Some(p) = &opts.resume
            && result.stopped_early.is_none()
        {
            // Read to the end: a later run starts over. An export that broke
            // off keeps the file, so the same command continues where the
            // last checkpoint was.
            let _ = std::fs::remove_file(p);
        }
        Ok(result)
    }
}
