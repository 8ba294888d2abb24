-- Optimistic locking of users, as for chantiers: every change of a user
-- raises `version`, and a write is refused unless the row is still at the
-- version it was read at (`WHERE id = $1 AND version = $2`), so of two
-- concurrent edits the second is a 409 instead of silently undoing the
-- first. `token_version` stays apart: signing out never conflicts with an
-- edit. Existing users start at 1.
ALTER TABLE users
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1);
