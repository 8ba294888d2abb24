-- The last failed delivery's error, shown to the owner next to
-- disabled_reason: delivery bookkeeping (written by the engine, never by an
-- owner's update, and outside the optimistic-concurrency version).
ALTER TABLE webhooks ADD COLUMN last_error TEXT CHECK (length(last_error) <= 1000);
ALTER TABLE webhooks ADD COLUMN last_error_at TIMESTAMPTZ;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_last_error_complete
    CHECK ((last_error IS NULL) = (last_error_at IS NULL));
