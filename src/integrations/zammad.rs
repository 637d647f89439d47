//! Zammad: a trigger's "Webhook" action posts Zammad's default payload,
//! `{"ticket": {…}, "article": {…}}`, with the ticket's attributes and its
//! associations resolved to names (`state`, `priority`, `group`, and user
//! objects for `owner`, `customer`, … which carry names and e-mail
//! addresses: the adapter reads only ids). Zammad adds fields between
//! versions, so unknown members are ignored here; the ones read are listed
//! in README "Connect Zammad".

use serde_json::Value;

use super::mapping::{Comment, Snapshot};
use crate::protocol::event::Priority;
use crate::protocol::fields::Timestamp;
use crate::protocol::record::{Channel, Role};

#[derive(Debug)]
pub enum Parsed {
    Snapshot(Box<Snapshot>),
    Unmapped(String),
}

/// Zammad's owner id 1 is its built-in "-" user: nobody.
const NOBODY: &str = "1";

fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An association Zammad sends either as its name or as an object.
fn name_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn time(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_str)
        .and_then(|s| Timestamp::parse_input("updated_at", s).ok())
}

/// Default Zammad priorities are "1 low", "2 normal", "3 high".
fn priority(name: &str) -> Option<Priority> {
    let word = name
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match word.as_str() {
        "low" => Some(Priority::Low),
        "normal" => Some(Priority::Normal),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
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

pub fn parse(body: &Value) -> Result<Parsed, String> {
    let Some(obj) = body.as_object() else {
        return Err("the body is not a JSON object".into());
    };
    let Some(ticket) = obj.get("ticket").and_then(Value::as_object) else {
        return Ok(Parsed::Unmapped(
            "no \"ticket\" object: not a Zammad ticket trigger payload".into(),
        ));
    };
    let ticket_id = id_of(ticket.get("id")).ok_or("ticket.id is missing")?;
    if ticket_id.len() > 64 || !ticket_id.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("ticket.id {ticket_id:?} is not a Zammad ticket id"));
    }
    let updated_at = match ticket.get("updated_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(time(Some(v)).ok_or("ticket.updated_at is not an RFC 3339 time")?),
    };
    let customer = id_of(ticket.get("customer_id"));
    let owner = id_of(ticket.get("owner_id")).filter(|o| o != NOBODY);
    let priority_raw = name_of(ticket.get("priority"));
    let ticket_channel = ticket
        .get("create_article_type")
        .and_then(name_of_some)
        .and_then(|k| channel(&k))
        .unwrap_or(Channel::Web);
    let article = obj.get("article").and_then(Value::as_object);
    let comment = match article {
        Some(a) if id_of(a.get("id")).is_some() => {
            let sender = name_of(a.get("sender")).unwrap_or_default();
            let role = match sender.as_str() {
                "Customer" => Role::Customer,
                "System" => Role::System,
                _ => Role::Agent,
            };
            Some(Comment {
                id: id_of(a.get("id")).unwrap_or_default(),
                text: a
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                public: !a.get("internal").and_then(Value::as_bool).unwrap_or(false),
                author: id_of(a.get("created_by_id")),
                role,
                channel: name_of(a.get("type")).and_then(|k| channel(&k)),
            })
        }
        _ => None,
    };
    Ok(Parsed::Snapshot(Box::new(Snapshot {
        ticket_id,
        updated_at,
        created_at: time(ticket.get("created_at")),
        state: name_of(ticket.get("state")),
        priority: priority_raw.as_deref().and_then(priority),
        priority_raw,
        requester: customer,
        assignee: owner,
        group: id_of(ticket.get("group_id")),
        actor: id_of(ticket.get("updated_by_id")),
        channel: ticket_channel,
        comment,
        // Zammad has no satisfaction survey of its own.
        rating: None,
    })))
}

fn name_of_some(v: &Value) -> Option<String> {
    name_of(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_ids_never_names() {
        let v = json!({
            "ticket": {"id": 7, "state": "pending reminder", "priority": "3 high", "owner_id": 3,
                       "owner": {"firstname": "Nicole", "email": "nicole@example.com"},
                       "group_id": 2, "group": "Users", "customer_id": 5, "updated_by_id": 3,
                       "updated_at": "2026-03-01T10:00:00.123Z", "create_article_type": "email"},
            "article": {"id": 11, "internal": true, "sender": "Agent", "type": "note",
                        "created_by_id": 3, "from": "Nicole <nicole@example.com>", "body": "checked"}
        });
        let Parsed::Snapshot(s) = parse(&v).unwrap() else {
            panic!()
        };
        assert_eq!(s.assignee.as_deref(), Some("3"));
        assert_eq!(s.priority, Some(Priority::High));
        assert_eq!(s.channel, Channel::Email);
        let c = s.comment.unwrap();
        assert!(!c.public);
        assert_eq!(c.channel, None);
        assert!(!format!("{:?}", s.state).contains("Nicole"));
        let nobody = json!({"ticket": {"id": 7, "owner_id": 1, "state": {"name": "new"}}});
        let Parsed::Snapshot(s) = parse(&nobody).unwrap() else {
            panic!()
        };
        assert_eq!(s.assignee, None);
        assert_eq!(s.state.as_deref(), Some("new"));
        assert!(matches!(
            parse(&json!({"user": {}})).unwrap(),
            Parsed::Unmapped(_)
        ));
    }
}
