ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_lease;
ALTER TABLE webhook_deliveries DROP COLUMN lease_token;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_lease CHECK (
    (status = 'in_flight') = (lease_until IS NOT NULL)
    AND (lease_until IS NULL) = (leased_by IS NULL)
);
