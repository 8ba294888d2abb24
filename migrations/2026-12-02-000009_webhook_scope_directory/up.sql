-- The webhooks context's chantiers read model becomes the platform's
-- chantiers directory (hub_platform_directory::ChantiersDirectory) on this
-- table: the columns every context's copy has. `updated_at` goes: the
-- directory's batched upsert does not keep it, and the projection's position
-- (projection_positions) says how current the table is.
ALTER TABLE webhook_scope_chantiers
    ADD COLUMN code TEXT,
    ADD COLUMN nom TEXT,
    ADD COLUMN statut TEXT,
    ADD COLUMN chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    DROP COLUMN updated_at;
