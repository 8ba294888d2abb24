-- The documents context's read models (hub-platform-directory), fed by
-- user.*, chantier.* and affectation.*: who is active with which role, each
-- chantier's statut and responsables, who is planned where (chantier scope).
CREATE TABLE documents_users (
    user_id          UUID PRIMARY KEY,
    email            TEXT,
    nom              TEXT,
    prenom           TEXT,
    role             TEXT,
    type_utilisateur TEXT,
    is_active        BOOLEAN NOT NULL
);

CREATE TABLE documents_chantiers (
    chantier_id       UUID PRIMARY KEY,
    code              TEXT,
    nom               TEXT,
    statut            TEXT,
    conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted           BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE documents_affectations (
    affectation_id UUID PRIMARY KEY,
    chantier_id    UUID NOT NULL,
    utilisateur_id UUID NOT NULL,
    active         BOOLEAN NOT NULL,
    last_seq       BIGINT NOT NULL
);

CREATE INDEX documents_affectations_user_idx
    ON documents_affectations (utilisateur_id, chantier_id) WHERE active;
