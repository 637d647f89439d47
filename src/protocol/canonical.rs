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
    write_value(value, &mut out, &mut String::from("$"))?;
    Ok(out.into_bytes())
}

fn write_value(value: &Value, out: &mut String, path: &mut String) -> Result<(), CanonicalError> {
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
                let len = path.len();
                let _ = write!(path, "[{i}]");
                write_value(item, out, path)?;
                path.truncate(len);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // RFC 8785 §3.2.3: sort by UTF-16 code units, not by UTF-8 bytes
            // (they differ for characters above U+FFFF vs. U+E000..U+FFFF).
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                let len = path.len();
                let _ = write!(path, ".{k}");
                write_value(v, out, path)?;
                path.truncate(len);
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(n: &Number, out: &mut String, path: &str) -> Result<(), CanonicalError> {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(CanonicalError::IntegerOutOfRange(
                n.to_string(),
                path.into(),
            ));
        }
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        // Only values above i64::MAX land here, all far beyond 2^53.
        return Err(CanonicalError::IntegerOutOfRange(
            u.to_string(),
            path.into(),
        ));
    } else {
        return Err(CanonicalError::NotAnInteger(n.to_string(), path.into()));
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

/// Parses JSON text strictly: a repeated member name is an error rather than
/// "last one wins", because two verifiers that resolve duplicates differently
/// would hash different records from the same bytes.
pub fn parse_strict(text: &str) -> Result<Value, CanonicalError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue::deserialize_from(&mut de)
        .map_err(|e| CanonicalError::Syntax(e.to_string()))?;
    de.end()
        .map_err(|e| CanonicalError::Syntax(e.to_string()))?;
    Ok(value)
}

/// Like [`parse_strict`] for an already-deserialising context (a field of a
/// larger document). Use via `#[serde(deserialize_with = "strict_value")]`.
pub fn strict_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    StrictValue::deserialize_from(d)
}

struct StrictValue;

impl StrictValue {
    fn deserialize_from<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

struct Seed;

impl<'de> de::DeserializeSeed<'de> for Seed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
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
        while let Some(item) = seq.next_element_seed(Seed)? {
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
            let value = map.next_value_seed(Seed)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
