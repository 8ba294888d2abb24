ALTER TABLE webhooks DROP COLUMN filters, DROP COLUMN chantier_ids;
