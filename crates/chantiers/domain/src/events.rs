//! Events of the chantiers context (catalog: `docs/EVENTS.md`, section chantiers).
//!
//! Every event carries the site's snapshot — `chantier_id, nom, adresse,
//! statut, conducteur_ids, chef_chantier_ids` — so that other contexts (e.g.
//! webhook access scoping) can build read models from any one of them.

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::Statut;

/// The fields every chantier event carries.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChantierSnapshot {
    /// The site.
    pub chantier_id: Uuid,
    /// The site's unique code, in upper case (e.g. `CH-2026-014`).
    pub code: String,
    /// The site's name.
    pub nom: String,
    /// The site's postal address.
    pub adresse: String,
    /// Where the site is in its life: `ouvert` (works not started),
    /// `en_cours`, `receptionne` (handed over) or `ferme`.
    pub statut: Statut,
    /// The conducteurs de travaux who run the site; their webhooks receive
    /// its events.
    pub conducteur_ids: Vec<Uuid>,
    /// The chefs de chantier of the site.
    pub chef_chantier_ids: Vec<Uuid>,
}

/// `chantier.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::chantier_created())]
pub struct ChantierCreated {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
}

/// `chantier.updated`: the snapshot after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::chantier_updated())]
pub struct ChantierUpdated {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
    /// What changed, among `code`, `nom`, `adresse`, `couleur`,
    /// `coordonnees_gps`, `contact`, `heures_estimees`, `date_debut` and
    /// `date_fin` (dates as `YYYY-MM-DD`; `null` when unset).
    pub changes: Changes,
}

/// `chantier.deleted`: the snapshot the site had.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::chantier_deleted())]
pub struct ChantierDeleted {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
}

/// `chantier.statut_changed`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::chantier_statut_changed())]
pub struct ChantierStatutChanged {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
    /// The statut before the move.
    pub ancien_statut: Statut,
    /// The statut after the move (also `statut`). Moves only go forward
    /// and may skip steps.
    pub nouveau_statut: Statut,
}

/// Responsables that joined or left a site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ResponsablesDelta {
    /// Conducteurs de travaux.
    pub conducteur_ids: Vec<Uuid>,
    /// Chefs de chantier.
    pub chef_chantier_ids: Vec<Uuid>,
}

/// `chantier.responsable_assigned`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::responsable_assigned())]
pub struct ResponsableAssigned {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
    /// The responsables who joined the site.
    pub added: ResponsablesDelta,
    /// The responsables who left the site.
    pub removed: ResponsablesDelta,
}

/// The examples of the catalog (`docs/EVENTS.md`, `GET /api/v1/event-types`):
/// the life of one site, run by one conducteur.
mod examples {
    use super::*;

    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);
    const JULIEN_CONDUCTEUR: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7b21_9c3e_5f7a_8b9c_0d2e);
    const KARIM_CHEF: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7d43_ae5f_6a8b_9c0d_1e3f);
    const ADRESSE: &str = "12 rue des Tilleuls, 69003 Lyon";

    fn snapshot(statut: Statut, chefs: Vec<Uuid>) -> ChantierSnapshot {
        ChantierSnapshot {
            chantier_id: CHANTIER,
            code: "CH-2026-014".into(),
            nom: "Résidence Les Tilleuls".into(),
            adresse: ADRESSE.into(),
            statut,
            conducteur_ids: vec![JULIEN_CONDUCTEUR],
            chef_chantier_ids: chefs,
        }
    }

    pub(super) fn chantier_created() -> ChantierCreated {
        ChantierCreated {
            chantier: snapshot(Statut::Ouvert, Vec::new()),
        }
    }

    pub(super) fn chantier_updated() -> ChantierUpdated {
        let mut chantier = snapshot(Statut::EnCours, vec![KARIM_CHEF]);
        let new_adresse = "12-14 rue des Tilleuls, 69003 Lyon";
        let mut changes = Changes::new();
        changes.record("adresse", &ADRESSE, &new_adresse);
        changes.record("date_fin", &Some("2027-06-30"), &Some("2027-09-30"));
        chantier.adresse = new_adresse.into();
        ChantierUpdated { chantier, changes }
    }

    pub(super) fn chantier_deleted() -> ChantierDeleted {
        ChantierDeleted {
            chantier: snapshot(Statut::Ferme, vec![KARIM_CHEF]),
        }
    }

    pub(super) fn chantier_statut_changed() -> ChantierStatutChanged {
        ChantierStatutChanged {
            chantier: snapshot(Statut::EnCours, vec![KARIM_CHEF]),
            ancien_statut: Statut::Ouvert,
            nouveau_statut: Statut::EnCours,
        }
    }

    pub(super) fn responsable_assigned() -> ResponsableAssigned {
        ResponsableAssigned {
            chantier: snapshot(Statut::Ouvert, vec![KARIM_CHEF]),
            added: ResponsablesDelta {
                conducteur_ids: Vec::new(),
                chef_chantier_ids: vec![KARIM_CHEF],
            },
            removed: ResponsablesDelta::default(),
        }
    }
}

macro_rules! chantier_event {
    ($event:ty, $name:literal) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                "chantier"
            }
            fn aggregate_id(&self) -> String {
                self.chantier.chantier_id.to_string()
            }
        }
    };
}

chantier_event!(ChantierCreated, "chantier.created");
chantier_event!(ChantierUpdated, "chantier.updated");
chantier_event!(ChantierDeleted, "chantier.deleted");
chantier_event!(ChantierStatutChanged, "chantier.statut_changed");
chantier_event!(ResponsableAssigned, "chantier.responsable_assigned");

/// The chantiers events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<ChantierCreated>(
            "chantier.created",
            "chantier",
            "A construction site was created.",
        ),
        EventTypeInfo::of::<ChantierUpdated>(
            "chantier.updated",
            "chantier",
            "Details of a site changed (name, address, dates, colour, contact…); `changes` lists them.",
        ),
        EventTypeInfo::of::<ChantierDeleted>("chantier.deleted", "chantier", "A site was deleted."),
        EventTypeInfo::of::<ChantierStatutChanged>(
            "chantier.statut_changed",
            "chantier",
            "A site moved forward in its life: ouvert, en_cours, receptionne, ferme.",
        ),
        EventTypeInfo::of::<ResponsableAssigned>(
            "chantier.responsable_assigned",
            "chantier",
            "The conducteurs or chefs de chantier of a site changed.",
        ),
    ]
}
