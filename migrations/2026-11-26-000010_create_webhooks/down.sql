DROP TABLE webhook_scope_chantiers;
DROP TABLE webhook_owners;
DROP TABLE webhooks;
