-- Every context's copy of the chantiers keeps, in each row, the log position
-- (event_logs.seq) of the last chantier event applied to it, and skips an
-- event at or before it (hub_platform_directory::ChantiersDirectory). The
-- platform's projection_positions kept seven rows per chantier for the same
-- purpose and cost a statement per chantier event: they are moved into the
-- rows and dropped.

ALTER TABLE planning_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE planning_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'planning.chantiers' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'planning.chantiers';

ALTER TABLE signalement_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE signalement_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'signalements.chantiers' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'signalements.chantiers';

ALTER TABLE pointages_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE pointages_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'pointages.chantiers' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'pointages.chantiers';

ALTER TABLE webhook_scope_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE webhook_scope_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'webhooks.chantier-scope' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'webhooks.chantier-scope';

ALTER TABLE logistique_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE logistique_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'logistique.chantiers' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'logistique.chantiers';

ALTER TABLE planning_charge_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE planning_charge_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'planning_charge.chantiers' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'planning_charge.chantiers';

ALTER TABLE documents_chantiers ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE documents_chantiers AS t SET last_seq = p.last_seq FROM projection_positions AS p
WHERE p.projection = 'documents.chantiers' AND p.aggregate_type = 'chantier'
  AND p.aggregate_id = t.chantier_id::text;
DELETE FROM projection_positions WHERE projection = 'documents.chantiers';
