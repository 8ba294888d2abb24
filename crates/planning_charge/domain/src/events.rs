//! Events of the planning de charge context (catalog: `docs/EVENTS.md`,
//! section planning_charge). Every one carries `chantier_id` (webhook
//! scoping); the week is ISO `YYYY-Www`, like `feuille_heures.exported`.
//! Their aggregate type is `besoin` (the catalog names every aggregate's id
//! `<aggregate>_id`, here `besoin_id`), their types `besoin_charge.*`.

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::{Heures, Note, Semaine, TypeMetier};

/// `besoin_charge.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::created())]
pub struct BesoinChargeCreated {
    /// The besoin.
    pub besoin_id: Uuid,
    /// The chantier that needs the hours.
    pub chantier_id: Uuid,
    /// The ISO week, `YYYY-Www` (e.g. `2026-W50`).
    pub semaine: Semaine,
    /// The trade: `employe`, `sous_traitant`, `charpentier`, `couvreur`,
    /// `electricien`, `macon`, `coffreur`, `ferrailleur` or `grutier`.
    pub type_metier: TypeMetier,
    /// Hours needed (decimal, ≥ 0, whole minutes).
    pub besoin_heures: Heures,
    /// A free note, or `null`.
    pub note: Option<Note>,
}

/// `besoin_charge.updated`: the besoin after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::updated())]
pub struct BesoinChargeUpdated {
    /// The besoin.
    pub besoin_id: Uuid,
    /// Its chantier (never changes).
    pub chantier_id: Uuid,
    /// Its ISO week, `YYYY-Www` (never changes).
    pub semaine: Semaine,
    /// Its trade after the change.
    pub type_metier: TypeMetier,
    /// Hours needed after the change.
    pub besoin_heures: Heures,
    /// The note after the change, or `null`.
    pub note: Option<Note>,
    /// What changed, among `besoin_heures`, `type_metier` and `note`.
    pub changes: Changes,
}

/// `besoin_charge.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::deleted())]
pub struct BesoinChargeDeleted {
    /// The besoin (kept, soft-deleted).
    pub besoin_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its ISO week, `YYYY-Www`.
    pub semaine: Semaine,
    /// Its trade.
    pub type_metier: TypeMetier,
}

/// The examples of the catalog: 70 hours of masonry on one site in
/// week 50 of 2026.
mod examples {
    use super::*;

    const BESOIN: Uuid = Uuid::from_u128(0x0193_b1e0_1a2b_7c3d_8e4f_5a6b_7c8d_9e0f);
    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);

    fn semaine() -> Semaine {
        Semaine::parse("2026-W50").unwrap_or_else(|_| unreachable!("a valid example"))
    }

    fn heures(value: f64) -> Heures {
        Heures::from_decimal(value).unwrap_or_else(|_| unreachable!("a valid example"))
    }

    fn note(text: &str) -> Option<Note> {
        Note::parse(Some(text)).unwrap_or_else(|_| unreachable!("a valid example"))
    }

    pub(super) fn created() -> BesoinChargeCreated {
        BesoinChargeCreated {
            besoin_id: BESOIN,
            chantier_id: CHANTIER,
            semaine: semaine(),
            type_metier: TypeMetier::Macon,
            besoin_heures: heures(70.0),
            note: note("Voiles du R+1"),
        }
    }

    pub(super) fn updated() -> BesoinChargeUpdated {
        let mut changes = Changes::new();
        changes.record("besoin_heures", &heures(70.0), &heures(77.5));
        BesoinChargeUpdated {
            besoin_id: BESOIN,
            chantier_id: CHANTIER,
            semaine: semaine(),
            type_metier: TypeMetier::Macon,
            besoin_heures: heures(77.5),
            note: note("Voiles du R+1"),
            changes,
        }
    }

    pub(super) fn deleted() -> BesoinChargeDeleted {
        BesoinChargeDeleted {
            besoin_id: BESOIN,
            chantier_id: CHANTIER,
            semaine: semaine(),
            type_metier: TypeMetier::Macon,
        }
    }
}

macro_rules! besoin_event {
    ($event:ty, $name:literal) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                "besoin"
            }
            fn aggregate_id(&self) -> String {
                self.besoin_id.to_string()
            }
        }
    };
}

besoin_event!(BesoinChargeCreated, "besoin_charge.created");
besoin_event!(BesoinChargeUpdated, "besoin_charge.updated");
besoin_event!(BesoinChargeDeleted, "besoin_charge.deleted");

/// The planning de charge events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<BesoinChargeCreated>(
            "besoin_charge.created",
            "besoin",
            "A workload need was entered: hours needed on a site in an ISO week for a trade.",
        ),
        EventTypeInfo::of::<BesoinChargeUpdated>(
            "besoin_charge.updated",
            "besoin",
            "A workload need was changed (hours, trade, note); `changes` lists what changed.",
        ),
        EventTypeInfo::of::<BesoinChargeDeleted>(
            "besoin_charge.deleted",
            "besoin",
            "A workload need was deleted; its cell (site, week, trade) is free again.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_lists_the_three_types_with_chantier_id() {
        let catalog = event_catalog();
        let types: Vec<&str> = catalog.iter().map(|info| info.event_type).collect();
        assert_eq!(
            types,
            [
                "besoin_charge.created",
                "besoin_charge.updated",
                "besoin_charge.deleted"
            ]
        );
        for info in catalog {
            let required = info.data_schema["required"].as_array().unwrap();
            assert!(required.iter().any(|field| field == "chantier_id"));
            assert!(required.iter().any(|field| field == "semaine"));
        }
    }

    #[test]
    fn events_name_their_besoin() {
        let event = examples::created();
        assert_eq!(event.aggregate_type(), "besoin");
        assert_eq!(event.aggregate_id(), event.besoin_id.to_string());
    }
}
