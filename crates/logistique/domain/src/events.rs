//! Events of the logistique context (catalog: `docs/EVENTS.md`, section
//! logistique). Every `reservation.*` event carries `chantier_id` (webhook
//! scoping) and `demandeur_id` (so a subscriber can notify the requester
//! without a lookup).

use std::fmt;

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::Date;
use uuid::Uuid;

use crate::{CategorieRessource, CodeRessource, Heure, StatutReservation};

/// A calendar day, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Jour(pub Date);

impl fmt::Display for Jour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl Serialize for Jour {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Jour {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Jour".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date" })
    }
}

/// `ressource.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::ressource_created())]
pub struct RessourceCreated {
    /// The ressource.
    pub ressource_id: Uuid,
    /// Its code (`A-Z`, `0-9`, `-`), unique among non-deleted ressources.
    pub code: CodeRessource,
    /// Its name.
    pub nom: String,
    /// `engin_levage`, `engin_terrassement`, `vehicule`, `gros_outillage` or `equipement`.
    pub categorie: CategorieRessource,
    /// Whether its bookings wait for a valideur.
    pub validation_requise: bool,
}

/// `ressource.updated`: the ressource after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::ressource_updated())]
pub struct RessourceUpdated {
    /// The ressource.
    pub ressource_id: Uuid,
    /// Its code after the change.
    pub code: CodeRessource,
    /// Its name after the change.
    pub nom: String,
    /// Its category after the change.
    pub categorie: CategorieRessource,
    /// Whether its bookings wait for a valideur, after the change.
    pub validation_requise: bool,
    /// What changed, among `code`, `nom`, `categorie`, `photo_url`,
    /// `couleur`, `heure_debut_defaut`, `heure_fin_defaut`,
    /// `validation_requise`, `actif`, `description`.
    pub changes: Changes,
}

/// `ressource.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::ressource_deleted())]
pub struct RessourceDeleted {
    /// The ressource (soft-deleted: its bookings are kept).
    pub ressource_id: Uuid,
    /// Its code, free again for a new ressource.
    pub code: CodeRessource,
    /// Its name.
    pub nom: String,
    /// Who deleted it.
    pub deleted_by: Uuid,
}

/// `reservation.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reservation_created())]
pub struct ReservationCreated {
    /// The booking.
    pub reservation_id: Uuid,
    /// The ressource booked.
    pub ressource_id: Uuid,
    /// The chantier it is booked for.
    pub chantier_id: Uuid,
    /// The day.
    pub date_reservation: Jour,
    /// Start of the slot, `HH:MM`.
    pub heure_debut: Heure,
    /// End of the slot, `HH:MM` (after `heure_debut`; the slot is `[debut, fin)`).
    pub heure_fin: Heure,
    /// Who asked for it.
    pub demandeur_id: Uuid,
    /// `en_attente`, or `validee` when the ressource needs no validation
    /// (auto-approval: no `reservation.validated` follows).
    pub statut: StatutReservation,
}

/// `reservation.updated`: the booking after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reservation_updated())]
pub struct ReservationUpdated {
    /// The booking.
    pub reservation_id: Uuid,
    /// The ressource booked.
    pub ressource_id: Uuid,
    /// The chantier it is booked for.
    pub chantier_id: Uuid,
    /// The day, after the change.
    pub date_reservation: Jour,
    /// Start of the slot after the change, `HH:MM`.
    pub heure_debut: Heure,
    /// End of the slot after the change, `HH:MM`.
    pub heure_fin: Heure,
    /// Who asked for it (the only one who may change it).
    pub demandeur_id: Uuid,
    /// Always `en_attente`: only pending bookings change.
    pub statut: StatutReservation,
    /// What changed, among `date_reservation`, `heure_debut`, `heure_fin`,
    /// `commentaire`.
    pub changes: Changes,
}

/// `reservation.validated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reservation_validated())]
pub struct ReservationValidated {
    /// The booking.
    pub reservation_id: Uuid,
    /// The ressource booked.
    pub ressource_id: Uuid,
    /// The chantier it is booked for.
    pub chantier_id: Uuid,
    /// Who asked for it (to be told).
    pub demandeur_id: Uuid,
    /// Who approved it.
    pub valideur_id: Uuid,
}

/// `reservation.refused`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reservation_refused())]
pub struct ReservationRefused {
    /// The booking.
    pub reservation_id: Uuid,
    /// The ressource asked for.
    pub ressource_id: Uuid,
    /// The chantier it was asked for.
    pub chantier_id: Uuid,
    /// Who asked for it (to be told).
    pub demandeur_id: Uuid,
    /// Who refused it.
    pub valideur_id: Uuid,
    /// Why (always given).
    pub motif: String,
}

/// `reservation.cancelled`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reservation_cancelled())]
pub struct ReservationCancelled {
    /// The booking.
    pub reservation_id: Uuid,
    /// The ressource it held.
    pub ressource_id: Uuid,
    /// The chantier it was for.
    pub chantier_id: Uuid,
    /// Who asked for it.
    pub demandeur_id: Uuid,
    /// Who cancelled it; `null` when the system did (its chantier was
    /// closed or deleted), then `motif` says why.
    pub cancelled_by: Option<Uuid>,
    /// Why, for a cancellation by the system.
    pub motif: Option<String>,
}

/// `reservation.reminder_due`: a validated booking is tomorrow; published
/// once per booking, the day before (integrators send the message).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reservation_reminder_due())]
pub struct ReservationReminderDue {
    /// The booking.
    pub reservation_id: Uuid,
    /// The ressource booked.
    pub ressource_id: Uuid,
    /// The chantier it is booked for.
    pub chantier_id: Uuid,
    /// Who to remind.
    pub demandeur_id: Uuid,
    /// The day (tomorrow when published).
    pub date_reservation: Jour,
    /// Start of the slot, `HH:MM`.
    pub heure_debut: Heure,
    /// End of the slot, `HH:MM`.
    pub heure_fin: Heure,
    /// The ressource's code, for the message.
    pub ressource_code: String,
    /// The ressource's name, for the message.
    pub ressource_nom: String,
}

/// The examples of the catalog: a crane booked for a site, from the
/// chef who asked to the conducteur who decided.
mod examples {
    use super::*;
    use time::macros::{date, time};

    const RESSOURCE: Uuid = Uuid::from_u128(0x0193_c3e5_1a2b_7c3d_8e4f_5a6b_7c8d_9e0f);
    const RESERVATION: Uuid = Uuid::from_u128(0x0193_c3e5_2b3c_7d4e_9f5a_6b7c_8d9e_0f1a);
    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);
    const ADMIN: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7a10_8b2d_4e6f_7a8b_9c1d);
    const KARIM_CHEF: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7d43_ae5f_6a8b_9c0d_1e3f);
    const JULIEN_CONDUCTEUR: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7b21_9c3e_5f7a_8b9c_0d2e);

    fn code() -> CodeRessource {
        CodeRessource::parse("GRUE-01").unwrap_or_else(|_| unreachable!("a valid code"))
    }

    fn heure(h: time::Time) -> Heure {
        Heure::from_time(h)
    }

    pub(super) fn ressource_created() -> RessourceCreated {
        RessourceCreated {
            ressource_id: RESSOURCE,
            code: code(),
            nom: "Grue mobile 50 t".into(),
            categorie: CategorieRessource::EnginLevage,
            validation_requise: true,
        }
    }

    pub(super) fn ressource_updated() -> RessourceUpdated {
        let mut changes = Changes::new();
        changes.record("actif", &true, &false);
        RessourceUpdated {
            ressource_id: RESSOURCE,
            code: code(),
            nom: "Grue mobile 50 t".into(),
            categorie: CategorieRessource::EnginLevage,
            validation_requise: true,
            changes,
        }
    }

    pub(super) fn ressource_deleted() -> RessourceDeleted {
        RessourceDeleted {
            ressource_id: RESSOURCE,
            code: code(),
            nom: "Grue mobile 50 t".into(),
            deleted_by: ADMIN,
        }
    }

    pub(super) fn reservation_created() -> ReservationCreated {
        ReservationCreated {
            reservation_id: RESERVATION,
            ressource_id: RESSOURCE,
            chantier_id: CHANTIER,
            date_reservation: Jour(date!(2026 - 12 - 07)),
            heure_debut: heure(time!(08:00)),
            heure_fin: heure(time!(12:00)),
            demandeur_id: KARIM_CHEF,
            statut: StatutReservation::EnAttente,
        }
    }

    pub(super) fn reservation_updated() -> ReservationUpdated {
        let mut changes = Changes::new();
        changes.record("heure_fin", &heure(time!(12:00)), &heure(time!(14:00)));
        ReservationUpdated {
            reservation_id: RESERVATION,
            ressource_id: RESSOURCE,
            chantier_id: CHANTIER,
            date_reservation: Jour(date!(2026 - 12 - 07)),
            heure_debut: heure(time!(08:00)),
            heure_fin: heure(time!(14:00)),
            demandeur_id: KARIM_CHEF,
            statut: StatutReservation::EnAttente,
            changes,
        }
    }

    pub(super) fn reservation_validated() -> ReservationValidated {
        ReservationValidated {
            reservation_id: RESERVATION,
            ressource_id: RESSOURCE,
            chantier_id: CHANTIER,
            demandeur_id: KARIM_CHEF,
            valideur_id: JULIEN_CONDUCTEUR,
        }
    }

    pub(super) fn reservation_refused() -> ReservationRefused {
        ReservationRefused {
            reservation_id: RESERVATION,
            ressource_id: RESSOURCE,
            chantier_id: CHANTIER,
            demandeur_id: KARIM_CHEF,
            valideur_id: JULIEN_CONDUCTEUR,
            motif: "Grue en révision ce jour-là".into(),
        }
    }

    pub(super) fn reservation_cancelled() -> ReservationCancelled {
        ReservationCancelled {
            reservation_id: RESERVATION,
            ressource_id: RESSOURCE,
            chantier_id: CHANTIER,
            demandeur_id: KARIM_CHEF,
            cancelled_by: Some(KARIM_CHEF),
            motif: None,
        }
    }

    pub(super) fn reservation_reminder_due() -> ReservationReminderDue {
        ReservationReminderDue {
            reservation_id: RESERVATION,
            ressource_id: RESSOURCE,
            chantier_id: CHANTIER,
            demandeur_id: KARIM_CHEF,
            date_reservation: Jour(date!(2026 - 12 - 07)),
            heure_debut: heure(time!(08:00)),
            heure_fin: heure(time!(12:00)),
            ressource_code: "GRUE-01".into(),
            ressource_nom: "Grue mobile 50 t".into(),
        }
    }
}

macro_rules! event {
    ($event:ty, $name:literal, $aggregate:literal, $id:ident) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                $aggregate
            }
            fn aggregate_id(&self) -> String {
                self.$id.to_string()
            }
        }
    };
}

event!(
    RessourceCreated,
    "ressource.created",
    "ressource",
    ressource_id
);
event!(
    RessourceUpdated,
    "ressource.updated",
    "ressource",
    ressource_id
);
event!(
    RessourceDeleted,
    "ressource.deleted",
    "ressource",
    ressource_id
);
event!(
    ReservationCreated,
    "reservation.created",
    "reservation",
    reservation_id
);
event!(
    ReservationUpdated,
    "reservation.updated",
    "reservation",
    reservation_id
);
event!(
    ReservationValidated,
    "reservation.validated",
    "reservation",
    reservation_id
);
event!(
    ReservationRefused,
    "reservation.refused",
    "reservation",
    reservation_id
);
event!(
    ReservationCancelled,
    "reservation.cancelled",
    "reservation",
    reservation_id
);
event!(
    ReservationReminderDue,
    "reservation.reminder_due",
    "reservation",
    reservation_id
);

/// The logistique events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<RessourceCreated>(
            "ressource.created",
            "ressource",
            "A ressource (equipment) was added to the catalogue.",
        ),
        EventTypeInfo::of::<RessourceUpdated>(
            "ressource.updated",
            "ressource",
            "A ressource changed; `changes` lists what changed. Existing bookings are untouched.",
        ),
        EventTypeInfo::of::<RessourceDeleted>(
            "ressource.deleted",
            "ressource",
            "A ressource was removed from the catalogue; it can no longer be booked.",
        ),
        EventTypeInfo::of::<ReservationCreated>(
            "reservation.created",
            "reservation",
            "A ressource was booked for a chantier: en_attente, or validee when it needs no validation.",
        ),
        EventTypeInfo::of::<ReservationUpdated>(
            "reservation.updated",
            "reservation",
            "Its demandeur moved or annotated a pending booking; `changes` lists what changed.",
        ),
        EventTypeInfo::of::<ReservationValidated>(
            "reservation.validated",
            "reservation",
            "A valideur of the chantier approved a pending booking.",
        ),
        EventTypeInfo::of::<ReservationRefused>(
            "reservation.refused",
            "reservation",
            "A valideur of the chantier refused a pending booking, with a motif; the slot is free again.",
        ),
        EventTypeInfo::of::<ReservationCancelled>(
            "reservation.cancelled",
            "reservation",
            "A booking was cancelled by its demandeur, a valideur, or the system when its chantier closed.",
        ),
        EventTypeInfo::of::<ReservationReminderDue>(
            "reservation.reminder_due",
            "reservation",
            "A validated booking is tomorrow: published once, the day before.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_lists_each_event_once_with_an_example() {
        let catalog = event_catalog();
        let mut names: Vec<_> = catalog.iter().map(|t| t.event_type).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 9);
        for info in &catalog {
            let example = &info.data_schema["examples"][0];
            assert!(example.is_object(), "{} has an example", info.event_type);
            if info.event_type.starts_with("reservation.") {
                assert!(example["chantier_id"].is_string(), "{}", info.event_type);
            }
        }
    }

    #[test]
    fn dates_and_times_are_plain_strings() {
        let json = serde_json::to_value(examples::reservation_created()).unwrap();
        assert_eq!(json["date_reservation"], "2026-12-07");
        assert_eq!(json["heure_debut"], "08:00");
        assert_eq!(json["statut"], "en_attente");
    }
}
