DROP TABLE documents_affectations;
DROP TABLE documents_chantiers;
DROP TABLE documents_users;
