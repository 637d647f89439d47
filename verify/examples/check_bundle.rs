//! A proof bundle checked with proofdesk-verify alone: no server, no
//! database. The contract is the one the platform publishes and the RPC is
//! your own; nothing the log serves is trusted.
//!
//!     cargo run -p proofdesk-verify --example check_bundle -- \
//!         bundle.json https://your-rpc.example 0xContractThePlatformPublishes [TICKET]
//!
//! Exits as `proofdesk verify` does: 0 valid, 1 invalid or pending, 2 error,
//! 3 consistent.

use std::process::ExitCode;

use proofdesk_protocol::fields::TicketHandle;
use proofdesk_verify::{VerifyOptions, parse_bundle, verify_bundle};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bundle, rpc, contract, rest @ ..] = args.as_slice() else {
        eprintln!("usage: check_bundle BUNDLE.json RPC_URL CONTRACT [TICKET]");
        return ExitCode::from(2);
    };
    match run(bundle, rpc, contract, rest.first()).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(
    path: &str,
    rpc: &str,
    contract: &str,
    ticket: Option<&String>,
) -> Result<u8, Box<dyn std::error::Error>> {
    let bundle = parse_bundle(&std::fs::read_to_string(path)?)?;
    let mut options = VerifyOptions::new(rpc, contract.parse()?);
    // Bind the bundle to the ticket you hold, or it proves only its own.
    options.expected_ticket = ticket.map(|t| TicketHandle::parse(t)).transpose()?;
    let report = verify_bundle(&bundle, &options).await?;
    print!("{}", report.render());
    Ok(report.verdict.exit_code())
}
