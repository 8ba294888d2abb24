-- The event history's "where did this event go?" (GET /events/{id}/deliveries):
-- the deliveries of one event, whatever the webhook. The unique
-- (webhook_id, event_id) index cannot serve it (the webhook comes first).
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
