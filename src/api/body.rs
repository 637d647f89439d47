//! A request body read into its typed value.
//!
//! The rules are those of the strict tree (`canonical::parse_strict_input`):
//! a repeated member name is refused, a whole number is an integer, an
//! unknown member is refused, and the body is an object. A body is read in
//! one pass, straight into its typed value, with no tree: the typed structs
//! refuse repeated and unknown members themselves, and their free-JSON
//! members (`data`, `options`) are read by `canonical::input_value`, which
//! applies the tree's rules. The tree is built only where it is needed:
//! - for the idempotency hash, which is the tree's canonical bytes (kept as
//!   they were, so that a key stored before still matches its retry);
//! - for a body the one pass declines, so that every refusal reads as it
//!   always has (the tree's parse is the one that names the reason).
//!
//! The one pass is an optimisation only: wherever it gives a value, the tree
//! gives the same one (`tests/request_bodies.rs`, a property test).

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::protocol::canonical::{json_kind, parse_strict_input};

/// A type a request body is read into. Implement it only for a type whose
/// one-pass read keeps the tree's rules: every struct refuses unknown
/// members (`deny_unknown_fields`), and every member holding free JSON (a
/// `Value`, a map) is read by `canonical::input_value` or
/// `input_value_opt`, since serde's own `Value` and maps keep the last of
/// a repeated member where the tree refuses the body. Each implementation
/// sits beside its type and says how the type keeps the rule; add the
/// type's cases to `tests/request_bodies.rs`.
pub trait RequestBody: DeserializeOwned {}

/// A body's typed value and, when it was built, its strict tree.
pub struct Read<T> {
    pub typed: T,
    pub tree: Option<Value>,
}

/// Reads `text` as a `T`. `tree` asks for the strict tree as well (a request
/// with an Idempotency-Key hashes it).
pub fn read<T: RequestBody>(text: &str, tree: bool) -> Result<Read<T>, ApiError> {
    if !tree && let Some(typed) = one_pass(text) {
        return Ok(Read { typed, tree: None });
    }
    read_tree(text)
}

/// The typed value read straight from the text, or `None` for anything the
/// tree must judge: a body that is not an object (serde would read a struct
/// from an array of its members), or any error.
fn one_pass<T: DeserializeOwned>(text: &str) -> Option<T> {
    let first = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if !first.starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The strict tree, then the typed value from it: the path of every refusal.
fn read_tree<T: DeserializeOwned>(text: &str) -> Result<Read<T>, ApiError> {
    let value = parse_strict_input(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // Every body the API takes is an object; serde would also read a
    // struct from an array of its members in order.
    if !value.is_object() {
        return Err(ApiError::Unprocessable {
            reason: format!("the body must be a JSON object, not {}", json_kind(&value)),
            item: None,
        });
    }
    let typed = T::deserialize(&value).map_err(|e| ApiError::Unprocessable {
        reason: e.to_string(),
        item: None,
    })?;
    Ok(Read {
        typed,
        tree: Some(value),
    })
}
