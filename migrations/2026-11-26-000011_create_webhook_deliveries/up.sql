-- Webhook delivery engine: the queue of delivery jobs (one per webhook and
-- event) and the log of every attempt.

-- One job per (webhook, event), created by the fan-out in the relay's
-- transaction (or by POST /webhooks/{id}/test). Workers claim due jobs with
-- FOR UPDATE SKIP LOCKED, lease them, send with no transaction open, then
-- record the outcome.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    webhook_id      UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        UUID NOT NULL,
    event_type      TEXT NOT NULL,
    -- The exact request body, computed once at fan-out: what every attempt
    -- signs and sends.
    payload         TEXT NOT NULL,
    -- pending: waiting for next_attempt_at; in_flight: leased by a worker
    -- until lease_until; succeeded / failed (last attempt failed) / cancelled
    -- (the webhook was deactivated before it could be sent): finished.
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed', 'cancelled')),
    -- Attempts made so far, and how many are allowed (snapshot of the
    -- webhook's retry settings and the deployment's schedule).
    attempt         INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts    INTEGER NOT NULL CHECK (max_attempts >= 1),
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    -- The worker (process) holding the lease, so that it releases only its own.
    leased_by       UUID,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    -- A re-published event never fans out twice.
    CONSTRAINT webhook_deliveries_once UNIQUE (webhook_id, event_id),
    CONSTRAINT webhook_deliveries_lease CHECK (
        (status = 'in_flight') = (lease_until IS NOT NULL)
        AND (lease_until IS NULL) = (leased_by IS NULL)
    ),
    CONSTRAINT webhook_deliveries_finished CHECK (
        (status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)
    )
);

-- The claim: due pending jobs and expired leases, in due order. Finished
-- jobs leave the partial index, so it stays as small as the backlog.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries ((COALESCE(lease_until, next_attempt_at)))
    WHERE status IN ('pending', 'in_flight');
-- Recover: the deliveries of a webhook that did not succeed, by creation time.
CREATE INDEX webhook_deliveries_unsent_idx ON webhook_deliveries (webhook_id, created_at)
    WHERE status IN ('failed', 'cancelled');
-- Retention of finished jobs. BRIN: rows finish roughly in physical order,
-- and a summary per block range costs almost nothing to maintain.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries USING brin (finished_at);

-- Every attempt, successful or not: what GET /webhooks/{id}/deliveries lists.
-- No foreign key: the log outlives finished jobs (each has its own
-- retention), and an append-only table with as few indexes as possible
-- keeps the cost of an attempt low. Deleting a webhook deletes its attempts
-- in the same transaction (the repository does it).
CREATE TABLE webhook_delivery_attempts (
    id            UUID PRIMARY KEY,
    delivery_id   UUID NOT NULL,
    webhook_id    UUID NOT NULL,
    event_id      UUID NOT NULL,
    event_type    TEXT NOT NULL,
    attempt       INTEGER NOT NULL CHECK (attempt >= 1),
    success       BOOLEAN NOT NULL,
    status_code   SMALLINT,
    -- At most 1 KiB of the response body (invalid UTF-8 replaced).
    response_body TEXT CHECK (octet_length(response_body) <= 1024),
    error_kind    TEXT CHECK (error_kind IN ('timeout', 'connect', 'dns', 'ssrf_refused', 'tls', 'http_status', 'redirect')),
    error_message TEXT,
    duration_ms   INTEGER NOT NULL CHECK (duration_ms >= 0),
    attempted_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_delivery_attempts_outcome CHECK (success = (error_kind IS NULL))
);

-- The owner's log, newest first (and deleting a webhook's attempts).
CREATE INDEX webhook_delivery_attempts_webhook_idx ON webhook_delivery_attempts (webhook_id, attempted_at DESC, id DESC);
-- Retention: rows are appended in time order, so a BRIN index suffices.
CREATE INDEX webhook_delivery_attempts_attempted_at_idx ON webhook_delivery_attempts USING brin (attempted_at);
