//! One Proofdesk node: the store, the HTTP server, and the sealing and
//! anchoring loops, wired from one configuration. `serve`, `dev` and the
//! end-to-end tests all start a node through here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::anchor::{AnchorPolicy, Anchorer, Chain, OperatorKey};
use crate::api::{AppParts, AppState, router};
use crate::log::DynStore;
use crate::metrics::Metrics;
use crate::protocol::bundle::ChainRef;
use crate::protocol::state::Policy;
use crate::prove::LogIdentity;
use crate::seal::{HEAD_V2_FROM, MapState, SealPolicy, Sealer};

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub database_url: String,
    pub listen: SocketAddr,
    pub rpc_url: String,
    pub contract: Address,
    pub from_block: u64,
    pub rpc_timeout: Duration,
    pub max_merge_delay: Duration,
    pub seal: SealPolicy,
    /// The first batch id sealed with a head v2 (PROTOCOL.md §15.3); a
    /// log past it switches at its next batch.
    pub head_v2_from: u64,
    pub anchor: AnchorPolicy,
    pub policy: Policy,
    pub leader: crate::leader::LeaderTiming,
    /// A public RPC URL the log suggests to verifiers (GET /v1/log
    /// `public_rpc`; the verifier page offers it, named "suggested by the
    /// log", never enough for "Verified"). Never the operator's own
    /// private endpoint.
    pub public_rpc: Option<String>,
    /// How large the store's and the API's caches may grow.
    pub caches: crate::log::CacheLimits,
}

impl NodeConfig {
    /// A node on a local chain, as `proofdesk dev` and the tests run one:
    /// an ephemeral port on 127.0.0.1, a 5 s RPC timeout, a 60 s maximum
    /// merge delay, batches of 4 sealed after 200 ms, one confirmation
    /// polled every 100 ms, default policies and cache bounds, and no
    /// suggested public RPC.
    /// Callers change what differs in the returned value. `serve` builds
    /// its configuration from its flags instead.
    pub fn local(
        database_url: String,
        rpc_url: String,
        contract: Address,
        from_block: u64,
    ) -> NodeConfig {
        NodeConfig {
            database_url,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_url,
            contract,
            from_block,
            rpc_timeout: Duration::from_secs(5),
            max_merge_delay: Duration::from_secs(60),
            seal: SealPolicy {
                max_batch: 4,
                max_age: Duration::from_millis(200),
            },
            head_v2_from: HEAD_V2_FROM,
            anchor: AnchorPolicy {
                confirmations: 1,
                poll: Duration::from_millis(100),
                ..AnchorPolicy::default()
            },
            policy: Policy::default(),
            leader: Default::default(),
            public_rpc: None,
            caches: Default::default(),
        }
    }
}

pub struct Node {
    pub addr: SocketAddr,
    pub store: DynStore,
    pub metrics: Arc<Metrics>,
    pub chain: Chain,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// A SQLite database's serving lock, held until the node is dropped.
    _serving: Option<crate::log::serving_lock::ServingLock>,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("database: {0}")]
    Store(#[from] crate::log::StoreError),
    #[error("chain: {0}")]
    Chain(#[from] crate::anchor::chain::ChainError),
    #[error("anchorer: {0}")]
    Anchor(#[from] crate::anchor::worker::AnchorError),
    #[error("ticket map: {0}")]
    Map(#[from] crate::seal::MapStateError),
    #[error(transparent)]
    Serving(#[from] crate::log::serving_lock::ServingLockError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("no contract code at {0} on this chain: deploy it first (proofdesk deploy)")]
    NoContract(Address),
    #[error(
        "the contract's anchorer is {on_chain}, but the operator key is {ours}: receipts would not verify"
    )]
    WrongKey { on_chain: Address, ours: Address },
    #[error(
        "this database is older than the chain: the contract has anchored {chain_batches} batches (records up to index {chain_next}), this database holds {our_batches} batches and {our_size} records. \
         Sealing, anchoring or appending now would give anchored indices to other records and fork the log, so the node does not start. \
         Bring the missing records back from a mirror's export or an auditor's saved audit: \
         proofdesk recover --database … --rpc … --contract … --from FILE (README, \"Mirrors and recovery\")"
    )]
    BehindChain {
        chain_batches: u64,
        chain_next: u64,
        our_batches: u64,
        our_size: u64,
    },
    #[error(
        "this database's batch {batch} is not the one the contract anchored (head {ours} here, {on_chain} on chain): it belongs to another log or contract"
    )]
    NotThisLog {
        batch: u64,
        ours: crate::protocol::Hash32,
        on_chain: crate::protocol::Hash32,
    },
}

impl Node {
    pub async fn start(config: NodeConfig, key: OperatorKey) -> Result<Node, NodeError> {
        Node::start_with_limits(config, key, crate::api::limits::Limits::default()).await
    }

    /// Like `start`, with rate limits other than the defaults.
    pub async fn start_with_limits(
        config: NodeConfig,
        key: OperatorKey,
        limits: crate::api::limits::Limits,
    ) -> Result<Node, NodeError> {
        // Before the database is opened: a second server on a SQLite file
        // would be a second leader (`log::serving_lock`).
        let serving = crate::log::serving_lock::take(&config.database_url)?;
        let store = crate::log::connect_with(&config.database_url, &config.caches).await?;
        let mut chain = Chain::connect(&config.rpc_url, config.contract, config.rpc_timeout)?;
        chain.from_block = config.from_block;
        if !chain.code_exists().await? {
            return Err(NodeError::NoContract(config.contract));
        }
        let chain_id = chain.chain_id().await?;
        let on_chain = chain.anchorer().await?;
        if on_chain != key.address() {
            return Err(NodeError::WrongKey {
                on_chain,
                ours: key.address(),
            });
        }
        check_not_behind(&store, &chain).await?;
        // The ticket map is rebuilt from the records, and every stored map
        // root checked against it, before anything is served or sealed.
        let map = Arc::new(MapState::new());
        let replayed = map.catch_up(store.as_ref()).await?;
        tracing::info!(batches = replayed, "ticket map rebuilt");
        let metrics = Arc::new(Metrics::default());
        let identity = LogIdentity {
            chain: ChainRef {
                chain_id,
                contract: format!("{:#x}", config.contract),
                anchorer: format!("{:#x}", key.address()),
            },
            max_merge_delay_ms: config.max_merge_delay.as_millis() as u64,
            policy: config.policy,
        };
        let state = AppState::new(AppParts {
            store: store.clone(),
            key: Some(key.clone()),
            receipts: Some(crate::ingest::receipts::ReceiptSigner::start(key.clone())),
            identity,
            policy: config.policy,
            chain: Some(chain.clone()),
            metrics: metrics.clone(),
            public_rpc: config.public_rpc.clone(),
            limits: Arc::new(crate::api::limits::RateLimits::new(limits)),
            bundle_tags: crate::prove::tags::BundleTags::new(config.caches.bundle_tags),
            ticket_counts: Default::default(),
            map: map.clone(),
        });
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| NodeError::Listen(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| NodeError::Listen(config.listen, e))?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let app = router(state);
        let mut http_stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = http_stop.wait_for(|s| *s).await;
            };
            // The peer address feeds the per-IP rate limit.
            if let Err(e) = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            {
                tracing::error!(error = %e, "http server stopped");
            }
        }));
        // Sealing and anchoring run only while this process leads.
        let lead = {
            let sealer = Sealer {
                head_v2_from: config.head_v2_from,
                ..Sealer::new(store.clone(), config.seal, map.clone())
            };
            let (store, chain, anchor, metrics) = (
                store.clone(),
                chain.clone(),
                config.anchor.clone(),
                metrics.clone(),
            );
            move |term: watch::Receiver<bool>| {
                let (store, chain, key, anchor, metrics, sealer) = (
                    store.clone(),
                    chain.clone(),
                    key.clone(),
                    anchor.clone(),
                    metrics.clone(),
                    sealer.clone(),
                );
                async move {
                    let sealer =
                        tokio::spawn(crate::seal::run(sealer, metrics.clone(), term.clone()));
                    match Anchorer::new(store, chain, key, anchor, metrics).await {
                        Ok(anchorer) => anchorer.run(term).await,
                        Err(e) => tracing::error!(error = %e, "cannot start the anchorer"),
                    }
                    let _ = sealer.await;
                }
            }
        };
        tasks.push(tokio::spawn(crate::leader::run(
            config.database_url.clone(),
            config.leader,
            metrics.clone(),
            stop_rx,
            lead,
        )));
        tracing::info!(%addr, backend = store.backend(), contract = %config.contract, chain_id, "proofdesk node started");
        Ok(Node {
            addr,
            store,
            metrics,
            chain,
            stop,
            tasks,
            _serving: serving,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the loops and the server, waiting for in-flight work.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

/// A database restored from a backup older than the chain lacks batches
/// the contract has anchored: the node must not seal, anchor or append on
/// top of it (it would number new records with indices the chain has
/// already anchored). And the last batch both know must be the same one.
async fn check_not_behind(store: &DynStore, chain: &Chain) -> Result<(), NodeError> {
    let stats = store.stats().await?;
    let chain_batches = chain.batch_count().await?;
    if chain_batches > stats.batches {
        return Err(NodeError::BehindChain {
            chain_batches,
            chain_next: chain.next_index().await?,
            our_batches: stats.batches,
            our_size: stats.size,
        });
    }
    if let Some(last) = chain_batches.checked_sub(1)
        && let Some(ours) = store.batch(last).await?
    {
        let on_chain = chain.batch_head(last).await?;
        if on_chain != ours.head {
            return Err(NodeError::NotThisLog {
                batch: last,
                ours: ours.head,
                on_chain,
            });
        }
    }
    Ok(())
}
