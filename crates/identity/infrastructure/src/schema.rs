diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        nom -> Text,
        prenom -> Text,
        role -> Text,
        type_utilisateur -> Text,
        metier -> Nullable<Text>,
        is_active -> Bool,
        created_at -> Timestamptz,
        token_version -> Int4,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}
