-- Per-aggregate order in the relay: an event waits while an earlier event of
-- its aggregate is undispatched. The relay looks those up for every claimed
-- row; the partial index stays as small as the backlog.
CREATE INDEX event_logs_pending_aggregate_idx ON event_logs (aggregate_type, aggregate_id, seq)
    WHERE dispatched_at IS NULL;
