-- Signalements: incident and safety reports on a chantier, their replies,
-- and this context's read models of users, chantiers and affectations.
CREATE TABLE signalements (
    id                        UUID PRIMARY KEY,
    -- Another context's chantier: referenced by id only.
    chantier_id               UUID NOT NULL,
    titre                     TEXT NOT NULL CHECK (length(titre) BETWEEN 1 AND 255),
    description               TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
    priorite                  TEXT NOT NULL CHECK (priorite IN ('critique', 'haute', 'moyenne', 'basse')),
    statut                    TEXT NOT NULL CHECK (statut IN ('ouvert', 'en_cours', 'traite', 'cloture')),
    cree_par                  UUID NOT NULL,
    assigne_a                 UUID,
    date_resolution_souhaitee TIMESTAMPTZ,
    date_traitement           TIMESTAMPTZ,
    commentaire_traitement    TEXT CHECK (length(commentaire_traitement) BETWEEN 1 AND 2000),
    date_cloture              TIMESTAMPTZ,
    photo_url                 TEXT CHECK (length(photo_url) <= 500 AND photo_url ~* '^https://'),
    localisation              TEXT CHECK (length(localisation) BETWEEN 1 AND 255),
    -- The deadline clock: the creation or the last reopening.
    debut_delai               TIMESTAMPTZ NOT NULL,
    -- Derived from the row on every write, so lists filter and sort in SQL.
    date_limite               TIMESTAMPTZ NOT NULL,
    -- Highest escalation level published since debut_delai (1 to 3).
    niveau_escalade           SMALLINT CHECK (niveau_escalade BETWEEN 1 AND 3),
    derniere_escalade_at      TIMESTAMPTZ,
    -- When the next level falls due; NULL when resolved or all published.
    prochaine_escalade_at     TIMESTAMPTZ,
    version                   BIGINT NOT NULL CHECK (version >= 1),
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL,
    -- The statut machine's footprints.
    CHECK ((statut IN ('traite', 'cloture')) = (date_traitement IS NOT NULL)),
    CHECK ((date_traitement IS NULL) = (commentaire_traitement IS NULL)),
    CHECK ((statut = 'cloture') = (date_cloture IS NOT NULL)),
    CHECK (statut <> 'en_cours' OR assigne_a IS NOT NULL),
    CHECK (statut IN ('ouvert', 'en_cours') OR prochaine_escalade_at IS NULL),
    CHECK ((niveau_escalade IS NULL) OR (derniere_escalade_at IS NOT NULL))
);

CREATE INDEX signalements_chantier_idx ON signalements (chantier_id, created_at DESC);
CREATE INDEX signalements_actifs_idx ON signalements (date_limite)
    WHERE statut IN ('ouvert', 'en_cours');
CREATE INDEX signalements_escalade_idx ON signalements (prochaine_escalade_at)
    WHERE prochaine_escalade_at IS NOT NULL;

CREATE TABLE reponses_signalements (
    id             UUID PRIMARY KEY,
    -- Deleting a signalement deletes its replies, in the same transaction.
    signalement_id UUID NOT NULL REFERENCES signalements (id) ON DELETE CASCADE,
    contenu        TEXT NOT NULL CHECK (length(contenu) BETWEEN 1 AND 5000),
    auteur_id      UUID NOT NULL,
    photo_url      TEXT CHECK (length(photo_url) <= 500 AND photo_url ~* '^https://'),
    est_resolution BOOLEAN NOT NULL DEFAULT false,
    version        BIGINT NOT NULL CHECK (version >= 1),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX reponses_signalements_idx ON reponses_signalements (signalement_id, created_at);

-- Read models (hub-platform-directory), fed by user.*, chantier.* and affectation.*.
CREATE TABLE signalement_users (
    user_id          UUID PRIMARY KEY,
    email            TEXT,
    nom              TEXT,
    prenom           TEXT,
    role             TEXT,
    type_utilisateur TEXT,
    is_active        BOOLEAN NOT NULL
);

CREATE TABLE signalement_chantiers (
    chantier_id       UUID PRIMARY KEY,
    code              TEXT,
    nom               TEXT,
    statut            TEXT,
    conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted           BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE signalement_affectations (
    affectation_id UUID PRIMARY KEY,
    chantier_id    UUID NOT NULL,
    utilisateur_id UUID NOT NULL,
    active         BOOLEAN NOT NULL,
    last_seq       BIGINT NOT NULL
);

CREATE INDEX signalement_affectations_user_idx
    ON signalement_affectations (utilisateur_id, chantier_id) WHERE active;
