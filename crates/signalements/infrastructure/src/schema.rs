diesel::table! {
    signalements (id) {
        id -> Uuid,
        chantier_id -> Uuid,
        titre -> Text,
        description -> Text,
        priorite -> Text,
        statut -> Text,
        cree_par -> Uuid,
        assigne_a -> Nullable<Uuid>,
        date_resolution_souhaitee -> Nullable<Timestamptz>,
        date_traitement -> Nullable<Timestamptz>,
        commentaire_traitement -> Nullable<Text>,
        date_cloture -> Nullable<Timestamptz>,
        photo_url -> Nullable<Text>,
        localisation -> Nullable<Text>,
        debut_delai -> Timestamptz,
        date_limite -> Timestamptz,
        niveau_escalade -> Nullable<Int2>,
        derniere_escalade_at -> Nullable<Timestamptz>,
        prochaine_escalade_at -> Nullable<Timestamptz>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        photo_document_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    reponses_signalements (id) {
        id -> Uuid,
        signalement_id -> Uuid,
        contenu -> Text,
        auteur_id -> Uuid,
        photo_url -> Nullable<Text>,
        est_resolution -> Bool,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

// The read models (written by hub-platform-directory's projections); the
// lists read them to scope by chantier.
diesel::table! {
    signalement_chantiers (chantier_id) {
        chantier_id -> Uuid,
        conducteur_ids -> Array<Uuid>,
        chef_chantier_ids -> Array<Uuid>,
        deleted -> Bool,
    }
}

diesel::table! {
    signalement_affectations (affectation_id) {
        affectation_id -> Uuid,
        chantier_id -> Uuid,
        utilisateur_id -> Uuid,
        active -> Bool,
    }
}

diesel::joinable!(reponses_signalements -> signalements (signalement_id));
diesel::allow_tables_to_appear_in_same_query!(
    signalements,
    reponses_signalements,
    signalement_chantiers,
    signalement_affectations
);
