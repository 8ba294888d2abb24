diesel::table! {
    webhooks (id) {
        id -> Uuid,
        owner_id -> Uuid,
        url -> Text,
        events -> Array<Text>,
        description -> Nullable<Text>,
        is_active -> Bool,
        consecutive_failures -> Integer,
        last_triggered_at -> Nullable<Timestamptz>,
        retry_enabled -> Bool,
        max_retries -> SmallInt,
        disabled_reason -> Nullable<Text>,
        legacy_signature -> Bool,
        secret_ciphertext -> Bytea,
        secret_nonce -> Bytea,
        secret_key_id -> Text,
        previous_secret_ciphertext -> Nullable<Bytea>,
        previous_secret_nonce -> Nullable<Bytea>,
        previous_secret_key_id -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        version -> BigInt,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamptz>,
        chantier_ids -> Nullable<Array<Uuid>>,
        filters -> Jsonb,
        ordering -> Text,
    }
}

diesel::table! {
    webhook_owners (user_id) {
        user_id -> Uuid,
        role -> Nullable<Text>,
        is_active -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_scope_chantiers (chantier_id) {
        chantier_id -> Uuid,
        conducteur_ids -> Array<Uuid>,
        deleted -> Bool,
        code -> Nullable<Text>,
        nom -> Nullable<Text>,
        statut -> Nullable<Text>,
        chef_chantier_ids -> Array<Uuid>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempt -> Integer,
        max_attempts -> Integer,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        leased_by -> Nullable<Uuid>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        lease_token -> Nullable<Uuid>,
        aggregate_type -> Nullable<Text>,
        aggregate_id -> Nullable<Text>,
        event_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_delivery_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        attempt -> Integer,
        success -> Bool,
        status_code -> Nullable<SmallInt>,
        response_body -> Nullable<Text>,
        error_kind -> Nullable<Text>,
        error_message -> Nullable<Text>,
        duration_ms -> Integer,
        attempted_at -> Timestamptz,
    }
}

diesel::joinable!(webhook_delivery_attempts -> webhook_deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_delivery_attempts);
diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, webhook_delivery_attempts);
