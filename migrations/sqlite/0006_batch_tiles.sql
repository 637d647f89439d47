-- A sealed batch's tree, stored as tiles (src/log/tiles.rs): one row of up
-- to 30 hashes per 16 nodes of a level, about one row per 15 events. It
-- replaces event_paths, one 512-byte audit-path row per event, whose
-- writing made sealing hold the writer for seconds at 65,536-event
-- batches. Batches sealed before this migration have their tiles derived
-- from their leaves when the store opens, and their event_paths rows
-- removed then (sql_store.rs, backfill_tiles); the table stays, empty.
CREATE TABLE batch_tiles (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    stratum  INTEGER NOT NULL,
    tile     INTEGER NOT NULL,
    hashes   BLOB NOT NULL,
    PRIMARY KEY (batch_id, stratum, tile)
);

-- An event's batch is the last batch starting at or before it.
CREATE INDEX batches_first_index ON batches (first_index);
