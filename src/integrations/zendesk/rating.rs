//! Satisfaction ratings, which no Zendesk event carries, from triggers. The
//! body holds two ids, a time in ISO 8601 and a literal: no placeholder that
//! renders words, so nothing in it depends on the requester's language or
//! can break the JSON. Which rating it is comes from the trigger's condition (README
//! "Connect Zendesk": one trigger for Good, one for Bad), not from
//! `{{satisfaction.current_rating}}`, which Zendesk renders in the
//! requester's language.

use serde::Deserialize;
use serde_json::Value;

use super::super::mapping::{Parsed, Snapshot};
use super::super::{Unmapped, UnmappedReason, vendor_time};
use super::ticket_id;
use crate::protocol::record::Channel;

pub const TEMPLATE_ID: &str = "zendesk-rating-v1";

/// The body of the "Proofdesk: rated good" trigger; the "rated bad" one
/// differs in `rating` only.
pub const TEMPLATE_GOOD: &str = r#"{
  "proofdesk_template": "zendesk-rating-v1",
  "ticket_id": "{{ticket.id}}",
  "requester_id": "{{ticket.requester.id}}",
  "updated_at": "{{ticket.updated_at_with_timestamp}}",
  "rating": "good"
}"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[allow(dead_code)]
    proofdesk_template: String,
    ticket_id: String,
    requester_id: String,
    updated_at: String,
    rating: String,
}

pub fn parse(body: &Value) -> Result<Parsed, String> {
    let b: Body = serde_json::from_value(body.clone())
        .map_err(|e| format!("not the Proofdesk rating body ({TEMPLATE_ID}): {e}"))?;
    let id = ticket_id(b.ticket_id.trim(), "ticket_id")?;
    let mut unmapped = Vec::new();
    let rating = match b.rating.trim() {
        "good" => Some((1, 1)),
        "bad" => Some((0, 1)),
        other => {
            unmapped.push(Unmapped::new(
                UnmappedReason::UnknownRating,
                format!("rating {other:?} is neither \"good\" nor \"bad\": fix the trigger's body (README \"Connect Zendesk\")"),
            ));
            None
        }
    };
    let requester = Some(b.requester_id.trim().to_owned()).filter(|r| !r.is_empty());
    Ok(Parsed::Snapshot(Box::new(Snapshot {
        ticket_id: id,
        updated_at: None,
        // When the requester rated (the update that set the rating); never
        // used to order snapshots, since this one says nothing else.
        occurred_at: vendor_time(&b.updated_at),
        created_at: None,
        state: None,
        state_id: None,
        priority: None,
        priority_raw: None,
        requester,
        assignee_known: false,
        group_known: false,
        assignee: None,
        group: None,
        actor: None,
        channel: Channel::Web,
        comment: None,
        rating,
        unmapped,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body README "Connect Zendesk" tells the admin to paste is this.
    #[test]
    fn the_readme_shows_this_template() {
        let readme = include_str!("../../../README.md");
        assert!(readme.contains(TEMPLATE_GOOD));
    }

    #[test]
    fn the_template_is_json_once_rendered_and_reads_back() {
        let rendered = TEMPLATE_GOOD
            .replace("{{ticket.id}}", "4711")
            .replace("{{ticket.requester.id}}", "1001")
            .replace("{{ticket.updated_at_with_timestamp}}", "2026-11-21T08:00Z");
        let v: Value = serde_json::from_str(&rendered).unwrap();
        let Parsed::Snapshot(s) = parse(&v).unwrap() else {
            panic!()
        };
        assert_eq!((s.ticket_id.as_str(), s.rating), ("4711", Some((1, 1))));
        assert_eq!(
            s.occurred_at.unwrap().to_string(),
            "2026-11-21T08:00:00.000Z"
        );
        assert!(!s.assignee_known && s.state.is_none());
        let bad: Value = serde_json::from_str(&rendered.replace("\"good\"", "\"满意\"")).unwrap();
        let Parsed::Snapshot(s) = parse(&bad).unwrap() else {
            panic!()
        };
        assert_eq!(s.rating, None);
        assert_eq!(s.unmapped[0].reason, UnmappedReason::UnknownRating);
    }
}
