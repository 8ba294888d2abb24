-- Ordered delivery per aggregate, opt-in per webhook (issue 20, point 6).
-- For a webhook with ordering = 'aggregate', the claim never hands out a
-- delivery while an earlier one (by outbox order, event_seq) of the same
-- aggregate to the same webhook is pending or in flight. Deliveries carry
-- their event's aggregate and outbox position, written by the fan-out for
-- every webhook (so that switching ordering on applies to what is queued);
-- test events and deliveries queued before this migration have none and are
-- never held back.
ALTER TABLE webhooks
    ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none'
        CONSTRAINT webhooks_ordering_known CHECK (ordering IN ('none', 'aggregate'));

ALTER TABLE webhook_deliveries
    ADD COLUMN aggregate_type TEXT,
    ADD COLUMN aggregate_id TEXT,
    ADD COLUMN event_seq BIGINT,
    ADD CONSTRAINT webhook_deliveries_aggregate_complete CHECK (
        (aggregate_type IS NULL) = (aggregate_id IS NULL)
        AND (aggregate_id IS NULL) = (event_seq IS NULL)
    );

-- The claim's "is an earlier delivery of this aggregate still queued?":
-- one index probe per candidate of an ordered webhook. Partial like the due
-- index: finished deliveries leave it, so it stays as small as the backlog.
CREATE INDEX webhook_deliveries_aggregate_order_idx
    ON webhook_deliveries (webhook_id, aggregate_type, aggregate_id, event_seq)
    WHERE status IN ('pending', 'in_flight') AND event_seq IS NOT NULL;
