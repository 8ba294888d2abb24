DROP TABLE signalement_documents;
ALTER TABLE signalements DROP COLUMN photo_document_id;
