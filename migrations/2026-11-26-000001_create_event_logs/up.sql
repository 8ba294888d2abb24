-- The transactional outbox and the audit history of every domain event.
-- Repositories insert here in the same transaction as their own change; the
-- relay publishes undispatched rows and stamps dispatched_at.
CREATE TABLE event_logs (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    event_id          UUID PRIMARY KEY,
    event_type        TEXT NOT NULL CHECK (event_type ~ '^[a-z0-9_]+(\.[a-z0-9_]+)+$'),
    aggregate_type    TEXT NOT NULL,
    aggregate_id      TEXT NOT NULL,
    occurred_at       TIMESTAMPTZ NOT NULL,
    actor_id          UUID,
    correlation_id    TEXT,
    causation_id      UUID,
    schema_version    INTEGER NOT NULL CHECK (schema_version >= 1),
    data              JSONB NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    dispatched_at     TIMESTAMPTZ,
    -- A durable subscriber that fails leaves the row undispatched; these say
    -- how often and why, and hold it back until retry_after.
    dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    retry_after       TIMESTAMPTZ
);

-- The relay's claim: oldest undispatched first; stays tiny because
-- dispatched rows leave the partial index.
CREATE INDEX event_logs_pending_idx ON event_logs (seq) WHERE dispatched_at IS NULL;
-- History queries and retention.
CREATE INDEX event_logs_aggregate_idx ON event_logs (aggregate_id, seq);
CREATE INDEX event_logs_occurred_at_idx ON event_logs (occurred_at);
CREATE INDEX event_logs_dispatched_at_idx ON event_logs (dispatched_at) WHERE dispatched_at IS NOT NULL;
