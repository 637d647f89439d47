//! The legacy single trigger template ("zendesk-v1"): a trigger (and the
//! close automation) notify a webhook with the body below. Still read for
//! integrations set up with it, but no longer documented: Zendesk renders
//! `{{ticket.status}}`, `{{ticket.priority}}` and
//! `{{satisfaction.current_rating}}` in the requester's language (its help
//! center's placeholder reference says so, and it cannot be turned off), and
//! its documentation does not say a JSON webhook body escapes placeholder
//! values, so `{{ticket.latest_comment.value}}` inside a JSON string may
//! break the body. A value that does not map is reported as unmapped, with
//! the way out: the event webhook (`events`) and rating triggers (`rating`).

use serde::Deserialize;
use serde_json::Value;

use super::super::mapping::{Comment, Parsed, Snapshot};
use super::super::{Unmapped, UnmappedReason, vendor_time};
use super::{channel, ticket_id};
use crate::protocol::event::Priority;
use crate::protocol::fields::Timestamp;
use crate::protocol::record::Role;

/// The JSON body to paste into the Zendesk trigger's "Notify by webhook"
/// action (README "Connect Zendesk").
pub const TEMPLATE: &str = r#"{
  "proofdesk_template": "zendesk-v1",
  "ticket": {
    "id": "{{ticket.id}}",
    "status": "{{ticket.status}}",
    "priority": "{{ticket.priority}}",
    "via": "{{ticket.via}}",
    "created_at": "{{ticket.created_at_with_timestamp}}",
    "updated_at": "{{ticket.updated_at_with_timestamp}}",
    "requester_id": "{{ticket.requester.id}}",
    "assignee_id": "{{ticket.assignee.id}}",
    "group_id": "{{ticket.group.id}}",
    "satisfaction": "{{satisfaction.current_rating}}"
  },
  "current_user_id": "{{current_user.id}}",
  "comment": {
    "id": "{{ticket.latest_comment.id}}",
    "public": "{{ticket.latest_comment.is_public}}",
    "author_id": "{{ticket.latest_comment.author.id}}",
    "body": "{{ticket.latest_comment.value}}"
  }
}"#;

pub const TEMPLATE_ID: &str = "zendesk-v1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[allow(dead_code)] // read by the dispatch in `zendesk::parse`
    proofdesk_template: String,
    ticket: TicketFields,
    current_user_id: String,
    comment: CommentFields,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketFields {
    id: String,
    status: String,
    priority: String,
    via: String,
    created_at: String,
    updated_at: String,
    requester_id: String,
    assignee_id: String,
    group_id: String,
    satisfaction: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentFields {
    id: String,
    public: String,
    author_id: String,
    body: String,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s != "-").then(|| s.to_owned())
}

/// Zendesk renders `…_with_timestamp` as ISO 8601, sometimes without
/// seconds (`2013-12-12T05:35Z`).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    vendor_time(s)
}

fn priority(s: &str) -> Option<Priority> {
    Priority::parse(&s.trim().to_ascii_lowercase())
}

/// The English renderings of `{{satisfaction.current_rating}}`: Good, Good
/// with comment, Bad, Bad with comment, Offered, Unoffered. Anything else
/// is another language's, and unmapped.
fn rating(s: &str) -> Result<Option<(u8, u8)>, Unmapped> {
    let s = s.trim().to_ascii_lowercase();
    if s.starts_with("good") {
        Ok(Some((1, 1)))
    } else if s.starts_with("bad") {
        Ok(Some((0, 1)))
    } else if s.is_empty() || s == "offered" || s == "unoffered" || s == "-" {
        Ok(None)
    } else {
        Err(Unmapped::new(
            UnmappedReason::UnknownRating,
            format!(
                "satisfaction {s:?} is not an English rating: the {TEMPLATE_ID} template renders it in the requester's language; use the rating triggers instead (README \"Connect Zendesk\")"
            ),
        ))
    }
}

/// Parses a "zendesk-v1" body. `Err` is a rejection reason.
pub fn parse(body: &Value) -> Result<Parsed, String> {
    let b: Body = serde_json::from_value(body.clone())
        .map_err(|e| format!("not the Proofdesk Zendesk body template ({TEMPLATE_ID}): {e}"))?;
    let t = b.ticket;
    let id = opt(&t.id).ok_or("ticket.id is empty")?;
    let id = ticket_id(&id, "ticket.id")?;
    let updated_at = match opt(&t.updated_at) {
        None => None,
        Some(s) => Some(parse_time(&s).ok_or(format!("ticket.updated_at {s:?} is not ISO 8601"))?),
    };
    let requester = opt(&t.requester_id);
    let comment = match opt(&b.comment.id) {
        None => None,
        Some(cid) => {
            let author = opt(&b.comment.author_id);
            let role = if author.is_some() && author == requester {
                Role::Customer
            } else {
                Role::Agent
            };
            Some(Comment {
                id: cid,
                text: b.comment.body,
                public: b.comment.public.trim().eq_ignore_ascii_case("true"),
                author,
                role,
                channel: None,
            })
        }
    };
    let mut unmapped = Vec::new();
    let rating = rating(&t.satisfaction).unwrap_or_else(|u| {
        unmapped.push(u);
        None
    });
    Ok(Parsed::Snapshot(Box::new(Snapshot {
        ticket_id: id,
        updated_at,
        occurred_at: None,
        created_at: parse_time(&t.created_at),
        state: opt(&t.status),
        state_id: None,
        priority: priority(&t.priority),
        priority_raw: opt(&t.priority),
        requester,
        assignee_known: true,
        group_known: true,
        assignee: opt(&t.assignee_id),
        group: opt(&t.group_id),
        actor: opt(&b.current_user_id),
        channel: channel(&t.via),
        comment,
        rating,
        unmapped,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_json_and_parses_once_rendered() {
        let rendered = TEMPLATE
            .replace("{{ticket.id}}", "4711")
            .replace("{{ticket.status}}", "Open")
            .replace("{{ticket.priority}}", "High")
            .replace("{{ticket.via}}", "Mail")
            .replace("{{ticket.created_at_with_timestamp}}", "2026-03-01T09:30Z")
            .replace(
                "{{ticket.updated_at_with_timestamp}}",
                "2026-03-01T09:35:10Z",
            )
            .replace("{{ticket.requester.id}}", "100")
            .replace("{{ticket.assignee.id}}", "")
            .replace("{{ticket.group.id}}", "")
            .replace("{{satisfaction.current_rating}}", "Unoffered")
            .replace("{{current_user.id}}", "100")
            .replace("{{ticket.latest_comment.id}}", "9001")
            .replace("{{ticket.latest_comment.is_public}}", "true")
            .replace("{{ticket.latest_comment.author.id}}", "100")
            .replace("{{ticket.latest_comment.value}}", "hello");
        let v: Value = serde_json::from_str(&rendered).unwrap();
        let Parsed::Snapshot(s) = parse(&v).unwrap() else {
            panic!("template maps")
        };
        assert!(s.unmapped.is_empty());
        assert_eq!(s.ticket_id, "4711");
        assert_eq!(s.priority, Some(Priority::High));
        assert_eq!(s.channel, crate::protocol::record::Channel::Email);
        assert_eq!(s.assignee, None);
        assert_eq!(s.comment.unwrap().role, Role::Customer);
        assert_eq!(
            s.created_at.unwrap().to_string(),
            "2026-03-01T09:30:00.000Z"
        );
        assert_eq!(s.rating, None);
    }
}
