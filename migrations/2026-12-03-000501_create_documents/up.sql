-- Documents (GED): each chantier's tree of dossiers, the documents uploaded
-- into them (their bytes live in the object store under chemin_stockage) and
-- the named autorisations on either.
CREATE TABLE dossiers (
    id           UUID PRIMARY KEY,
    -- Another context's chantier: referenced by id only.
    chantier_id  UUID NOT NULL,
    nom          TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 255 AND nom = btrim(nom)),
    type_dossier TEXT NOT NULL CHECK (type_dossier IN (
        '01_plans', '02_administratif', '03_securite', '04_qualite', '05_photos',
        '06_comptes_rendus', '07_livraisons', 'custom')),
    niveau_acces TEXT NOT NULL CHECK (niveau_acces IN ('compagnon', 'chef_chantier', 'conducteur', 'admin')),
    -- NULL at the root.
    parent_id    UUID CHECK (parent_id <> id),
    ordre        INTEGER NOT NULL DEFAULT 0,
    version      BIGINT NOT NULL CHECK (version >= 1),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    -- The target of the same-chantier foreign keys below.
    CONSTRAINT dossiers_chantier_id_key UNIQUE (chantier_id, id),
    -- A parent is a dossier of the same chantier (checked at the end of each
    -- statement, so a whole subtree is deleted in one statement).
    CONSTRAINT dossiers_parent_fkey FOREIGN KEY (chantier_id, parent_id)
        REFERENCES dossiers (chantier_id, id),
    -- Names are unique among siblings, roots included (NULL parents are equal).
    CONSTRAINT dossiers_nom_key UNIQUE NULLS NOT DISTINCT (chantier_id, parent_id, nom)
);

CREATE INDEX dossiers_parent_idx ON dossiers (parent_id, ordre, nom);

CREATE TABLE documents (
    id              UUID PRIMARY KEY,
    chantier_id     UUID NOT NULL,
    dossier_id      UUID NOT NULL,
    nom             TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 255),
    nom_original    TEXT NOT NULL CHECK (length(nom_original) BETWEEN 1 AND 255),
    type_document   TEXT NOT NULL CHECK (type_document IN ('pdf', 'image', 'excel', 'word', 'video', 'autre')),
    -- 64-bit: the original's 32-bit column could not hold its own 10 GiB limit.
    taille          BIGINT NOT NULL CHECK (taille BETWEEN 0 AND 10737418240),
    sha256          TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- The object's key: made of ids only, never of the user's file name.
    chemin_stockage TEXT NOT NULL UNIQUE
        CHECK (chemin_stockage = chantier_id::text || '/' || id::text),
    -- Decided by the server from the extension, never the client's.
    mime_type       TEXT NOT NULL CHECK (length(mime_type) BETWEEN 1 AND 100),
    -- NULL: the dossier's level applies.
    niveau_acces    TEXT CHECK (niveau_acces IN ('compagnon', 'chef_chantier', 'conducteur', 'admin')),
    uploaded_by     UUID NOT NULL,
    description     TEXT CHECK (length(description) BETWEEN 1 AND 10000),
    version         BIGINT NOT NULL CHECK (version >= 1),
    uploaded_at     TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    -- A document lives in a dossier of its own chantier.
    CONSTRAINT documents_dossier_fkey FOREIGN KEY (chantier_id, dossier_id)
        REFERENCES dossiers (chantier_id, id),
    CONSTRAINT documents_nom_key UNIQUE (dossier_id, nom)
);

CREATE INDEX documents_chantier_idx ON documents (chantier_id, nom);

CREATE TABLE autorisations_documents (
    id                UUID PRIMARY KEY,
    user_id           UUID NOT NULL,
    type_autorisation TEXT NOT NULL CHECK (type_autorisation IN ('lecture', 'ecriture', 'admin')),
    -- The target's chantier (events are scoped by it).
    chantier_id       UUID NOT NULL,
    -- Exactly one target; it goes with its target.
    dossier_id        UUID REFERENCES dossiers (id) ON DELETE CASCADE,
    document_id       UUID REFERENCES documents (id) ON DELETE CASCADE,
    accorde_par       UUID NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    expire_at         TIMESTAMPTZ CHECK (expire_at > created_at),
    CHECK (num_nonnulls(dossier_id, document_id) = 1),
    -- One autorisation per user and target; a grant replaces an expired one
    -- in the same transaction.
    CONSTRAINT autorisations_documents_dossier_key UNIQUE (user_id, dossier_id),
    CONSTRAINT autorisations_documents_document_key UNIQUE (user_id, document_id)
);

CREATE INDEX autorisations_documents_dossier_idx ON autorisations_documents (dossier_id);
CREATE INDEX autorisations_documents_document_idx ON autorisations_documents (document_id);
