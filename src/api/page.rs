//! The complainant's verifier page (web/, built into one self-contained file
//! by scripts/build-page.sh; docs/VERIFIER.md). It is served as is: the page
//! itself fetches the bundle and talks to the user's RPC.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::schema::Problem;
use super::writes::{HandlePath, parse_handle};

/// The built page; the test command fails if it differs from a fresh build.
pub const PAGE: &str = include_str!("../../web/dist/verify.html");

/// Its Content-Security-Policy, computed at build time: the page's own inline
/// script and style by hash, fetches to this origin (the bundle, /v1/log)
/// and to any http(s) URL. The RPC is whatever URL the user types, so
/// `connect-src` cannot name it in advance and must allow http: and https:.
/// Nothing else: no CDN, fonts, images, frames, forms or plugins.
pub const CSP: &str = include_str!("../../web/dist/verify.csp");

fn page() -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    let h = resp.headers_mut();
    // Set here, so a generic layer that adds security headers only where
    // absent leaves this page's own policy in place.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP.trim_ascii_end()),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// The public, read-only, credential-free answers (the bundle and /v1/log)
/// may be read from any origin: a saved copy of the page runs from a file
/// (origin `null`) or another host and still fetches them. Simple GETs, no
/// credentials: nothing a wildcard could leak.
pub async fn any_origin(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// The complainant's verifier page (HTML), for a dropped bundle or a typed
/// link. It fetches the bundle itself and checks it against the user's RPC.
#[utoipa::path(get, path = "/verify", tag = "public",
    responses(
        (status = 200, description = "The verifier page", body = String, content_type = "text/html"),
    ))]
pub async fn verify_page() -> Response {
    page()
}

/// The verifier page (HTML) for one ticket, which checks it on its own;
/// receipts may ride in the URL fragment (`#r=…`, never sent here).
#[utoipa::path(get, path = "/verify/{handle}", tag = "public",
    params(HandlePath),
    responses(
        (status = 200, description = "The verifier page", body = String, content_type = "text/html"),
        (status = 400, description = "Malformed handle", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_ticket_page(Path(handle): Path<String>) -> Result<Response, ApiError> {
    parse_handle(&handle)?;
    Ok(page())
}
