-- webhook_scope_chantiers kept the id of the last event it applied to order
-- late events; the platform's projection_positions (by log position, which
-- no clock can reorder) does it now for every read model.
ALTER TABLE webhook_scope_chantiers DROP COLUMN last_event_id;
