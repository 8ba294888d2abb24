-- Chantiers context: who is assigned to which chantier, from the planning
-- context's affectation.* events (never from its tables). It decides which
-- chantiers a chef de chantier or a compagnon may see. A deleted or
-- cancelled affectation stays as a tombstone (active = false) so that an
-- older event seen again cannot bring it back; last_seq (the event_logs.seq
-- of the last event applied to the row) keeps the newest state even across
-- bulk events that name many affectations.
CREATE TABLE chantier_affectations (
    affectation_id UUID PRIMARY KEY,
    chantier_id    UUID NOT NULL,
    utilisateur_id UUID NOT NULL,
    active         BOOLEAN NOT NULL,
    last_seq       BIGINT NOT NULL
);

CREATE INDEX chantier_affectations_user_idx ON chantier_affectations (utilisateur_id, chantier_id)
    WHERE active;
