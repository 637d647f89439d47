//! `/docs`: an interactive API reference (Redoc, vendored in
//! `assets/redoc/`, see its README for version, licence and hash) rendered
//! from `/openapi.json`. Everything is served from here; the page's CSP
//! allows nothing else.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Redoc's standalone bundle, embedded at build time.
pub const REDOC_JS: &str = include_str!("../../assets/redoc/redoc.standalone.js");

/// What the page needs: its own scripts; inline styles (Redoc's
/// styled-components); data: images (icons); a blob: worker (search); and
/// fetching /openapi.json from this origin. No other origin is reachable.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Proofdesk API reference</title>
</head>
<body>
<noscript>This reference needs JavaScript. The machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="redoc"></div>
<script src="/docs/redoc.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"#;

const INIT: &str = r#"Redoc.init('/openapi.json', {
  hideDownloadButton: false,
  expandResponses: '200,201',
  jsonSampleExpandLevel: 3,
  disableSearch: false
}, document.getElementById('redoc'));
"#;

fn with_csp(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, DOCS_CSP),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The interactive API reference.
#[utoipa::path(get, path = "/docs", tag = "ops",
    responses((status = 200, description = "The API reference (HTML)", body = String, content_type = "text/html")))]
pub async fn docs() -> Response {
    with_csp("text/html; charset=utf-8", PAGE)
}

/// Redoc's standalone bundle (vendored, MIT).
#[utoipa::path(get, path = "/docs/redoc.js", tag = "ops",
    responses((status = 200, description = "Redoc 2.5.4 standalone bundle", body = String, content_type = "text/javascript")))]
pub async fn redoc_js() -> Response {
    with_csp("text/javascript; charset=utf-8", REDOC_JS)
}

/// The page's start-up script (a file, so the CSP needs no inline script).
#[utoipa::path(get, path = "/docs/init.js", tag = "ops",
    responses((status = 200, description = "Start-up script of /docs", body = String, content_type = "text/javascript")))]
pub async fn init_js() -> Response {
    with_csp("text/javascript; charset=utf-8", INIT)
}
