-- Access tokens carry the user's token version from when they were issued;
-- raising it (sign-out, deactivation) revokes every token issued before.
-- Only ever raised by `token_version = token_version + 1`, never written
-- from a copy of the row, so concurrent revocations cannot undo each other.
ALTER TABLE users
    ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0 CHECK (token_version >= 0);
