//! The documents tables (migration `2026-12-03-000501_create_documents`),
//! written by hand and checked against the database by the integration tests.

diesel::table! {
    dossiers (id) {
        id -> Uuid,
        chantier_id -> Uuid,
        nom -> Text,
        type_dossier -> Text,
        niveau_acces -> Text,
        parent_id -> Nullable<Uuid>,
        ordre -> Int4,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    documents (id) {
        id -> Uuid,
        chantier_id -> Uuid,
        dossier_id -> Uuid,
        nom -> Text,
        nom_original -> Text,
        type_document -> Text,
        taille -> Int8,
        sha256 -> Text,
        chemin_stockage -> Text,
        mime_type -> Text,
        niveau_acces -> Nullable<Text>,
        uploaded_by -> Uuid,
        description -> Nullable<Text>,
        version -> Int8,
        uploaded_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    autorisations_documents (id) {
        id -> Uuid,
        user_id -> Uuid,
        type_autorisation -> Text,
        chantier_id -> Uuid,
        dossier_id -> Nullable<Uuid>,
        document_id -> Nullable<Uuid>,
        accorde_par -> Uuid,
        created_at -> Timestamptz,
        expire_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(dossiers, documents, autorisations_documents);
