ALTER TABLE planning_charge_users DROP COLUMN metier;
ALTER TABLE documents_users DROP COLUMN metier;
ALTER TABLE logistique_users DROP COLUMN metier;
ALTER TABLE pointages_users DROP COLUMN metier;
ALTER TABLE signalement_users DROP COLUMN metier;
ALTER TABLE planning_users DROP COLUMN metier;
ALTER TABLE users DROP COLUMN metier;
