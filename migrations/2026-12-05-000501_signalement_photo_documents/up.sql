-- A signalement's photo can be an uploaded document (of the same chantier,
-- of type image), known to this context from the documents context's events.
ALTER TABLE signalements ADD COLUMN photo_document_id UUID;

-- What the signalements context knows of documents (hub-platform-directory's
-- DocumentsDirectory feeds it from `document.*`).
CREATE TABLE signalement_documents (
    document_id   UUID PRIMARY KEY,
    chantier_id   UUID NOT NULL,
    type_document TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    last_seq      BIGINT NOT NULL
);
