-- Proofdesk ledger, SQLite. Hashes are 32-byte BLOBs; records are stored as
-- the exact canonical bytes that were hashed (UTF-8 TEXT).

-- One row: the log's size (next index to assign) and how far it is sealed.
CREATE TABLE log_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    size   INTEGER NOT NULL,
    sealed INTEGER NOT NULL CHECK (sealed <= size)
);
INSERT INTO log_state (id, size, sealed) VALUES (1, 0, 0);

CREATE TABLE tickets (
    handle      TEXT PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,  -- the platform's own id: private
    created_at  TEXT NOT NULL,
    next_seq    INTEGER NOT NULL,
    last_leaf   BLOB NOT NULL,
    state       TEXT                   -- JSON TicketState; NULL before the first event
);

CREATE TABLE events (
    idx            INTEGER PRIMARY KEY,
    ticket         TEXT NOT NULL REFERENCES tickets(handle),
    seq            INTEGER NOT NULL,
    record         TEXT NOT NULL,
    leaf           BLOB NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    UNIQUE (ticket, seq)
);

-- Kept apart from records so it can be erased without touching any proof.
CREATE TABLE content (
    idx       INTEGER PRIMARY KEY REFERENCES events(idx),
    salt      BLOB,
    body      TEXT,
    erased_at TEXT
);

CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY,
    request_hash BLOB NOT NULL,
    result       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE batches (
    id                       INTEGER PRIMARY KEY,
    first_index              INTEGER NOT NULL UNIQUE,
    count                    INTEGER NOT NULL CHECK (count > 0),
    root                     BLOB NOT NULL,
    head                     BLOB NOT NULL,
    sealed_at_ms             INTEGER NOT NULL,
    status                   TEXT NOT NULL,
    tx_hash                  BLOB,
    nonce                    INTEGER,
    max_fee_per_gas          TEXT,
    max_priority_fee_per_gas TEXT,
    submitted_at_ms          INTEGER,
    attempts                 INTEGER NOT NULL DEFAULT 0,
    block_number             INTEGER,
    block_hash               BLOB,
    block_time               INTEGER,
    included_at_ms           INTEGER,
    final_at_ms              INTEGER,
    last_error               TEXT
);

-- Audit path of every sealed event, written in the sealing transaction so a
-- proof is one row read, never a tree rebuild.
CREATE TABLE event_paths (
    idx      INTEGER PRIMARY KEY REFERENCES events(idx),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    path     BLOB NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    key_hash   BLOB NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
