//! The complainant's verifier page (web/, built into one self-contained file
//! by scripts/build-page.sh; docs/VERIFIER.md). It is served as is: the page
//! itself fetches the bundle and talks to the user's RPC.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::{HandlePath, parse_handle};
use super::schema::Problem;

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
        (status = 400, description = "Malformed handle (a client that accepts text/html gets a 404 page saying so instead)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Malformed handle, for a browser (Accept: text/html): a page saying the link names no ticket", body = String, content_type = "text/html"),
    ))]
pub async fn verify_ticket_page(
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match parse_handle(&handle) {
        Ok(_) => Ok(page()),
        // A person who followed a bad link gets a page that says so; a
        // program, the problem.
        Err(_) if wants_html(&headers) => Ok(not_a_ticket_page(&handle)),
        Err(e) => Err(e),
    }
}

/// Whether the client asked for HTML (a browser's navigation does).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.split(';').next().unwrap_or("").trim();
            t.eq_ignore_ascii_case("text/html") || t.eq_ignore_ascii_case("application/xhtml+xml")
        })
}

/// 404 as a page, in English and Chinese like the verifier: the link names
/// no ticket. The path is shown escaped (and cut), never as markup.
fn not_a_ticket_page(handle: &str) -> Response {
    let shown: String = handle.chars().take(80).collect();
    let shown = html_escape(&shown);
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not a ticket link · 不是工单链接</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}}code{{background:#f3f3f3;padding:0 .25em;word-break:break-all}}</style></head>
<body>
<h1>This is not a ticket link</h1>
<p><code>{shown}</code> is not a ticket handle. A handle is <code>tk_</code> followed by 32 characters 0–9 and a–f, as in the link or QR code the platform gave you. Check that the whole link was copied.</p>
<p>To check a proof bundle file instead, open <a href="/verify">the verifier page</a>.</p>
<h1 lang="zh-Hans">这不是工单链接</h1>
<p lang="zh-Hans"><code>{shown}</code> 不是工单编号。工单编号以 <code>tk_</code> 开头，后跟 32 个字符（0–9 和 a–f），见平台给您的链接或二维码。请确认链接已完整复制。</p>
<p lang="zh-Hans">如需核验证明文件，请打开<a href="/verify">核验页面</a>。</p>
</body></html>
"#
    );
    let mut resp = (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
