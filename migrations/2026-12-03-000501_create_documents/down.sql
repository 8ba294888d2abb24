DROP TABLE autorisations_documents;
DROP TABLE documents;
DROP TABLE dossiers;
