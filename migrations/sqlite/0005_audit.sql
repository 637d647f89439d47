-- Audit exports by time range (GET /v1/export?since=&until=) look up
-- records by recorded_at.
CREATE INDEX IF NOT EXISTS events_recorded_at ON events (recorded_at_ms);
