//! Diesel table definitions of the platform's own tables.

diesel::table! {
    event_logs (event_id) {
        seq -> Int8,
        event_id -> Uuid,
        event_type -> Text,
        aggregate_type -> Text,
        aggregate_id -> Text,
        occurred_at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        correlation_id -> Nullable<Text>,
        causation_id -> Nullable<Uuid>,
        schema_version -> Int4,
        data -> Jsonb,
        recorded_at -> Timestamptz,
        dispatched_at -> Nullable<Timestamptz>,
        dispatch_attempts -> Int4,
        last_error -> Nullable<Text>,
        retry_after -> Nullable<Timestamptz>,
    }
}
