//! The OpenAPI document is generated from the code; these tests hold it to
//! the router: every route the router registers is documented with the same
//! methods (a route added without `#[utoipa::path]` fails here), every
//! `$ref` resolves, every operation documents its error statuses, and /docs
//! serves the vendored reference UI with a strict CSP.

mod api_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use api_support::ApiServer;
use common::TestDb;
use serde_json::Value;

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

/// Every `.route("path", get(..).post(..))` in src/, by reading the source:
/// routes may be added in any module, and the router cannot list its own.
fn routes_in_source() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !(text.contains("Router") && (text.contains(".nest(") || text.contains(".merge("))),
            "{}: nested or merged routers are not scanned by this test; extend it",
            f.display()
        );
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let open = rest.find('"').unwrap();
            let close = open + 1 + rest[open + 1..].find('"').unwrap();
            let path = rest[open + 1..close].to_owned();
            // The method router runs to the parenthesis closing .route(.
            let mut depth = 1;
            let mut end = close;
            for (j, c) in rest[close..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = close + j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let body = &rest[close + 1..end];
            let methods = routes.entry(path.clone()).or_default();
            for m in METHODS {
                let bytes = body.as_bytes();
                let mut from = 0;
                while let Some(k) = body[from..].find(&format!("{m}(")) {
                    let at = from + k;
                    let before = if at == 0 { b' ' } else { bytes[at - 1] };
                    if !(before.is_ascii_alphanumeric() || before == b'_' || before == b':') {
                        methods.insert(m.to_owned());
                    }
                    from = at + m.len();
                }
            }
            assert!(!methods.is_empty(), "no method found for route {path}");
            rest = &rest[end..];
        }
    }
    routes
}

fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .cloned()
                .collect();
            (p.clone(), methods)
        })
        .collect()
}

#[test]
fn every_route_in_the_router_is_documented_with_its_methods() {
    let in_code = routes_in_source();
    assert!(
        in_code.len() >= 14,
        "the scan found the routes: {in_code:?}"
    );
    let doc = proofdesk::api::openapi::document();
    let in_doc = documented(&doc);
    for (path, methods) in &in_code {
        assert_eq!(
            in_doc.get(path),
            Some(methods),
            "route {path} {methods:?} is registered in the router but the OpenAPI document has {:?}: \
             add #[utoipa::path] to its handler and list it in src/api/openapi.rs",
            in_doc.get(path)
        );
    }
    for (path, methods) in &in_doc {
        assert_eq!(
            in_code.get(path),
            Some(methods),
            "the document describes {path} {methods:?}, which the router does not serve"
        );
    }
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap().to_owned());
                } else {
                    refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_every_operation_documents_its_errors() {
    let doc = proofdesk::api::openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let (kind, name) = r
            .strip_prefix("#/components/")
            .and_then(|r| r.split_once('/'))
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            ["schemas", "responses"].contains(&kind),
            "unexpected reference {r}"
        );
        assert!(
            doc["components"][kind].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    // The refusals every route shares are stated once (issue 27 §4) and
    // say what the route needs.
    let export = &doc["paths"]["/v1/export"]["get"]["responses"];
    assert_eq!(export["401"]["$ref"], "#/components/responses/Unauthorized");
    assert_eq!(export["429"]["$ref"], "#/components/responses/RateLimited");
    assert!(
        export["403"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("audit scope")),
        "{export}"
    );
    let ticket = &doc["paths"]["/v1/tickets/{handle}"]["get"]["responses"];
    assert_eq!(
        ticket["403"]["description"],
        "The key has neither the ingest nor the audit scope (admin implies both)"
    );
    let webhook = &doc["paths"]["/v1/integrations/zendesk/{integration}"]["post"]["responses"];
    assert!(
        webhook["401"]["content"]["application/problem+json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/WebhookProblem")),
        "a webhook's own 401 is kept: {webhook}"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let codes: BTreeSet<&str> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let secured = op.get("security").is_some();
            if secured {
                for c in ["401", "403", "429"] {
                    assert!(codes.contains(c), "{method} {path} lacks {c}: {codes:?}");
                }
            }
            if method == "post" && op.get("requestBody").is_some() {
                // A webhook's body is read as raw bytes whatever its
                // Content-Type (the vendor's signature covers those bytes),
                // so it has no 415.
                let webhook = op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "webhooks"));
                for c in ["400", "413", "415", "422"] {
                    if webhook && c == "415" {
                        continue;
                    }
                    assert!(codes.contains(c), "{method} {path} lacks {c}: {codes:?}");
                }
            }
            if path.starts_with("/v1/") {
                assert!(codes.contains("429"), "{method} {path} lacks 429");
            }
            if path.contains('{') {
                let params = op["parameters"].as_array().expect("path parameters");
                for seg in path.split('/').filter(|s| s.starts_with('{')) {
                    let name = seg.trim_matches(|c| c == '{' || c == '}');
                    assert!(
                        params.iter().any(|p| p["name"] == name
                            && p["in"] == "path"
                            && p["required"] == true),
                        "{method} {path} does not declare its path parameter {name}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_document_states_the_constraints_the_server_enforces() {
    let doc = proofdesk::api::openapi::document();
    let s = &doc["components"]["schemas"];
    let ext = &s["CreateTicket"]["properties"]["external_id"];
    assert_eq!(
        (ext["minLength"].as_u64(), ext["maxLength"].as_u64()),
        (Some(1), Some(200))
    );
    assert_eq!(
        s["PseudoRef"]["pattern"],
        proofdesk::protocol::schema::REF_PATTERN
    );
    assert_eq!(
        s["Code"]["pattern"],
        proofdesk::protocol::schema::CODE_PATTERN
    );
    assert_eq!(s["BulkAppend"]["properties"]["events"]["maxItems"], 10_000);
    assert_eq!(s["Escalated"]["properties"]["level"]["minimum"], 1);
    // A rating is CSAT (1-100) or NPS, whose scale is 10 (the server
    // refuses any other): schemathesis found the schema allowing it.
    let rated = s["Rated"]["oneOf"].as_array().unwrap();
    let nps = rated.iter().find(|v| v["title"] == "NPS").unwrap();
    assert_eq!(
        (
            &nps["properties"]["scale"]["minimum"],
            &nps["properties"]["scale"]["maximum"]
        ),
        (&serde_json::json!(10), &serde_json::json!(10))
    );
    assert_eq!(
        nps["properties"]["survey"]["enum"],
        serde_json::json!(["nps"])
    );
    assert_eq!(
        nps["required"],
        serde_json::json!(["score", "scale", "survey"])
    );
    let csat = rated.iter().find(|v| v["title"] == "CSAT").unwrap();
    // Absent, null or "csat": the server reads all three as CSAT.
    assert_eq!(
        csat["properties"]["survey"]["oneOf"][0]["enum"],
        serde_json::json!(["csat"])
    );
    assert_eq!(csat["properties"]["survey"]["oneOf"][1]["type"], "null");
    assert_eq!(
        s["Assigned"]["required"],
        serde_json::json!(["assignee", "group"]),
        "optional members are written as null, never left out"
    );
    let roles: Vec<&str> = s["Role"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(roles, ["customer", "agent", "system", "bot", "integration"]);
    // One event variant per type, each naming its data schema.
    let variants = s["EventInput"]["oneOf"].as_array().unwrap();
    assert_eq!(
        variants.len(),
        proofdesk::protocol::event::EventType::ALL.len()
    );
    let page = &doc["paths"]["/v1/batches"]["get"]["parameters"];
    let limit = page
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (
            limit["schema"]["minimum"].as_u64(),
            limit["schema"]["maximum"].as_u64()
        ),
        (Some(1), Some(1000))
    );
}

#[test]
fn the_vendored_reference_ui_matches_its_recorded_hash() {
    use sha2::Digest;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/redoc");
    let js = std::fs::read(root.join("redoc.standalone.js")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let hash = hex::encode(sha2::Sha256::digest(&js));
    assert!(
        readme.contains(&hash),
        "assets/redoc/README.md must record sha256 {hash}"
    );
    assert!(root.join("LICENSE").exists());
}

#[tokio::test]
async fn docs_serves_the_reference_from_this_origin_only() {
    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let http = reqwest::Client::new();
    let page = http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("http"), "no other origin allowed: {csp}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("/docs/redoc.js") && !html.contains("https://"),
        "{html}"
    );
    let js = http.get(app.url("/docs/redoc.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(js.bytes().await.unwrap().len(), 1_103_471);
    let doc: Value = http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, proofdesk::api::openapi::document());
    db.cleanup().await;
}
