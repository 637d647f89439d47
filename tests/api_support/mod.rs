//! A real HTTP server on 127.0.0.1 serving the real router over a real
//! SQLite (or PostgreSQL) store, without a chain: for the API's contract
//! tests (status codes, problem+json, scopes, limits), which never need
//! one. Tests that anchor use `proofdesk::node::Node` with anvil instead.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use proofdesk::anchor::OperatorKey;
use proofdesk::api::limits::{Limits, RateLimits};
use proofdesk::api::{AppParts, AppState, router};
use proofdesk::devnet::DEV_KEYS;
use proofdesk::log::DynStore;
use proofdesk::metrics::Metrics;
use proofdesk::protocol::bundle::ChainRef;
use proofdesk::protocol::state::Policy;
use proofdesk::prove::LogIdentity;

pub struct ApiServer {
    pub url: String,
    pub store: DynStore,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    pub async fn start(store: DynStore) -> ApiServer {
        ApiServer::start_with_limits(store, Limits::default()).await
    }

    pub async fn start_with_limits(store: DynStore, limits: Limits) -> ApiServer {
        let key = OperatorKey::parse(DEV_KEYS[0]).unwrap();
        let state = AppState::new(AppParts {
            store: store.clone(),
            identity: LogIdentity {
                chain: ChainRef {
                    chain_id: 31337,
                    contract: format!("0x{}", "42".repeat(20)),
                    anchorer: format!("{:#x}", key.address()),
                },
                max_merge_delay_ms: 60_000,
                policy: Policy::default(),
            },
            receipts: Some(proofdesk::ingest::receipts::ReceiptSigner::start(
                key.clone(),
            )),
            key: Some(key),
            policy: Policy::default(),
            public_rpc: None,
            chain: None,
            metrics: Arc::new(Metrics::default()),
            limits: Arc::new(RateLimits::new(limits)),
            bundle_tags: Default::default(),
            ticket_counts: Default::default(),
            map: Default::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state);
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        ApiServer {
            url: format!("http://{addr}"),
            store,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
