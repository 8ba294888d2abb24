-- The version of who receives what: the active webhooks (their owner, URL,
-- patterns, retries, ordering) and their owners' role and status. The
-- delivery fan-out keeps them in memory between relay batches and reads
-- this one value instead (sent with its insert: no round trip of its own);
-- when it differs from the version its memory was read at, it reads them
-- again. A random value rather than a counter: a change rolled back after
-- the fan-out read it (in the same transaction) can never come back as the
-- version of another change.
CREATE TABLE webhook_recipients_version (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    version UUID NOT NULL
);
INSERT INTO webhook_recipients_version (version) VALUES (gen_random_uuid());

CREATE FUNCTION webhook_recipients_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE webhook_recipients_version SET version = gen_random_uuid();
    RETURN NULL;
END
$$;

-- Statement triggers fired BEFORE the rows are touched, so that every
-- writer locks the version row before any webhook row: a webhook deleted
-- while the relay (which holds the version row after an owner's change)
-- checks a new job's foreign key cannot deadlock with it. The delivery
-- bookkeeping (failure counter, last attempt) sets none of the listed
-- columns and leaves the version alone; every change a user makes moves
-- `version`. A column the fan-out comes to read must be added here.
CREATE TRIGGER webhooks_recipients_changed
    BEFORE INSERT OR DELETE OR TRUNCATE
        OR UPDATE OF owner_id, url, events, is_active, retry_enabled, max_retries, ordering, version
    ON webhooks FOR EACH STATEMENT EXECUTE FUNCTION webhook_recipients_changed();

CREATE TRIGGER webhook_owners_recipients_changed
    BEFORE INSERT OR DELETE OR TRUNCATE OR UPDATE OF role, is_active
    ON webhook_owners FOR EACH STATEMENT EXECUTE FUNCTION webhook_recipients_changed();
