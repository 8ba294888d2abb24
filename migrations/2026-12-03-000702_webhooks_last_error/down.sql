ALTER TABLE webhooks DROP COLUMN last_error_at;
ALTER TABLE webhooks DROP COLUMN last_error;
