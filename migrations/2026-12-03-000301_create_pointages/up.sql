-- Pointages context: the hours one user worked on one chantier on one day
-- (minutes, normal and overtime) and their workflow, plus the read models
-- of users and chantiers it checks commands against (fed by user.* and
-- chantier.* events, never by their tables).
CREATE TABLE pointages (
    id                      UUID PRIMARY KEY,
    utilisateur_id          UUID NOT NULL,
    chantier_id             UUID NOT NULL,
    date_pointage           DATE NOT NULL,
    heures_normales_minutes INTEGER NOT NULL DEFAULT 0
        CHECK (heures_normales_minutes BETWEEN 0 AND 59999),
    heures_supplementaires_minutes INTEGER NOT NULL DEFAULT 0
        CHECK (heures_supplementaires_minutes BETWEEN 0 AND 59999),
    statut                  TEXT NOT NULL DEFAULT 'brouillon'
        CHECK (statut IN ('brouillon', 'soumis', 'valide', 'rejete')),
    commentaire             TEXT CHECK (commentaire IS NULL OR char_length(commentaire) BETWEEN 1 AND 2000),
    signature_utilisateur   TEXT,
    signature_date          TIMESTAMPTZ,
    validateur_id           UUID,
    validation_date         TIMESTAMPTZ,
    motif_rejet             TEXT CHECK (motif_rejet IS NULL OR char_length(motif_rejet) BETWEEN 1 AND 500),
    affectation_id          UUID,
    created_by              UUID,
    version                 BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    -- One pointage per user, chantier and day: holds under concurrency.
    CONSTRAINT pointages_one_per_day UNIQUE (utilisateur_id, chantier_id, date_pointage),
    -- A signature comes with its date.
    CONSTRAINT pointages_signature_check CHECK (
        (signature_utilisateur IS NULL) = (signature_date IS NULL)
    ),
    -- Validated and rejected rows say who decided and when; rejected rows
    -- why. (A corrected row keeps the last decision until the next one.)
    CONSTRAINT pointages_validation_check CHECK (
        statut NOT IN ('valide', 'rejete')
        OR (validateur_id IS NOT NULL AND validation_date IS NOT NULL)
    ),
    CONSTRAINT pointages_motif_check CHECK (statut <> 'rejete' OR motif_rejet IS NOT NULL)
);

CREATE INDEX pointages_chantier_date_idx ON pointages (chantier_id, date_pointage);
CREATE INDEX pointages_date_idx ON pointages (date_pointage DESC, utilisateur_id);
-- The planning reaction finds the draft an affectation made.
CREATE INDEX pointages_affectation_idx ON pointages (affectation_id) WHERE affectation_id IS NOT NULL;

CREATE TABLE pointages_users (
    user_id          UUID PRIMARY KEY,
    email            TEXT,
    nom              TEXT,
    prenom           TEXT,
    role             TEXT,
    type_utilisateur TEXT,
    is_active        BOOLEAN NOT NULL
);

CREATE TABLE pointages_chantiers (
    chantier_id       UUID PRIMARY KEY,
    code              TEXT,
    nom               TEXT,
    statut            TEXT,
    conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted           BOOLEAN NOT NULL DEFAULT false
);
