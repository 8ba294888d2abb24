-- The chantier's postal address in every context's chantiers read model (the
-- platform directory's shape): `chantier.*` events carry it, and the
-- pointages' feuille de route shows it. Every copy gets the column so that
-- the one projection code feeds them all.
ALTER TABLE planning_chantiers ADD COLUMN adresse TEXT;
ALTER TABLE signalement_chantiers ADD COLUMN adresse TEXT;
ALTER TABLE pointages_chantiers ADD COLUMN adresse TEXT;
ALTER TABLE logistique_chantiers ADD COLUMN adresse TEXT;
ALTER TABLE documents_chantiers ADD COLUMN adresse TEXT;
ALTER TABLE planning_charge_chantiers ADD COLUMN adresse TEXT;
ALTER TABLE webhook_scope_chantiers ADD COLUMN adresse TEXT;

-- Rows projected before this migration would wait for their chantier's next
-- event to learn its address: fill them once from the chantiers table (one
-- database today), as the events that made them carried it.
UPDATE planning_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
UPDATE signalement_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
UPDATE pointages_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
UPDATE logistique_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
UPDATE documents_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
UPDATE planning_charge_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
UPDATE webhook_scope_chantiers r SET adresse = c.adresse FROM chantiers c WHERE c.id = r.chantier_id;
