DROP INDEX webhook_deliveries_aggregate_order_idx;
ALTER TABLE webhook_deliveries
    DROP CONSTRAINT webhook_deliveries_aggregate_complete,
    DROP COLUMN event_seq,
    DROP COLUMN aggregate_id,
    DROP COLUMN aggregate_type;
ALTER TABLE webhooks DROP COLUMN ordering;
