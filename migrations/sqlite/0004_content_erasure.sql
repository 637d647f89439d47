-- Erasure of content (GDPR Art. 17) is an authenticated admin call: keep which
-- API key erased it, beside when (content.erased_at). Salt and body become NULL;
-- records, leaves, paths and heads are untouched, so every proof still verifies.
ALTER TABLE content ADD COLUMN erased_by TEXT;
