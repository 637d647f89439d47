//! `proofdesk verify`: fetch or read a bundle, bring the user's own
//! expectations (contract, ticket, receipts, disclosures, merge delay), and
//! print the report. Exit 0 valid, 1 invalid, 2 could not verify.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Context, bail};

use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::disclosure::Disclosure;
use proofdesk::protocol::fields::TicketHandle;
use proofdesk::protocol::receipt::SignedReceipt;
use proofdesk::verify::{
    DEFAULT_LOG_WINDOW, VerifyOptions, VerifyReport, parse_bundle, parse_strict, verify_bundle,
};

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A bundle file, or the http(s) URL of /v1/tickets/{handle}/proof.
    bundle: String,
    /// Your own JSON-RPC endpoint for the chain.
    #[arg(long, env = "PROOFDESK_VERIFY_RPC")]
    rpc: String,
    /// The contract you trust: the address the platform publishes.
    #[arg(long, env = "PROOFDESK_TRUSTED_CONTRACT")]
    contract: Option<Address>,
    /// Without --contract, accept the contract the bundle names. The result
    /// then only shows that the records match a contract the log chose.
    #[arg(long, conflicts_with = "contract")]
    trust_bundle_contract: bool,
    /// The ticket you expect (default: the handle in the bundle URL).
    #[arg(long)]
    ticket: Option<String>,
    /// A receipt you hold, as the API returned it (v1 {"receipt",
    /// "signature"}, v2 also "group", "position", "path"), or an array.
    /// Repeatable.
    #[arg(long = "receipt", value_name = "FILE")]
    receipts: Vec<PathBuf>,
    /// A content disclosure ({"ticket", "index", "seq", "salt",
    /// "content"}) to check against its record. Repeatable.
    #[arg(long = "disclose", value_name = "FILE")]
    disclosures: Vec<PathBuf>,
    /// The maximum merge delay you hold the log to, seconds (default: from
    /// your receipts, else the bundle's unsigned value).
    #[arg(long, value_name = "SECONDS")]
    max_merge_delay: Option<u64>,
    /// Largest block range per eth_getLogs query.
    #[arg(long, default_value_t = DEFAULT_LOG_WINDOW)]
    log_window: u64,
    /// Per-call RPC timeout, seconds.
    #[arg(long, default_value_t = 20)]
    rpc_timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// The ticket handle in a bundle URL's path, if there is one.
pub fn handle_in_url(url: &str) -> Option<TicketHandle> {
    let path = url.split(['?', '#']).next()?;
    path.split('/')
        .filter(|seg| seg.starts_with("tk_"))
        .find_map(|seg| TicketHandle::parse(seg).ok())
}

async fn fetch(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let resp = reqwest::Client::builder()
        .timeout(timeout)
        .build()?
        .get(url)
        .send()
        .await
        .with_context(|| format!("fetching {url}"))?;
    if !resp.status().is_success() {
        bail!("fetching {url}: HTTP {}", resp.status());
    }
    Ok(resp.text().await?)
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// A file holding one object or an array of them.
fn read_many<T: serde::de::DeserializeOwned>(path: &PathBuf, what: &str) -> anyhow::Result<Vec<T>> {
    let text = read(path, what)?;
    let one: Result<T, _> = parse_strict(&text);
    match one {
        Ok(v) => Ok(vec![v]),
        Err(first) => parse_strict::<Vec<T>>(&text)
            .with_context(|| format!("{what} {}: {first}", path.display())),
    }
}

fn options(args: &VerifyArgs) -> anyhow::Result<VerifyOptions> {
    let expected_ticket = match (&args.ticket, is_url(&args.bundle)) {
        (Some(t), _) => Some(TicketHandle::parse(t).map_err(|e| anyhow::anyhow!("--ticket: {e}"))?),
        (None, true) => handle_in_url(&args.bundle),
        (None, false) => None,
    };
    let mut receipts: Vec<SignedReceipt> = Vec::new();
    for p in &args.receipts {
        receipts.extend(read_many(p, "receipt")?);
    }
    let mut disclosures: Vec<Disclosure> = Vec::new();
    for p in &args.disclosures {
        disclosures.extend(read_many(p, "disclosure")?);
    }
    let max_merge_delay_ms = match args.max_merge_delay {
        Some(s) => Some(
            s.checked_mul(1000)
                .context("--max-merge-delay is too large")?,
        ),
        None => None,
    };
    Ok(VerifyOptions {
        rpc_url: args.rpc.clone(),
        expected_contract: args.contract,
        trust_bundle_contract: args.trust_bundle_contract,
        expected_ticket,
        receipts,
        disclosures,
        max_merge_delay_ms,
        log_window: args.log_window.max(1),
        timeout: Duration::from_secs(args.rpc_timeout.max(1)),
    })
}

async fn load(args: &VerifyArgs) -> anyhow::Result<Bundle> {
    let text = if is_url(&args.bundle) {
        fetch(&args.bundle, Duration::from_secs(30)).await?
    } else {
        read(&PathBuf::from(&args.bundle), "bundle")?
    };
    Ok(parse_bundle(&text)?)
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let options = options(&args)?;
    let mut report: VerifyReport = verify_bundle(&load(&args).await?, &options).await?;
    // A batch can be anchored between the fetch and the chain reads; an
    // honest log then shows the event as anchored in a fresh bundle.
    if report.withheld_pending > 0 && is_url(&args.bundle) {
        eprintln!("a pending event is already anchored on chain: fetching the bundle once more");
        report = verify_bundle(&load(&args).await?, &options).await?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_comes_from_the_url_path() {
        let h = "tk_0123456789abcdef0123456789abcdef";
        assert_eq!(
            handle_in_url(&format!("https://log.example/v1/tickets/{h}/proof"))
                .map(|t| t.to_string()),
            Some(h.to_owned())
        );
        assert_eq!(
            handle_in_url(&format!(
                "http://127.0.0.1:8080/v1/tickets/{h}/proof?x=tk_00#tk_1"
            ))
            .map(|t| t.to_string()),
            Some(h.to_owned())
        );
        assert!(handle_in_url("https://log.example/v1/tickets/tk_short/proof").is_none());
    }
}
