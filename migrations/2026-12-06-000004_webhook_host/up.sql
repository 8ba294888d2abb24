-- The destination of a webhook's URL, `host[:port]` in lower case with the
-- userinfo dropped: what the per-host cap of the delivery workers counts.
-- The claim read it from the URL with a regular expression twice per
-- candidate job (tens per claim); stored, it is computed once per write of
-- the webhook. hub_webhooks_infrastructure's `destination()` computes the
-- same text in Rust, for the jobs the fan-out leases at insert.
ALTER TABLE webhooks ADD COLUMN host TEXT
    GENERATED ALWAYS AS (
        lower(substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#]+)'))
    ) STORED;
