-- Chantiers: construction sites and who runs them.
CREATE TABLE chantiers (
    id                  UUID PRIMARY KEY,
    -- Stored upper-case: one code, one site.
    code                TEXT NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{1,29}$'),
    nom                 TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    adresse             TEXT NOT NULL CHECK (length(adresse) BETWEEN 1 AND 500),
    statut              TEXT NOT NULL CHECK (statut IN ('ouvert', 'en_cours', 'receptionne', 'ferme')),
    couleur             TEXT NOT NULL CHECK (couleur ~ '^#[0-9A-F]{6}$'),
    latitude            DOUBLE PRECISION CHECK (latitude BETWEEN -90 AND 90),
    longitude           DOUBLE PRECISION CHECK (longitude BETWEEN -180 AND 180),
    contact             JSONB,
    heures_estimees     DOUBLE PRECISION CHECK (heures_estimees >= 0),
    date_debut          DATE,
    date_fin            DATE,
    conducteur_ids      UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids   UUID[] NOT NULL DEFAULT '{}',
    -- Optimistic locking: every change increments it.
    version             BIGINT NOT NULL CHECK (version >= 1),
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK (date_fin IS NULL OR date_debut IS NULL OR date_fin >= date_debut)
);

CREATE INDEX chantiers_statut_idx ON chantiers (statut, code);
