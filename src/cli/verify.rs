//! `proofdesk verify`: fetch or read a bundle, bring the user's own
//! expectations (contract, RPCs, ticket, receipts, disclosures, merge
//! delay), and print the report. The exit status is the verdict class
//! (docs/PROTOCOL.md §13.1, the CLI section of docs/VERIFIER.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Context, bail};

use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::disclosure::Disclosure;
use proofdesk::protocol::fields::TicketHandle;
use proofdesk::verify::inputs::{
    UrlTicket, parse_many, parse_receipts, proof_url_of_page_link, ticket_in_url,
};
use proofdesk::verify::{
    DEFAULT_LOG_WINDOW, Deployments, MAX_USER_MMD_MS, RpcInput, TicketSource, Verdict,
    VerifyOptions, VerifyReport, parse_bundle, verify_bundle,
};

/// Default cap on a bundle's size (download or file), 64 MiB: about 40,000
/// events (a record and its audit path: 1.6 kB each in a ticket of 100,000
/// events, BENCHMARKS.md), far past any real ticket, and a bound on what a
/// server can make the verifier hold (about 5 × the bundle's size).
pub const DEFAULT_MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

const EXIT_CODES: &str = "\
Exit status (the verdict class, docs/PROTOCOL.md §13.1):
  0  valid       every check passes, an event is anchored, the contract is yours
                 (--contract) or on the deployment list, and the RPCs are yours
  1  invalid     a check failed (forgery, mismatch, a disagreement between RPCs);
                 also when nothing is anchored yet (pending: \"NOT YET ANCHORED\")
  2  error       could not verify: unreadable input, an RPC down, a bundle over
                 --max-bundle-bytes, no contract to check against, bad arguments
  3  consistent  every check passes, but the contract came from the bundle
                 (--trust-bundle-contract): not independently checked
  4  absent      a bundle with no events whose ticket map proof, at a batch
                 anchored on chain, shows the log had no record of the handle";

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct VerifyArgs {
    /// A bundle file, or the http(s) URL of /v1/tickets/{handle}/proof.
    #[arg(required_unless_present = "fraud_proof")]
    bundle: Option<String>,
    /// Check a fraud proof (docs/PROTOCOL.md §15.7, as `proofdesk audit`
    /// writes them) instead of a bundle: exit 0 when the chain confirms it,
    /// 1 when it does not show what it claims.
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    fraud_proof: Option<PathBuf>,
    /// Your own JSON-RPC endpoint for the chain. Repeat it (or separate URLs
    /// with commas in the environment variable) to read several: they are
    /// compared at one common block, and any disagreement fails.
    #[arg(
        long,
        env = "PROOFDESK_VERIFY_RPC",
        value_delimiter = ',',
        required = true
    )]
    rpc: Vec<String>,
    /// The contract you trust: the address the platform publishes. Without
    /// it, a contract on the deployment list is used.
    #[arg(long, env = "PROOFDESK_TRUSTED_CONTRACT", value_parser = super::parse_contract)]
    contract: Option<Address>,
    /// Without --contract, and with a contract on no deployment list, accept
    /// the one the bundle names. The result is then at best "consistent"
    /// (exit 3): the records match a contract the log chose.
    #[arg(long, conflicts_with = "contract")]
    trust_bundle_contract: bool,
    /// A reviewed deployment list to use instead of the one built in
    /// (deployments/deployments.json).
    #[arg(long, value_name = "FILE")]
    deployments: Option<PathBuf>,
    /// The ticket you expect (default: the handle in the bundle URL, decoded
    /// as the server decodes it).
    #[arg(long)]
    ticket: Option<String>,
    /// A receipt you hold: as the API returned it (v1 {"receipt",
    /// "signature"}; v2 also "group", "position", "path"), the whole answer
    /// of POST /v1/tickets/{handle}/events as saved, a bulk answer, or an
    /// array of these. Repeatable.
    #[arg(long = "receipt", value_name = "FILE")]
    receipts: Vec<PathBuf>,
    /// A content disclosure ({"ticket", "index", "seq", "salt",
    /// "content"}) to check against its record. Repeatable.
    #[arg(long = "disclose", value_name = "FILE")]
    disclosures: Vec<PathBuf>,
    /// The maximum merge delay you hold the log to, seconds. Without it the
    /// delay is bounded by your receipts, else by nothing: the bundle's own
    /// figure is shown, never used to call an anchor timely.
    #[arg(long, value_name = "SECONDS")]
    max_merge_delay: Option<u64>,
    /// Largest block range per eth_getLogs query, and the search on either
    /// side of the block the log claims.
    #[arg(long, default_value_t = DEFAULT_LOG_WINDOW)]
    log_window: u64,
    /// Per-request RPC timeout, seconds.
    #[arg(long, default_value_t = super::DEFAULT_RPC_TIMEOUT_SECS)]
    rpc_timeout: u64,
    /// Refuse a bundle larger than this many bytes (download or file).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUNDLE_BYTES)]
    max_bundle_bytes: u64,
    /// Print the report as JSON (an error as {"verdict": "error", "error"}).
    #[arg(long)]
    json: bool,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / 1_048_576.0)
}

/// Downloads the bundle, streaming: stops at the cap instead of holding
/// whatever the server sends.
async fn fetch(url: &str, timeout: Duration, cap: u64) -> anyhow::Result<String> {
    let too_large = || {
        anyhow::anyhow!(
            "the bundle at {url} is larger than {cap} bytes ({}): refused. If the ticket really is that large, \
             raise the cap with --max-bundle-bytes",
            mib(cap)
        )
    };
    let download = async {
        let mut resp = reqwest::Client::builder()
            .timeout(timeout)
            .build()?
            .get(url)
            .send()
            .await
            .with_context(|| format!("fetching {url}"))?;
        if !resp.status().is_success() {
            bail!("fetching {url}: HTTP {}", resp.status());
        }
        let announced = resp.content_length();
        if announced.is_some_and(|n| n > cap) {
            return Err(too_large());
        }
        // Room for what the server announced (never past the cap): a large
        // bundle is not copied on every doubling.
        let mut body: Vec<u8> =
            Vec::with_capacity(announced.map_or(0, |n| usize::try_from(n).unwrap_or(0)));
        while let Some(chunk) = resp
            .chunk()
            .await
            .with_context(|| format!("fetching {url}"))?
        {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).with_context(|| format!("the bundle at {url} is not UTF-8"))
    };
    tokio::time::timeout(timeout, download)
        .await
        .map_err(|_| anyhow::anyhow!("fetching {url}: no complete answer within {timeout:?}"))?
}

fn read(path: &Path, what: &str, cap: u64) -> anyhow::Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {what} {}", path.display()))?
        .len();
    if len > cap {
        bail!(
            "{what} {} is larger than {cap} bytes ({}): refused. Raise the cap with --max-bundle-bytes",
            path.display(),
            mib(cap)
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// Checks every argument before anything is fetched, so a bad one is an
/// error with its reason (exit 2), never a verdict.
fn options(args: &VerifyArgs) -> anyhow::Result<VerifyOptions> {
    let bundle = args.bundle.as_deref().unwrap_or_default();
    if is_url(bundle)
        && let Some(proof) = proof_url_of_page_link(bundle)
    {
        bail!(
            "{bundle} is the verifier page's link (for a browser), not a bundle: the bundle is at {proof}; run proofdesk verify \"{proof}\" with the same options"
        );
    }
    let (expected_ticket, ticket_source) = match (&args.ticket, is_url(bundle)) {
        (Some(t), _) => (
            Some(TicketHandle::parse(t).map_err(|e| anyhow::anyhow!("--ticket: {e}"))?),
            TicketSource::Typed,
        ),
        (None, true) => match ticket_in_url(bundle)? {
            UrlTicket::Handle(h) => (Some(h), TicketSource::BundleUrl),
            UrlTicket::None => (None, TicketSource::Typed),
        },
        (None, false) => (None, TicketSource::Typed),
    };
    let cap = args.max_bundle_bytes;
    // A receipt file that cannot be found is a bad argument; one that
    // cannot be read as a receipt is reported and set aside, as the page
    // does: the verdict never rests on it (PROTOCOL §13.6).
    let mut receipts = Vec::new();
    let mut unusable_receipts = Vec::new();
    for p in &args.receipts {
        let text = read(p, "receipt", cap)?;
        match parse_receipts(&text) {
            Ok(r) => receipts.extend(r),
            Err(e) => unusable_receipts.push(format!("receipt file {}: {e}", p.display())),
        }
    }
    let mut disclosures: Vec<Disclosure> = Vec::new();
    for p in &args.disclosures {
        let text = read(p, "disclosure", cap)?;
        disclosures.extend(
            parse_many(&text, "disclosure")
                .with_context(|| format!("disclosure file {}", p.display()))?,
        );
    }
    let max_merge_delay_ms = match args.max_merge_delay {
        Some(s) => Some(s.checked_mul(1000).filter(|ms| *ms <= MAX_USER_MMD_MS).with_context(|| {
            format!(
                "--max-merge-delay {s} is too large: a deadline recorded_at + {s} s does not fit; \
                 the most is {} s (2^53 − 1 ms)",
                MAX_USER_MMD_MS / 1000
            )
        })?),
        None => None,
    };
    let deployments = match &args.deployments {
        Some(p) => Deployments::parse(&read(p, "deployment list", cap)?)
            .with_context(|| format!("--deployments {}", p.display()))?,
        None => Deployments::embedded(),
    };
    let mut rpcs = Vec::new();
    for url in args.rpc.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
        if !is_url(url) {
            bail!("--rpc {url:?} is not an http(s) URL");
        }
        if !rpcs.iter().any(|r: &RpcInput| r.url == url) {
            rpcs.push(RpcInput::typed(url));
        }
    }
    if rpcs.is_empty() {
        bail!("--rpc: give your own JSON-RPC endpoint");
    }
    Ok(VerifyOptions {
        rpcs,
        expected_contract: args.contract,
        trust_bundle_contract: args.trust_bundle_contract,
        deployments,
        expected_ticket,
        ticket_source,
        receipts,
        unusable_receipts,
        disclosures,
        max_merge_delay_ms,
        log_window: args.log_window.max(1),
        timeout: Duration::from_secs(args.rpc_timeout.max(1)),
        max_rpc_answer_bytes: proofdesk::verify::rpc::DEFAULT_MAX_ANSWER_BYTES,
    })
}

async fn load(args: &VerifyArgs) -> anyhow::Result<Bundle> {
    let bundle = args.bundle.as_deref().unwrap_or_default();
    let text = if is_url(bundle) {
        fetch(bundle, Duration::from_secs(120), args.max_bundle_bytes).await?
    } else {
        read(&PathBuf::from(bundle), "bundle", args.max_bundle_bytes)?
    };
    Ok(parse_bundle(&text)?)
}

async fn verify(args: &VerifyArgs) -> anyhow::Result<VerifyReport> {
    let options = options(args)?;
    let mut report = verify_bundle(&load(args).await?, &options).await?;
    // A batch can be anchored between the fetch and the chain reads; an
    // honest log then shows the event as anchored in a fresh bundle.
    if report.withheld_pending > 0 && args.bundle.as_deref().is_some_and(is_url) {
        eprintln!("a pending event is already anchored on chain: fetching the bundle once more");
        report = verify_bundle(&load(args).await?, &options).await?;
    }
    Ok(report)
}

/// `--fraud-proof FILE`: exit 0 confirmed, 1 not confirmed, 2 error.
async fn fraud_proof(args: &VerifyArgs, path: &Path) -> anyhow::Result<ExitCode> {
    let options = options(args)?;
    let text = read(path, "fraud proof", args.max_bundle_bytes)?;
    let proof: proofdesk::protocol::fraud::FraudProof =
        proofdesk::verify::parse_strict(&text, "fraud proof")?;
    let report = proofdesk::verify::fraud::verify_fraud_proof(&proof, &options).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(ExitCode::from(if report.confirmed { 0 } else { 1 }))
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.fraud_proof {
        return fraud_proof(&args, path).await;
    }
    let report = match verify(&args).await {
        Ok(r) => r,
        Err(e) if args.json => {
            let error = serde_json::json!({"verdict": Verdict::Error, "error": format!("{e:#}")});
            println!("{}", serde_json::to_string_pretty(&error)?);
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(Verdict::Error.exit_code()));
        }
        Err(e) => return Err(e),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(ExitCode::from(report.verdict.exit_code()))
}
