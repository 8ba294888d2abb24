ALTER TABLE webhook_scope_chantiers DROP COLUMN adresse;
ALTER TABLE planning_charge_chantiers DROP COLUMN adresse;
ALTER TABLE documents_chantiers DROP COLUMN adresse;
ALTER TABLE logistique_chantiers DROP COLUMN adresse;
ALTER TABLE pointages_chantiers DROP COLUMN adresse;
ALTER TABLE signalement_chantiers DROP COLUMN adresse;
ALTER TABLE planning_chantiers DROP COLUMN adresse;
