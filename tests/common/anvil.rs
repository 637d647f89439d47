//! A real local chain for anchoring tests: anvil on a free port (started by
//! `proofdesk::devnet`, killed when the fixture drops), plus a TCP proxy in front of it that can
//! be switched down and up to simulate an RPC outage, and a driver that
//! steps the anchor worker (mining between steps) until a condition holds.
//!
//! Tests never sleep for timing: they step the worker in bounded loops and
//! move the chain forward explicitly with `anvil_mine`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use proofdesk::anchor::deploy::deploy;
use proofdesk::anchor::{AnchorPolicy, Anchorer, Chain, OperatorKey};
use proofdesk::devnet::{self, DEV_KEYS};
use proofdesk::log::{Batch, DynStore};
use proofdesk::metrics::Metrics;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// Timeout for every chain call the tests make through `Chain`.
pub const CHAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Anvil's well-known dev keys (the public test mnemonic): local devnet only.
pub fn dev_key(i: usize) -> OperatorKey {
    OperatorKey::parse(DEV_KEYS[i]).unwrap()
}

/// The library's devnet launcher (the one `proofdesk dev` uses), plus a
/// control connection for mining and snapshots.
pub struct Anvil {
    inner: devnet::Anvil,
    /// For raw requests (mining, snapshots); talks to anvil directly.
    control: Chain,
}

impl Anvil {
    /// Spawns anvil (a block per transaction) on a free port and waits
    /// (≤ 10 s) until it answers eth_chainId.
    pub async fn spawn() -> Anvil {
        let inner = devnet::Anvil::start(0, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let control =
            Chain::connect(&inner.url(), Address::ZERO, Duration::from_millis(500)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while control.chain_id().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "anvil on port {} did not answer eth_chainId within 10 s",
                inner.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Anvil { inner, control }
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    pub fn url(&self) -> String {
        self.inner.url()
    }

    pub fn key(&self, i: usize) -> OperatorKey {
        dev_key(i)
    }

    async fn raw<P, R>(&self, method: &'static str, params: P) -> R
    where
        P: serde::Serialize + Clone + Send + Sync + Unpin + std::fmt::Debug,
        R: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        let fut = self
            .control
            .provider()
            .raw_request::<_, R>(method.into(), params);
        tokio::time::timeout(Duration::from_secs(5), fut)
            .await
            .unwrap_or_else(|_| panic!("{method} timed out"))
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    pub async fn mine(&self, n: u64) {
        let _: serde_json::Value = self.raw("anvil_mine", (U256::from(n),)).await;
    }

    pub async fn set_automine(&self, on: bool) {
        let _: serde_json::Value = self.raw("evm_setAutomine", (on,)).await;
    }

    pub async fn snapshot(&self) -> U256 {
        self.raw("evm_snapshot", ()).await
    }

    pub async fn revert(&self, id: U256) {
        let ok: bool = self.raw("evm_revert", (id,)).await;
        assert!(ok, "evm_revert({id}) refused");
    }

    pub async fn block_number(&self) -> u64 {
        self.control.provider().get_block_number().await.unwrap()
    }
}

// ------------------------------------------------------------------ proxy

#[derive(Default)]
struct ProxyState {
    up: bool,
    conns: Vec<AbortHandle>,
}

/// A TCP proxy 127.0.0.1:<free> → 127.0.0.1:<target>. `down()` cuts every
/// live connection and refuses new ones (accepted, then closed at once)
/// until `up()`.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ProxyState {
            up: true,
            conns: Vec::new(),
        }));
        let st = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let mut guard = st.lock().unwrap();
                if !guard.up {
                    drop(inbound); // refused
                    continue;
                }
                let task = tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                guard.conns.retain(|c| !c.is_finished());
                guard.conns.push(task.abort_handle());
            }
        });
        Proxy {
            addr,
            state,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn down(&self) {
        let mut st = self.state.lock().unwrap();
        st.up = false;
        for c in st.conns.drain(..) {
            c.abort();
        }
    }

    pub fn up(&self) {
        self.state.lock().unwrap().up = true;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for c in self.state.lock().unwrap().conns.drain(..) {
            c.abort();
        }
    }
}

// ------------------------------------------------------------- deployment

/// A quick policy for tests: 2 confirmations, 10 ms polls and backoff.
pub fn fast_policy(resend_after: Duration) -> AnchorPolicy {
    AnchorPolicy {
        confirmations: 2,
        use_finalized_tag: false,
        resend_after,
        fee_bump_percent: 25,
        poll: Duration::from_millis(10),
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(200),
        ..AnchorPolicy::default()
    }
}

/// Deploys SupportAnchor (owner = account 0, anchorer = `anchorer` or
/// account 0) and returns a `Chain` on it through `rpc_url`.
pub async fn deploy_anchor(anvil: &Anvil, anchorer: Option<Address>, rpc_url: &str) -> Chain {
    let (address, block) = deploy(&anvil.url(), &dev_key(0), anchorer, Duration::from_secs(10))
        .await
        .expect("deploy SupportAnchor");
    let mut chain = Chain::connect(rpc_url, address, CHAIN_TIMEOUT).unwrap();
    chain.from_block = block;
    chain
}

pub async fn anchorer(
    store: &DynStore,
    chain: &Chain,
    key: OperatorKey,
    policy: AnchorPolicy,
) -> Anchorer {
    Anchorer::new(
        store.clone(),
        chain.clone(),
        key,
        policy,
        Arc::new(Metrics::default()),
    )
    .await
    .expect("anchorer starts")
}

/// Deploy + an anchorer with account 0 and `fast_policy(resend_after)`,
/// everything talking to anvil directly.
pub async fn setup(anvil: &Anvil, store: &DynStore, resend_after: Duration) -> (Chain, Anchorer) {
    let chain = deploy_anchor(anvil, None, &anvil.url()).await;
    let a = anchorer(store, &chain, dev_key(0), fast_policy(resend_after)).await;
    (chain, a)
}

pub async fn all_batches(store: &DynStore) -> Vec<Batch> {
    store.batches(0, 10_000).await.unwrap()
}

/// Steps the worker, mining `mine_per_step` blocks after each step, until
/// `done(batches)` holds; panics after `max_steps` or on a step error.
/// Returns the number of steps taken.
pub async fn drive_until(
    a: &Anchorer,
    anvil: &Anvil,
    mine_per_step: u64,
    max_steps: usize,
    done: impl Fn(&[Batch]) -> bool,
) -> usize {
    for i in 0..max_steps {
        if done(&all_batches(&a.store).await) {
            return i;
        }
        match a.step().await {
            Ok(_) => {}
            Err(e) => panic!("anchor step {i} failed: {e}"),
        }
        if mine_per_step > 0 {
            anvil.mine(mine_per_step).await;
        }
    }
    let batches = all_batches(&a.store).await;
    assert!(
        done(&batches),
        "condition not reached in {max_steps} steps; batches: {:?}",
        batches
            .iter()
            .map(|b| (b.id, b.status, b.last_error.clone()))
            .collect::<Vec<_>>()
    );
    max_steps
}
