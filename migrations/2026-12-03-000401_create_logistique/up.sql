-- Logistique context: the catalogue of ressources, their réservations, and
-- the read models of users and chantiers it checks commands against (fed by
-- user.* and chantier.* events, never by their tables).

-- The overlap rule needs `=` on a uuid inside a GiST index.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE ressources (
    id                 UUID PRIMARY KEY,
    code               TEXT NOT NULL CHECK (code ~ '^[A-Z0-9-]{1,20}$'),
    nom                TEXT NOT NULL CHECK (char_length(nom) BETWEEN 1 AND 200),
    categorie          TEXT NOT NULL CHECK (categorie IN
        ('engin_levage', 'engin_terrassement', 'vehicule', 'gros_outillage', 'equipement')),
    photo_url          TEXT CHECK (photo_url IS NULL OR char_length(photo_url) BETWEEN 1 AND 500),
    couleur            TEXT NOT NULL CHECK (couleur ~ '^#[0-9A-Fa-f]{6}$'),
    heure_debut_defaut TIME NOT NULL,
    heure_fin_defaut   TIME NOT NULL,
    validation_requise BOOLEAN NOT NULL,
    actif              BOOLEAN NOT NULL,
    description        TEXT CHECK (description IS NULL OR char_length(description) BETWEEN 1 AND 2000),
    created_by         UUID NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    deleted_at         TIMESTAMPTZ,
    deleted_by         UUID,
    CONSTRAINT ressources_plage_defaut_check CHECK (heure_fin_defaut > heure_debut_defaut),
    -- A deletion always records who did it (the original forgot).
    CONSTRAINT ressources_deletion_check CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);

-- Codes are unique among the ressources still in the catalogue: a deleted
-- ressource's code can be given again (the original's index covered them).
CREATE UNIQUE INDEX ressources_code_key ON ressources (code) WHERE deleted_at IS NULL;
CREATE INDEX ressources_nom_idx ON ressources (nom) WHERE deleted_at IS NULL;

CREATE TABLE reservations (
    id               UUID PRIMARY KEY,
    ressource_id     UUID NOT NULL REFERENCES ressources (id),
    chantier_id      UUID NOT NULL,
    demandeur_id     UUID NOT NULL,
    date_reservation DATE NOT NULL,
    heure_debut      TIME NOT NULL,
    heure_fin        TIME NOT NULL,
    statut           TEXT NOT NULL CHECK (statut IN ('en_attente', 'validee', 'refusee', 'annulee')),
    commentaire      TEXT CHECK (commentaire IS NULL OR char_length(commentaire) BETWEEN 1 AND 1000),
    motif_refus      TEXT CHECK (motif_refus IS NULL OR char_length(motif_refus) BETWEEN 1 AND 1000),
    valideur_id      UUID,
    validated_at     TIMESTAMPTZ,
    cancelled_by     UUID,
    cancelled_at     TIMESTAMPTZ,
    motif_annulation TEXT,
    -- Set by the J-1 reminder job in the transaction that publishes
    -- reservation.reminder_due: what keeps it once per booking.
    rappel_envoye_at TIMESTAMPTZ,
    version          BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    -- Date and times are the site's wall clock (no zone): a tsrange, since
    -- a generated tstzrange would need a zone conversion (not immutable).
    creneau          TSRANGE GENERATED ALWAYS AS
        (tsrange(date_reservation + heure_debut, date_reservation + heure_fin, '[)')) STORED,
    -- Minute precision, and the end after the start.
    CONSTRAINT reservations_heures_check CHECK (
        date_trunc('minute', heure_debut::interval) = heure_debut::interval
        AND date_trunc('minute', heure_fin::interval) = heure_fin::interval
        AND heure_fin > heure_debut
    ),
    -- A refused booking says why; no other does.
    CONSTRAINT reservations_refus_check CHECK ((statut = 'refusee') = (motif_refus IS NOT NULL)),
    -- A cancelled booking says when; no other does.
    CONSTRAINT reservations_annulation_check CHECK ((statut = 'annulee') = (cancelled_at IS NOT NULL)),
    -- LOG-17 under concurrency: two active bookings of one ressource never
    -- overlap (half-open slots: touching ones are fine). Refused and
    -- cancelled rows free their slot.
    CONSTRAINT reservations_sans_chevauchement
        EXCLUDE USING gist (ressource_id WITH =, creneau WITH &&)
        WHERE (statut IN ('en_attente', 'validee'))
);

CREATE INDEX reservations_ressource_date_idx ON reservations (ressource_id, date_reservation);
CREATE INDEX reservations_chantier_date_idx ON reservations (chantier_id, date_reservation);
CREATE INDEX reservations_en_attente_idx ON reservations (date_reservation, heure_debut)
    WHERE statut = 'en_attente';
-- The reminder job's search: validated, not reminded yet, by date.
CREATE INDEX reservations_rappel_idx ON reservations (date_reservation)
    WHERE statut = 'validee' AND rappel_envoye_at IS NULL;

CREATE TABLE logistique_users (
    user_id          UUID PRIMARY KEY,
    email            TEXT,
    nom              TEXT,
    prenom           TEXT,
    role             TEXT,
    type_utilisateur TEXT,
    is_active        BOOLEAN NOT NULL
);

CREATE TABLE logistique_chantiers (
    chantier_id       UUID PRIMARY KEY,
    code              TEXT,
    nom               TEXT,
    statut            TEXT,
    conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
    chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted           BOOLEAN NOT NULL DEFAULT false
);
