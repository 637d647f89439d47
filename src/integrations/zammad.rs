//! Zammad: a trigger's "Webhook" action posts Zammad's default payload,
//! `{"ticket": {…}, "article": {…}}` (app/jobs/trigger_webhook_job.rb and
//! record_payload/, in zammad/zammad): the ticket's attributes with their
//! association names, and the associations `owner`, `customer`,
//! `created_by`, `updated_by`, `organization`, `priority` and `group` as
//! whole objects, `{}` when empty. `state` stays a name beside `state_id`.
//! The article is `{}` when the trigger fired without one. Times are
//! RFC 3339 with milliseconds.
//!
//! Only ids and codes are read: user objects carry names and e-mail
//! addresses and are never touched. Zammad adds fields between versions, so
//! unknown members are ignored; the ones read are listed in README
//! "Connect Zammad". States and priorities are mapped by id first
//! (`MappingOptions::states`, `priorities`): admins rename them.

use serde_json::{Map, Value};

use super::mapping::{Comment, Parsed, Snapshot};
use super::{Integration, Unmapped, UnmappedReason, vendor_time};
use crate::protocol::event::Priority;
use crate::protocol::record::{Channel, Role};

/// Zammad's owner id 1 is its built-in "-" user: nobody.
const NOBODY: &str = "1";

fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An association's name: Zammad sends the association as an object
/// (`{"id": 2, "name": "2 normal", …}`, `{}` when empty) and its name as a
/// string in older or custom payloads.
fn name_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn time(v: Option<&Value>) -> Option<crate::protocol::fields::Timestamp> {
    v.and_then(Value::as_str).and_then(vendor_time)
}

/// Default Zammad priorities are "1 low", "2 normal", "3 high".
fn priority_by_name(name: &str) -> Option<Priority> {
    let word = name.trim().rsplit(' ').next()?.to_ascii_lowercase();
    Priority::parse(&word)
}

/// Article types: email, phone, web, note, sms, chat, telegram message,
/// twitter status, facebook feed post, …
fn channel(kind: &str) -> Option<Channel> {
    let k = kind.to_ascii_lowercase();
    Some(if k == "email" || k == "fax" {
        Channel::Email
    } else if k == "phone" {
        Channel::Phone
    } else if k == "web" {
        Channel::Web
    } else if k == "sms" {
        Channel::Sms
    } else if k == "chat" {
        Channel::Chat
    } else if k.contains("twitter")
        || k.contains("facebook")
        || k.contains("telegram")
        || k.contains("whatsapp")
    {
        Channel::Social
    } else {
        // A note is not a channel: it takes the ticket's.
        return None;
    })
}

fn comment(a: &Map<String, Value>) -> Option<Comment> {
    let id = id_of(a.get("id"))?;
    let sender = name_of(a.get("sender")).unwrap_or_default();
    let role = match sender.as_str() {
        "Customer" => Role::Customer,
        "System" => Role::System,
        _ => Role::Agent,
    };
    // An agent who types in a customer's phone call is `created_by`; the
    // customer it came from is `origin_by`.
    let author = match role {
        Role::Customer => id_of(a.get("origin_by_id")).or_else(|| id_of(a.get("created_by_id"))),
        _ => id_of(a.get("created_by_id")),
    };
    Some(Comment {
        id,
        text: a
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        public: !a.get("internal").and_then(Value::as_bool).unwrap_or(false),
        author,
        role,
        channel: name_of(a.get("type")).and_then(|k| channel(&k)),
    })
}

pub fn parse(body: &Value, integration: &Integration) -> Result<Parsed, String> {
    let Some(obj) = body.as_object() else {
        return Err("the body is not a JSON object".into());
    };
    let Some(ticket) = obj
        .get("ticket")
        .and_then(Value::as_object)
        .filter(|t| !t.is_empty())
    else {
        return Ok(Parsed::Unmapped(Unmapped::new(
            UnmappedReason::NotATicket,
            "no \"ticket\" object: not a Zammad ticket trigger payload (only ticket triggers are mapped)",
        )));
    };
    let ticket_id = id_of(ticket.get("id")).ok_or("ticket.id is missing")?;
    if ticket_id.len() > 64 || !ticket_id.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("ticket.id {ticket_id:?} is not a Zammad ticket id"));
    }
    let updated_at = match ticket.get("updated_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(time(Some(v)).ok_or("ticket.updated_at is not an RFC 3339 time")?),
    };
    let priority_id = id_of(ticket.get("priority_id")).or_else(|| {
        ticket
            .get("priority")
            .and_then(Value::as_object)
            .and_then(|p| id_of(p.get("id")))
    });
    let priority_raw = name_of(ticket.get("priority"));
    let priority = priority_id
        .as_deref()
        .and_then(|id| integration.options.priorities.get(id))
        .and_then(|w| Priority::parse(w))
        .or_else(|| priority_raw.as_deref().and_then(priority_by_name));
    let priority_raw = priority_raw.or(priority_id.map(|id| format!("priority id {id}")));
    let ticket_channel = name_of(ticket.get("create_article_type"))
        .and_then(|k| channel(&k))
        .unwrap_or(Channel::Web);
    let article = obj
        .get("article")
        .and_then(Value::as_object)
        .and_then(comment);
    Ok(Parsed::Snapshot(Box::new(Snapshot {
        ticket_id,
        updated_at,
        occurred_at: None,
        created_at: time(ticket.get("created_at")),
        state: name_of(ticket.get("state")),
        state_id: id_of(ticket.get("state_id")),
        priority,
        priority_raw,
        requester: id_of(ticket.get("customer_id")),
        assignee_known: true,
        group_known: true,
        assignee: id_of(ticket.get("owner_id")).filter(|o| o != NOBODY),
        group: id_of(ticket.get("group_id")),
        actor: id_of(ticket.get("updated_by_id")),
        channel: ticket_channel,
        comment: article,
        // Zammad has no satisfaction survey of its own.
        rating: None,
        unmapped: Vec::new(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::{MappingOptions, Vendor};
    use serde_json::json;

    fn zm(options: MappingOptions) -> Integration {
        Integration::new("helpdesk", Vendor::Zammad, None, options).unwrap()
    }

    fn snapshot(v: Value, i: &Integration) -> Snapshot {
        match parse(&v, i).unwrap() {
            Parsed::Snapshot(s) => *s,
            other => panic!("{other:?}"),
        }
    }

    /// The shapes of Zammad's default payload: associations as objects,
    /// `{}` when empty, `state` a name beside `state_id`, times in ms.
    #[test]
    fn reads_ids_never_names() {
        let i = zm(MappingOptions::defaults_for(Vendor::Zammad));
        let v = json!({
            "ticket": {"id": 7, "state": "pending reminder", "state_id": 3,
                       "priority": {"id": 3, "name": "3 high", "default_create": false}, "priority_id": 3,
                       "owner_id": 3, "owner": {"id": 3, "firstname": "Nicole", "email": "nicole@example.com"},
                       "group_id": 2, "group": {"id": 2, "name": "Users"}, "organization": {}, "organization_id": null,
                       "customer_id": 5, "updated_by_id": 3,
                       "updated_at": "2026-03-01T10:00:00.123Z", "create_article_type": "email"},
            "article": {"id": 11, "internal": true, "sender": "Agent", "type": "note",
                        "created_by_id": 3, "from": "Nicole <nicole@example.com>", "body": "checked"}
        });
        let s = snapshot(v, &i);
        assert_eq!(s.assignee.as_deref(), Some("3"));
        assert_eq!(s.priority, Some(Priority::High));
        assert_eq!(s.state_id.as_deref(), Some("3"));
        assert_eq!(s.channel, Channel::Email);
        assert_eq!(s.updated_at.unwrap().millis() % 1000, 123);
        let c = s.comment.unwrap();
        assert!(!c.public);
        assert_eq!(c.channel, None);
        assert!(!format!("{:?}", s.state).contains("Nicole"));
        let nobody = json!({"ticket": {"id": 7, "owner_id": 1, "state": "new", "state_id": 1}, "article": {}});
        let s = snapshot(nobody, &i);
        assert_eq!(s.assignee, None);
        assert_eq!(s.comment, None, "an empty article is no comment");
        assert!(matches!(
            parse(&json!({"user": {}}), &i).unwrap(),
            Parsed::Unmapped(Unmapped {
                reason: UnmappedReason::NotATicket,
                ..
            })
        ));
        assert!(matches!(
            parse(&json!({"ticket": {}, "article": {}}), &i).unwrap(),
            Parsed::Unmapped(_)
        ));
    }

    #[test]
    fn a_phone_article_taken_by_an_agent_is_the_customers() {
        let i = zm(MappingOptions::defaults_for(Vendor::Zammad));
        let v = json!({"ticket": {"id": 8, "state": "open", "state_id": 2, "customer_id": 8},
                       "article": {"id": 104, "sender": "Customer", "type": "phone", "internal": false,
                                   "created_by_id": 3, "origin_by_id": 8, "body": "x"}});
        let c = snapshot(v, &i).comment.unwrap();
        assert_eq!((c.author.as_deref(), c.role), (Some("8"), Role::Customer));
        assert_eq!(c.channel, Some(Channel::Phone));
    }

    #[test]
    fn renamed_priorities_map_by_id() {
        let mut o = MappingOptions::defaults_for(Vendor::Zammad);
        o.priorities.insert("4".into(), "urgent".into());
        let i = zm(o);
        let v = |id: u64, name: &str| json!({"ticket": {"id": 9, "priority": {"id": id, "name": name}, "priority_id": id}});
        assert_eq!(
            snapshot(v(4, "4 sehr dringend"), &i).priority,
            Some(Priority::Urgent)
        );
        assert_eq!(
            snapshot(v(2, "2 normal"), &i).priority,
            Some(Priority::Normal)
        );
        let s = snapshot(v(5, "5 kritisch"), &i);
        assert_eq!(s.priority, None);
        assert_eq!(s.priority_raw.as_deref(), Some("5 kritisch"));
    }
}
