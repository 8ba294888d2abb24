-- A lease token per claim. leased_by names the process, which is not enough:
-- a process that reclaims its own expired lease would take a stale outcome
-- of the first claim for its own. Each claim draws a new token, and an
-- outcome is recorded only where the job still holds the token of the claim
-- that produced it.
ALTER TABLE webhook_deliveries ADD COLUMN lease_token UUID;
-- Jobs in flight while migrating keep a lease: give them a token (their
-- outcome will be refused and they are sent again after their lease: at
-- least once, same webhook-id).
UPDATE webhook_deliveries SET lease_token = gen_random_uuid() WHERE status = 'in_flight';
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_lease;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_lease CHECK (
    (status = 'in_flight') = (lease_until IS NOT NULL)
    AND (lease_until IS NULL) = (leased_by IS NULL)
    AND (leased_by IS NULL) = (lease_token IS NULL)
);
