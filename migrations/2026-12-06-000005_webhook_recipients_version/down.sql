DROP TRIGGER webhook_owners_recipients_changed ON webhook_owners;
DROP TRIGGER webhooks_recipients_changed ON webhooks;
DROP FUNCTION webhook_recipients_changed();
DROP TABLE webhook_recipients_version;
