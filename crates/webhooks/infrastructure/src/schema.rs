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
        last_event_id -> Uuid,
        updated_at -> Timestamptz,
    }
}
