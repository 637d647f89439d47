//! Rate limits (the `governor` crate, GCRA): per API key for requests that
//! carry a valid key, per client IP for everything else on `/v1/` (the
//! public proof reads among them). A request over its limit gets 429
//! problem+json with `Retry-After`. Health, readiness, metrics and the API
//! description are not limited.
//!
//! The client IP is the TCP peer, or, when the peer is a reverse proxy the
//! operator named (`--trusted-proxy`), the address it forwarded
//! (`X-Forwarded-For`, see `proxies`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::AppState;
use super::error::ApiError;
pub use super::proxies::TrustedProxies;

/// A sustained rate and the burst allowed above it. `per_second == 0`
/// turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// The limits a server enforces. The defaults are generous; an operator
/// exposing public reads to the internet should lower `per_ip`
/// (`proofdesk serve --ip-rate 20 --ip-burst 40`). scripts/bench.sh, which
/// sends everything from one address with one key, raises both far above
/// what one server can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub per_key: Rate,
    pub per_ip: Rate,
    /// Reverse proxies whose X-Forwarded-For names the client (none by
    /// default: the header is ignored).
    pub trusted_proxies: TrustedProxies,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_key: Rate {
                per_second: 20_000,
                burst: 40_000,
            },
            per_ip: Rate {
                per_second: 10_000,
                burst: 20_000,
            },
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Above this many tracked keys or addresses, idle ones are forgotten.
const RETAIN_ABOVE: usize = 100_000;

pub struct RateLimits {
    by_key: Option<DefaultKeyedRateLimiter<String>>,
    by_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    proxies: TrustedProxies,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(rate: Rate) -> Option<DefaultKeyedRateLimiter<K>> {
    let per_second = NonZeroU32::new(rate.per_second)?;
    let burst = NonZeroU32::new(rate.burst.max(rate.per_second)).unwrap_or(per_second);
    Some(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

impl RateLimits {
    pub fn new(limits: Limits) -> RateLimits {
        RateLimits {
            by_key: limiter(limits.per_key),
            by_ip: limiter(limits.per_ip),
            proxies: limits.trusted_proxies,
        }
    }
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: K,
    what: &'static str,
) -> Result<(), ApiError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > RETAIN_ABOVE {
        limiter.retain_recent();
    }
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        ApiError::TooManyRequests {
            what,
            // Whole seconds, rounded up: a client that waits this long gets in.
            retry_after_s: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

/// Middleware: the limit that applies to this request, checked before the
/// handler runs (and before its body is read).
pub async fn limit(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    let limits: &RateLimits = &app.limits;
    let key = match super::auth::bearer(req.headers()) {
        Some(token) => super::auth::lookup(app.store.as_ref(), token)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let verdict = match key {
        Some(key) => check(&limits.by_key, key.id, "per API key"),
        None => {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
            let forwarded = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            let ip = limits.proxies.client(peer, forwarded);
            check(&limits.by_ip, ip, "per client address")
        }
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Shared by every clone of the router's state.
pub type SharedLimits = Arc<RateLimits>;
