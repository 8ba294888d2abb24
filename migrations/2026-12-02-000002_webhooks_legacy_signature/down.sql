ALTER TABLE webhooks DROP COLUMN legacy_signature;
