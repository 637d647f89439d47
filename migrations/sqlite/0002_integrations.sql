-- Help-desk integrations (Zendesk, Zammad) and the ledger of every webhook
-- delivery. Nothing here is part of any record or proof.

CREATE TABLE integrations (
    name          TEXT PRIMARY KEY,
    vendor        TEXT NOT NULL,
    secret        TEXT NOT NULL,       -- the shared HMAC secret (needed in clear to check signatures)
    pseudonym_key BLOB NOT NULL,       -- key of the keyed hash that turns vendor user ids into refs
    options       TEXT NOT NULL,       -- JSON MappingOptions
    created_at    TEXT NOT NULL
);

-- What the adapter remembers of each vendor ticket between deliveries.
CREATE TABLE integration_tickets (
    integration   TEXT NOT NULL REFERENCES integrations(name),
    vendor_ticket TEXT NOT NULL,
    handle        TEXT NOT NULL REFERENCES tickets(handle),
    mirror        TEXT NOT NULL,       -- JSON Mirror
    PRIMARY KEY (integration, vendor_ticket)
);

CREATE TABLE integration_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    integration   TEXT NOT NULL REFERENCES integrations(name),
    received_at   TEXT NOT NULL,
    delivery_id   TEXT,                -- the vendor's delivery id
    signature     TEXT NOT NULL,       -- valid, invalid, missing, stale
    body_sha256   BLOB NOT NULL,
    outcome       TEXT NOT NULL,       -- recorded, duplicate, rejected, unmapped, failed
    reason        TEXT,
    vendor_ticket TEXT,
    ticket        TEXT,
    first_index   INTEGER,
    count         INTEGER,
    notes         TEXT NOT NULL        -- JSON array of skipped or translated changes
);
CREATE INDEX integration_deliveries_by_id ON integration_deliveries (integration, delivery_id);
CREATE INDEX integration_deliveries_by_outcome ON integration_deliveries (integration, outcome, id);
