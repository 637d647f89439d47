//! `proofdesk mirror` and `proofdesk mirror-export`: argument parsing,
//! serving and output; the work is in `proofdesk::mirror`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::routing::get;
use serde::Deserialize;

use super::audit::ChainArgs;
use proofdesk::api::{AppParts, AppState};
use proofdesk::audit::http::LogClient;
use proofdesk::audit::run::ExportLimits;
use proofdesk::mirror::follow::{MirrorMetrics, MirrorOptions, MirrorStop};
use proofdesk::protocol::bundle::ChainRef;
use proofdesk::protocol::state::Policy;
use proofdesk::prove::LogIdentity;

/// Keep a live, verified copy of a log and serve its public routes.
#[derive(clap::Args)]
pub struct MirrorArgs {
    /// Base URL of the log to follow.
    #[arg(long)]
    log: String,
    /// An API key of that log with the audit scope (for its export).
    #[arg(long, env = "PROOFDESK_AUDIT_KEY")]
    key: String,
    #[command(flatten)]
    chain: ChainArgs,
    /// The mirror's own database (sqlite://PATH or postgres://…).
    #[arg(long, env = "PROOFDESK_MIRROR_DATABASE")]
    database: String,
    /// Serve the public read routes (bundles, batches, /v1/log, /verify)
    /// here while following.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Keep following; without it, one pass and an exit code (0 caught up
    /// with nothing wrong, 1 an alert).
    #[arg(long)]
    follow: bool,
    /// Seconds between passes when following.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// The maximum merge delay you hold the log to, seconds: records it
    /// holds unanchored for longer raise a stall alert.
    #[arg(long, value_name = "SECONDS")]
    max_merge_delay: Option<u64>,
    /// Where evidence files are written.
    #[arg(long, default_value = "mirror-evidence")]
    evidence_dir: PathBuf,
    /// Older tickets whose bundles are compared with the copy each pass.
    #[arg(long, default_value_t = 5)]
    spot_checks: usize,
    #[command(flatten)]
    caches: super::caches::CacheArgs,
}

#[derive(Deserialize)]
struct Described {
    chain: ChainRef,
    max_merge_delay_ms: u64,
    policy: Policy,
}

pub async fn mirror(a: MirrorArgs) -> anyhow::Result<ExitCode> {
    let mut stop = super::signals::Stop::install()?;
    let caches = a.caches.limits();
    // A mirror writes and serves its copy: one process per SQLite file.
    let _serving = proofdesk::log::serving_lock::take(&a.database)?;
    let store = proofdesk::log::connect_with(&a.database, &caches)
        .await
        .with_context(|| format!("opening {}", a.database))?;
    let chain = a.chain.chain()?;
    let log = LogClient::new(&a.log, Some(a.key.clone()))?;
    // What the log says of itself: its chain is checked; its merge delay
    // and policy are its own claims, served again so the mirror's bundles
    // are the log's.
    let described: Described = log.get_json("/v1/log").await?;
    proofdesk::mirror::follow::check_identity(&chain, &described.chain).await?;
    let anchorer = chain.anchorer().await?;
    let identity = LogIdentity {
        chain: ChainRef {
            chain_id: described.chain.chain_id,
            contract: format!("{:#x}", chain.contract),
            anchorer: format!("{anchorer:#x}"),
        },
        max_merge_delay_ms: described.max_merge_delay_ms,
        policy: described.policy,
    };
    let metrics = Arc::new(Mutex::new(MirrorMetrics::default()));
    let mut served_map = None;
    if let Some(addr) = a.listen {
        // The copy's own ticket map, rebuilt from its records once: its
        // bundles prove against it, each stored map root is checked, and
        // the importer continues it.
        let map = Arc::new(proofdesk::seal::MapState::new());
        map.catch_up(store.as_ref()).await?;
        served_map = Some(map.clone());
        let state = AppState::new(AppParts {
            store: store.clone(),
            key: None,
            receipts: None,
            identity,
            policy: described.policy,
            chain: Some(chain.clone()),
            metrics: Default::default(),
            public_rpc: None,
            limits: Arc::new(proofdesk::api::limits::RateLimits::new(Default::default())),
            bundle_tags: proofdesk::prove::tags::BundleTags::new(caches.bundle_tags),
            ticket_counts: Default::default(),
            map: map.clone(),
        });
        let m = metrics.clone();
        let routes = proofdesk::api::public_router().route(
            "/metrics",
            get(move || {
                let m = m.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            proofdesk::metrics::CONTENT_TYPE,
                        )],
                        m.lock().unwrap().render(),
                    )
                }
            }),
        );
        let app = proofdesk::api::finish(routes, state);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        eprintln!(
            "mirror: serving the public routes on http://{}",
            listener.local_addr()?
        );
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
    }
    let opts = MirrorOptions {
        log,
        store,
        chain,
        policy: described.policy,
        follow: a.follow,
        interval: Duration::from_secs(a.interval.max(1)),
        max_merge_delay_ms: a.max_merge_delay.map(|s| s.saturating_mul(1000)),
        evidence_dir: a.evidence_dir,
        limits: ExportLimits::default(),
        spot_checks: a.spot_checks,
        map: served_map,
    };
    let stopped = tokio::select! {
        r = proofdesk::mirror::follow::run(opts, metrics) => r?,
        signal = stop.wait() => {
            eprintln!("{signal}: stopping");
            return Ok(ExitCode::SUCCESS);
        }
    };
    match stopped {
        MirrorStop::CaughtUp { end } => {
            match end {
                0 => println!("✓ nothing anchored yet"),
                n => println!("✓ mirrored and verified records 0–{}", n - 1),
            }
            Ok(ExitCode::SUCCESS)
        }
        MirrorStop::Alerted(alerts) => {
            for al in alerts {
                println!(
                    "✗ {:?}: {}{}",
                    al.kind,
                    al.detail,
                    al.evidence
                        .map(|p| format!(" (evidence: {})", p.display()))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Write the mirror's copy to a file a restored node recovers from.
#[derive(clap::Args)]
pub struct MirrorExportArgs {
    /// The mirror's database.
    #[arg(long, env = "PROOFDESK_MIRROR_DATABASE")]
    database: String,
    #[command(flatten)]
    chain: ChainArgs,
    /// The file to write (`proofdesk recover --from FILE`).
    #[arg(long)]
    out: PathBuf,
}

pub async fn export(a: MirrorExportArgs) -> anyhow::Result<ExitCode> {
    let store = proofdesk::log::connect(&a.database).await?;
    let chain = a.chain.chain()?;
    let chain_id = chain.chain_id().await?;
    let n = proofdesk::mirror::export::export(
        &store,
        &a.out,
        chain_id,
        &format!("{:#x}", chain.contract),
        Policy::default(),
    )
    .await?;
    eprintln!("wrote {n} records to {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}
