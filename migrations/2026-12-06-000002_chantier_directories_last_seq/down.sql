-- Back to positions kept by the platform.

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'planning.chantiers', 'chantier', chantier_id::text, last_seq FROM planning_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE planning_chantiers DROP COLUMN last_seq;

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'signalements.chantiers', 'chantier', chantier_id::text, last_seq FROM signalement_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE signalement_chantiers DROP COLUMN last_seq;

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'pointages.chantiers', 'chantier', chantier_id::text, last_seq FROM pointages_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE pointages_chantiers DROP COLUMN last_seq;

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'webhooks.chantier-scope', 'chantier', chantier_id::text, last_seq FROM webhook_scope_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE webhook_scope_chantiers DROP COLUMN last_seq;

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'logistique.chantiers', 'chantier', chantier_id::text, last_seq FROM logistique_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE logistique_chantiers DROP COLUMN last_seq;

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'planning_charge.chantiers', 'chantier', chantier_id::text, last_seq FROM planning_charge_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE planning_charge_chantiers DROP COLUMN last_seq;

INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq)
SELECT 'documents.chantiers', 'chantier', chantier_id::text, last_seq FROM documents_chantiers WHERE last_seq > 0
ON CONFLICT (projection, aggregate_type, aggregate_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
ALTER TABLE documents_chantiers DROP COLUMN last_seq;
