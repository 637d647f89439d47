-- Issue 28. Zendesk sends ticket changes from an event-subscribed webhook
-- and satisfaction ratings from a trigger's webhook; each has its own
-- signing secret, so an integration may have a second one (for Zammad, the
-- next secret while rotating). And what a delivery held that maps to nothing is kept,
-- by reason, so it is never silent (src/integrations/mod.rs, Unmapped).

ALTER TABLE integrations ADD COLUMN second_secret TEXT;  -- a second signing secret (Zendesk: the rating trigger webhook's)
ALTER TABLE integration_deliveries ADD COLUMN unmapped TEXT NOT NULL DEFAULT '[]';  -- JSON array of {reason, detail}
