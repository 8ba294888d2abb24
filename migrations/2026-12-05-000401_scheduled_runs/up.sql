-- One row per scheduled job and period (e.g. the daily retention at 03:00 of
-- a given day). The instance whose INSERT creates the row runs the job for
-- that period; every other instance hits the primary key and skips it, so a
-- job runs once per period across the cluster whatever the instances' timing
-- (the advisory lock alone only keeps runs from overlapping).
CREATE TABLE scheduled_runs (
    job TEXT NOT NULL CHECK (length(job) BETWEEN 1 AND 100),
    period TIMESTAMPTZ NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job, period)
);
