-- Webhooks: subscriptions of users to events, delivered to a URL and signed
-- with a secret kept encrypted (AEAD) under WEBHOOK_SECRETS_KEY.
CREATE TABLE webhooks (
    id                         UUID PRIMARY KEY,
    owner_id                   UUID NOT NULL,
    -- Normalised by the outbound policy; never copied into events or logs.
    url                        TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events                     TEXT[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    description                TEXT CHECK (description IS NULL OR length(description) BETWEEN 1 AND 500),
    is_active                  BOOLEAN NOT NULL DEFAULT true,
    consecutive_failures       INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    last_triggered_at          TIMESTAMPTZ,
    retry_enabled              BOOLEAN NOT NULL DEFAULT true,
    max_retries                SMALLINT NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 10),
    -- Why the webhook was deactivated automatically (shown to its owner).
    disabled_reason            TEXT,
    -- The signing secret: AEAD ciphertext (with tag), its 96-bit nonce, and
    -- the id of the key that sealed it (first 16 hex chars of its SHA-256).
    secret_ciphertext          BYTEA NOT NULL,
    secret_nonce               BYTEA NOT NULL CHECK (length(secret_nonce) = 12),
    secret_key_id              TEXT NOT NULL,
    -- The secret before the last rotation, still signing until it expires.
    previous_secret_ciphertext BYTEA,
    previous_secret_nonce      BYTEA CHECK (length(previous_secret_nonce) = 12),
    previous_secret_key_id     TEXT,
    previous_secret_expires_at TIMESTAMPTZ,
    -- Optimistic concurrency: every write bumps it.
    version                    BIGINT NOT NULL DEFAULT 0,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhooks_previous_secret_complete CHECK (
        (previous_secret_ciphertext IS NULL) = (previous_secret_nonce IS NULL)
        AND (previous_secret_nonce IS NULL) = (previous_secret_key_id IS NULL)
        AND (previous_secret_key_id IS NULL) = (previous_secret_expires_at IS NULL)
    )
);

-- The owner's list (and quota count), in creation order.
CREATE INDEX webhooks_owner_idx ON webhooks (owner_id, created_at, id);
-- Fan-out reads the active ones only.
CREATE INDEX webhooks_active_idx ON webhooks (created_at, id) WHERE is_active;

-- Access scoping read models, built from other contexts' events by durable
-- subscribers of the outbox relay (never by reading their tables).

-- Webhook owners: role and active flag, from user.* events (and seeded with
-- the creator's role when a webhook is created). role is NULL when only a
-- deactivation of the user has been seen.
CREATE TABLE webhook_owners (
    user_id    UUID PRIMARY KEY,
    role       TEXT CHECK (role IN ('admin', 'conducteur', 'chef_chantier', 'compagnon')),
    is_active  BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Chantiers and their current conducteurs, from chantier.* events. A deleted
-- chantier stays as a tombstone (no conducteur) so that an older event
-- replayed late cannot bring it back; last_event_id (UUIDv7, time-ordered)
-- keeps the newest state when relays deliver out of order.
CREATE TABLE webhook_scope_chantiers (
    chantier_id    UUID PRIMARY KEY,
    conducteur_ids UUID[] NOT NULL DEFAULT '{}',
    deleted        BOOLEAN NOT NULL DEFAULT false,
    last_event_id  UUID NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX webhook_scope_chantiers_conducteurs_idx ON webhook_scope_chantiers USING GIN (conducteur_ids);
