//! Zendesk: a trigger (and the close automation) notifies a webhook with the
//! JSON body template below. The adapter accepts exactly that shape.
//!
//! Why a trigger template and not Zendesk's event-subscription webhooks
//! (`zen:event-type:ticket.…`): satisfaction ratings are only reachable from
//! triggers and automations; one template carries every field we map, in
//! one delivery per ticket update (so a reply and the status change it
//! causes arrive together); and the admin sees exactly which fields leave
//! Zendesk — the template names no e-mail address and no name at all.

use serde::Deserialize;
use serde_json::Value;

use super::mapping::{Comment, Snapshot};
use crate::protocol::event::Priority;
use crate::protocol::fields::Timestamp;
use crate::protocol::record::{Channel, Role};

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

/// What a delivery body is.
#[derive(Debug)]
pub enum Parsed {
    Snapshot(Box<Snapshot>),
    /// Authentic but not something the adapter maps (an event-subscription
    /// payload, another template): acknowledged and listed in the ledger.
    Unmapped(String),
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s != "-").then(|| s.to_owned())
}

/// Zendesk renders `…_with_timestamp` as ISO 8601, sometimes without
/// seconds (`2013-12-12T05:35Z`).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = Timestamp::parse_input("timestamp", s) {
        return Some(t);
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ")
        .ok()
        .and_then(|t| Timestamp::from_millis(t.and_utc().timestamp_millis()))
}

fn priority(s: &str) -> Option<Priority> {
    match s.trim().to_ascii_lowercase().as_str() {
        "low" => Some(Priority::Low),
        "normal" => Some(Priority::Normal),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
}

/// `{{ticket.via}}` renders the channel's display name.
fn channel(via: &str) -> Channel {
    let v = via.to_ascii_lowercase();
    if v.contains("mail") {
        Channel::Email
    } else if v.contains("chat") || v.contains("messaging") {
        Channel::Chat
    } else if v.contains("phone") || v.contains("voice") || v.contains("call") {
        Channel::Phone
    } else if v.contains("sms") || v == "text" {
        Channel::Sms
    } else if v.contains("twitter")
        || v.contains("facebook")
        || v.contains("whatsapp")
        || v.contains("instagram")
        || v.contains("social")
    {
        Channel::Social
    } else if v.contains("api") || v.contains("web service") {
        Channel::Api
    } else {
        Channel::Web
    }
}

fn rating(s: &str) -> Option<(u8, u8)> {
    let s = s.trim().to_ascii_lowercase();
    if s.starts_with("good") {
        Some((1, 1))
    } else if s.starts_with("bad") {
        Some((0, 1))
    } else {
        None
    }
}

/// Parses a delivery body. `Err` is a rejection reason (not the template).
pub fn parse(body: &Value) -> Result<Parsed, String> {
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        return Ok(Parsed::Unmapped(format!(
            "event type {t:?} is not mapped: connect the webhook to the Proofdesk trigger with the {TEMPLATE_ID} body template"
        )));
    }
    let b: Body = serde_json::from_value(body.clone())
        .map_err(|e| format!("not the Proofdesk Zendesk body template ({TEMPLATE_ID}): {e}"))?;
    if b.proofdesk_template != TEMPLATE_ID {
        return Ok(Parsed::Unmapped(format!(
            "body template {:?} is not mapped (this server maps {TEMPLATE_ID})",
            b.proofdesk_template
        )));
    }
    let t = b.ticket;
    let ticket_id = opt(&t.id).ok_or("ticket.id is empty")?;
    if ticket_id.len() > 64 || !ticket_id.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "ticket.id {ticket_id:?} is not a Zendesk ticket id"
        ));
    }
    let updated_at = match opt(&t.updated_at) {
        None => None,
        Some(s) => Some(parse_time(&s).ok_or(format!("ticket.updated_at {s:?} is not ISO 8601"))?),
    };
    let requester = opt(&t.requester_id);
    let ch = channel(&t.via);
    let comment = match opt(&b.comment.id) {
        None => None,
        Some(id) => {
            let author = opt(&b.comment.author_id);
            let role = if author.is_some() && author == requester {
                Role::Customer
            } else {
                Role::Agent
            };
            Some(Comment {
                id,
                text: b.comment.body,
                public: b.comment.public.trim().eq_ignore_ascii_case("true"),
                author,
                role,
                channel: None,
            })
        }
    };
    Ok(Parsed::Snapshot(Box::new(Snapshot {
        ticket_id,
        updated_at,
        created_at: parse_time(&t.created_at),
        state: opt(&t.status),
        priority: priority(&t.priority),
        priority_raw: opt(&t.priority),
        requester,
        assignee: opt(&t.assignee_id),
        group: opt(&t.group_id),
        actor: opt(&b.current_user_id),
        channel: ch,
        comment,
        rating: rating(&t.satisfaction),
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
        assert_eq!(s.ticket_id, "4711");
        assert_eq!(s.priority, Some(Priority::High));
        assert_eq!(s.channel, Channel::Email);
        assert_eq!(s.assignee, None);
        assert_eq!(s.comment.unwrap().role, Role::Customer);
        assert_eq!(
            s.created_at.unwrap().to_string(),
            "2026-03-01T09:30:00.000Z"
        );
        assert_eq!(s.rating, None);
    }
}
