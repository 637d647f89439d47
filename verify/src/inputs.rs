//! Reading what a verifier is given: bundles, receipts (in every shape the
//! API hands them out), disclosures, and the ticket a bundle URL names.
//! Each is parsed strictly (duplicate members refused), and an error names
//! the input it is about.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::VerifyError;
use super::receipt::from_append_answer;
use proofdesk_protocol::bundle::Bundle;
use proofdesk_protocol::fields::TicketHandle;
use proofdesk_protocol::receipt::SignedReceipt;

/// Parses bundle JSON strictly (unknown members and duplicate keys refused).
pub fn parse_bundle(text: &str) -> Result<Bundle, VerifyError> {
    parse_strict(text, "bundle")
}

fn input_error(what: &str, message: impl ToString) -> VerifyError {
    VerifyError::Input {
        what: what.to_owned(),
        message: message.to_string(),
    }
}

/// Parses any verifier input strictly; errors say "cannot read the {what}".
pub fn parse_strict<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, VerifyError> {
    let value =
        proofdesk_protocol::canonical::parse_strict(text).map_err(|e| input_error(what, e))?;
    serde_json::from_value(value).map_err(|e| input_error(what, e))
}

/// One receipt object in any of the shapes the API returns: a signed
/// receipt (v1 `{"receipt", "signature"}`, v2 also `group`, `position`,
/// `path`), or the answer of `POST /v1/tickets/{h}/events` as saved (the
/// same members plus `record` and `replayed`).
fn one_receipt(v: &Value) -> Result<SignedReceipt, String> {
    if v.get("record").is_some() {
        return from_append_answer(v)
            .map_err(|e| format!("an append answer without a valid receipt: {e}"));
    }
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

/// Every receipt in a file: one receipt or append answer, an array of them,
/// or a bulk append answer (`{"receipts": [...], "replayed"}`).
pub fn parse_receipts(text: &str) -> Result<Vec<SignedReceipt>, VerifyError> {
    let what = "receipt";
    let value =
        proofdesk_protocol::canonical::parse_strict(text).map_err(|e| input_error(what, e))?;
    let items: Vec<&Value> = match &value {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) if o.contains_key("receipts") && !o.contains_key("receipt") => {
            match o.get("receipts") {
                Some(Value::Array(a)) => a.iter().collect(),
                _ => {
                    return Err(input_error(
                        what,
                        "`receipts` of a bulk answer is not an array",
                    ));
                }
            }
        }
        other => vec![other],
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            one_receipt(v).map_err(|e| {
                if items.len() == 1 {
                    input_error(what, e)
                } else {
                    input_error(what, format!("item {i}: {e}"))
                }
            })
        })
        .collect()
}

/// One object or an array of them.
pub fn parse_many<T: DeserializeOwned>(text: &str, what: &str) -> Result<Vec<T>, VerifyError> {
    let value =
        proofdesk_protocol::canonical::parse_strict(text).map_err(|e| input_error(what, e))?;
    match value {
        Value::Array(a) => a
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| input_error(what, e)))
            .collect(),
        v => Ok(vec![
            serde_json::from_value(v).map_err(|e| input_error(what, e))?,
        ]),
    }
}

/// What the path of a bundle URL says about the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlTicket {
    /// `…/tickets/{handle}/proof`, the segment decoded as the server decodes
    /// it.
    Handle(TicketHandle),
    /// The URL is not of that shape: it binds no ticket.
    None,
}

/// The ticket a bundle URL asks for, read as the server reads it: axum
/// routes on the raw path, then percent-decodes the `{handle}` segment as
/// UTF-8 (`percent_encoding::percent_decode`, what `Path` does), so
/// `/v1/tickets/%74k_…/proof` asks for ticket `tk_…`. The path is the one
/// the HTTP client sends (dot segments resolved). A handle segment that
/// does not decode to a handle is an error: the server would refuse it.
pub fn ticket_in_url(url: &str) -> Result<UrlTicket, VerifyError> {
    let what = "bundle URL";
    let parsed = reqwest::Url::parse(url).map_err(|e| input_error(what, format!("{url}: {e}")))?;
    let Some(segments) = parsed.path_segments() else {
        return Ok(UrlTicket::None);
    };
    let segments: Vec<&str> = segments.collect();
    let n = segments.len();
    if n < 3 || segments[n - 3] != "tickets" || segments[n - 1] != "proof" {
        return Ok(UrlTicket::None);
    }
    let raw = segments[n - 2];
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            input_error(
                what,
                format!("the handle {raw:?} is not UTF-8 once decoded"),
            )
        })?;
    TicketHandle::parse(&decoded)
        .map(UrlTicket::Handle)
        .map_err(|e| input_error(what, format!("the path names {raw:?}: {e}")))
}

/// The bundle URL behind a verifier page's link (`…/verify/{handle}`, the
/// link `dev`, the QR codes and the API hand out), which people paste where
/// the bundle's URL goes. None when the URL is not such a link.
pub fn proof_url_of_page_link(url: &str) -> Option<String> {
    let mut parsed = reqwest::Url::parse(url).ok()?;
    let segments: Vec<String> = parsed.path_segments()?.map(str::to_owned).collect();
    let n = segments.len();
    if n < 2 || segments[n - 2] != "verify" {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(&segments[n - 1])
        .decode_utf8()
        .ok()?;
    let handle = TicketHandle::parse(&decoded).ok()?;
    let prefix: String = segments[..n - 2].iter().map(|s| format!("/{s}")).collect();
    parsed.set_path(&format!("{prefix}/v1/tickets/{handle}/proof"));
    parsed.set_query(None);
    parsed.set_fragment(None);
    Some(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_points_to_its_bundle() {
        assert_eq!(
            proof_url_of_page_link(&format!("http://127.0.0.1:8080/verify/{H}#contract=0x1")),
            Some(format!("http://127.0.0.1:8080/v1/tickets/{H}/proof"))
        );
        assert_eq!(
            proof_url_of_page_link(&format!("https://x.example/pd/verify/{H}?lang=zh")),
            Some(format!("https://x.example/pd/v1/tickets/{H}/proof"))
        );
        assert_eq!(proof_url_of_page_link("http://log/verify/tk_short"), None);
        assert_eq!(
            proof_url_of_page_link(&format!("http://log/v1/tickets/{H}/proof")),
            None
        );
    }

    const H: &str = "tk_0123456789abcdef0123456789abcdef";

    fn handle(url: &str) -> Option<String> {
        match ticket_in_url(url).unwrap() {
            UrlTicket::Handle(h) => Some(h.to_string()),
            UrlTicket::None => None,
        }
    }

    #[test]
    fn the_handle_is_decoded_as_the_server_decodes_it() {
        assert_eq!(
            handle(&format!("https://log.example/v1/tickets/{H}/proof")).as_deref(),
            Some(H)
        );
        assert_eq!(
            handle(&format!(
                "http://127.0.0.1:8080/v1/tickets/{H}/proof?x=tk_00#tk_1"
            ))
            .as_deref(),
            Some(H)
        );
        // Percent-encoded, wholly or in part: the server decodes it.
        let encoded = format!("%74%6B_{}", &H[3..]);
        assert_eq!(
            handle(&format!("http://log/v1/tickets/{encoded}/proof")).as_deref(),
            Some(H)
        );
        assert_eq!(
            handle(&format!("http://log/v1/tickets/%74k_{}/proof", &H[3..])).as_deref(),
            Some(H)
        );
        // Behind a prefix, and after dot segments are resolved.
        assert_eq!(
            handle(&format!("https://x.example/pd/v1/tickets/{H}/proof")).as_deref(),
            Some(H)
        );
        let other = "tk_ffffffffffffffffffffffffffffffff";
        assert_eq!(
            handle(&format!("http://log/v1/tickets/{other}/../{H}/proof")).as_deref(),
            Some(H),
            "the path the client sends"
        );
        // Not a bundle URL: no ticket bound.
        assert_eq!(handle(&format!("http://log/bundles/{H}.json")), None);
        // A handle segment that is no handle: refused, as the server would.
        assert!(ticket_in_url("http://log/v1/tickets/tk_short/proof").is_err());
        assert!(
            ticket_in_url(&format!("http://log/v1/tickets/{}/proof", H.to_uppercase())).is_err()
        );
        assert!(ticket_in_url("http://log/v1/tickets/%ff%fe/proof").is_err());
    }

    #[test]
    fn receipts_are_read_in_every_shape_the_api_gives_them() {
        let signed = serde_json::json!({
            "receipt": {"v": 1, "ticket": H, "index": 3, "seq": 0,
                "leaf": format!("0x{}", "ab".repeat(32)),
                "recorded_at": "2025-03-01T09:30:00.000Z", "anchor_deadline": "2025-03-01T09:31:00.000Z",
                "chain_id": 31337, "contract": format!("0x{}", "cd".repeat(20))},
            "signature": format!("0x{}", "11".repeat(65)),
        });
        let mut answer = signed.clone();
        answer["record"] = serde_json::json!({"v": 1});
        answer["replayed"] = false.into();
        let bulk =
            serde_json::json!({"receipts": [signed.clone(), signed.clone()], "replayed": false});
        for (text, n) in [
            (signed.to_string(), 1),
            (answer.to_string(), 1),
            (
                serde_json::json!([signed.clone(), answer.clone()]).to_string(),
                2,
            ),
            (bulk.to_string(), 2),
        ] {
            assert_eq!(parse_receipts(&text).unwrap().len(), n, "{text}");
        }
        // Errors are about a receipt, never "the bundle".
        let err = parse_receipts(r#"{"record": {}, "receipt": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot read the receipt"), "{err}");
        let err = parse_receipts("{").unwrap_err().to_string();
        assert!(err.starts_with("cannot read the receipt"), "{err}");
    }
}
