//! One table of attack cases against the complainant's verifiers (issue 25,
//! docs/PROTOCOL.md §13): each case is what a dishonest operator serves
//! (a bundle, `/v1/log`, a link fragment, contracts it deployed, an RPC of
//! its own) and what the user brings (contract, RPCs, ticket, receipts, a
//! merge delay, a deployment list), with the verdict class every verifier
//! must reach. tests/verify_attacks.rs runs every case through the
//! `proofdesk verify` binary; the page's harness can run the same table
//! (open the served URL with the fragment, fill the user's fields, read
//! `data-verdict`), so both can be asserted to agree.
//!
//! Everything is real: an honest node on its anvil (the platform's
//! published contract), contracts the operator deployed on that same chain,
//! a second anvil where the operator forged the published contract's
//! history (its "RPC"), and an HTTP server (`FakeLog`) serving what the
//! operator chooses at each case's own path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::protocol::bundle::Bundle;
use serde_json::{Value, json};

use super::forge::{ForgedTicket, Forger, ago};
use proofdesk_testkit::{TestApp, event};

/// The verdict classes (PROTOCOL.md §13.1), as `--json` and the page's
/// `data-verdict` spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Valid,
    Consistent,
    Invalid,
    Pending,
    Absent,
    Error,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Valid => "valid",
            Class::Consistent => "consistent",
            Class::Invalid => "invalid",
            Class::Pending => "pending",
            Class::Absent => "absent",
            Class::Error => "error",
        }
    }

    /// `proofdesk verify`'s exit status for the class.
    pub fn exit_code(self) -> i32 {
        match self {
            Class::Valid => 0,
            Class::Invalid | Class::Pending => 1,
            Class::Error => 2,
            Class::Consistent => 3,
            Class::Absent => 4,
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        [
            Class::Valid,
            Class::Consistent,
            Class::Invalid,
            Class::Pending,
            Class::Absent,
            Class::Error,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// What the log serves at the case's bundle URL.
#[derive(Debug, Clone)]
pub enum Served {
    /// This JSON text.
    Json(String),
    /// This many bytes of JSON-looking filler, streamed (never held).
    Oversized(u64),
}

/// Where the contract comes from, as the user gives it.
#[derive(Debug, Clone)]
pub enum ContractInput {
    /// Typed (CLI `--contract`; page: the contract field).
    Typed(Address),
    /// Not typed: the verifier's deployment list has it (CLI: no flag;
    /// page: the field left empty).
    FromList,
    /// Not typed, on no list: the log's own is accepted knowingly (CLI
    /// `--trust-bundle-contract`; page: the field left empty, the log's
    /// suggestion used).
    AcceptLogs,
}

/// What the user brings.
#[derive(Debug, Clone)]
pub struct UserInputs {
    /// Fetch the bundle from the log's URL (else the served JSON is saved to
    /// a file and given as one: the page's dropped file).
    pub from_url: bool,
    pub contract: ContractInput,
    /// The RPCs the user gives (CLI `--rpc`, repeated; page: the RPC field).
    pub rpcs: Vec<String>,
    /// `--ticket` (page: none; the URL's handle binds it).
    pub ticket: Option<String>,
    /// Receipt files' contents, as the user saved them.
    pub receipts: Vec<String>,
    /// The user's own maximum merge delay, seconds.
    pub max_merge_delay_s: Option<u64>,
    /// A deployment list the user brings instead of the built-in one.
    pub deployments: Option<Value>,
    pub max_bundle_bytes: Option<u64>,
}

impl UserInputs {
    fn new(contract: ContractInput, rpc: &str) -> UserInputs {
        UserInputs {
            from_url: true,
            contract,
            rpcs: vec![rpc.to_owned()],
            ticket: None,
            receipts: Vec::new(),
            max_merge_delay_s: None,
            deployments: None,
            max_bundle_bytes: None,
        }
    }
}

/// One attack: (name, served inputs, user inputs, expected class), plus
/// what the CLI's report must and must never say.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    /// The finding of issue 25 it replays.
    pub finding: &'static str,
    /// What `proofdesk verify` did before issue 25.
    pub before: &'static str,
    /// The bundle URL's handle segment as the operator's link spells it
    /// (it may be percent-encoded); the URL is
    /// `{log}/{name}/v1/tickets/{url_handle}/proof`.
    pub url_handle: String,
    pub served: Served,
    /// `/v1/log` as the operator serves it (its contract, its RPC).
    pub log: Value,
    /// The link fragment the operator hands out (the page applies it).
    pub fragment: String,
    pub user: UserInputs,
    pub expect: Class,
    pub says: Vec<String>,
    pub never_says: Vec<String>,
}

impl Case {
    /// The bundle URL under a `FakeLog` at `base`.
    pub fn url(&self, base: &str) -> String {
        format!("{base}/{}/v1/tickets/{}/proof", self.name, self.url_handle)
    }

    /// `proofdesk verify` arguments for the case; files go in `dir`.
    pub fn cli_args(&self, base: &str, dir: &std::path::Path) -> Vec<String> {
        let write = |name: String, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let mut args = vec![if self.user.from_url {
            self.url(base)
        } else {
            match &self.served {
                Served::Json(text) => write(format!("{}-bundle.json", self.name), text),
                Served::Oversized(_) => panic!("{}: an oversized body is only served", self.name),
            }
        }];
        for rpc in &self.user.rpcs {
            args.extend(["--rpc".into(), rpc.clone()]);
        }
        match &self.user.contract {
            ContractInput::Typed(a) => args.extend(["--contract".into(), format!("{a:#x}")]),
            ContractInput::FromList => {}
            ContractInput::AcceptLogs => args.push("--trust-bundle-contract".into()),
        }
        if let Some(t) = &self.user.ticket {
            args.extend(["--ticket".into(), t.clone()]);
        }
        for (i, r) in self.user.receipts.iter().enumerate() {
            let p = write(format!("{}-receipt-{i}.json", self.name), r);
            args.extend(["--receipt".into(), p]);
        }
        if let Some(s) = self.user.max_merge_delay_s {
            args.extend(["--max-merge-delay".into(), s.to_string()]);
        }
        if let Some(list) = &self.user.deployments {
            let p = write(
                format!("{}-deployments.json", self.name),
                &serde_json::to_string_pretty(list).unwrap(),
            );
            args.extend(["--deployments".into(), p]);
        }
        if let Some(n) = self.user.max_bundle_bytes {
            args.extend(["--max-bundle-bytes".into(), n.to_string()]);
        }
        args
    }
}

// ------------------------------------------------------------ the log

/// An HTTP server serving each case's bundle and `/v1/log` at
/// `/{case}/…`, whatever handle the URL names.
pub struct FakeLog {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

type CaseMap = Arc<HashMap<String, (Served, Value)>>;

async fn serve_bundle(
    State(cases): State<CaseMap>,
    Path((case, _handle)): Path<(String, String)>,
) -> Response {
    match cases.get(&case) {
        Some((Served::Json(text), _)) => {
            ([("content-type", "application/json")], text.clone()).into_response()
        }
        Some((Served::Oversized(n), _)) => {
            // No Content-Length: the verifier must stop reading by itself.
            let n = *n;
            let chunk = bytes_of(64 * 1024);
            let stream = futures::stream::unfold(0u64, move |sent| {
                let chunk = chunk.clone();
                async move {
                    (sent < n).then(|| {
                        let take = (n - sent).min(chunk.len() as u64) as usize;
                        (
                            Ok::<_, std::io::Error>(chunk.slice(..take)),
                            sent + take as u64,
                        )
                    })
                }
            });
            (
                [("content-type", "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        None => (axum::http::StatusCode::NOT_FOUND, "no such case").into_response(),
    }
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b' '; n])
}

async fn serve_log(State(cases): State<CaseMap>, Path(case): Path<String>) -> Response {
    match cases.get(&case) {
        Some((_, log)) => axum::Json(log.clone()).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no such case").into_response(),
    }
}

impl FakeLog {
    pub async fn serve(cases: &[Case]) -> FakeLog {
        let map: HashMap<String, (Served, Value)> = cases
            .iter()
            .map(|c| (c.name.to_owned(), (c.served.clone(), c.log.clone())))
            .collect();
        let router = axum::Router::new()
            .route(
                "/{case}/v1/tickets/{handle}/proof",
                axum::routing::get(serve_bundle),
            )
            .route("/{case}/v1/log", axum::routing::get(serve_log))
            .with_state(Arc::new(map))
            // A log's public reads allow any origin (the page opened from
            // disk, or from another host, fetches them), as the node's do.
            .layer(axum::middleware::map_response(
                |mut r: Response| async move {
                    r.headers_mut().insert(
                        "access-control-allow-origin",
                        axum::http::HeaderValue::from_static("*"),
                    );
                    r
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeLog { url, task }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------- the world

fn key(i: usize) -> OperatorKey {
    OperatorKey::parse(DEV_KEYS[i]).unwrap()
}

/// A complaint lifecycle a forger writes, recorded at `at`.
fn complaint(
    f: &mut Forger,
    t: &mut ForgedTicket,
    outcome: &str,
    at: proofdesk::protocol::fields::Timestamp,
) {
    f.record(
        t,
        "ticket.created",
        json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
        at,
    );
    f.record(t, "ticket.acknowledged", json!({}), at);
    f.record(
        t,
        "final_response.issued",
        json!({"outcome": outcome, "referral_rights": true}),
        at,
    );
    f.record(t, "ticket.resolved", json!({"resolution": outcome}), at);
}

/// The honest platform and everything the dishonest operator prepared.
pub struct World {
    pub app: TestApp,
    /// The operator's own chain: the published contract's address, with a
    /// forged history.
    pub operator_anvil: Anvil,
    /// Ticket A (the complainant's) and B (someone else's), anchored.
    pub a: String,
    pub b: String,
    pub bundle_a: Bundle,
    pub bundle_b: Bundle,
    /// A handle the log never created, and the log's proof of its absence.
    pub absent: String,
    pub absent_bundle: Bundle,
    /// The answer of POST …/events for A's first event, as saved.
    pub answer_a0: Value,
    /// A's history rewritten ("rejected") and anchored on the operator's
    /// chain at the published contract's address.
    pub forged_on_operator_chain: Bundle,
    /// A contract the operator deployed on the real chain, with a history
    /// that never happened.
    pub side_contract: Address,
    pub forged_on_side_contract: Bundle,
    /// Contracts the operator runs as "the platform's" (the user types
    /// them), for the time and equivocation cases.
    pub late_contract: Address,
    pub late_bundle: Bundle,
    pub equivocation_contract: Address,
    pub equivocation_bundle: Bundle,
    pub pending_contract: Address,
    pub pending_bundle: Bundle,
}

pub const FORTY_DAYS_S: i64 = 40 * 86_400;

impl World {
    pub async fn build() -> World {
        let app = TestApp::spawn().await;
        let a = app.create_ticket("zd-attack-a").await;
        let b = app.create_ticket("zd-attack-b").await;
        let mut answer_a0 = Value::Null;
        for (i, e) in [
            event(
                "ticket.created",
                json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
                "customer",
            ),
            event("ticket.acknowledged", json!({}), "system"),
            event(
                "final_response.issued",
                json!({"outcome": "upheld", "referral_rights": true}),
                "agent",
            ),
            event("ticket.resolved", json!({"resolution": "upheld"}), "agent"),
        ]
        .into_iter()
        .enumerate()
        {
            let (status, body) = app.post(&format!("/v1/tickets/{a}/events"), e).await;
            assert_eq!(status, 201, "{body}");
            if i == 0 {
                answer_a0 = body;
            }
        }
        app.append(
            &b,
            event(
                "ticket.created",
                json!({"category": "kyc", "priority": "low", "complaint": false, "labels": {}}),
                "customer",
            ),
        )
        .await;
        let bundle_a = app.complete_bundle(&a).await;
        let bundle_b = app.anchored_bundle(&b).await;
        let absent = "tk_0123456789abcdef0123456789abcdef".to_owned();
        let absent_bundle = app.bundle(&absent).await;
        let url = app.anvil.url();

        // The operator's chain: a fresh anvil where the first deployment of
        // dev key 0 lands at the published contract's address.
        let operator_anvil = Anvil::start(0, None).await.unwrap();
        let mut op = Forger::deploy(&operator_anvil.url(), key(0)).await;
        assert_eq!(
            op.contract, app.contract,
            "same address on the operator's chain"
        );
        let mut t = ForgedTicket {
            handle: proofdesk::protocol::fields::TicketHandle::parse(&a).unwrap(),
            tip: proofdesk::protocol::append::ChainTip::EMPTY,
            records: Vec::new(),
        };
        complaint(&mut op, &mut t, "rejected", ago(5));
        let records: Vec<_> = t.records.iter().collect();
        op.anchor(&records).await;
        let forged_on_operator_chain = op.bundle(&t.handle, &t.records);

        // A contract of the operator's own on the real chain.
        let mut side = Forger::deploy(&url, key(0)).await;
        let mut t = side.ticket();
        t.handle = proofdesk::protocol::fields::TicketHandle::parse(&a).unwrap();
        complaint(&mut side, &mut t, "rejected", ago(5));
        let records: Vec<_> = t.records.iter().collect();
        side.anchor(&records).await;
        let forged_on_side_contract = side.bundle(&t.handle, &t.records);

        // Backdating inside a merge delay the operator declares for itself:
        // every event "recorded" 40 days before it was anchored, and the
        // bundle says MMD = 40 days.
        let mut late = Forger::deploy(&url, key(0)).await;
        let mut t = late.ticket();
        complaint(&mut late, &mut t, "rejected", ago(FORTY_DAYS_S));
        let records: Vec<_> = t.records.iter().collect();
        late.anchor(&records).await;
        // Ten minutes over: the anchor is within the declared delay.
        late.max_merge_delay_ms = FORTY_DAYS_S as u64 * 1000 + 600_000;
        let late_bundle = late.bundle(&t.handle, &t.records);

        // Equivocation: two versions of seq 2, both anchored.
        let mut eq = Forger::deploy(&url, key(0)).await;
        let mut t = eq.ticket();
        let at = ago(5);
        eq.record(
            &mut t,
            "ticket.created",
            json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
            at,
        );
        eq.record(&mut t, "ticket.acknowledged", json!({}), at);
        let prefix: Vec<_> = t.records.iter().collect();
        eq.anchor(&prefix).await;
        let mut other = t.fork_before_last(0);
        let first = eq.record(
            &mut t,
            "ticket.resolved",
            json!({"resolution": "upheld"}),
            at,
        );
        eq.anchor(&[&first]).await;
        let second = eq.record(
            &mut other,
            "ticket.resolved",
            json!({"resolution": "rejected"}),
            at,
        );
        eq.anchor(&[&second]).await;
        let equivocation_bundle = eq.bundle(&other.handle, &other.records);

        // A ticket made of pending records only (past the contract's next
        // index, so pending cannot be disproved), recorded a moment ago.
        let mut pending = Forger::deploy(&url, key(0)).await;
        pending.skip(1_000);
        let mut t = pending.ticket();
        complaint(&mut pending, &mut t, "upheld", ago(1));
        let pending_bundle = pending.bundle(&t.handle, &t.records);

        World {
            operator_anvil,
            a,
            b,
            bundle_a,
            bundle_b,
            absent,
            absent_bundle,
            answer_a0,
            forged_on_operator_chain,
            side_contract: side.contract,
            forged_on_side_contract,
            late_contract: late.contract,
            late_bundle,
            equivocation_contract: eq.contract,
            equivocation_bundle,
            pending_contract: pending.contract,
            pending_bundle,
            app,
        }
    }

    pub async fn stop(self) {
        self.operator_anvil.stop().await;
        self.app.stop().await;
    }

    /// `/v1/log` as the operator serves it, naming its choice of contract
    /// and RPC.
    fn log(&self, contract: Address, public_rpc: &str) -> Value {
        json!({
            "protocol": "proofdesk/v1",
            "chain": {"chain_id": 31337, "contract": format!("{contract:#x}"),
                      "anchorer": format!("{:#x}", key(0).address())},
            "log_size": 0, "sealed": 0, "batches": 0, "anchored_batches": 0, "final_batches": 0,
            "latest_anchored_batch": null, "max_merge_delay_ms": 60000,
            "policy": {"reopen_closed": false}, "public_rpc": public_rpc,
        })
    }

    /// A deployment list naming the published contract as a platform's.
    pub fn platform_list(&self) -> Value {
        json!({"version": 1, "deployments": [{
            "platform": "Example Exchange", "kind": "platform", "chain_id": 31337,
            "contract": format!("{:#x}", self.app.contract),
            "anchorer": format!("{:#x}", key(0).address()),
            "first_block": 1,
            "published_at": "https://example.com/.well-known/proofdesk (a test entry)",
        }]})
    }

    /// Every case, each checked against the verifier.
    pub fn cases(&self) -> Vec<Case> {
        let honest_rpc = self.app.anvil.url();
        let operator_rpc = self.operator_anvil.url();
        let published = self.app.contract;
        let json_of = |b: &Bundle| serde_json::to_string(b).unwrap();
        let with = |mut b: Bundle, f: &dyn Fn(&mut Bundle)| {
            f(&mut b);
            json_of(&b)
        };
        let typed = |c: Address| UserInputs::new(ContractInput::Typed(c), &honest_rpc);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let base = |name: &'static str,
                    finding: &'static str,
                    before: &'static str,
                    handle: &str,
                    served: String,
                    user: UserInputs,
                    expect: Class| Case {
            name,
            finding,
            before,
            url_handle: handle.to_owned(),
            served: Served::Json(served),
            log: self.log(published, &honest_rpc),
            fragment: String::new(),
            user,
            expect,
            says: Vec::new(),
            never_says: Vec::new(),
        };
        let a = self.a.as_str();
        let mut cases = Vec::new();

        // A control: the honest ticket, the published contract typed.
        let mut c = base(
            "honest",
            "control",
            "valid",
            a,
            json_of(&self.bundle_a),
            typed(published),
            Class::Valid,
        );
        c.says = s(&[
            "VALID",
            "(you typed it; it is the development deployment",
            "bound to the ticket you asked for: the handle in the bundle URL",
        ]);
        c.never_says = s(&["✗"]);
        cases.push(c);

        // Issue 26: the history cut short before the ticket's last anchored
        // event, with no receipt held: the map proof at the latest final
        // batch has that event as the ticket's tip.
        let mut c = base(
            "truncated-history",
            "issue 26: a bundle that stops before later anchored events (withholding), no receipt held",
            "VALID, with \"later events are not ruled out\"",
            a,
            with(self.bundle_a.clone(), &|b| {
                b.events.pop();
            }),
            typed(published),
            Class::Invalid,
        );
        c.says = s(&["as this ticket's latest record", "INVALID"]);
        cases.push(c);

        // Issue 26: a handle the log never created. The map proves it
        // absent at the latest final batch: evidence, not "verified"; with
        // the map stripped, an empty bundle proves nothing.
        let mut c = base(
            "absent-handle",
            "issue 26: a handle the log never created gets a proof of its absence",
            "404, nothing to check",
            &self.absent,
            json_of(&self.absent_bundle),
            typed(published),
            Class::Absent,
        );
        c.says = s(&[
            "ABSENT",
            "holds no record of this handle",
            "proofdesk audit",
        ]);
        c.never_says = s(&["VALID", "✗"]);
        cases.push(c);
        let mut c = base(
            "absent-handle-map-stripped",
            "issue 26: an empty bundle without its proof of absence",
            "404, nothing to check",
            &self.absent,
            with(self.absent_bundle.clone(), &|b| {
                b.map = None;
            }),
            typed(published),
            Class::Invalid,
        );
        c.says = s(&["the bundle has no events", "INVALID"]);
        cases.push(c);

        // §1: the contract named by the log/bundle is not enough.
        let mut c = base(
            "contract-from-the-log",
            "§1 the contract comes from the log (/v1/log, the bundle, a link)",
            "VALID, exit 0, with an UNTRUSTED caveat",
            a,
            json_of(&self.forged_on_side_contract),
            UserInputs::new(ContractInput::AcceptLogs, &honest_rpc),
            Class::Consistent,
        );
        c.log = self.log(self.side_contract, &honest_rpc);
        c.fragment = format!("contract={:#x}", self.side_contract);
        c.says = s(&[
            "CONSISTENT, NOT INDEPENDENTLY CHECKED",
            "(named by the bundle)",
            "bring the contract the platform publishes",
        ]);
        c.never_says = s(&["VALID: every anchored event"]);
        cases.push(c);

        // §1 and CLI attack 2: a contract the operator deployed itself.
        let mut c = base(
            "operator-deployed-contract",
            "§1 an operator-deployed contract holding a rewritten history",
            "INVALID, but the header said the contract was \"as you expect\"",
            a,
            json_of(&self.forged_on_side_contract),
            typed(published),
            Class::Invalid,
        );
        c.log = self.log(self.side_contract, &honest_rpc);
        c.says = s(&["not the contract you typed", "Contract "]);
        c.never_says = s(&["as you expect", "✓", "are anchored and complete"]);
        cases.push(c);

        // §1: the operator's RPC serves a chain where the published contract
        // holds a forged history; the user also brings an honest RPC.
        let mut c = base(
            "operator-rpc-vs-honest-rpc",
            "§1 public_rpc: an operator RPC serving a forged chain",
            "could not be expressed: --rpc was not repeatable (exit 2)",
            a,
            json_of(&self.forged_on_operator_chain),
            typed(published),
            Class::Invalid,
        );
        c.user.rpcs = vec![honest_rpc.clone(), operator_rpc.clone()];
        c.log = self.log(published, &operator_rpc);
        c.fragment = format!("rpc={operator_rpc}");
        c.says = s(&[
            "the RPCs disagree on batchHead(0)",
            &honest_rpc,
            &operator_rpc,
        ]);
        c.never_says = s(&["VALID: every anchored event", "✓"]);
        cases.push(c);

        // §3: a percent-encoded handle must not dodge the binding.
        let encoded = format!("%74k_{}", &a[3..]);
        let mut c = base(
            "percent-encoded-handle",
            "§3 /v1/tickets/%74k_<A>/proof serving B's bundle",
            "VALID for another ticket's bundle",
            &encoded,
            json_of(&self.bundle_b),
            typed(published),
            Class::Invalid,
        );
        c.says = s(&[&format!("not of the ticket you asked for, {a}")]);
        c.never_says = s(&["✓"]);
        cases.push(c);

        // §1: another ticket's bundle under my handle (the page's
        // `#ticket=` swap; the CLI binds the URL's handle).
        let mut c = base(
            "another-tickets-bundle",
            "§1 /verify/tk_A#ticket=<B's bundle URL>",
            "INVALID (the CLI bound the URL's handle already)",
            a,
            json_of(&self.bundle_b),
            typed(published),
            Class::Invalid,
        );
        c.fragment = format!("ticket={}/v1/tickets/{}/proof", self.app.node.url(), self.b);
        c.says = s(&["not of the ticket you asked for"]);
        c.never_says = s(&["✓"]);
        cases.push(c);

        // §3: first_index + count above 2^64.
        let mut c = base(
            "first-index-plus-count-overflow",
            "§3 overflow panic at src/protocol/bundle.rs:253",
            "panic, exit 101 (debug build)",
            a,
            with(self.bundle_a.clone(), &|b| {
                b.batches[0].first_index = u64::MAX - 1;
                b.batches[0].count = 3;
            }),
            typed(published),
            Class::Invalid,
        );
        c.user.from_url = false;
        c.says = s(&["is past 2^64"]);
        cases.push(c);

        // §2: backdating inside a merge delay the operator declares itself.
        let mut c = base(
            "backdated-inside-self-declared-mmd",
            "§2 every event anchored 40 days after it was recorded, bundle MMD 40 days",
            "VALID, 0 flags, only \"MMD … from the bundle: unsigned\"",
            &self.late_bundle.ticket.to_string(),
            json_of(&self.late_bundle),
            typed(self.late_contract),
            Class::Valid,
        );
        c.says = s(&[
            "not bounded by anything you hold",
            "40 days 0 h after recorded_at",
            "never used to call an anchor timely",
        ]);
        c.never_says = s(&["broken promise:"]);
        cases.push(c);
        let mut c = base(
            "backdated-against-your-own-mmd",
            "§2 the same, with the user's own 60 s bound",
            "VALID with 4 broken promises (unchanged)",
            &self.late_bundle.ticket.to_string(),
            json_of(&self.late_bundle),
            typed(self.late_contract),
            Class::Valid,
        );
        c.user.max_merge_delay_s = Some(60);
        c.says = s(&[
            "bounded by you",
            "broken promise: anchored 39 days 23 h after its anchoring deadline",
            "4 broken promises",
        ]);
        cases.push(c);

        // §2, three cases where the page and the CLI disagreed.
        let mut c = base(
            "claimed-block-plus-5",
            "§2 the bundle claims a block 5 after the anchoring one",
            "VALID, no word about the claim",
            a,
            with(self.bundle_a.clone(), &|b| {
                for batch in &mut b.batches {
                    batch.block = batch.block.map(|n| n + 5);
                }
            }),
            typed(published),
            Class::Valid,
        );
        let real = self.bundle_a.batches[0].block.unwrap_or(0);
        c.says = s(&[&format!(
            "the log claimed block {}; anchored in block {real}",
            real + 5
        )]);
        cases.push(c);
        let mut c = base(
            "another-chain",
            "§2 a bundle naming another chain than the RPC serves",
            "INVALID (\"the RPC serves chain 31337, but the bundle is anchored on chain 1\")",
            a,
            with(self.bundle_a.clone(), &|b| b.chain.chain_id = 1),
            typed(published),
            Class::Invalid,
        );
        c.says = s(&["the bundle says chain 1; your RPC serves chain 31337"]);
        cases.push(c);
        let mut c = base(
            "bundle-mmd-2^53-1",
            "§2 max_merge_delay_ms = 2^53 − 1 in the bundle",
            "VALID, the figure used for deadlines",
            a,
            with(self.bundle_a.clone(), &|b| {
                b.max_merge_delay_ms = (1 << 53) - 1
            }),
            typed(published),
            Class::Valid,
        );
        c.says = s(&["the log claims a maximum merge delay of 9007199254740991 ms"]);
        cases.push(c);
        let mut c = base(
            "user-mmd-overflows",
            "§2 a user MMD whose deadline overflows",
            "INVALID (\"out of range\" per event), exit 1",
            a,
            json_of(&self.bundle_a),
            typed(published),
            Class::Error,
        );
        c.user.max_merge_delay_s = Some(i64::MAX as u64 / 1000);
        c.says = s(&["--max-merge-delay 9223372036854775 is too large"]);
        cases.push(c);

        // §2: equivocation is beyond one bundle, and the report says so.
        let mut c = base(
            "equivocation",
            "§2 a second version of seq 2 anchored on the same contract",
            "VALID with the caveat (the page had none)",
            &self.equivocation_bundle.ticket.to_string(),
            json_of(&self.equivocation_bundle),
            typed(self.equivocation_contract),
            Class::Valid,
        );
        c.says = s(&["a full audit of the log (proofdesk audit) can"]);
        cases.push(c);

        // §4: the append answer as a receipt, and errors about receipts.
        let mut c = base(
            "append-answer-as-receipt",
            "§4 --receipt answer.json saved from POST …/events",
            "exit 2: \"unknown field `record` … cannot read the bundle\"",
            a,
            json_of(&self.bundle_a),
            typed(published),
            Class::Valid,
        );
        c.user.receipts = vec![serde_json::to_string_pretty(&self.answer_a0).unwrap()];
        c.says = s(&[
            "every receipt you hold (1, up to seq 0)",
            "✓ receipt for seq 0",
        ]);
        cases.push(c);
        let mut broken = self.answer_a0.clone();
        broken["signature"] = json!(12);
        // It is set aside, named, and the verdict does not rest on it (the
        // page's rule and the CLI's, PROTOCOL §13.6).
        let mut c = base(
            "unreadable-receipt",
            "§4 an error about a receipt says \"receipt\", and a bad receipt does not turn the ticket red",
            "\"cannot read the bundle\", exit 2",
            a,
            json_of(&self.bundle_a),
            typed(published),
            Class::Valid,
        );
        c.user.receipts = vec![broken.to_string()];
        c.says = s(&["cannot read the receipt", "the verdict does not rest on it"]);
        c.never_says = s(&["cannot read the bundle"]);
        cases.push(c);

        // §4: a wrong contract gives no contradictory output.
        let mut c = base(
            "wrong-contract",
            "§4 the user types a contract other than the bundle's",
            "INVALID under a header saying \"as you expect\"",
            a,
            json_of(&self.bundle_a),
            typed(self.side_contract),
            Class::Invalid,
        );
        c.says = s(&["not the contract you typed"]);
        c.never_says = s(&["as you expect", "✓", "are anchored and complete"]);
        cases.push(c);

        // §3: a download size cap.
        let mut c = base(
            "oversized-download",
            "§3 a body past the cap (400 MB used 911 MB RSS and gave VALID)",
            "read it all, then \"cannot read the bundle\"",
            a,
            String::new(),
            typed(published),
            Class::Error,
        );
        c.served = Served::Oversized(64 * 1024 * 1024 + 1);
        c.says = s(&["is larger than 67108864 bytes", "--max-bundle-bytes"]);
        cases.push(c);

        // §1: the deployment list.
        let mut c = base(
            "deployment-list-platform",
            "§1 a contract on the deployment list, not typed",
            "INVALID: \"no trusted contract\" (there was no list)",
            a,
            json_of(&self.bundle_a),
            UserInputs::new(ContractInput::FromList, &honest_rpc),
            Class::Valid,
        );
        c.user.deployments = Some(self.platform_list());
        c.says = s(&[
            "(from the deployment list; it matches Example Exchange's published deployment)",
            "VALID",
        ]);
        cases.push(c);
        let mut c = base(
            "typed-and-on-the-list",
            "§1 a typed contract that is on the list says both",
            "VALID, \"as you expect\"",
            a,
            json_of(&self.bundle_a),
            typed(published),
            Class::Valid,
        );
        c.user.deployments = Some(self.platform_list());
        c.says = s(&["(you typed it; it matches Example Exchange's published deployment)"]);
        cases.push(c);
        let mut c = base(
            "development-deployment",
            "§1 the dev chain's contract is a development deployment, never a platform's",
            "INVALID: \"no trusted contract\"",
            a,
            json_of(&self.bundle_a),
            UserInputs::new(ContractInput::FromList, &honest_rpc),
            Class::Valid,
        );
        c.says = s(&[
            "(from the deployment list; it is the development deployment (Proofdesk development chain), not a platform's)",
        ]);
        c.never_says = s(&["published deployment"]);
        cases.push(c);

        // Pending is "not yet anchored", never a failure.
        let mut c = base(
            "nothing-anchored-yet",
            "§4 pending read as failure",
            "\"NOT YET VERIFIABLE\", exit 1",
            &self.pending_bundle.ticket.to_string(),
            json_of(&self.pending_bundle),
            typed(self.pending_contract),
            Class::Pending,
        );
        c.says = s(&["NOT YET ANCHORED", "not yet anchored"]);
        c.never_says = s(&["INVALID", "failed"]);
        cases.push(c);

        cases
    }
}

impl Case {
    /// The case as data, for another verifier's harness (the page): the
    /// served URL and fragment, the user's fields, the expected class.
    pub fn describe(&self, log: &str) -> Value {
        json!({
            "name": self.name,
            "finding": self.finding,
            "url": self.url(log),
            "log": format!("{log}/{}/v1/log", self.name),
            "fragment": self.fragment,
            "user": {
                "from_url": self.user.from_url,
                "contract": match &self.user.contract {
                    ContractInput::Typed(a) => json!({"typed": format!("{a:#x}")}),
                    ContractInput::FromList => json!("from_list"),
                    ContractInput::AcceptLogs => json!("accept_logs"),
                },
                "rpcs": self.user.rpcs,
                "ticket": self.user.ticket,
                "receipts": self.user.receipts,
                "max_merge_delay_s": self.user.max_merge_delay_s,
                "deployments": self.user.deployments,
            },
            "expect": self.expect.as_str(),
        })
    }
}

impl Case {
    /// The case as the verifier page meets it (tests/browser/verify-page.mjs):
    /// the page opened from disk, as a complainant saves it, with the log's
    /// link (`#ticket=` and the case's own fragment) or the dropped bundle
    /// file, and the user's fields. `None` for what only the CLI has: a
    /// deployment list of the user's own, a download cap, a body too large
    /// to fetch in a browser test.
    pub fn page_case(&self, base: &str, dir: &std::path::Path) -> Option<Value> {
        if self.user.deployments.is_some()
            || self.user.max_bundle_bytes.is_some()
            || matches!(self.served, Served::Oversized(_))
        {
            return None;
        }
        let write = |name: String, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let page = super::browser::file_page();
        let fragment = self.fragment.trim_start_matches('#');
        let mut files = Vec::new();
        let url = if self.user.from_url {
            let mut u = format!("{page}#ticket={}", self.url(base));
            if !fragment.is_empty() {
                u.push('&');
                u.push_str(fragment);
            }
            u
        } else {
            match &self.served {
                Served::Json(text) => {
                    files.push(write(format!("{}-page-bundle.json", self.name), text))
                }
                Served::Oversized(_) => unreachable!(),
            }
            if fragment.is_empty() {
                page
            } else {
                format!("{page}#{fragment}")
            }
        };
        for (i, r) in self.user.receipts.iter().enumerate() {
            files.push(write(format!("{}-page-receipt-{i}.json", self.name), r));
        }
        let mut c = json!({"name": self.name, "url": url, "rpc": self.user.rpcs.join("\n")});
        match &self.user.contract {
            ContractInput::Typed(a) => c["contract"] = json!(format!("{a:#x}")),
            ContractInput::FromList => c["contract"] = json!(""),
            ContractInput::AcceptLogs => c["trustBundle"] = json!(true),
        }
        if let Some(t) = &self.user.ticket {
            c["ticket"] = json!(t);
        }
        if let Some(s) = self.user.max_merge_delay_s {
            c["mmd"] = json!(s);
        }
        if !files.is_empty() {
            c["files"] = json!(files);
        }
        Some(c)
    }
}

/// The class and texts `proofdesk verify` gave for a case.
#[derive(Debug)]
pub struct Outcome {
    pub class: Option<Class>,
    pub exit: Option<i32>,
    pub text: String,
}

/// Runs a case through a `proofdesk verify` binary twice: `--json` for the
/// class, plain for the words. An older binary without the `verdict`
/// member is read by its exit status.
pub async fn run_cli(bin: &str, case: &Case, log: &str, dir: &std::path::Path) -> Outcome {
    let args = case.cli_args(log, dir);
    let run = |json: bool| {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("verify").args(&args);
        if json {
            cmd.arg("--json");
        }
        cmd.kill_on_drop(true);
        async move {
            tokio::time::timeout(Duration::from_secs(120), cmd.output())
                .await
                .expect("proofdesk verify ends within 120 s")
                .unwrap()
        }
    };
    let json = run(true).await;
    let plain = run(false).await;
    let exit = json.status.code();
    let verdict = serde_json::from_slice::<Value>(&json.stdout)
        .ok()
        .and_then(|v| v["verdict"].as_str().and_then(Class::parse));
    let class = verdict.or(match exit {
        Some(0) => Some(Class::Valid),
        Some(1) => Some(Class::Invalid),
        Some(2) => Some(Class::Error),
        Some(3) => Some(Class::Consistent),
        _ => None,
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&plain.stdout),
        String::from_utf8_lossy(&plain.stderr)
    );
    Outcome { class, exit, text }
}

/// What is wrong with an outcome, if anything.
pub fn judge(case: &Case, got: &Outcome) -> Vec<String> {
    let mut wrong = Vec::new();
    if got.class != Some(case.expect) {
        wrong.push(format!(
            "class {:?}, expected {}",
            got.class.map(Class::as_str),
            case.expect.as_str()
        ));
    }
    if got.exit != Some(case.expect.exit_code()) {
        wrong.push(format!(
            "exit {:?}, expected {}",
            got.exit,
            case.expect.exit_code()
        ));
    }
    for s in &case.says {
        if !got.text.contains(s.as_str()) {
            wrong.push(format!("does not say {s:?}"));
        }
    }
    for s in &case.never_says {
        if got.text.contains(s.as_str()) {
            wrong.push(format!("says {s:?}"));
        }
    }
    wrong
}
