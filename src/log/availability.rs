//! Which store errors mean "the database is unavailable right now" (the
//! connection dropped, the pool is exhausted, the disk is full) rather than
//! a bug. The API answers those with 503 and a reason the client can act
//! on — retry with the same Idempotency-Key — instead of a bare 500.

use super::StoreError;

impl StoreError {
    /// This error again, for each of several callers that one failed
    /// operation (`what`) was answering: a `StoreError` holds sqlx's, which
    /// cannot be cloned. The same 503 when the database is unavailable,
    /// else the same message.
    pub(crate) fn for_each_caller(&self, what: &str) -> StoreError {
        match self.unavailable_reason() {
            Some(reason) => StoreError::Unavailable(reason),
            None => StoreError::Database(sqlx::Error::Protocol(format!("{what} failed: {self}"))),
        }
    }

    /// A short, client-safe reason if the database is unavailable; None for
    /// every other error. Internal details stay in the logs.
    pub fn unavailable_reason(&self) -> Option<String> {
        match self {
            // Already a client-safe reason (see `for_group`).
            StoreError::Unavailable(reason) => Some(reason.clone()),
            StoreError::Database(e) => sqlx_unavailable(e).map(str::to_owned),
            _ => None,
        }
    }
}

fn sqlx_unavailable(e: &sqlx::Error) -> Option<&'static str> {
    match e {
        sqlx::Error::Io(io) if io.raw_os_error() == Some(28) => Some("the database disk is full"),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some("the database connection failed"),
        sqlx::Error::PoolTimedOut => Some("no database connection is available"),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => Some("the database is unavailable"),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            let backend = if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                "sqlite"
            } else {
                "postgres"
            };
            match (backend, code.as_ref()) {
                // SQLITE_FULL, with or without an extended code.
                ("sqlite", c) if c == "13" || c.parse::<u32>().is_ok_and(|n| n & 0xff == 13) => {
                    Some("the database disk is full")
                }
                // SQLITE_IOERR and its extended codes (a failed write or fsync).
                ("sqlite", c) if c.parse::<u32>().is_ok_and(|n| n & 0xff == 10) => {
                    Some("the database could not write to disk")
                }
                // SQLITE_BUSY, SQLITE_LOCKED: another writer held on too long.
                ("sqlite", "5" | "6") => Some("the database is busy"),
                ("postgres", "53100") => Some("the database disk is full"),
                // Class 08 connection exception, 53 insufficient resources,
                // 57P0x the server is shutting down or starting.
                ("postgres", c) if c.starts_with("08") || c.starts_with("53") => {
                    Some("the database connection failed")
                }
                ("postgres", "57P01" | "57P02" | "57P03") => Some("the database is restarting"),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_unavailable_and_rule_errors_are_not() {
        let io = StoreError::Database(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(
            io.unavailable_reason().as_deref(),
            Some("the database connection failed")
        );
        let full = StoreError::Database(sqlx::Error::Io(std::io::Error::from_raw_os_error(28)));
        assert_eq!(
            full.unavailable_reason().as_deref(),
            Some("the database disk is full")
        );
        assert!(
            StoreError::Database(sqlx::Error::PoolTimedOut)
                .unavailable_reason()
                .is_some()
        );
        assert_eq!(
            StoreError::TicketNotFound("x".into()).unavailable_reason(),
            None
        );
        assert_eq!(StoreError::corrupt("x").unavailable_reason(), None);
        assert_eq!(
            StoreError::Database(sqlx::Error::RowNotFound).unavailable_reason(),
            None
        );
    }
}
