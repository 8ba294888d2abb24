diesel::table! {
    chantiers (id) {
        id -> Uuid,
        code -> Text,
        nom -> Text,
        adresse -> Text,
        statut -> Text,
        couleur -> Text,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        contact -> Nullable<Jsonb>,
        heures_estimees -> Nullable<Float8>,
        date_debut -> Nullable<Date>,
        date_fin -> Nullable<Date>,
        conducteur_ids -> Array<Uuid>,
        chef_chantier_ids -> Array<Uuid>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    chantier_affectations (affectation_id) {
        affectation_id -> Uuid,
        chantier_id -> Uuid,
        utilisateur_id -> Uuid,
        active -> Bool,
        last_seq -> Int8,
    }
}

diesel::allow_tables_to_appear_in_same_query!(chantiers, chantier_affectations);
