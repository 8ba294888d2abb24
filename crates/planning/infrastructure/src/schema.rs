diesel::table! {
    affectations (id) {
        id -> Uuid,
        utilisateur_id -> Uuid,
        chantier_id -> Uuid,
        date -> Date,
        heure_debut -> Nullable<Time>,
        heure_fin -> Nullable<Time>,
        note -> Nullable<Text>,
        type_affectation -> Text,
        jours_recurrence -> Nullable<Array<Int2>>,
        statut -> Text,
        annulation_raison -> Nullable<Text>,
        annulee_par -> Nullable<Uuid>,
        annulee_le -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
