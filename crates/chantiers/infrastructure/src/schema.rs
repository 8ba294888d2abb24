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
