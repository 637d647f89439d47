//! Security headers. Every response gets `X-Content-Type-Options: nosniff`;
//! every HTML response also gets `Referrer-Policy`, `X-Frame-Options` and,
//! unless its handler set its own (as /docs and /verify do), a
//! `Content-Security-Policy` that allows nothing but the page itself.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// For HTML pages whose handler set no CSP: no scripts, no other origin,
/// no framing.
pub const DEFAULT_HTML_CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DEFAULT_HTML_CSP),
            );
        }
    }
    resp
}

/// What caches may keep: an answer to a request with a key is private and
/// never stored (a CDN in front must not serve one client's answer to
/// another); a public answer that set no policy of its own is not stored
/// either. Bundles and final batches' leaves set their own (docs: "Putting
/// a CDN in front").
pub async fn cache_policy(req: Request, next: Next) -> Response {
    let keyed = req.headers().contains_key(header::AUTHORIZATION);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if keyed {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        h.append(header::VARY, HeaderValue::from_static("Authorization"));
    } else if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
