-- Read models fed by events (hub_platform_postgres::Projection): for each
-- read model and aggregate, the log position (event_logs.seq) of the last
-- event applied. An event at or before it is not applied again, so replays
-- and duplicates cannot bring back an older state.
CREATE TABLE projection_positions (
    projection     TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    last_seq       BIGINT NOT NULL,
    PRIMARY KEY (projection, aggregate_type, aggregate_id)
);
