//! Records a complaint's first events with the typed client and prints the
//! receipts. Run against `./scripts/dev.sh`:
//!
//!     PROOFDESK_URL=http://127.0.0.1:8080 PROOFDESK_KEY=pdk_… \
//!         cargo run -p proofdesk-client --example record_complaint -- crm-1001

use proofdesk_client::{Client, EventInput};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("PROOFDESK_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("PROOFDESK_KEY").ok();
    let external = std::env::args().nth(1).unwrap_or_else(|| "crm-1001".into());
    let client = Client::new(&url, key)?;

    let ticket = client.create_ticket(&external).await?.ticket;
    println!("ticket {ticket} for {external}");
    let now = proofdesk_protocol::fields::Timestamp::now().to_string();
    let events: Vec<(&str, EventInput)> = vec![
        (
            "created",
            serde_json::from_value(json!({
                "type": "ticket.created",
                "data": {"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {}},
                "actor": {"role": "customer", "ref": "cust-8842"}, "channel": "email",
                "occurred_at": now, "content": {"text": "My withdrawal has been pending for 9 days."}
            }))?,
        ),
        (
            "acknowledged",
            serde_json::from_value(json!({
                "type": "ticket.acknowledged", "data": {},
                "actor": {"role": "system", "ref": "autoresponder"}, "channel": "email", "occurred_at": now
            }))?,
        ),
    ];
    for (step, e) in &events {
        // The key names the event in the platform's own system, so a retry
        // (automatic after a timeout) never records it twice.
        let a = client
            .append(&ticket, e, &format!("{external}-{step}"))
            .await?;
        println!(
            "{step}: index {} seq {} signed by {}{}",
            a.receipt.receipt.index,
            a.receipt.receipt.seq,
            Client::receipt_signer(&a.receipt)?,
            if a.replayed { " (replayed)" } else { "" }
        );
    }
    println!("bundle: {url}/v1/tickets/{ticket}/proof");
    Ok(())
}
