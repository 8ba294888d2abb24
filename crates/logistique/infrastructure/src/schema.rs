//! Diesel definitions of the logistique tables (written by hand from
//! `migrations/2026-12-03-000401_create_logistique`; keep them in sync).
//! `reservations.creneau` is a generated column, read by the database's
//! exclusion constraint only, so it is not listed here.

diesel::table! {
    ressources (id) {
        id -> Uuid,
        code -> Text,
        nom -> Text,
        categorie -> Text,
        photo_url -> Nullable<Text>,
        couleur -> Text,
        heure_debut_defaut -> Time,
        heure_fin_defaut -> Time,
        validation_requise -> Bool,
        actif -> Bool,
        description -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        deleted_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    reservations (id) {
        id -> Uuid,
        ressource_id -> Uuid,
        chantier_id -> Uuid,
        demandeur_id -> Uuid,
        date_reservation -> Date,
        heure_debut -> Time,
        heure_fin -> Time,
        statut -> Text,
        commentaire -> Nullable<Text>,
        motif_refus -> Nullable<Text>,
        valideur_id -> Nullable<Uuid>,
        validated_at -> Nullable<Timestamptz>,
        cancelled_by -> Nullable<Uuid>,
        cancelled_at -> Nullable<Timestamptz>,
        motif_annulation -> Nullable<Text>,
        rappel_envoye_at -> Nullable<Timestamptz>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(reservations -> ressources (ressource_id));
diesel::allow_tables_to_appear_in_same_query!(ressources, reservations);
