-- Planning context: affectations (one user planned on one chantier on one
-- day), and the read models of users and chantiers it checks commands
-- against (fed by user.* and chantier.* events, never by their tables).
CREATE TABLE affectations (
    id                 UUID PRIMARY KEY,
    utilisateur_id     UUID NOT NULL,
    chantier_id        UUID NOT NULL,
    date               DATE NOT NULL,
    heure_debut        TIME,
    heure_fin          TIME,
    note               TEXT CHECK (note IS NULL OR char_length(note) BETWEEN 1 AND 500),
    type_affectation   TEXT NOT NULL CHECK (type_affectation IN ('unique', 'recurrente')),
    jours_recurrence   SMALLINT[],
    statut             TEXT NOT NULL DEFAULT 'planifiee' CHECK (statut IN ('planifiee', 'annulee')),
    annulation_raison  TEXT,
    annulee_par        UUID,
    annulee_le         TIMESTAMPTZ,
    created_by         UUID,
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    -- Times are minutes (no seconds); the end, when both are set, after the start.
    CONSTRAINT affectations_heures_check CHECK (
        (heure_debut IS NULL OR date_trunc('minute', heure_debut::interval) = heure_debut::interval)
        AND (heure_fin IS NULL OR date_trunc('minute', heure_fin::interval) = heure_fin::interval)
        AND (heure_debut IS NULL OR heure_fin IS NULL OR heure_fin > heure_debut)
    ),
    -- Days of a recurrence only on recurrent rows, each 0 (lundi) to 6.
    CONSTRAINT affectations_recurrence_check CHECK (
        (type_affectation = 'unique' AND jours_recurrence IS NULL)
        OR (type_affectation = 'recurrente' AND jours_recurrence IS NOT NULL
            AND cardinality(jours_recurrence) BETWEEN 1 AND 7
            AND jours_recurrence <@ ARRAY[0, 1, 2, 3, 4, 5, 6]::SMALLINT[])
    ),
    -- A cancelled row keeps why; a planned one has no reason.
    CONSTRAINT affectations_annulation_check CHECK (
        (statut = 'planifiee' AND annulation_raison IS NULL AND annulee_le IS NULL)
        OR (statut = 'annulee' AND annulation_raison IS NOT NULL
            AND char_length(annulation_raison) BETWEEN 1 AND 500 AND annulee_le IS NOT NULL)
    ),
    CONSTRAINT affectations_version_check CHECK (version >= 1)
);

-- One planned affectation per user per day, whatever the chantier: the rule
-- holds under concurrency. Cancelled rows stay visible and free the day.
CREATE UNIQUE INDEX affectations_one_per_day ON affectations (utilisateur_id, date)
    WHERE statut = 'planifiee';
CREATE INDEX affectations_chantier_date_idx ON affectations (chantier_id, date);
CREATE INDEX affectations_date_idx ON affectations (date, utilisateur_id);

CREATE TABLE planning_users (
    user_id          UUID PRIMARY KEY,
    email            TEXT,
    nom              TEXT,
    prenom           TEXT,
    role             TEXT,
    type_utilisateur TEXT,
    is_active        BOOLEAN NOT NULL
);

CREATE TABLE planning_chantiers (
    chantier_id       UUID PRIMARY KEY,
    code              TEXT,
    nom               TEXT,
    statut            TEXT,
    conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted           BOOLEAN NOT NULL DEFAULT false
);
