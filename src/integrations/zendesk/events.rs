//! Zendesk's ticket events (developer.zendesk.com, API reference → Webhooks
//! → Event types → Ticket events). Each delivery is one event in the
//! envelope `type`, `account_id`, `id`, `time`, `zendesk_event_version`,
//! `subject` (`zen:ticket:<id>`), `detail` (the ticket after the change:
//! `status` `NEW` … `CLOSED`, `priority` `LOW` … `URGENT`, user and group
//! ids as strings) and `event` (what changed: `current`/`previous`, or the
//! `comment`).
//!
//! One update in Zendesk gives several events (a reply and the status it
//! set), delivered separately and in no guaranteed order. Each carries the
//! whole ticket in `detail`, so each is read as a snapshot of the ticket:
//! whichever arrives first moves the log, the others find it done
//! (`Outcome::Unchanged`), and the comment is recorded by its own id.

use serde_json::{Map, Value};

use super::super::mapping::{Comment, Parsed, Snapshot};
use super::super::{Unmapped, UnmappedReason, vendor_time};
use super::{channel, id_of, ticket_id};
use crate::protocol::event::Priority;
use crate::protocol::record::{Channel, Role};

pub const TICKET_EVENT_PREFIX: &str = "zen:event-type:ticket.";

/// The ticket events read. Any other carries nothing Proofdesk records
/// (tags, subject, custom fields, …) and is reported so the admin can
/// unsubscribe it.
pub const MAPPED: [&str; 7] = [
    "created",
    "status_changed",
    "custom_status_changed",
    "priority_changed",
    "agent_assignment_changed",
    "group_assignment_changed",
    "comment_added",
];

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn time(
    detail: &Map<String, Value>,
    key: &str,
) -> Result<Option<crate::protocol::fields::Timestamp>, String> {
    match detail.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_str().and_then(vendor_time) {
            Some(t) => Ok(Some(t)),
            None => Err(format!("detail.{key} {v} is not an ISO 8601 time")),
        },
    }
}

fn comment(event: &Map<String, Value>, requester: Option<&str>) -> Result<Option<Comment>, String> {
    let Some(c) = event.get("comment").and_then(Value::as_object) else {
        return Err("a comment_added event without event.comment".into());
    };
    let id = id_of(c.get("id")).ok_or("event.comment.id is missing")?;
    let author = c
        .get("author")
        .and_then(Value::as_object)
        .and_then(|a| id_of(a.get("id")));
    let staff = c
        .get("author")
        .and_then(Value::as_object)
        .and_then(|a| a.get("is_staff"))
        .and_then(Value::as_bool);
    let role = match staff {
        Some(false) => Role::Customer,
        Some(true) => Role::Agent,
        None if author.is_some() && author.as_deref() == requester => Role::Customer,
        None => Role::Agent,
    };
    Ok(Some(Comment {
        id,
        text: c
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        public: c.get("is_public").and_then(Value::as_bool).unwrap_or(false),
        author,
        role,
        channel: None,
    }))
}

pub fn parse(body: &Value) -> Result<Parsed, String> {
    let kind_full = body.get("type").and_then(Value::as_str).unwrap_or("");
    let kind = kind_full.strip_prefix(TICKET_EVENT_PREFIX).unwrap_or("");
    if !MAPPED.contains(&kind) {
        return Ok(Parsed::Unmapped(Unmapped::new(
            UnmappedReason::UnknownEventType,
            format!(
                "Zendesk event {kind_full:?} carries nothing Proofdesk records: remove it from the webhook's subscriptions (README \"Connect Zendesk\" lists the {} it reads)",
                MAPPED.len()
            ),
        )));
    }
    let detail = body
        .get("detail")
        .and_then(Value::as_object)
        .ok_or("a ticket event without a detail object")?;
    let event = body.get("event").and_then(Value::as_object);
    let id = id_of(detail.get("id")).ok_or("detail.id is missing")?;
    let id = ticket_id(&id, "detail.id")?;
    if let Some(subject) = body.get("subject").and_then(Value::as_str)
        && subject != format!("zen:ticket:{id}")
    {
        return Err(format!("subject {subject:?} does not name ticket {id}"));
    }
    let requester = id_of(detail.get("requester_id"));
    let current = || event.and_then(|e| text(e.get("current")));
    // The ticket as the event left it; `event.current` where detail is silent.
    let state =
        text(detail.get("status")).or_else(|| (kind == "status_changed").then(current).flatten());
    let priority_raw = text(detail.get("priority"))
        .or_else(|| (kind == "priority_changed").then(current).flatten());
    let priority = priority_raw
        .as_deref()
        .and_then(|p| Priority::parse(&p.to_ascii_lowercase()));
    let occurred_at = match body.get("time").and_then(Value::as_str) {
        Some(t) => Some(vendor_time(t).ok_or(format!("time {t:?} is not an ISO 8601 time"))?),
        None => None,
    };
    let comment = if kind == "comment_added" {
        comment(
            event.ok_or("a comment_added event without an event object")?,
            requester.as_deref(),
        )?
    } else {
        None
    };
    let via = detail
        .get("via")
        .and_then(Value::as_object)
        .and_then(|v| v.get("channel"))
        .and_then(Value::as_str);
    Ok(Parsed::Snapshot(Box::new(Snapshot {
        ticket_id: id,
        updated_at: time(detail, "updated_at")?,
        occurred_at,
        created_at: time(detail, "created_at")?,
        state,
        state_id: None,
        priority,
        priority_raw,
        requester,
        assignee_known: detail.contains_key("assignee_id"),
        group_known: detail.contains_key("group_id"),
        assignee: id_of(detail.get("assignee_id")),
        group: id_of(detail.get("group_id")),
        actor: id_of(detail.get("actor_id")),
        channel: via.map_or(Channel::Web, channel),
        comment,
        rating: None,
        unmapped: Vec::new(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Zendesk's own example of a status change (the ticket events
    /// reference), one member shortened.
    fn status_changed() -> Value {
        json!({
            "account_id": 22129848,
            "detail": {
                "actor_id": "8447388090494", "assignee_id": "8447388090494", "brand_id": "8447346621310",
                "created_at": "2025-01-08T10:12:07Z", "custom_status": "8447320465790",
                "description": "ticket_description", "external_id": null, "form_id": "8646151517822",
                "group_id": "8447320466430", "id": "5158", "is_public": true,
                "organization_id": "8447346622462", "priority": "LOW", "requester_id": "8447388090494",
                "status": "SOLVED", "subject": "ticket_subject", "submitter_id": "8447388090494",
                "tags": ["tag_1"], "type": "TASK", "updated_at": "2025-01-08T10:12:07Z",
                "via": {"channel": "web_service"}
            },
            "event": {"current": "SOLVED", "previous": "OPEN"},
            "id": "cbe4028c-7239-495d-b020-f22348516046",
            "subject": "zen:ticket:5158",
            "time": "2025-01-08T10:12:07.672717030Z",
            "type": "zen:event-type:ticket.status_changed",
            "zendesk_event_version": "2022-11-06"
        })
    }

    fn snap(v: &Value) -> Snapshot {
        match parse(v).unwrap() {
            Parsed::Snapshot(s) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_event_is_read_as_the_ticket_it_leaves() {
        let s = snap(&status_changed());
        assert_eq!(s.ticket_id, "5158");
        assert_eq!(s.state.as_deref(), Some("SOLVED"));
        assert_eq!(s.priority, Some(Priority::Low));
        assert_eq!(s.channel, Channel::Api);
        assert_eq!(s.assignee.as_deref(), Some("8447388090494"));
        assert!(s.assignee_known && s.group_known);
        assert_eq!(
            s.occurred_at.unwrap().to_string(),
            "2025-01-08T10:12:07.672Z"
        );
        assert_eq!(
            s.updated_at.unwrap().to_string(),
            "2025-01-08T10:12:07.000Z"
        );
    }

    #[test]
    fn a_comment_keeps_its_text_and_its_author_side() {
        let mut v = status_changed();
        v["type"] = json!("zen:event-type:ticket.comment_added");
        v["event"] = json!({"comment": {"id": "10001", "body": "Line \"one\"\n\\ 你好 🙂",
            "is_public": true, "author": {"id": "99", "is_staff": false, "name": "Jane"}}});
        let c = snap(&v).comment.unwrap();
        assert_eq!(c.text, "Line \"one\"\n\\ 你好 🙂");
        assert_eq!(
            (c.role, c.public, c.author.as_deref()),
            (Role::Customer, true, Some("99"))
        );
    }

    /// README "Connect Zendesk" lists exactly the events read.
    #[test]
    fn the_readme_lists_the_events_read() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("### Connect Zendesk").unwrap()..];
        let section = &section[..section.find("### Connect Zammad").unwrap()];
        for kind in MAPPED {
            assert!(section.contains(&format!("ticket.{kind}`")), "{kind}");
        }
        assert!(section.contains(&format!("these {} ticket events", "seven")));
        assert_eq!(MAPPED.len(), 7);
    }

    #[test]
    fn what_is_not_read_is_said() {
        let mut v = status_changed();
        v["type"] = json!("zen:event-type:ticket.tags_changed");
        assert!(matches!(
            parse(&v).unwrap(),
            Parsed::Unmapped(Unmapped {
                reason: UnmappedReason::UnknownEventType,
                ..
            })
        ));
        let mut v = status_changed();
        v["subject"] = json!("zen:ticket:1");
        assert!(parse(&v).unwrap_err().contains("does not name ticket 5158"));
        let mut v = status_changed();
        v["detail"]["assignee_id"] = Value::Null;
        v["detail"].as_object_mut().unwrap().remove("group_id");
        let s = snap(&v);
        assert_eq!(
            (s.assignee.as_deref(), s.assignee_known, s.group_known),
            (None, true, false)
        );
    }
}
