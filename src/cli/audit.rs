//! `proofdesk monitor`, `proofdesk audit` and `proofdesk report`: argument
//! parsing and output; the work is in `proofdesk::audit`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::Context;
use chrono::DateTime;

use proofdesk::anchor::Chain;
use proofdesk::audit::http::LogClient;
use proofdesk::audit::kpi::{DEFAULT_BACKDATE_TOLERANCE_MS, Zone};
use proofdesk::audit::kpi::{Limits, Period};
use proofdesk::audit::lines::DEFAULT_MAX_LINE;
use proofdesk::audit::monitor::{DEFAULT_MAX_BATCH_LEAVES, MonitorOptions, Stop};
use proofdesk::audit::progress::ProgressStyle;
use proofdesk::audit::render::ReportOptions;
use proofdesk::audit::run::{AuditOptions, Bound, CHECKPOINT_EVERY, ExportLimits};
use proofdesk::protocol::fields::Timestamp;

#[derive(clap::Args)]
pub struct ChainArgs {
    /// Your own JSON-RPC endpoint (nothing the log says is trusted).
    #[arg(long)]
    rpc: String,
    /// The SupportAnchor contract the log anchors to.
    #[arg(long, value_parser = super::parse_contract)]
    contract: Address,
    /// Block to start searching BatchAnchored events from (deployment block).
    #[arg(long, default_value_t = 0)]
    from_block: u64,
    /// Per-call chain timeout, seconds.
    #[arg(long, default_value_t = super::DEFAULT_RPC_TIMEOUT_SECS)]
    rpc_timeout: u64,
}

impl ChainArgs {
    pub fn chain(&self) -> anyhow::Result<Chain> {
        let mut c = Chain::connect(
            &self.rpc,
            self.contract,
            Duration::from_secs(self.rpc_timeout.max(1)),
        )?;
        c.from_block = self.from_block;
        Ok(c)
    }
}

/// Re-check every batch anchored on chain from the leaf hashes the log serves.
#[derive(clap::Args)]
pub struct MonitorArgs {
    /// Base URL of the log (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    log: String,
    #[command(flatten)]
    chain: ChainArgs,
    /// Where to keep the monitor's place (JSON, written atomically).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Keep watching for new batches.
    #[arg(long)]
    follow: bool,
    /// Seconds between checks when following.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// Serve Prometheus metrics here while following (e.g. 127.0.0.1:9464).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// When following: report a batch the log keeps failing to serve as
    /// unverifiable after this many seconds (exit 1).
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    give_up_after: u64,
    /// Most leaves a batch may have (a dishonest anchorer can anchor any
    /// count); a larger batch is reported.
    #[arg(long, default_value_t = DEFAULT_MAX_BATCH_LEAVES)]
    max_batch_leaves: u64,
    /// An API key with the audit scope: the monitor then reads each batch's
    /// records instead of its leaves and replays the ticket map, checking
    /// every head v2's map root (docs/PROTOCOL.md §15.8). Without it, the
    /// map is not checked.
    #[arg(long, env = "PROOFDESK_AUDIT_KEY")]
    key: Option<String>,
}

pub async fn monitor(a: MonitorArgs) -> anyhow::Result<ExitCode> {
    let replay_map = a.key.is_some();
    if !replay_map {
        eprintln!(
            "monitor: no --key: the leaves are checked, the ticket map is not (an audit key lets the monitor replay it)"
        );
    }
    let opts = MonitorOptions {
        log: LogClient::new(&a.log, a.key.clone())?,
        replay_map,
        chain: a.chain.chain()?,
        state_file: a.state,
        follow: a.follow,
        interval: Duration::from_secs(a.interval.max(1)),
        metrics_listen: a.metrics_listen,
        verbose: true,
        give_up_after: Duration::from_secs(a.give_up_after),
        max_batch_leaves: a.max_batch_leaves,
    };
    match proofdesk::audit::monitor::run(opts).await? {
        Stop::CaughtUp(s) => {
            match s.next_index {
                0 => println!("✓ no batch anchored on chain yet"),
                n => println!(
                    "✓ {} batches on chain verified (log indices 0–{})",
                    s.next_batch,
                    n - 1
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Stop::Inconsistent { batch, detail } => {
            println!("✗ batch {batch}: {detail}");
            Ok(ExitCode::from(1))
        }
        Stop::Unverifiable { batch, detail } => {
            println!("✗ batch {batch} is unverifiable: {detail}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Export the whole log (audit scope) and re-verify every record against the chain.
///
/// What must be audited comes from the chain: every index below the
/// contract's nextIndex() (or the --to you give) must be served and verify.
/// Exits 0 when everything checks, 1 when anything failed or is missing, 2
/// when the audit could not run (log or RPC unreachable, bad arguments).
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Base URL of the log (e.g. https://proofs.example.com).
    #[arg(long)]
    log: String,
    /// An API key with the audit scope.
    #[arg(long, env = "PROOFDESK_AUDIT_KEY")]
    key: String,
    #[command(flatten)]
    chain: ChainArgs,
    /// First index, or an RFC 3339 instant (recorded_at).
    #[arg(long)]
    from: Option<Bound>,
    /// End index (exclusive), or an RFC 3339 instant.
    #[arg(long)]
    to: Option<Bound>,
    /// Resume file: progress is saved there and picked up again.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Save the audited records and the result here, for `proofdesk report`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the report (JSON, CSV, HTML) into this directory.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the result, with every failure, as JSON.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// The maximum merge delay you hold the log to, seconds (from the
    /// platform's signed receipts, or your terms): records anchored later
    /// than recorded_at + this are flagged. Without it, reports take every
    /// record as recorded when its block was.
    #[arg(long, value_name = "SECONDS")]
    max_merge_delay: Option<u64>,
    /// Longest export line accepted, bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE)]
    max_line_bytes: usize,
    /// Longest wait for the log's next bytes, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    export_idle_timeout: u64,
    /// Longest the whole export may take, seconds (default: no limit while
    /// it makes progress).
    #[arg(long, value_name = "SECONDS")]
    export_timeout: Option<u64>,
    /// Where fraud proofs are written (fraud-proof-N.json), when the audit
    /// finds something a document can show to anyone: check one with
    /// `proofdesk verify --fraud-proof FILE`.
    #[arg(long, value_name = "DIR", default_value = "audit-evidence")]
    evidence_dir: PathBuf,
}

fn mmd_ms(seconds: Option<u64>) -> anyhow::Result<Option<u64>> {
    seconds
        .map(|s| {
            s.checked_mul(1000)
                .filter(|ms| *ms <= i64::MAX as u64)
                .context("--max-merge-delay is too large")
        })
        .transpose()
}

pub async fn audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    let out = match (&a.out, &a.report) {
        (Some(o), _) => Some(o.clone()),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir)?;
            Some(dir.join("audit.jsonl"))
        }
        (None, None) => None,
    };
    let opts = AuditOptions {
        log: LogClient::new(&a.log, Some(a.key.clone()))?,
        log_url: a.log.trim_end_matches('/').to_owned(),
        chain: a.chain.chain()?,
        from: a.from,
        to: a.to,
        resume: a.resume,
        out: out.clone(),
        progress: if a.quiet {
            ProgressStyle::Quiet
        } else {
            ProgressStyle::auto()
        },
        max_merge_delay_ms: mmd_ms(a.max_merge_delay)?,
        limits: ExportLimits {
            max_line: a.max_line_bytes.max(1024),
            idle: Duration::from_secs(a.export_idle_timeout.max(1)),
            overall: a.export_timeout.map(Duration::from_secs),
        },
        checkpoint_every: CHECKPOINT_EVERY,
    };
    let result = proofdesk::audit::run::run(opts).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", result.render());
    }
    if !result.fraud_proofs.is_empty() {
        std::fs::create_dir_all(&a.evidence_dir)
            .with_context(|| format!("creating {}", a.evidence_dir.display()))?;
    }
    for (n, proof) in result.fraud_proofs.iter().enumerate() {
        let path = a.evidence_dir.join(format!("fraud-proof-{n}.json"));
        proofdesk::audit::write_atomic(&path, serde_json::to_string_pretty(proof)?.as_bytes())?;
        eprintln!(
            "fraud proof written to {} (anyone can check it: proofdesk verify --fraud-proof {} --rpc <their RPC> --contract <the contract>)",
            path.display(),
            path.display()
        );
    }
    if let (Some(dir), Some(saved)) = (&a.report, &out) {
        if result.ok {
            let r = proofdesk::audit::render::report_from_saved(
                saved,
                Period::default(),
                Limits::default(),
                ReportOptions::default(),
            )?;
            proofdesk::audit::report_files::write_all(&r, dir)?;
            eprintln!("report written to {}", dir.join("report.html").display());
        } else {
            eprintln!(
                "no report: the audit failed (`proofdesk report --audit {} --partial` computes figures over the verified records only)",
                saved.display()
            );
        }
    }
    Ok(if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Handling KPIs from a saved audit: JSON, CSV and a self-contained HTML page.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// A saved audit (`proofdesk audit --out FILE`).
    #[arg(long)]
    audit: PathBuf,
    /// Directory for report.json, report.csv, breaches.csv, report.html.
    #[arg(long, default_value = "proofdesk-report")]
    out_dir: PathBuf,
    /// Tickets created at or after this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Tickets created before this instant (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Acknowledgement limit, days.
    #[arg(long, default_value_t = 5)]
    ack_days: u32,
    /// FCA DISP final-response limit, days (8 weeks).
    #[arg(long, default_value_t = 56)]
    disp_days: u32,
    /// MiCA RTS 2025/294 final-response limit, calendar months.
    #[arg(long, default_value_t = 2)]
    mica_months: u32,
    /// Compute figures even though the audit failed: over the verified
    /// records only, listing every failed or missing index and every ticket
    /// left out.
    #[arg(long)]
    partial: bool,
    /// Flag acknowledgements, replies, final responses and resolutions dated
    /// more than this many minutes before the log was told of them.
    #[arg(long, value_name = "MINUTES", default_value_t = DEFAULT_BACKDATE_TOLERANCE_MS / 60_000)]
    backdate_tolerance: i64,
    /// Also give the hour-of-day and weekday figures in this time zone
    /// (an IANA name such as Asia/Shanghai, or an offset such as +08:00);
    /// they are always given in UTC.
    #[arg(long)]
    tz: Option<Zone>,
}

fn instant(s: &Option<String>) -> anyhow::Result<Option<i64>> {
    s.as_deref()
        .map(|s| {
            Timestamp::parse_input("instant", s)
                .map(|t| t.millis())
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .transpose()
}

pub fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let period = Period {
        since_ms: instant(&a.since)?,
        until_ms: instant(&a.until)?,
        as_of_ms: 0,
    };
    let limits = Limits {
        ack_days: a.ack_days,
        disp_final_days: a.disp_days,
        mica_final_months: a.mica_months,
    };
    let options = ReportOptions {
        partial: a.partial,
        backdate_tolerance_ms: a.backdate_tolerance.max(0).saturating_mul(60_000),
        zone: a.tz,
    };
    let r = proofdesk::audit::render::report_from_saved(&a.audit, period, limits, options)
        .with_context(|| format!("reading {}", a.audit.display()))?;
    proofdesk::audit::report_files::write_all(&r, &a.out_dir)?;
    let o = &r.kpis.overall;
    let as_of = DateTime::from_timestamp_millis(r.kpis.period.as_of_ms).unwrap_or_default();
    println!(
        "{} tickets ({} complaints) from {} verified records; {} failures not counted; as of {as_of}",
        o.tickets,
        o.complaints,
        r.source.records_counted,
        r.unverified.failures.len()
    );
    println!("coverage: {}", r.source.coverage.why);
    if let Some(caveat) = &r.unverified.caveat {
        println!(
            "⚠ partial: {caveat}; {} tickets left out",
            r.unverified.excluded_tickets.len()
        );
    }
    println!(
        "wrote {}/report.{{json,csv,html}} and breaches.csv",
        a.out_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
