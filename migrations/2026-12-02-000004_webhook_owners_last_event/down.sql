ALTER TABLE webhook_owners DROP COLUMN last_event_id;
