//! RFC 8785 (JSON Canonicalization Scheme) for the subset of JSON that
//! protocol v1 allows: no floats, integers within ±(2^53 − 1).
//!
//! With floats excluded, JCS reduces to: object members sorted by the UTF-16
//! code units of their names, no insignificant whitespace, integers in plain
//! decimal, and strings escaped exactly as ECMAScript's JSON.stringify does.
//! A browser verifier gets the same bytes from `JSON.stringify` on a
//! key-sorted object, which is the point.

use std::fmt::Write as _;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Largest integer magnitude allowed in a record: JavaScript's
/// `Number.MAX_SAFE_INTEGER`, so every verifier reads the same number.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("non-integer number {0} at {1}: protocol v1 allows integers only")]
    NotAnInteger(String, String),
    #[error("integer {0} at {1} is outside ±(2^53 − 1)")]
    IntegerOutOfRange(String, String),
    #[error("invalid JSON: {0}")]
    Syntax(String),
}

/// Canonical bytes of a JSON value, or the reason it has none.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_canonical(value, &mut out)?;
    Ok(out.into_bytes())
}

/// Appends the canonical form of `value` to `out` (for writers that build a
/// larger canonical text around it, such as `EventRecord::canonical_bytes`).
/// On error `out` holds a partial value.
pub fn write_canonical(value: &Value, out: &mut String) -> Result<(), CanonicalError> {
    write_value(value, out, &mut Vec::new())
}

/// One step of the path to a value, kept as borrowed parts and formatted
/// (`$.data.labels[2]`) only when a value is refused: most values never are.
enum Step<'a> {
    Member(&'a str),
    Item(usize),
}

fn path_text(path: &[Step<'_>]) -> String {
    let mut text = String::from("$");
    for step in path {
        let _ = match step {
            Step::Member(k) => write!(text, ".{k}"),
            Step::Item(i) => write!(text, "[{i}]"),
        };
    }
    text
}

fn write_value<'a>(
    value: &'a Value,
    out: &mut String,
    path: &mut Vec<Step<'a>>,
) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(n, out, path)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                path.push(Step::Item(i));
                write_value(item, out, path)?;
                path.pop();
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            // RFC 8785 §3.2.3: sort by UTF-16 code units, not by UTF-8 bytes
            // (they differ for characters above U+FFFF vs. U+E000..U+FFFF).
            // For ASCII names the two orders agree, so names the map already
            // yields in byte order (serde_json's map is sorted) are not sorted
            // again.
            if map.keys().all(|k| k.is_ascii()) && map.keys().is_sorted() {
                write_members(map.iter(), out, path)?;
            } else {
                let mut members: Vec<(&String, &Value)> = map.iter().collect();
                members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                write_members(members.into_iter(), out, path)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_members<'a>(
    members: impl Iterator<Item = (&'a String, &'a Value)>,
    out: &mut String,
    path: &mut Vec<Step<'a>>,
) -> Result<(), CanonicalError> {
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        path.push(Step::Member(k));
        write_value(v, out, path)?;
        path.pop();
    }
    Ok(())
}

fn write_number(n: &Number, out: &mut String, path: &[Step<'_>]) -> Result<(), CanonicalError> {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(CanonicalError::IntegerOutOfRange(
                n.to_string(),
                path_text(path),
            ));
        }
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        // Only values above i64::MAX land here, all far beyond 2^53.
        return Err(CanonicalError::IntegerOutOfRange(
            u.to_string(),
            path_text(path),
        ));
    } else {
        return Err(CanonicalError::NotAnInteger(n.to_string(), path_text(path)));
    }
    Ok(())
}

/// ECMAScript JSON.stringify string escaping (RFC 8785 §3.2.2.2).
pub fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Only ASCII controls, '"' and '\\' are escaped, and no byte of a
    // multi-byte UTF-8 character is ASCII: runs between escapes are copied
    // whole, split only at those ASCII bytes (always character boundaries).
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// What kind of JSON value `v` is, as a message names it ("an array").
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses JSON text strictly: a repeated member name is an error rather than
/// "last one wins", because two verifiers that resolve duplicates differently
/// would hash different records from the same bytes.
pub fn parse_strict(text: &str) -> Result<Value, CanonicalError> {
    parse_text(text, StrictVisitor { whole: false })
}

/// The whole of `text` as one value, read by `visitor`.
fn parse_text(text: &str, visitor: StrictVisitor) -> Result<Value, CanonicalError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de.deserialize_any(visitor).map_err(syntax)?;
    de.end().map_err(syntax)?;
    Ok(value)
}

/// serde_json's reason, except where it misleads: an escaped UTF-16
/// surrogate without its partner (`"\ud800"`) is reported as "unexpected
/// end of hex escape" or, for a lone low surrogate, "lone leading
/// surrogate". Both mean the string is not Unicode text.
fn syntax(e: serde_json::Error) -> CanonicalError {
    let text = e.to_string();
    if text.starts_with("unexpected end of hex escape")
        || text.starts_with("lone leading surrogate in hex escape")
    {
        return CanonicalError::Syntax(format!(
            "a string has an unpaired surrogate escape (\\ud800 to \\udfff) at line {} column {}: JSON strings must be Unicode text, so write the character itself or a high surrogate (\\ud800-\\udbff) followed by a low one (\\udc00-\\udfff)",
            e.line(),
            e.column()
        ));
    }
    CanonicalError::Syntax(text)
}

/// Like [`parse_strict`] for an already-deserialising context (a field of a
/// larger document). Use via `#[serde(deserialize_with = "strict_value")]`.
pub fn strict_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    d.deserialize_any(StrictVisitor { whole: false })
}

/// Parses a request body strictly, as [`parse_strict`], and reads every
/// whole number as an integer (below).
pub fn parse_strict_input(text: &str) -> Result<Value, CanonicalError> {
    parse_text(text, StrictVisitor { whole: true })
}

/// Free JSON inside a request body (an event's `data`, an integration's
/// `options`), read as [`parse_strict_input`] reads a whole body, so that a
/// body read straight into its typed value holds the same values as one
/// read through its tree. Use via `#[serde(deserialize_with = "input_value")]`.
///
/// JSON has one number type: `52.0` is the integer 52 (JSON Schema agrees),
/// but serde refuses it for an integer. A number that is a whole number
/// within 2^53 becomes an integer; anything else stays as sent (and is
/// refused where an integer is required).
pub fn input_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    d.deserialize_any(StrictVisitor { whole: true })
}

/// [`input_value`] for a member that may be left out or `null`.
pub fn input_value_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    struct Input(Value);
    impl<'de> serde::Deserialize<'de> for Input {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            input_value(d).map(Input)
        }
    }
    Ok(<Option<Input> as serde::Deserialize>::deserialize(d)?.map(|i| i.0))
}

/// Builds a `Value`, refusing a repeated member name; `whole` reads whole
/// floats as integers (the request rule of [`input_value`]).
#[derive(Clone, Copy)]
struct StrictVisitor {
    whole: bool,
}

impl<'de> de::DeserializeSeed<'de> for StrictVisitor {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        const MAX_SAFE: f64 = MAX_SAFE_INTEGER as f64;
        if self.whole && v.fract() == 0.0 && v.abs() <= MAX_SAFE {
            return Ok(Value::from(v as i64));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate member name {key:?}")));
            }
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The escaping rule as first written, one character at a time.
    fn write_string_reference(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        #[test]
        fn string_escaping_matches_the_per_character_rule(s in "(\\PC|[\\x00-\\x1f\"\\\\]|\\u{7f}|\\u{2028}|😀){0,40}") {
            let mut out = String::new();
            write_string(&s, &mut out);
            proptest::prop_assert_eq!(out, write_string_reference(&s));
        }
    }

    fn canon(v: Value) -> String {
        String::from_utf8(canonicalize(&v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_members_and_drops_whitespace() {
        assert_eq!(
            canon(json!({"b": 1, "a": [true, null, "x"]})),
            r#"{"a":[true,null,"x"],"b":1}"#
        );
    }

    #[test]
    fn escapes_like_json_stringify() {
        let s = "q\" b\\ \u{08}\u{0c}\n\r\t \u{01}\u{1f} \u{7f} é \u{2028} 😀";
        assert_eq!(
            canon(json!(s)),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f \u{7f} é \u{2028} 😀\""
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16,
        // although its UTF-8 bytes sort after.
        assert_eq!(
            canon(json!({"\u{fb01}": 1, "😀": 2})),
            "{\"😀\":2,\"\u{fb01}\":1}"
        );
    }

    #[test]
    fn an_unpaired_surrogate_is_named_as_such() {
        for text in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#"{"a": "x\udbff"}"#,
        ] {
            let e = parse_strict(text).unwrap_err().to_string();
            assert!(
                e.starts_with("invalid JSON: a string has an unpaired surrogate escape (\\ud800 to \\udfff) at line 1 column"),
                "{text}: {e}"
            );
        }
        // A proper pair is one character.
        assert_eq!(
            parse_strict(r#""\ud83d\ude00""#).unwrap(),
            Value::String("\u{1F600}".into())
        );
        // Other escape errors keep serde_json's words.
        assert!(
            parse_strict(r#""\u12x4""#)
                .unwrap_err()
                .to_string()
                .contains("invalid escape")
        );
    }

    #[test]
    fn rejects_floats_and_unsafe_integers() {
        assert!(
            matches!(canonicalize(&json!({"a": 1.5})), Err(CanonicalError::NotAnInteger(_, p)) if p == "$.a")
        );
        assert!(canonicalize(&json!(MAX_SAFE_INTEGER)).is_ok());
        assert!(canonicalize(&json!(-(MAX_SAFE_INTEGER as i64))).is_ok());
        assert!(canonicalize(&json!(MAX_SAFE_INTEGER + 1)).is_err());
        assert!(canonicalize(&json!(u64::MAX)).is_err());
    }

    #[test]
    fn a_refused_number_names_its_path() {
        let v = json!({"a": [0, {"b": [1, 2.5]}]});
        assert!(
            matches!(canonicalize(&v), Err(CanonicalError::NotAnInteger(n, p)) if n == "2.5" && p == "$.a[1].b[1]")
        );
        assert!(
            matches!(canonicalize(&json!([u64::MAX])), Err(CanonicalError::IntegerOutOfRange(_, p)) if p == "$[0]")
        );
    }

    /// The algorithm as first written: every object's members collected and
    /// sorted by UTF-16 code units, whatever order the map yields them in.
    fn canon_reference(v: &Value, out: &mut String) {
        match v {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canon_reference(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut members: Vec<_> = map.iter().collect();
                members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                out.push('{');
                for (i, (k, v)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    canon_reference(v, out);
                }
                out.push('}');
            }
            Value::String(s) => write_string(s, out),
            other => out.push_str(&other.to_string()),
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                // Names from ASCII, the BMP above U+E000 and the astral planes,
                // where UTF-8 and UTF-16 orders disagree.
                prop::collection::btree_map(
                    "([a-z_]|[\\u{e000}-\\u{ffff}]|[\\u{10000}-\\u{10ffff}]){0,4}",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_bytes_match_the_reference_algorithm(v in json_value()) {
            let mut expected = String::new();
            canon_reference(&v, &mut expected);
            prop_assert_eq!(String::from_utf8(canonicalize(&v).unwrap()).unwrap(), expected);
        }
    }

    #[test]
    fn strict_parse_rejects_duplicates_and_trailing_garbage() {
        assert!(parse_strict(r#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict(r#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_strict(r#"{"a":1} x"#).is_err());
        assert_eq!(
            parse_strict(r#" {"a":[1,{"b":null}]} "#).unwrap(),
            json!({"a":[1,{"b":null}]})
        );
    }
}
