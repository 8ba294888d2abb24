-- Every claim ends the jobs whose lease expired after their last allowed
-- attempt (status 'in_flight', lease_until past, attempt >= max_attempts).
-- Without an index of its own that search read the whole table, finished
-- jobs included, at every claim: its cost grew with the delivery history
-- (about 5 ms a claim at 10,000 rows). In-flight jobs are at most the
-- workers' slots, so this index stays a few entries long.
CREATE INDEX webhook_deliveries_lease_idx ON webhook_deliveries (lease_until)
    WHERE status = 'in_flight';
