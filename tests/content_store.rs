//! Content kept off the log, on both backends: it can be disclosed (salt and
//! text reproduce the record's commitment) and erased (salt and text gone,
//! time and key recorded, the first erasure's time kept), while the record,
//! its leaf and every proof stay exactly as they were.

mod common;

use common::*;
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::hashing::content_commitment;
use proofdesk::protocol::record::HashedRecord;
use proofdesk::protocol::state::Policy;
use proofdesk::seal::{SealPolicy, seal_all};
use serde_json::{Value, json};

fn with_content(event_type: &str, data: Value, content: Value) -> proofdesk::ingest::EventInput {
    serde_json::from_value(json!({
        "type": event_type, "data": data, "actor": {"role": "customer", "ref": "cust-1"},
        "channel": "web", "occurred_at": now_iso(), "content": content,
    }))
    .unwrap()
}

#[tokio::test]
async fn content_is_disclosed_then_erased_and_proofs_stay() {
    for db in TestDb::all().await {
        let store = db.store();
        let policy = Policy::default();
        let t = new_ticket(store, "content-1").await;
        let text = "Meine Auszahlung hängt seit 9 Tagen. 我的提现卡住了。";
        let msg = json!({"direction": "inbound", "visibility": "public"});
        store
            .append(
                vec![
                    req(&t, created()),
                    req(
                        &t,
                        with_content("message.added", msg.clone(), json!({"text": text})),
                    ),
                    req(
                        &t,
                        with_content(
                            "message.added",
                            msg.clone(),
                            json!({"commitment": format!("0x{}", "ab".repeat(32))}),
                        ),
                    ),
                ],
                None,
                &policy,
            )
            .await
            .unwrap();
        seal_all(store, &SealPolicy::default()).await.unwrap();
        let before = store.events_by_ticket(&t).await.unwrap();

        // Disclosure: salt and text reproduce the record's commitment.
        let c = store.content(&t, 1).await.unwrap().expect("content stored");
        assert_eq!((c.index, c.seq), (before[1].index, 1));
        assert_eq!(c.body.as_deref(), Some(text));
        assert!(c.erased_at.is_none());
        let record: Value = serde_json::from_str(&before[1].record).unwrap();
        let commitment = content_commitment(&c.salt.unwrap(), text);
        assert_eq!(record["content"], json!(commitment), "{}", db.url);

        // Nothing is stored for an event without content, for a platform's
        // own commitment, or for an event that does not exist.
        assert_eq!(store.content(&t, 0).await.unwrap(), None);
        assert_eq!(store.content(&t, 2).await.unwrap(), None);
        assert_eq!(store.content(&t, 9).await.unwrap(), None);
        assert_eq!(
            store
                .erase_content(&t, 0, "k1", Timestamp::now())
                .await
                .unwrap(),
            None
        );

        // Erasure removes salt and text and records when and by whom; a
        // second erasure keeps the first one's time and key.
        let first = Timestamp::from_millis(1_800_000_000_000).unwrap();
        let erased = store
            .erase_content(&t, 1, "k1", first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((erased.salt, erased.body.as_deref()), (None, None));
        assert_eq!(
            erased.erased_at.as_deref(),
            Some(first.to_string().as_str())
        );
        assert_eq!(erased.erased_by.as_deref(), Some("k1"));
        let again = store
            .erase_content(&t, 1, "k2", Timestamp::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.erased_at, erased.erased_at);
        assert_eq!(again.erased_by.as_deref(), Some("k1"));
        assert_eq!(store.content(&t, 1).await.unwrap(), Some(erased));

        // The records, leaves and paths are untouched.
        let after = store.events_by_ticket(&t).await.unwrap();
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(
                (&b.record, b.leaf, &b.sealed),
                (&a.record, a.leaf, &a.sealed)
            );
            let parsed =
                HashedRecord::from_value(&serde_json::from_str(&a.record).unwrap()).unwrap();
            assert_eq!(parsed.leaf, a.leaf);
        }
        assert_log_invariants(store).await;
        db.cleanup().await;
    }
}
