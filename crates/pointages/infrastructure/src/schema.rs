diesel::table! {
    pointages (id) {
        id -> Uuid,
        utilisateur_id -> Uuid,
        chantier_id -> Uuid,
        date_pointage -> Date,
        heures_normales_minutes -> Int4,
        heures_supplementaires_minutes -> Int4,
        statut -> Text,
        commentaire -> Nullable<Text>,
        signature_utilisateur -> Nullable<Text>,
        signature_date -> Nullable<Timestamptz>,
        validateur_id -> Nullable<Uuid>,
        validation_date -> Nullable<Timestamptz>,
        motif_rejet -> Nullable<Text>,
        affectation_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pointages_affectation_events (event_id) {
        event_id -> Uuid,
        handled_at -> Timestamptz,
    }
}

diesel::table! {
    variables_paie (id) {
        id -> Uuid,
        pointage_id -> Uuid,
        type_variable -> Text,
        valeur_centiemes -> Int8,
        date_application -> Date,
        commentaire -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(variables_paie -> pointages (pointage_id));
diesel::allow_tables_to_appear_in_same_query!(pointages, variables_paie);
