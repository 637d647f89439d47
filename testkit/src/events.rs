//! What a platform sends and what a complainant reads, as test values.

use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::receipt::SignedReceipt;
use proofdesk::verify::VerifyReport;
use serde_json::{Value, json};

/// The signed receipt in an append response.
pub fn receipt_in(body: &Value) -> SignedReceipt {
    proofdesk::verify::receipt::from_append_answer(body)
        .expect("the response holds a signed receipt")
}

/// An event as a platform sends it, happening now.
pub fn event(t: &str, data: Value, role: &str) -> Value {
    json!({"type": t, "data": data, "actor": {"role": role, "ref": format!("{role}-1")}, "channel": "email",
           "occurred_at": Timestamp::now().to_string()})
}

/// Every problem in a report, bundle-level and per event, in one line.
pub fn problems(r: &VerifyReport) -> String {
    let mut all = r.problems.join(" | ");
    for e in &r.events {
        for p in &e.check.problems {
            all.push_str(" | ");
            all.push_str(p);
        }
    }
    all
}
