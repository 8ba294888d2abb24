//! Events of the signalements context (catalog: `docs/EVENTS.md`, section
//! signalements). Every one carries `chantier_id` (webhook scoping) and
//! `priorite` (so integrators can route a `critique` one without a lookup).

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{NiveauEscalade, Priorite, Statut};

fn instant(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

/// `signalement.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::created())]
pub struct SignalementCreated {
    /// The signalement.
    pub signalement_id: Uuid,
    /// The chantier it was reported on.
    pub chantier_id: Uuid,
    /// Its title.
    pub titre: String,
    /// `critique` (4 h), `haute` (24 h), `moyenne` (48 h) or `basse` (72 h).
    pub priorite: Priorite,
    /// `ouvert`, or `en_cours` when it was assigned at once.
    pub statut: Statut,
    /// Who reported it.
    pub created_by: Uuid,
    /// Who it is assigned to, if anyone.
    pub assigne_a: Option<Uuid>,
    /// Its photo, a document of the same chantier, if one was attached
    /// (`GET /api/v1/documents/documents/{id}/download`).
    pub photo_document_id: Option<Uuid>,
    /// When it must be dealt with (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "instant")]
    pub date_limite: OffsetDateTime,
}

/// `signalement.updated`: its state after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::updated())]
pub struct SignalementUpdated {
    /// The signalement.
    pub signalement_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its title.
    pub titre: String,
    /// Its priority after the change.
    pub priorite: Priorite,
    /// Its statut after the change.
    pub statut: Statut,
    /// Who reported it.
    pub created_by: Uuid,
    /// Who it is assigned to, if anyone.
    pub assigne_a: Option<Uuid>,
    /// Its deadline after the change (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "instant")]
    pub date_limite: OffsetDateTime,
    /// What changed, among `titre`, `description`, `priorite`,
    /// `assigne_a`, `statut`, `date_resolution_souhaitee`, `photo_url`,
    /// `localisation`, and for a treatment `commentaire_traitement` and
    /// `date_traitement`.
    pub changes: Changes,
}

/// `signalement.closed`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::closed())]
pub struct SignalementClosed {
    /// The signalement.
    pub signalement_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its title.
    pub titre: String,
    /// Its priority.
    pub priorite: Priorite,
    /// Who closed it.
    pub closed_by: Uuid,
    /// How it was dealt with (the treatment's comment).
    pub resolution: Option<String>,
}

/// `signalement.reopened`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reopened())]
pub struct SignalementReopened {
    /// The signalement.
    pub signalement_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its title.
    pub titre: String,
    /// Its priority.
    pub priorite: Priorite,
    /// Who reopened it.
    pub reopened_by: Uuid,
    /// Why (required).
    pub motif: String,
    /// Its new deadline: the clock restarts at the reopening (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "instant")]
    pub date_limite: OffsetDateTime,
}

/// `signalement.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::deleted())]
pub struct SignalementDeleted {
    /// The signalement (its replies went with it).
    pub signalement_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its title.
    pub titre: String,
    /// Its priority.
    pub priorite: Priorite,
    /// Its statut when it was deleted.
    pub statut: Statut,
    /// Who deleted it.
    pub deleted_by: Uuid,
}

/// `signalement.escalated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::escalated())]
pub struct SignalementEscalated {
    /// The signalement.
    pub signalement_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its title.
    pub titre: String,
    /// Its priority.
    pub priorite: Priorite,
    /// 1 (50 % of the time allowed), 2 (100 %: late) or 3 (200 %).
    pub niveau: u8,
    /// Who to alert at this level: `chef_chantier`, `conducteur` or `admin`
    /// (recipients are cumulative).
    pub notified_role: NiveauEscalade,
    /// Time used, in whole % of the time allowed.
    pub pourcentage_temps: f64,
    /// Its deadline (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "instant")]
    pub date_limite: OffsetDateTime,
    /// The users to alert: the creator and the chefs de chantier, then the
    /// conducteurs, then the administrators, as the level rises.
    pub destinataire_ids: Vec<Uuid>,
}

/// `signalement_reponse.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reponse_created())]
pub struct ReponseCreated {
    /// The reply.
    pub reponse_id: Uuid,
    /// The signalement it answers.
    pub signalement_id: Uuid,
    /// The signalement's chantier.
    pub chantier_id: Uuid,
    /// The signalement's priority.
    pub priorite: Priorite,
    /// Who wrote it.
    pub auteur_id: Uuid,
    /// The author says it resolves the signalement.
    pub est_resolution: bool,
}

/// `signalement_reponse.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reponse_updated())]
pub struct ReponseUpdated {
    /// The reply.
    pub reponse_id: Uuid,
    /// The signalement it answers.
    pub signalement_id: Uuid,
    /// The signalement's chantier.
    pub chantier_id: Uuid,
    /// The signalement's priority.
    pub priorite: Priorite,
    /// What changed: `contenu`, `photo_url`.
    pub changes: Changes,
}

/// `signalement_reponse.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::reponse_deleted())]
pub struct ReponseDeleted {
    /// The reply.
    pub reponse_id: Uuid,
    /// The signalement it answered.
    pub signalement_id: Uuid,
    /// The signalement's chantier.
    pub chantier_id: Uuid,
    /// The signalement's priority.
    pub priorite: Priorite,
    /// Who wrote it.
    pub auteur_id: Uuid,
    /// Who deleted it.
    pub deleted_by: Uuid,
}

/// The examples of the catalog: one critical report on a site, from the
/// compagnon who saw it to the chef who closed it.
mod examples {
    use super::*;
    use time::macros::datetime;

    const SIGNALEMENT: Uuid = Uuid::from_u128(0x0193_b2d4_5e6f_7a81_9b2c_4d6e_8f0a_1b3c);
    const REPONSE: Uuid = Uuid::from_u128(0x0193_b2d4_6a7b_7c92_8d3e_5f7a_9b0c_2d4e);
    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);
    const LUCAS_COMPAGNON: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7e54_bf6a_7b9c_0d1e_2f4a);
    const KARIM_CHEF: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7d43_ae5f_6a8b_9c0d_1e3f);
    const JULIEN_CONDUCTEUR: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7b21_9c3e_5f7a_8b9c_0d2e);
    const TITRE: &str = "Garde-corps manquant au R+3";
    const LIMITE: OffsetDateTime = datetime!(2026-12-03 12:30 UTC);

    pub(super) fn created() -> SignalementCreated {
        SignalementCreated {
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            titre: TITRE.into(),
            priorite: Priorite::Critique,
            statut: Statut::Ouvert,
            created_by: LUCAS_COMPAGNON,
            assigne_a: None,
            photo_document_id: None,
            date_limite: LIMITE,
        }
    }

    pub(super) fn updated() -> SignalementUpdated {
        let mut changes = Changes::new();
        changes.record("assigne_a", &None::<Uuid>, &Some(KARIM_CHEF));
        changes.record("statut", &Statut::Ouvert, &Statut::EnCours);
        SignalementUpdated {
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            titre: TITRE.into(),
            priorite: Priorite::Critique,
            statut: Statut::EnCours,
            created_by: LUCAS_COMPAGNON,
            assigne_a: Some(KARIM_CHEF),
            date_limite: LIMITE,
            changes,
        }
    }

    pub(super) fn closed() -> SignalementClosed {
        SignalementClosed {
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            titre: TITRE.into(),
            priorite: Priorite::Critique,
            closed_by: KARIM_CHEF,
            resolution: Some("Garde-corps posé et contrôlé".into()),
        }
    }

    pub(super) fn reopened() -> SignalementReopened {
        SignalementReopened {
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            titre: TITRE.into(),
            priorite: Priorite::Critique,
            reopened_by: JULIEN_CONDUCTEUR,
            motif: "Fixation non conforme".into(),
            date_limite: datetime!(2026-12-04 13:00 UTC),
        }
    }

    pub(super) fn deleted() -> SignalementDeleted {
        SignalementDeleted {
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            titre: TITRE.into(),
            priorite: Priorite::Critique,
            statut: Statut::Cloture,
            deleted_by: JULIEN_CONDUCTEUR,
        }
    }

    pub(super) fn escalated() -> SignalementEscalated {
        SignalementEscalated {
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            titre: TITRE.into(),
            priorite: Priorite::Critique,
            niveau: 2,
            notified_role: NiveauEscalade::Conducteur,
            pourcentage_temps: 100.0,
            date_limite: LIMITE,
            destinataire_ids: vec![LUCAS_COMPAGNON, KARIM_CHEF, JULIEN_CONDUCTEUR],
        }
    }

    pub(super) fn reponse_created() -> ReponseCreated {
        ReponseCreated {
            reponse_id: REPONSE,
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            priorite: Priorite::Critique,
            auteur_id: KARIM_CHEF,
            est_resolution: false,
        }
    }

    pub(super) fn reponse_updated() -> ReponseUpdated {
        let mut changes = Changes::new();
        changes.record("contenu", &"Zone balisée", &"Zone balisée, pose demain 8h");
        ReponseUpdated {
            reponse_id: REPONSE,
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            priorite: Priorite::Critique,
            changes,
        }
    }

    pub(super) fn reponse_deleted() -> ReponseDeleted {
        ReponseDeleted {
            reponse_id: REPONSE,
            signalement_id: SIGNALEMENT,
            chantier_id: CHANTIER,
            priorite: Priorite::Critique,
            auteur_id: KARIM_CHEF,
            deleted_by: JULIEN_CONDUCTEUR,
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
    SignalementCreated,
    "signalement.created",
    "signalement",
    signalement_id
);
event!(
    SignalementUpdated,
    "signalement.updated",
    "signalement",
    signalement_id
);
event!(
    SignalementClosed,
    "signalement.closed",
    "signalement",
    signalement_id
);
event!(
    SignalementReopened,
    "signalement.reopened",
    "signalement",
    signalement_id
);
event!(
    SignalementDeleted,
    "signalement.deleted",
    "signalement",
    signalement_id
);
event!(
    SignalementEscalated,
    "signalement.escalated",
    "signalement",
    signalement_id
);
event!(
    ReponseCreated,
    "signalement_reponse.created",
    "reponse",
    reponse_id
);
event!(
    ReponseUpdated,
    "signalement_reponse.updated",
    "reponse",
    reponse_id
);
event!(
    ReponseDeleted,
    "signalement_reponse.deleted",
    "reponse",
    reponse_id
);

/// The signalements events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<SignalementCreated>(
            "signalement.created",
            "signalement",
            "An incident or safety problem was reported on a site.",
        ),
        EventTypeInfo::of::<SignalementUpdated>(
            "signalement.updated",
            "signalement",
            "A signalement changed: edited, assigned (ouvert → en_cours) or treated (→ traite); `changes` lists what changed.",
        ),
        EventTypeInfo::of::<SignalementClosed>(
            "signalement.closed",
            "signalement",
            "A treated signalement was closed.",
        ),
        EventTypeInfo::of::<SignalementReopened>(
            "signalement.reopened",
            "signalement",
            "A signalement was reopened; its deadline clock restarted.",
        ),
        EventTypeInfo::of::<SignalementDeleted>(
            "signalement.deleted",
            "signalement",
            "A signalement and its replies were deleted.",
        ),
        EventTypeInfo::of::<SignalementEscalated>(
            "signalement.escalated",
            "signalement",
            "A signalement still unresolved reached 50, 100 or 200 % of its allowed time; published once per level.",
        ),
        EventTypeInfo::of::<ReponseCreated>(
            "signalement_reponse.created",
            "reponse",
            "Someone replied to a signalement.",
        ),
        EventTypeInfo::of::<ReponseUpdated>(
            "signalement_reponse.updated",
            "reponse",
            "A reply was edited.",
        ),
        EventTypeInfo::of::<ReponseDeleted>(
            "signalement_reponse.deleted",
            "reponse",
            "A reply was deleted.",
        ),
    ]
}
