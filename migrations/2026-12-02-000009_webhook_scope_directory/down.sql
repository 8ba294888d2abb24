ALTER TABLE webhook_scope_chantiers
    DROP COLUMN code, DROP COLUMN nom, DROP COLUMN statut, DROP COLUMN chef_chantier_ids,
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
