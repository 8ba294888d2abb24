DROP TABLE chantier_affectations;
