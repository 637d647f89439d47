-- Head v2 (docs/PROTOCOL.md §15): the root of the ticket map as it stands
-- after the batch, committed by the batch's head beside its log root.
-- NULL for a v1 batch (sealed before the switch), whose head commits the
-- log root alone. The map itself is not stored: it follows from the
-- records, and every node rebuilds it when it opens the store
-- (src/seal/map_state.rs), checking each stored root on the way.
ALTER TABLE batches ADD COLUMN map_root BLOB;
