-- Proofdesk ledger, PostgreSQL. Hashes are 32-byte BYTEAs; records are stored as
-- the exact canonical bytes that were hashed (UTF-8 TEXT).

-- One row: the log's size (next index to assign) and how far it is sealed.
CREATE TABLE log_state (
    id     SMALLINT PRIMARY KEY CHECK (id = 1),
    size   BIGINT NOT NULL,
    sealed BIGINT NOT NULL CHECK (sealed <= size)
);
INSERT INTO log_state (id, size, sealed) VALUES (1, 0, 0);

CREATE TABLE tickets (
    handle      TEXT PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,  -- the platform's own id: private
    created_at  TEXT NOT NULL,
    next_seq    BIGINT NOT NULL,
    last_leaf   BYTEA NOT NULL,
    state       TEXT                   -- JSON TicketState; NULL before the first event
);

CREATE TABLE events (
    idx            BIGINT PRIMARY KEY,
    ticket         TEXT NOT NULL REFERENCES tickets(handle),
    seq            BIGINT NOT NULL,
    record         TEXT NOT NULL,
    leaf           BYTEA NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    UNIQUE (ticket, seq)
);

-- Kept apart from records so it can be erased without touching any proof.
CREATE TABLE content (
    idx       BIGINT PRIMARY KEY REFERENCES events(idx),
    salt      BYTEA,
    body      TEXT,
    erased_at TEXT
);

CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY,
    request_hash BYTEA NOT NULL,
    result       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE batches (
    id                       BIGINT PRIMARY KEY,
    first_index              BIGINT NOT NULL UNIQUE,
    count                    BIGINT NOT NULL CHECK (count > 0),
    root                     BYTEA NOT NULL,
    head                     BYTEA NOT NULL,
    sealed_at_ms             BIGINT NOT NULL,
    status                   TEXT NOT NULL,
    tx_hash                  BYTEA,
    nonce                    BIGINT,
    max_fee_per_gas          TEXT,
    max_priority_fee_per_gas TEXT,
    submitted_at_ms          BIGINT,
    attempts                 BIGINT NOT NULL DEFAULT 0,
    block_number             BIGINT,
    block_hash               BYTEA,
    block_time               BIGINT,
    included_at_ms           BIGINT,
    final_at_ms              BIGINT,
    last_error               TEXT
);

-- Audit path of every sealed event, written in the sealing transaction so a
-- proof is one row read, never a tree rebuild.
CREATE TABLE event_paths (
    idx      BIGINT PRIMARY KEY REFERENCES events(idx),
    batch_id BIGINT NOT NULL REFERENCES batches(id),
    path     BYTEA NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    key_hash   BYTEA NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
