-- Variables de paie: what payroll adds to a pointage's hours (night or
-- Sunday hours, meal and transport allowances, bonuses, absences…). Each
-- belongs to one pointage and goes with it (ON DELETE CASCADE). The value is
-- a decimal with two places kept exact as an integer number of hundredths
-- (`valeur_centiemes`: 12.50 → 1250), within the original Numeric(10,2).
CREATE TABLE variables_paie (
    id                UUID PRIMARY KEY,
    pointage_id       UUID NOT NULL REFERENCES pointages (id) ON DELETE CASCADE,
    type_variable     TEXT NOT NULL CHECK (type_variable IN (
        'heures_normales', 'heures_supplementaires', 'heures_nuit', 'heures_dimanche',
        'heures_ferie', 'panier_repas', 'indemnite_transport', 'prime_intemperies',
        'prime_salissure', 'prime_outillage', 'conges_payes', 'rtt', 'maladie',
        'accident_travail', 'absence_injustifiee', 'absence_justifiee', 'formation',
        'deplacement')),
    valeur_centiemes  BIGINT NOT NULL CHECK (valeur_centiemes BETWEEN 0 AND 9999999999),
    date_application  DATE NOT NULL,
    commentaire       TEXT CHECK (commentaire IS NULL OR char_length(commentaire) BETWEEN 1 AND 2000),
    created_by        UUID,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX variables_paie_pointage_idx ON variables_paie (pointage_id, created_at);
