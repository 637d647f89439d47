//! The links a ticket's answer hands out: each event's receipt download
//! and compact receipt, its content link, and the verifier link carrying
//! every receipt in its fragment (the QR form is qr_link.rs).

use super::AppState;
use super::error::ApiError;
use super::receipt_issue::sign_receipt;
use crate::log::StoredEvent;
use crate::protocol::fields::TicketHandle;
use crate::protocol::receipt::SignedReceipt;

/// base64url without padding (RFC 4648 §5).
pub fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The compact form of a signed receipt (docs/VERIFIER.md):
/// base64url(canonical receipt bytes) "." base64url(65-byte signature).
pub fn compact(signed: &SignedReceipt) -> Result<String, ApiError> {
    let message = signed
        .receipt
        .signing_bytes()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let sig = hex::decode(signed.signature.trim_start_matches("0x"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("{}.{}", base64url(&message), base64url(&sig)))
}

/// Per-event links and the compact receipt, for GET /v1/tickets/{handle}.
pub struct EventLinks {
    /// The v1 receipt the compact form encodes (for the QR link).
    pub signed: SignedReceipt,
    pub receipt_url: String,
    pub receipt_compact: String,
    pub content_url: Option<String>,
}

pub fn event_links(
    app: &AppState,
    e: &StoredEvent,
    record: &serde_json::Value,
) -> Result<EventLinks, ApiError> {
    let signed = sign_receipt(app, e)?;
    let base = format!("/v1/tickets/{}/events/{}", e.ticket, e.seq);
    let has_content = record.get("content").is_some_and(|c| !c.is_null());
    Ok(EventLinks {
        receipt_url: format!("{base}/receipt"),
        receipt_compact: compact(&signed)?,
        content_url: has_content.then(|| format!("{base}/content")),
        signed,
    })
}

/// The verifier link for a ticket carrying every receipt in its fragment
/// (never sent to any server).
pub fn verify_link(handle: &TicketHandle, compacts: &[String]) -> String {
    if compacts.is_empty() {
        format!("/verify/{handle}")
    } else {
        format!("/verify/{handle}#r={}", compacts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_follows_rfc4648_without_padding() {
        // RFC 4648 §10 test vectors, in the URL-safe alphabet, unpadded.
        for (input, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(input.as_bytes()), want);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
    }

    #[test]
    fn verify_links_carry_receipts_in_the_fragment() {
        let h = TicketHandle::from_random([7; 16]);
        assert_eq!(verify_link(&h, &[]), format!("/verify/{h}"));
        assert_eq!(
            verify_link(&h, &["a.b".into(), "c.d".into()]),
            format!("/verify/{h}#r=a.b,c.d")
        );
    }
}
