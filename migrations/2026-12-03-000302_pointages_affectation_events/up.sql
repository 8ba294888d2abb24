-- The planning events (affectation.*) the pointages context already reacted
-- to: a replayed event pre-fills or removes nothing twice, even when the
-- drafts it made were since deleted.
CREATE TABLE pointages_affectation_events (
    event_id   UUID PRIMARY KEY,
    handled_at TIMESTAMPTZ NOT NULL
);
