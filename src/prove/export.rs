//! One line of the export (docs/AUDIT.md, `GET /v1/export`):
//! `{"batch":N|null,"path":"hex"|null,"record":{…verbatim…}}`. The log's
//! export and a mirror's export file write the same bytes.

use crate::log::StoredEvent;

/// Appends the export line of `e`, newline included, to `buf`.
pub fn write_line(e: &StoredEvent, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"{\"batch\":");
    match &e.sealed {
        Some((b, path)) => {
            buf.extend_from_slice(b.to_string().as_bytes());
            buf.extend_from_slice(b",\"path\":\"");
            for h in path {
                buf.extend_from_slice(hex::encode(h.0).as_bytes());
            }
            buf.push(b'"');
        }
        None => buf.extend_from_slice(b"null,\"path\":null"),
    }
    buf.extend_from_slice(b",\"record\":");
    buf.extend_from_slice(e.record.as_bytes());
    buf.extend_from_slice(b"}\n");
}
