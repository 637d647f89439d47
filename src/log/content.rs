//! Stored content (message texts and their salts), kept apart from records so
//! it can be disclosed to the complainant or erased (GDPR Art. 17) without
//! touching any record, leaf, path or head.

use super::StoreError;

/// An event's stored content, or what is left of it after erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContent {
    pub index: u64,
    pub seq: u64,
    /// None once erased.
    pub salt: Option<[u8; 32]>,
    /// None once erased.
    pub body: Option<String>,
    /// When it was erased (protocol timestamp form), if it was.
    pub erased_at: Option<String>,
    /// The API key id that erased it.
    pub erased_by: Option<String>,
}

pub(crate) type ContentRow = (
    i64,
    i64,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub(crate) fn from_row(row: ContentRow) -> Result<StoredContent, StoreError> {
    let (idx, seq, salt, body, erased_at, erased_by) = row;
    let salt = match salt {
        None => None,
        Some(bytes) => Some(
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| StoreError::corrupt(format!("salt of event {idx} is not 32 bytes")))?,
        ),
    };
    Ok(StoredContent {
        index: idx as u64,
        seq: seq as u64,
        salt,
        body,
        erased_at,
        erased_by,
    })
}

pub(crate) mod sql {
    pub const CONTENT_BY_TICKET_SEQ: &str = "SELECT c.idx, e.seq, c.salt, c.body, c.erased_at, c.erased_by \
         FROM content c JOIN events e ON e.idx = c.idx WHERE e.ticket = $1 AND e.seq = $2";
    /// Only the first erasure counts: a second one keeps the original time.
    pub const ERASE: &str = "UPDATE content SET salt = NULL, body = NULL, erased_at = $1, erased_by = $2 \
         WHERE idx = $3 AND erased_at IS NULL";
}
