-- Key management (issue 14 §6): revocation already has revoked_at; rotation
-- records which key replaced a revoked one, so an operator can follow a
-- key's history. Listing and revocation look keys up by id.
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
