DROP TABLE chantiers;
