//! Events of the planning context (catalog: `docs/EVENTS.md`, section planning).
//!
//! Every event carries `chantier_id` (webhook scoping) and the user it
//! plans. Single events are about one affectation; the bulk events of a
//! series are published once per chantier and list each affectation with
//! its day and times, so a consumer (pointages) needs no query.

use std::fmt;

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::Date;
use uuid::Uuid;

use crate::{Affectation, Heure, Note, Raison, TypeAffectation};

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

/// The fields of `affectation.created` and `affectation.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AffectationSnapshot {
    /// The affectation.
    pub affectation_id: Uuid,
    /// The user planned.
    pub utilisateur_id: Uuid,
    /// The site the user is planned on.
    pub chantier_id: Uuid,
    /// The day, `YYYY-MM-DD`.
    pub date: Jour,
    /// Start time `HH:MM`, or `null`.
    pub heure_debut: Option<Heure>,
    /// End time `HH:MM` (after `heure_debut`), or `null`.
    pub heure_fin: Option<Heure>,
    /// A note for the user (at most 500 characters), or `null`.
    pub note: Option<Note>,
    /// `unique` (one day or a day range) or `recurrente` (weekly recurrence).
    pub type_affectation: TypeAffectation,
}

/// `affectation.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::created())]
pub struct AffectationCreated {
    #[serde(flatten)]
    pub affectation: AffectationSnapshot,
}

/// `affectation.updated`: the affectation after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::updated())]
pub struct AffectationUpdated {
    #[serde(flatten)]
    pub affectation: AffectationSnapshot,
    /// What changed, among `date`, `utilisateur_id`, `chantier_id`,
    /// `heure_debut`, `heure_fin` and `note`. A move to another chantier is
    /// published with the new `chantier_id`.
    pub changes: Changes,
    /// The site it left when this change moved it to another one, else
    /// `null`. Webhooks are scoped by `chantier_id` (the new site): the old
    /// site's conducteurs learn of the move from their planning reads, and
    /// administrators' webhooks from this field.
    pub previous_chantier_id: Option<Uuid>,
}

/// `affectation.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::deleted())]
pub struct AffectationDeleted {
    /// The affectation.
    pub affectation_id: Uuid,
    /// The user it planned.
    pub utilisateur_id: Uuid,
    /// The site it was on.
    pub chantier_id: Uuid,
    /// The day it was on.
    pub date: Jour,
}

/// `affectation.cancelled`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::cancelled())]
pub struct AffectationCancelled {
    /// The affectation (it stays, with statut `annulee`).
    pub affectation_id: Uuid,
    /// The user it planned.
    pub utilisateur_id: Uuid,
    /// The site it was on.
    pub chantier_id: Uuid,
    /// The day it was on.
    pub date: Jour,
    /// Who cancelled it.
    pub cancelled_by: Option<Uuid>,
    /// Why.
    pub raison: Raison,
}

/// What made a series (or, for `bulk_deleted`, what removed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceLot {
    /// A day range, a bulk request or a stretched block.
    Bulk,
    /// A weekly recurrence.
    Recurrence,
    /// A period copied to another.
    DuplicateWeek,
}

/// One affectation of a series.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LotItem {
    /// The affectation.
    pub affectation_id: Uuid,
    /// The user planned.
    pub utilisateur_id: Uuid,
    /// The day.
    pub date: Jour,
    /// Start time `HH:MM`, or `null`.
    pub heure_debut: Option<Heure>,
    /// End time `HH:MM`, or `null`.
    pub heure_fin: Option<Heure>,
}

/// `affectation.bulk_created`: the affectations a series made on one chantier.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::bulk_created())]
pub struct AffectationBulkCreated {
    /// The first affectation of the series on this site (the envelope's
    /// `aggregate_id`).
    pub affectation_id: Uuid,
    /// The site (one event per site of the series).
    pub chantier_id: Uuid,
    /// The affectations made on it, by date.
    pub affectation_ids: Vec<Uuid>,
    /// How many.
    pub count: usize,
    /// `bulk` (day range, bulk request, stretched block), `recurrence` or
    /// `duplicate_week`.
    pub source: SourceLot,
    /// The user planned, when the series is about one user (else `null`).
    pub utilisateur_id: Option<Uuid>,
    /// Each affectation with its user, day and times.
    pub affectations: Vec<LotItem>,
}

/// `affectation.bulk_deleted`: the affectations one request deleted on one chantier.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::bulk_deleted())]
pub struct AffectationBulkDeleted {
    /// The first affectation deleted on this site (the envelope's
    /// `aggregate_id`).
    pub affectation_id: Uuid,
    /// The site (one event per site).
    pub chantier_id: Uuid,
    /// The affectations deleted on it.
    pub affectation_ids: Vec<Uuid>,
    /// How many.
    pub count: usize,
    /// `bulk` (a bulk delete request).
    pub source: SourceLot,
}

/// The chantiers of `affectations`, in the order they first appear.
fn by_chantier(affectations: &[Affectation]) -> Vec<(Uuid, Vec<&Affectation>)> {
    let mut groups: Vec<(Uuid, Vec<&Affectation>)> = Vec::new();
    for affectation in affectations {
        match groups
            .iter_mut()
            .find(|(chantier, _)| *chantier == affectation.chantier_id())
        {
            Some((_, group)) => group.push(affectation),
            None => groups.push((affectation.chantier_id(), vec![affectation])),
        }
    }
    groups
}

impl AffectationBulkCreated {
    /// One event per chantier of the series.
    pub fn lots(affectations: &[Affectation], source: SourceLot) -> Vec<Self> {
        by_chantier(affectations)
            .into_iter()
            .map(|(chantier_id, group)| {
                let first_user = group[0].utilisateur_id();
                let one_user = group.iter().all(|a| a.utilisateur_id() == first_user);
                Self {
                    affectation_id: group[0].id(),
                    chantier_id,
                    affectation_ids: group.iter().map(|a| a.id()).collect(),
                    count: group.len(),
                    source,
                    utilisateur_id: one_user.then_some(first_user),
                    affectations: group
                        .iter()
                        .map(|a| LotItem {
                            affectation_id: a.id(),
                            utilisateur_id: a.utilisateur_id(),
                            date: Jour(a.date()),
                            heure_debut: a.plage().debut(),
                            heure_fin: a.plage().fin(),
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

impl AffectationBulkDeleted {
    /// One event per chantier of the deleted affectations.
    pub fn lots(affectations: &[Affectation], source: SourceLot) -> Vec<Self> {
        by_chantier(affectations)
            .into_iter()
            .map(|(chantier_id, group)| Self {
                affectation_id: group[0].id(),
                chantier_id,
                affectation_ids: group.iter().map(|a| a.id()).collect(),
                count: group.len(),
                source,
            })
            .collect()
    }
}

/// The examples of the catalog: Karim, compagnon, planned on one site.
mod examples {
    use super::*;
    use time::macros::date;

    const AFFECTATION: Uuid = Uuid::from_u128(0x0193_b1d0_7a3c_7e10_8f2a_1b3c_4d5e_6f70);
    const SECONDE: Uuid = Uuid::from_u128(0x0193_b1d0_7a3c_7e11_8f2a_1b3c_4d5e_6f71);
    const KARIM: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7e54_bf60_7b9c_0d1e_2f40);
    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);
    const JULIEN_CONDUCTEUR: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7b21_9c3e_5f7a_8b9c_0d2e);

    fn heure(text: &str) -> Option<Heure> {
        Heure::parse(text).ok()
    }

    fn snapshot() -> AffectationSnapshot {
        AffectationSnapshot {
            affectation_id: AFFECTATION,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
            heure_debut: heure("07:30"),
            heure_fin: heure("16:30"),
            note: Note::parse(Some("Livraison des banches à 8 h"))
                .ok()
                .flatten(),
            type_affectation: TypeAffectation::Unique,
        }
    }

    pub(super) fn created() -> AffectationCreated {
        AffectationCreated {
            affectation: snapshot(),
        }
    }

    pub(super) fn updated() -> AffectationUpdated {
        let mut affectation = snapshot();
        let mut changes = Changes::new();
        changes.record("date", &affectation.date, &Jour(date!(2026 - 12 - 08)));
        affectation.date = Jour(date!(2026 - 12 - 08));
        AffectationUpdated {
            affectation,
            changes,
            previous_chantier_id: None,
        }
    }

    pub(super) fn deleted() -> AffectationDeleted {
        AffectationDeleted {
            affectation_id: AFFECTATION,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
        }
    }

    pub(super) fn cancelled() -> AffectationCancelled {
        AffectationCancelled {
            affectation_id: AFFECTATION,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
            cancelled_by: Some(JULIEN_CONDUCTEUR),
            raison: Raison::parse("Intempéries : coulage reporté")
                .unwrap_or_else(|_| unreachable!("a valid example")),
        }
    }

    fn item(id: Uuid, day: Date) -> LotItem {
        LotItem {
            affectation_id: id,
            utilisateur_id: KARIM,
            date: Jour(day),
            heure_debut: heure("07:30"),
            heure_fin: heure("16:30"),
        }
    }

    pub(super) fn bulk_created() -> AffectationBulkCreated {
        AffectationBulkCreated {
            affectation_id: AFFECTATION,
            chantier_id: CHANTIER,
            affectation_ids: vec![AFFECTATION, SECONDE],
            count: 2,
            source: SourceLot::Recurrence,
            utilisateur_id: Some(KARIM),
            affectations: vec![
                item(AFFECTATION, date!(2026 - 12 - 07)),
                item(SECONDE, date!(2026 - 12 - 09)),
            ],
        }
    }

    pub(super) fn bulk_deleted() -> AffectationBulkDeleted {
        AffectationBulkDeleted {
            affectation_id: AFFECTATION,
            chantier_id: CHANTIER,
            affectation_ids: vec![AFFECTATION, SECONDE],
            count: 2,
            source: SourceLot::Bulk,
        }
    }
}

macro_rules! affectation_event {
    ($event:ty, $name:literal, |$e:ident| $id:expr) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                "affectation"
            }
            fn aggregate_id(&self) -> String {
                let $e = self;
                $id.to_string()
            }
        }
    };
}

affectation_event!(AffectationCreated, "affectation.created", |e| e
    .affectation
    .affectation_id);
affectation_event!(AffectationUpdated, "affectation.updated", |e| e
    .affectation
    .affectation_id);
affectation_event!(AffectationDeleted, "affectation.deleted", |e| e
    .affectation_id);
affectation_event!(AffectationCancelled, "affectation.cancelled", |e| e
    .affectation_id);
// A series is ordered with its first affectation's later events; the others
// are kept in order by the consumers' read models (log position per row).
affectation_event!(AffectationBulkCreated, "affectation.bulk_created", |e| e
    .affectation_id);
affectation_event!(AffectationBulkDeleted, "affectation.bulk_deleted", |e| e
    .affectation_id);

/// The planning events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<AffectationCreated>(
            "affectation.created",
            "affectation",
            "A user was planned on a site for one day.",
        ),
        EventTypeInfo::of::<AffectationUpdated>(
            "affectation.updated",
            "affectation",
            "An affectation was moved or edited (day, user, site, times, note); `changes` lists what changed.",
        ),
        EventTypeInfo::of::<AffectationDeleted>(
            "affectation.deleted",
            "affectation",
            "An affectation was deleted.",
        ),
        EventTypeInfo::of::<AffectationCancelled>(
            "affectation.cancelled",
            "affectation",
            "An affectation was cancelled, with a reason; it stays visible as `annulee`.",
        ),
        EventTypeInfo::of::<AffectationBulkCreated>(
            "affectation.bulk_created",
            "affectation",
            "A series of affectations was made on one site (day range, weekly recurrence, copied period, stretched block); one event per site.",
        ),
        EventTypeInfo::of::<AffectationBulkDeleted>(
            "affectation.bulk_deleted",
            "affectation",
            "Several affectations of one site were deleted by one request; one event per site.",
        ),
    ]
}
