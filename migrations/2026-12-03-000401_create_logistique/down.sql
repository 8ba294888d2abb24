DROP TABLE logistique_chantiers;
DROP TABLE logistique_users;
DROP TABLE reservations;
DROP TABLE ressources;
-- btree_gist stays: another schema object may use it by then.
