//! A typed client for the Proofdesk anchoring API: create tickets, append
//! events one at a time or in bulk, keep their signed receipts, fetch a
//! ticket's proof bundle and verify it against the chain.
//!
//! Every write carries an `Idempotency-Key`. When a request times out, or
//! the server answers 429/502/503/504, the client sends the *same* request
//! with the *same* key again, so a write that did land is answered with its
//! original receipt (`replayed: true`) instead of being recorded twice.
//!
//! ```no_run
//! # async fn demo() -> Result<(), proofdesk_client::Error> {
//! use proofdesk_client::{Client, EventInput};
//! let client = Client::new("http://127.0.0.1:8080", Some("pdk_…".into()))?;
//! let ticket = client.create_ticket("zendesk-4711").await?.ticket;
//! let event: EventInput = serde_json::from_value(serde_json::json!({
//!     "type": "ticket.created",
//!     "data": {"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}},
//!     "actor": {"role": "customer", "ref": "cust-8842"}, "channel": "email",
//!     "occurred_at": "2026-11-24T09:30:00.000Z"})).unwrap();
//! let appended = client.append(&ticket, &event, "created-4711").await?;
//! println!("recorded at index {}", appended.receipt.receipt.index);
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use proofdesk_protocol::Hash32;
pub use proofdesk_protocol::bundle::Bundle;
pub use proofdesk_protocol::fields::TicketHandle;
pub use proofdesk_protocol::input::EventInput;
pub use proofdesk_protocol::receipt::SignedReceipt;
use proofdesk_protocol::receipt::{Receipt, ReceiptGroup};
pub use proofdesk_verify::{VerifyOptions, VerifyReport};

/// An API error as the server describes it (RFC 9457 problem+json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    /// For bulk requests: the index of the event that was refused.
    #[serde(default)]
    pub item: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid client setting: {0}")]
    Config(String),
    /// The server refused the request; retrying the same request will not help.
    #[error("HTTP {}: {}", .0.status, .0.detail)]
    Api(Problem),
    /// Every attempt timed out, failed to connect, or got 429/5xx.
    #[error("gave up after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("unexpected response: {0}")]
    Decode(String),
    #[error("verification could not run: {0}")]
    Verify(String),
}

/// `POST /v1/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedTicket {
    pub ticket: TicketHandle,
    /// False when the platform id was known: the existing handle.
    pub created: bool,
}

/// One appended event: its signed receipt and the canonical record.
#[derive(Debug, Clone)]
pub struct Appended {
    pub receipt: SignedReceipt,
    pub record: Value,
    /// True when this answered a retry of a write that had landed.
    pub replayed: bool,
}

/// The wire shape of an append answer: the receipt's two members sit
/// beside the record.
#[derive(Deserialize)]
struct AppendedWire {
    #[serde(flatten)]
    receipt: SignedReceipt,
    record: Value,
    replayed: bool,
}

/// `POST /v1/events/bulk`.
#[derive(Debug, Clone, Deserialize)]
pub struct BulkAppended {
    pub receipts: Vec<SignedReceipt>,
    pub replayed: bool,
}

/// The compact wire shape the client asks for (`?receipts=compact`): the
/// group and its signature once. Each receipt is put back whole. Members
/// a later server may add are ignored, as in the other answers read here.
#[derive(Deserialize)]
struct BulkAppendedCompact {
    group: ReceiptGroup,
    signature: String,
    receipts: Vec<GroupedReceipt>,
    replayed: bool,
}

#[derive(Deserialize)]
struct GroupedReceipt {
    receipt: Receipt,
    position: u64,
    path: Vec<Hash32>,
}

impl From<BulkAppendedCompact> for BulkAppended {
    fn from(c: BulkAppendedCompact) -> BulkAppended {
        let receipts = c
            .receipts
            .into_iter()
            .map(|r| SignedReceipt {
                receipt: r.receipt,
                group: Some(c.group.clone()),
                position: Some(r.position),
                path: Some(r.path),
                signature: c.signature.clone(),
            })
            .collect();
        BulkAppended {
            receipts,
            replayed: c.replayed,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    /// Attempts per request (1 = no retry).
    attempts: u32,
    backoff: Duration,
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`)
    /// with an API key (`pdk_…`); reads of public endpoints need none.
    /// Defaults: 10 s per attempt, 4 attempts, backoff from 200 ms.
    pub fn new(base_url: &str, api_key: Option<String>) -> Result<Client, Error> {
        Client::with_timeout(base_url, api_key, Duration::from_secs(10))
    }

    pub fn with_timeout(
        base_url: &str,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Result<Client, Error> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL {base_url:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            key: api_key,
            attempts: 4,
            backoff: Duration::from_millis(200),
        })
    }

    /// How many times a request is sent at most (at least 1).
    pub fn attempts(mut self, n: u32) -> Client {
        self.attempts = n.max(1);
        self
    }

    /// The first wait between attempts; it doubles each time.
    pub fn backoff(mut self, first: Duration) -> Client {
        self.backoff = first;
        self
    }

    /// Creates a ticket for the platform's own id, or returns the existing
    /// one (creation is idempotent by `external_id`).
    pub async fn create_ticket(&self, external_id: &str) -> Result<CreatedTicket, Error> {
        self.send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"external_id": external_id})),
            None,
        )
        .await
    }

    /// Appends one event. Use a key that names the event in your system
    /// (e.g. your audit-log id): a retry with it never records twice.
    pub async fn append(
        &self,
        ticket: &TicketHandle,
        event: &EventInput,
        idempotency_key: &str,
    ) -> Result<Appended, Error> {
        let body = serde_json::to_value(event).map_err(|e| Error::Decode(e.to_string()))?;
        let wire: AppendedWire = self
            .send(
                reqwest::Method::POST,
                &format!("/v1/tickets/{ticket}/events"),
                Some(body),
                Some(idempotency_key),
            )
            .await?;
        Ok(Appended {
            receipt: wire.receipt,
            record: wire.record,
            replayed: wire.replayed,
        })
    }

    /// Appends many events, all or none (at most 10,000).
    pub async fn bulk(
        &self,
        events: &[(TicketHandle, EventInput)],
        idempotency_key: &str,
    ) -> Result<BulkAppended, Error> {
        let items: Vec<Value> = events
            .iter()
            .map(|(t, e)| json!({"ticket": t, "event": e}))
            .collect();
        let compact: BulkAppendedCompact = self
            .send(
                reqwest::Method::POST,
                "/v1/events/bulk?receipts=compact",
                Some(json!({"events": items})),
                Some(idempotency_key),
            )
            .await?;
        Ok(compact.into())
    }

    /// A ticket's records and state (needs an `ingest` or `audit` key).
    pub async fn ticket(&self, ticket: &TicketHandle) -> Result<Value, Error> {
        self.send(
            reqwest::Method::GET,
            &format!("/v1/tickets/{ticket}"),
            None,
            None,
        )
        .await
    }

    /// The address that signed a receipt (0x…, lowercase). Compare it with
    /// the contract's `anchorer()`; `verify` does so for whole bundles.
    pub fn receipt_signer(receipt: &SignedReceipt) -> Result<String, Error> {
        proofdesk_verify::receipt::signer_of(receipt)
            .map(|a| format!("{a:#x}"))
            .map_err(|e| Error::Verify(e.to_string()))
    }

    /// The ticket's public proof bundle, parsed strictly.
    pub async fn bundle(&self, ticket: &TicketHandle) -> Result<Bundle, Error> {
        let text = self
            .send_raw(
                reqwest::Method::GET,
                &format!("/v1/tickets/{ticket}/proof"),
                None,
                None,
            )
            .await?;
        proofdesk_verify::parse_bundle(&text).map_err(|e| Error::Decode(e.to_string()))
    }

    /// Fetches the bundle and verifies it against the chain through
    /// `rpc_url` (your own node), optionally pinning the contract address.
    pub async fn verify(
        &self,
        ticket: &TicketHandle,
        rpc_url: &str,
        contract: Option<&str>,
    ) -> Result<VerifyReport, Error> {
        let bundle = self.bundle(ticket).await?;
        verify_bundle(&bundle, rpc_url, contract).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        let text = self.send_raw(method, path, body, idempotency_key).await?;
        serde_json::from_str(&text).map_err(|e| Error::Decode(format!("{e}: {text}")))
    }

    /// Sends, retrying the identical request (same body, same key) after a
    /// timeout, a refused connection, 429 or 502/503/504.
    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<String, Error> {
        let url = format!("{}{path}", self.base);
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(k) = &self.key {
                req = req.bearer_auth(k);
            }
            if let Some(k) = idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let text = match resp.text().await {
                        Ok(t) => t,
                        Err(e) if e.is_timeout() => {
                            last = format!("attempt {attempt}: timed out reading the response");
                            tokio::time::sleep(wait).await;
                            wait *= 2;
                            continue;
                        }
                        Err(e) => return Err(Error::Decode(e.to_string())),
                    };
                    if status.is_success() {
                        return Ok(text);
                    }
                    let retryable = matches!(status.as_u16(), 429 | 502 | 503 | 504);
                    if !retryable {
                        let problem = serde_json::from_str(&text).unwrap_or(Problem {
                            kind: String::new(),
                            title: status.to_string(),
                            status: status.as_u16(),
                            detail: text,
                            item: None,
                        });
                        return Err(Error::Api(problem));
                    }
                    last = format!("attempt {attempt}: HTTP {status}");
                    if let Some(s) = retry_after {
                        wait = wait.max(Duration::from_secs(s.min(60)));
                    }
                }
                Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => {
                    last = format!("attempt {attempt}: {e}");
                }
                Err(e) => return Err(Error::Decode(e.to_string())),
            }
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(Error::Unavailable {
            attempts: self.attempts,
            last,
        })
    }
}

/// The verifier's options, built in one place (its fields are growing).
pub fn verify_options(rpc_url: &str, contract: Option<&str>) -> Result<VerifyOptions, Error> {
    let expected_contract = contract
        .map(|c| c.parse())
        .transpose()
        .map_err(|e| Error::Config(format!("contract address: {e}")))?;
    // Without a contract, the bundle's is used only if the built-in
    // deployment list has it; otherwise verification stops with an error
    // saying what to bring (PROTOCOL.md §13.1, §13.2).
    let mut options = VerifyOptions::new(rpc_url, Default::default());
    options.expected_contract = expected_contract;
    options.timeout = Duration::from_secs(20);
    Ok(options)
}

/// Verifies a bundle you already hold, as `proofdesk verify` does.
pub async fn verify_bundle(
    bundle: &Bundle,
    rpc_url: &str,
    contract: Option<&str>,
) -> Result<VerifyReport, Error> {
    let options = verify_options(rpc_url, contract)?;
    proofdesk_verify::verify_bundle(bundle, &options)
        .await
        .map_err(|e| Error::Verify(e.to_string()))
}
