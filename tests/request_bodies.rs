//! Request bodies read as the server reads them (`src/api/body.rs`): in one
//! pass for a request without an Idempotency-Key, through the strict tree
//! for one with a key or a body the one pass declines. Both ways give the
//! same value or the same refusal, on hand-picked bodies and on generated
//! ones, valid and not, and the one pass is what valid bodies take.

use std::fmt::Debug;

use proofdesk::api::body::{RequestBody, read};
use proofdesk::api::integration_admin::{CreateIntegration, UpdateIntegration};
use proofdesk::api::{ApiError, BulkAppend, CreateTicket};
use proofdesk::ingest::EventInput;
use proofdesk::protocol::canonical::parse_strict_input;
use proptest::prelude::*;

/// Read as a request without an Idempotency-Key (in one pass, or through
/// the tree where the one pass declines) and as one with a key (always
/// through the tree): the same value, or the same refusal. Says whether the
/// one pass was taken. Typed values are compared as `Debug` writes them,
/// which shows every member.
fn agrees<T: RequestBody + Debug>(text: &str) -> Result<bool, String> {
    match (read::<T>(text, false), read::<T>(text, true)) {
        (Ok(fast), Ok(tree)) => {
            let (f, t) = (format!("{:?}", fast.typed), format!("{:?}", tree.typed));
            if f != t {
                return Err(format!("{f} != {t} for {text}"));
            }
            Ok(fast.tree.is_none())
        }
        (Err(a), Err(b)) => {
            let (a, b) = (format!("{a:?}"), format!("{b:?}"));
            if a != b {
                return Err(format!("refused as {a}, and by the tree as {b}: {text}"));
            }
            Ok(false)
        }
        (fast, tree) => Err(format!(
            "without a key {:?}, with one {:?}: {text}",
            fast.map(|r| r.typed),
            tree.map(|r| r.typed)
        )),
    }
}

/// Whether a request without a key is refused, as the tree refuses it.
fn refused<T: RequestBody + Debug>(text: &str) -> bool {
    agrees::<T>(text).is_ok() && read::<T>(text, false).is_err()
}

const EVENT: &str = r#"{"type":"message.added","data":{"n":5.0,"m":[1e2,-0.0,2.5]},
    "actor":{"role":"agent","ref":"a-1"},"channel":"email",
    "occurred_at":"2025-03-01T09:30:00Z","content":{"text":"hi"}}"#;

#[test]
fn a_valid_body_is_read_in_one_pass_with_the_trees_values() {
    assert_eq!(agrees::<EventInput>(EVENT), Ok(true));
    let read = read::<EventInput>(EVENT, false).unwrap();
    assert!(read.tree.is_none(), "no tree without an Idempotency-Key");
    // Whole numbers are integers, as the tree reads them.
    assert_eq!(read.typed.data, serde_json::json!({"n":5,"m":[100,0,2.5]}));
    let bulk = format!(r#"{{"events":[{{"ticket":"tk_x","event":{EVENT}}}]}}"#);
    assert_eq!(agrees::<BulkAppend>(&bulk), Ok(true));
    let integration = r#"{"name":"zd","vendor":"zendesk","options":{"a":1.0}}"#;
    assert_eq!(agrees::<CreateIntegration>(integration), Ok(true));
    assert_eq!(
        agrees::<UpdateIntegration>(r#"{"options":{"a":[2.0]}}"#),
        Ok(true)
    );
    assert_eq!(agrees::<UpdateIntegration>(r#"{"options":null}"#), Ok(true));
    assert_eq!(
        agrees::<CreateTicket>(r#"{"external_id":"zd-1"}"#),
        Ok(true)
    );
}

#[test]
fn a_keyed_body_keeps_its_tree_for_the_hash() {
    let read = read::<EventInput>(EVENT, true).unwrap();
    let tree = read.tree.expect("the hash reads the tree");
    assert_eq!(tree, parse_strict_input(EVENT).unwrap());
    assert_eq!(tree["data"]["n"], serde_json::json!(5));
}

#[test]
fn what_the_tree_must_judge_is_declined() {
    let declined = [
        // A repeated member: in the body, in a struct, in free JSON, in
        // an enum's object.
        EVENT.replacen(
            r#""channel":"email""#,
            r#""channel":"email","channel":"web""#,
            1,
        ),
        EVENT.replacen(r#""ref":"a-1""#, r#""ref":"a-1","role":"bot""#, 1),
        EVENT.replacen(r#""n":5.0"#, r#""n":5.0,"n":6"#, 1),
        EVENT.replacen(r#""text":"hi""#, r#""text":"hi","text":"ho""#, 1),
        // Unknown members, at the top and inside.
        EVENT.replacen(r#""channel""#, r#""x":1,"channel""#, 1),
        EVENT.replacen(r#""ref""#, r#""x":1,"ref""#, 1),
        // Not an object, though serde reads a struct from an array.
        r#"["message.added",{},{"role":"agent","ref":"a"},"email","2025-03-01T09:30:00Z",null]"#
            .to_owned(),
        // Syntax.
        EVENT.replacen('}', "", 1),
        format!("{EVENT} {{}}"),
    ];
    for text in &declined {
        assert!(
            refused::<EventInput>(text),
            "refused, as by the tree: {text}"
        );
    }
    // Each type's free JSON, and its own members, repeated.
    let integration = r#"{"name":"zd","vendor":"zendesk","options":{"a":1,"a":2}}"#;
    assert!(refused::<CreateIntegration>(integration));
    assert!(refused::<UpdateIntegration>(
        r#"{"options":{"b":{"a":1,"a":1}}}"#
    ));
    assert!(refused::<CreateTicket>(
        r#"{"external_id":"a","external_id":"b"}"#
    ));
}

#[test]
fn refusals_read_as_the_trees() {
    let dup = EVENT.replacen(
        r#""channel":"email""#,
        r#""channel":"email","channel":"web""#,
        1,
    );
    let Err(ApiError::BadRequest(reason)) = read::<EventInput>(&dup, false) else {
        panic!("a repeated member is a 400");
    };
    assert!(
        reason.contains(r#"duplicate member name "channel""#),
        "{reason}"
    );
    let Err(ApiError::Unprocessable { reason, .. }) = read::<EventInput>("[1]", false) else {
        panic!("an array is a 422");
    };
    assert_eq!(reason, "the body must be a JSON object, not an array");
}

/// JSON text for free members: numbers of every kind, repeated names.
fn free_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        prop::sample::select(vec![
            "5",
            "5.0",
            "-0.0",
            "2.5",
            "1e2",
            "1E-2",
            "-7",
            "9007199254740991.0",
            "9007199254740993.0",
            "18446744073709551616",
            "1e308",
        ])
        .prop_map(str::to_owned),
        "[a-z\\\"é]{0,4}".prop_map(|s| format!("{:?}", s)),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-f]", inner), 0..4).prop_map(|members| {
                let m: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", m.join(","))
            }),
        ]
    })
}

/// One of `bad` now and then, `good` most of the time.
fn mostly(good: &'static [&'static str], bad: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(good),
        1 => prop::sample::select(bad),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

/// An event body: its members in any order, and now and then one left
/// out, repeated, unknown, null or of the wrong kind.
fn event_text() -> impl Strategy<Value = String> {
    let members = (
        mostly(
            &[r#""message.added""#, r#""ticket.created""#],
            &[r#""nope""#, "1"],
        ),
        free_json(),
        mostly(
            &[
                r#"{"role":"agent","ref":"a-1"}"#,
                r#"{"ref":"a-1","role":"bot"}"#,
            ],
            &[
                r#"{"role":"agent","ref":"a-1","ref":"b"}"#,
                r#"{"role":"agent"}"#,
                r#"["agent","a-1"]"#,
            ],
        ),
        mostly(&[r#""email""#, r#""chat""#], &[r#""fax""#, "null"]),
        mostly(
            &[r#""2025-03-01T09:30:00Z""#, r#""not checked here""#],
            &["5"],
        ),
        mostly(
            &[
                r#"{"text":"hi"}"#,
                r#"{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000000"}"#,
                "null",
            ],
            &[
                r#"{"text":"a","text":"b"}"#,
                r#"{"text":"a","commitment":"0x00"}"#,
                r#""text""#,
            ],
        ),
    );
    let names = ["type", "data", "actor", "channel", "occurred_at", "content"];
    // Which members: all but content always, mostly; then at times a
    // member left out, one repeated, one unknown.
    let shape = (
        any::<bool>(),
        prop::option::weighted(0.1, 0..5usize),
        prop::option::weighted(0.1, 0..6usize),
        prop::option::weighted(0.05, Just(())),
        any::<prop::sample::Index>(),
    );
    (members, shape).prop_map(move |(m, (content, left_out, repeated, unknown, rotate))| {
        let values = [m.0, m.1, m.2, m.3, m.4, m.5];
        let mut chosen: Vec<String> = (0..6)
            .filter(|&i| Some(i) != left_out && (i < 5 || content))
            .map(|i| format!("\"{}\":{}", names[i], values[i]))
            .collect();
        if let Some(i) = repeated {
            chosen.push(format!("\"{}\":{}", names[i], values[i]));
        }
        if unknown.is_some() {
            chosen.push("\"extra\":1".to_owned());
        }
        let n = chosen.len();
        chosen.rotate_left(rotate.index(n));
        format!("{{ {} }}", chosen.join(" ,\n"))
    })
}

/// Generated bodies, valid and not: wherever the one pass gives a value,
/// the tree gives the same. Both paths must be taken often, or the
/// comparison would prove nothing.
#[test]
fn one_pass_agrees_with_the_tree() {
    use proptest::test_runner::{Config, TestRunner};
    let taken = std::cell::Cell::new([0usize; 2]);
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(event_text(), 1usize..3), |(event, items)| {
            let one = agrees::<EventInput>(&event).map_err(TestCaseError::fail)?;
            let bulk = format!(
                r#"{{"events":[{}]}}"#,
                vec![format!(r#"{{"ticket":"tk_1","event":{event}}}"#); items].join(",")
            );
            let many = agrees::<BulkAppend>(&bulk).map_err(TestCaseError::fail)?;
            prop_assert_eq!(one, many, "an event and its bulk request are read alike");
            let mut t = taken.get();
            t[usize::from(one)] += 1;
            taken.set(t);
            Ok(())
        })
        .unwrap();
    let [declined, one_pass] = taken.get();
    assert!(
        declined > 200 && one_pass > 200,
        "declined {declined}, read in one pass {one_pass}"
    );
}
