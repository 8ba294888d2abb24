-- Identity: who may sign in, with which role.
CREATE TABLE users (
    id               UUID PRIMARY KEY,
    -- Stored normalised (trimmed, lower-case): one address, one user.
    email            TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    password_hash    TEXT NOT NULL,
    nom              TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 100),
    prenom           TEXT NOT NULL CHECK (length(prenom) BETWEEN 1 AND 100),
    role             TEXT NOT NULL CHECK (role IN ('admin', 'conducteur', 'chef_chantier', 'compagnon')),
    type_utilisateur TEXT NOT NULL CHECK (type_utilisateur IN ('employe', 'interimaire', 'sous_traitant')),
    is_active        BOOLEAN NOT NULL DEFAULT true,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX users_role_active_idx ON users (role, is_active);
CREATE INDEX users_created_at_idx ON users (created_at, id);
