// Written by hand (no `diesel print-schema` here): keep in sync with
// migrations/2026-12-03-000601_create_planning_charge; the integration
// tests read every column through it.
diesel::table! {
    besoins_charge (id) {
        id -> Uuid,
        chantier_id -> Uuid,
        semaine -> Int4,
        type_metier -> Text,
        besoin_minutes -> Int4,
        note -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        deleted_at -> Nullable<Timestamptz>,
        deleted_by -> Nullable<Uuid>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
