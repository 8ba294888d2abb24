-- Planning de charge: the besoins (hours a chantier needs in one ISO week
-- for one trade), and this context's read models of users (capacity),
-- chantiers (the grid's rows) and affectations (planned hours), fed by
-- user.*, chantier.* and affectation.* events, never by their tables.
CREATE TABLE besoins_charge (
    id             UUID PRIMARY KEY,
    -- Another context's chantier: referenced by id only.
    chantier_id    UUID NOT NULL,
    -- The ISO week as annee * 100 + numero (202605 = 2026-W05): ordered,
    -- so a range of weeks is a BETWEEN. Week 53 only in years that have it
    -- (28 December always falls in the year's last ISO week).
    semaine        INTEGER NOT NULL CHECK (
        semaine / 100 BETWEEN 2020 AND 2100
        AND semaine % 100 >= 1
        AND semaine % 100 <= date_part('week', make_date(semaine / 100, 12, 28))
    ),
    type_metier    TEXT NOT NULL CHECK (type_metier IN ('employe', 'sous_traitant',
        'charpentier', 'couvreur', 'electricien', 'macon', 'coffreur', 'ferrailleur', 'grutier')),
    -- Hours needed, in whole minutes (the API speaks decimal hours).
    besoin_minutes INTEGER NOT NULL CHECK (besoin_minutes BETWEEN 0 AND 60000000),
    note           TEXT CHECK (note IS NULL OR char_length(note) BETWEEN 1 AND 2000),
    created_by     UUID,
    deleted_at     TIMESTAMPTZ,
    deleted_by     UUID,
    version        BIGINT NOT NULL CHECK (version >= 1),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);

-- One live besoin per (chantier, week, trade), under concurrency too; a
-- deleted one frees its cell (the original's index also covered deleted
-- rows, so re-creating failed with a 500).
CREATE UNIQUE INDEX besoins_charge_cellule ON besoins_charge (chantier_id, semaine, type_metier)
    WHERE deleted_at IS NULL;
CREATE INDEX besoins_charge_semaine_idx ON besoins_charge (semaine, chantier_id)
    WHERE deleted_at IS NULL;

-- Read models (hub-platform-directory), fed by user.* and chantier.*.
CREATE TABLE planning_charge_users (
    user_id          UUID PRIMARY KEY,
    email            TEXT,
    nom              TEXT,
    prenom           TEXT,
    role             TEXT,
    type_utilisateur TEXT,
    is_active        BOOLEAN NOT NULL
);

CREATE TABLE planning_charge_chantiers (
    chantier_id       UUID PRIMARY KEY,
    code              TEXT,
    nom               TEXT,
    statut            TEXT,
    conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted           BOOLEAN NOT NULL DEFAULT false
);

-- Affectations as planned hours, fed by affectation.* (this context's own
-- reading of the payload): each row keeps the log position of the last
-- event applied to it, so an older event never overwrites a newer one.
CREATE TABLE planning_charge_affectations (
    affectation_id UUID PRIMARY KEY,
    chantier_id    UUID NOT NULL,
    utilisateur_id UUID NOT NULL,
    date           DATE NOT NULL,
    minutes        INTEGER NOT NULL CHECK (minutes BETWEEN 0 AND 1440),
    active         BOOLEAN NOT NULL,
    last_seq       BIGINT NOT NULL
);

CREATE INDEX planning_charge_affectations_date_idx
    ON planning_charge_affectations (date, chantier_id) WHERE active;
