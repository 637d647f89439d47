//! Zendesk: two webhooks, because a Zendesk webhook is either subscribed to
//! events or connected to triggers, never both (developer.zendesk.com,
//! "Creating and monitoring webhooks"):
//!
//! - ticket changes come from a webhook subscribed to Zendesk's ticket
//!   events (`zen:event-type:ticket.…`, `events`). Their values are
//!   Zendesk's own names and ids (`SOLVED`, `HIGH`, user ids), in every
//!   account and whatever the requester's language, and Zendesk writes the
//!   JSON itself, so comment text arrives as a proper JSON string;
//! - satisfaction ratings, which no event carries, come from triggers
//!   whose body holds no free text and no localised placeholder (`rating`):
//!   the rating is a literal the admin typed, chosen by the trigger's
//!   condition.
//!
//! The former single trigger template (`template`, "zendesk-v1") is still
//! read, for integrations set up with it; its placeholders render in the
//! requester's language, and what that breaks is reported as unmapped.

pub mod events;
pub mod rating;
pub mod template;

use serde_json::Value;

use super::mapping::Parsed;
use super::{Unmapped, UnmappedReason};
use crate::protocol::record::Channel;

/// What a delivery body is, by its shape.
pub fn parse(body: &Value) -> Result<Parsed, String> {
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        if t.starts_with(events::TICKET_EVENT_PREFIX) {
            return events::parse(body);
        }
        return Ok(Parsed::Unmapped(Unmapped::new(
            UnmappedReason::NotATicket,
            format!(
                "event type {t:?} is not a ticket event: remove it from the webhook's subscriptions (README \"Connect Zendesk\")"
            ),
        )));
    }
    match body.get("proofdesk_template").and_then(Value::as_str) {
        Some(rating::TEMPLATE_ID) => rating::parse(body),
        Some(template::TEMPLATE_ID) => template::parse(body),
        Some(other) => Ok(Parsed::Unmapped(Unmapped::new(
            UnmappedReason::UnknownTemplate,
            format!(
                "body template {other:?} is not one this server maps ({}, or the legacy {}): paste the body from README \"Connect Zendesk\"",
                rating::TEMPLATE_ID,
                template::TEMPLATE_ID
            ),
        ))),
        None => Err(format!(
            "neither a Zendesk ticket event (a \"type\" of {}…) nor a Proofdesk trigger body (\"proofdesk_template\")",
            events::TICKET_EVENT_PREFIX
        )),
    }
}

/// A Zendesk id as sent (a string in event payloads, a number elsewhere);
/// None for null, empty, and the ids Zendesk uses for "none" or "the
/// system" (`0`, `-1`).
fn id_of(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    (!s.is_empty() && s != "0" && s != "-1" && s != "-").then_some(s)
}

/// A ticket id fit for the private external id.
fn ticket_id(s: &str, field: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{field} {s:?} is not a Zendesk ticket id"));
    }
    Ok(s.to_owned())
}

/// A channel from Zendesk's `via.channel` (events: `web`, `email`,
/// `web_service`, `chat`, `voice`, …) or the display name
/// `{{ticket.via}}` renders (templates: "Mail", "Web form", …).
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
        || v.contains("line")
        || v.contains("wechat")
        || v.contains("social")
    {
        Channel::Social
    } else if v.contains("api") || v.contains("web service") || v == "web_service" {
        Channel::Api
    } else {
        Channel::Web
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shape_says_which_parser_reads_it() {
        assert!(matches!(
            parse(&json!({"type": "zen:event-type:user.created", "detail": {}})).unwrap(),
            Parsed::Unmapped(Unmapped {
                reason: UnmappedReason::NotATicket,
                ..
            })
        ));
        assert!(matches!(
            parse(&json!({"proofdesk_template": "zendesk-v9"})).unwrap(),
            Parsed::Unmapped(Unmapped {
                reason: UnmappedReason::UnknownTemplate,
                ..
            })
        ));
        assert!(parse(&json!({"ticket": {}})).is_err());
        assert_eq!(channel("web_service"), Channel::Api);
        assert_eq!(channel("email"), Channel::Email);
        assert_eq!(channel("native_messaging"), Channel::Chat);
        assert_eq!(id_of(Some(&json!("-1"))), None);
        assert_eq!(
            id_of(Some(&json!(8447388090494u64))).as_deref(),
            Some("8447388090494")
        );
    }
}
