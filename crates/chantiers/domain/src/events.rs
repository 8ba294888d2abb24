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
    pub chantier_id: Uuid,
    pub code: String,
    pub nom: String,
    pub adresse: String,
    pub statut: Statut,
    pub conducteur_ids: Vec<Uuid>,
    pub chef_chantier_ids: Vec<Uuid>,
}

/// `chantier.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChantierCreated {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
}

/// `chantier.updated`: the snapshot after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChantierUpdated {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
    pub changes: Changes,
}

/// `chantier.deleted`: the snapshot the site had.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChantierDeleted {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
}

/// `chantier.statut_changed`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChantierStatutChanged {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
    pub ancien_statut: Statut,
    pub nouveau_statut: Statut,
}

/// Responsables that joined or left a site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ResponsablesDelta {
    pub conducteur_ids: Vec<Uuid>,
    pub chef_chantier_ids: Vec<Uuid>,
}

/// `chantier.responsable_assigned`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ResponsableAssigned {
    #[serde(flatten)]
    pub chantier: ChantierSnapshot,
    pub added: ResponsablesDelta,
    pub removed: ResponsablesDelta,
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
