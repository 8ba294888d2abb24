//! Events of the pointages context (catalog: `docs/EVENTS.md`, section
//! pointages). Every event carries `chantier_id` (webhook scoping) but the
//! export, which names its chantier or `null`. Hours are integer minutes.

use std::fmt;

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::Date;
use uuid::Uuid;

use crate::{HeuresMinutes, Motif, Statut, TypeVariable, Valeur};

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

/// An ISO week, `YYYY-Www` (e.g. `2026-W50`), named by any of its days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SemaineIso {
    pub annee: i32,
    pub numero: u8,
}

impl SemaineIso {
    pub fn of(day: Date) -> Self {
        let (annee, numero, _) = day.to_iso_week_date();
        Self { annee, numero }
    }

    /// The Monday that starts it.
    pub fn lundi(self) -> Option<Date> {
        Date::from_iso_week_date(self.annee, self.numero, time::Weekday::Monday).ok()
    }
}

impl fmt::Display for SemaineIso {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.annee, self.numero)
    }
}

impl Serialize for SemaineIso {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for SemaineIso {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SemaineIso".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-W[0-9]{2}$",
            "description": "An ISO week, YYYY-Www"
        })
    }
}

/// The fields of `heures.created` and `heures.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HeuresSnapshot {
    /// The pointage.
    pub heures_id: Uuid,
    /// Whose hours.
    pub utilisateur_id: Uuid,
    /// The site worked on.
    pub chantier_id: Uuid,
    /// The day worked, `YYYY-MM-DD`.
    pub date: Jour,
    /// Normal hours, in minutes.
    pub heures_normales: HeuresMinutes,
    /// Overtime, in minutes.
    pub heures_supplementaires: HeuresMinutes,
    /// `brouillon`, `soumis`, `valide` or `rejete`.
    pub statut: Statut,
}

/// `heures.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::created())]
pub struct HeuresCreated {
    #[serde(flatten)]
    pub heures: HeuresSnapshot,
}

/// `heures.updated`: the pointage after the change, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::updated())]
pub struct HeuresUpdated {
    #[serde(flatten)]
    pub heures: HeuresSnapshot,
    /// What changed, among `heures_normales`, `heures_supplementaires`,
    /// `commentaire`, `signature_date` (signing; never the signature) and
    /// `statut` (a rejected pointage back to brouillon for correction).
    pub changes: Changes,
}

/// `heures.submitted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::submitted())]
pub struct HeuresSubmitted {
    /// The pointage.
    pub heures_id: Uuid,
    /// Whose hours.
    pub utilisateur_id: Uuid,
    /// The site worked on.
    pub chantier_id: Uuid,
    /// The day worked, `YYYY-MM-DD`.
    pub date: Jour,
}

/// `heures.validated`: the payroll trigger.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::validated())]
pub struct HeuresValidated {
    /// The pointage.
    pub heures_id: Uuid,
    /// Whose hours.
    pub utilisateur_id: Uuid,
    /// The site worked on.
    pub chantier_id: Uuid,
    /// The day worked, `YYYY-MM-DD`.
    pub date: Jour,
    /// Normal hours, in minutes.
    pub heures_normales: HeuresMinutes,
    /// Overtime, in minutes.
    pub heures_supplementaires: HeuresMinutes,
    /// Who validated.
    pub validated_by: Uuid,
    /// When, RFC 3339 UTC.
    pub validated_at: String,
}

/// `heures.rejected`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::rejected())]
pub struct HeuresRejected {
    /// The pointage.
    pub heures_id: Uuid,
    /// Whose hours.
    pub utilisateur_id: Uuid,
    /// The site worked on.
    pub chantier_id: Uuid,
    /// The day worked, `YYYY-MM-DD`.
    pub date: Jour,
    /// Who rejected.
    pub rejected_by: Uuid,
    /// Why (1 to 500 characters).
    pub motif: Motif,
}

/// `heures.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::deleted())]
pub struct HeuresDeleted {
    /// The pointage.
    pub heures_id: Uuid,
    /// Whose hours.
    pub utilisateur_id: Uuid,
    /// The site worked on.
    pub chantier_id: Uuid,
    /// The day worked, `YYYY-MM-DD`.
    pub date: Jour,
}

/// `variable_paie.created`: a variable de paie was added to a pointage.
/// Its aggregate is the pointage (`heures`): a variable lives and dies
/// with its pointage, and its event is delivered in order with the
/// pointage's own.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::variable_created())]
pub struct VariablePaieCreated {
    /// The new variable.
    pub variable_id: Uuid,
    /// Its pointage (the envelope's `aggregate_id`).
    pub heures_id: Uuid,
    /// Whose pay.
    pub utilisateur_id: Uuid,
    /// The pointage's site.
    pub chantier_id: Uuid,
    /// The kind of variable: hours (`heures_*`), allowances and bonuses
    /// (`panier_repas`, `indemnite_transport`, `prime_*`), absences, or
    /// `formation` / `deplacement`.
    pub type_variable: TypeVariable,
    /// The value, a decimal with two places as a string (`"9.40"`): hours
    /// for the `heures_*` types, an amount or a count for the others.
    pub valeur: Valeur,
    /// The day it applies to, `YYYY-MM-DD`.
    pub date_application: Jour,
}

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormatExport {
    /// `;`-separated, UTF-8 with BOM.
    Csv,
    Xlsx,
    /// `|`-separated lines for ERPs.
    Erp,
}

/// `feuille_heures.exported`: the hours of one ISO week were exported.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::exported())]
pub struct FeuilleHeuresExported {
    /// This export (the envelope's `aggregate_id`).
    pub export_id: Uuid,
    /// The ISO week exported, `YYYY-Www`.
    pub semaine: SemaineIso,
    /// The one site exported, or `null` for all the exporter may see.
    pub chantier_id: Option<Uuid>,
    /// The users exported; empty for all.
    pub utilisateur_ids: Vec<Uuid>,
    /// The file format.
    pub format: FormatExport,
    /// Who exported.
    pub exported_by: Uuid,
}

/// The examples of the catalog: Karim's Monday on one site.
mod examples {
    use super::*;
    use time::macros::date;

    const HEURES: Uuid = Uuid::from_u128(0x0193_b2e0_1a2b_7c3d_8e4f_5a6b_7c8d_9e0f);
    const KARIM: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7e54_bf60_7b9c_0d1e_2f40);
    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);
    const SOPHIE_CHEF: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7c32_a4d6_6e8f_9a0b_1c3d);
    const EXPORT: Uuid = Uuid::from_u128(0x0193_b3f0_5d6e_7a8b_9c0d_1e2f_3a4b_5c6d);

    fn minutes(m: i64) -> HeuresMinutes {
        HeuresMinutes::from_minutes(m).unwrap_or(HeuresMinutes::ZERO)
    }

    fn snapshot(statut: Statut) -> HeuresSnapshot {
        HeuresSnapshot {
            heures_id: HEURES,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
            heures_normales: minutes(480),
            heures_supplementaires: minutes(0),
            statut,
        }
    }

    pub(super) fn created() -> HeuresCreated {
        HeuresCreated {
            heures: snapshot(Statut::Brouillon),
        }
    }

    pub(super) fn updated() -> HeuresUpdated {
        let mut heures = snapshot(Statut::Brouillon);
        let mut changes = Changes::new();
        changes.record("heures_supplementaires", &minutes(0), &minutes(90));
        heures.heures_supplementaires = minutes(90);
        HeuresUpdated { heures, changes }
    }

    pub(super) fn submitted() -> HeuresSubmitted {
        HeuresSubmitted {
            heures_id: HEURES,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
        }
    }

    pub(super) fn validated() -> HeuresValidated {
        HeuresValidated {
            heures_id: HEURES,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
            heures_normales: minutes(480),
            heures_supplementaires: minutes(90),
            validated_by: SOPHIE_CHEF,
            validated_at: "2026-12-08T07:15:00Z".to_owned(),
        }
    }

    pub(super) fn rejected() -> HeuresRejected {
        HeuresRejected {
            heures_id: HEURES,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
            rejected_by: SOPHIE_CHEF,
            motif: Motif::parse("Parti à 15 h : 7 h normales, pas d'heures sup")
                .unwrap_or_else(|_| unreachable!("a valid example")),
        }
    }

    pub(super) fn deleted() -> HeuresDeleted {
        HeuresDeleted {
            heures_id: HEURES,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            date: Jour(date!(2026 - 12 - 07)),
        }
    }

    pub(super) fn variable_created() -> VariablePaieCreated {
        VariablePaieCreated {
            variable_id: Uuid::from_u128(0x0193_b2e1_4c5d_7e6f_8a9b_0c1d_2e3f_4a5b),
            heures_id: HEURES,
            utilisateur_id: KARIM,
            chantier_id: CHANTIER,
            type_variable: TypeVariable::PanierRepas,
            valeur: Valeur::parse("9.40").unwrap_or_default(),
            date_application: Jour(date!(2026 - 12 - 07)),
        }
    }

    pub(super) fn exported() -> FeuilleHeuresExported {
        FeuilleHeuresExported {
            export_id: EXPORT,
            semaine: SemaineIso::of(date!(2026 - 12 - 07)),
            chantier_id: Some(CHANTIER),
            utilisateur_ids: vec![],
            format: FormatExport::Csv,
            exported_by: SOPHIE_CHEF,
        }
    }
}

macro_rules! event {
    ($event:ty, $name:literal, $aggregate:literal, |$e:ident| $id:expr) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                $aggregate
            }
            fn aggregate_id(&self) -> String {
                let $e = self;
                $id.to_string()
            }
        }
    };
}

event!(HeuresCreated, "heures.created", "heures", |e| e
    .heures
    .heures_id);
event!(HeuresUpdated, "heures.updated", "heures", |e| e
    .heures
    .heures_id);
event!(HeuresSubmitted, "heures.submitted", "heures", |e| e
    .heures_id);
event!(HeuresValidated, "heures.validated", "heures", |e| e
    .heures_id);
event!(HeuresRejected, "heures.rejected", "heures", |e| e.heures_id);
event!(HeuresDeleted, "heures.deleted", "heures", |e| e.heures_id);
event!(
    VariablePaieCreated,
    "variable_paie.created",
    // Part of the pointage's aggregate: ordered with its events.
    "heures",
    |e| e.heures_id
);
event!(
    FeuilleHeuresExported,
    "feuille_heures.exported",
    // The aggregate is the export itself: its id is the `export_id` field,
    // as every aggregate's id is the `<aggregate_type>_id` of its events.
    "export",
    |e| e.export_id
);

/// The pointages events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<HeuresCreated>(
            "heures.created",
            "heures",
            "Hours were entered for a user on a site and a day (by the user, a responsable, or from the planning), as a brouillon.",
        ),
        EventTypeInfo::of::<HeuresUpdated>(
            "heures.updated",
            "heures",
            "A pointage was edited, signed, or taken back to brouillon after a rejection; `changes` lists what changed.",
        ),
        EventTypeInfo::of::<HeuresSubmitted>(
            "heures.submitted",
            "heures",
            "A pointage was submitted for validation.",
        ),
        EventTypeInfo::of::<HeuresValidated>(
            "heures.validated",
            "heures",
            "A pointage was validated (final): the hours, in minutes, payroll should pay.",
        ),
        EventTypeInfo::of::<HeuresRejected>(
            "heures.rejected",
            "heures",
            "A submitted pointage was rejected with a motif; its owner may correct it and submit again.",
        ),
        EventTypeInfo::of::<HeuresDeleted>(
            "heures.deleted",
            "heures",
            "A brouillon or rejected pointage was deleted.",
        ),
        EventTypeInfo::of::<VariablePaieCreated>(
            "variable_paie.created",
            "heures",
            "A variable de paie (night hours, meal allowance, bonus, absence…) was added to a brouillon or rejected pointage; its value is an exact decimal string.",
        ),
        EventTypeInfo::of::<FeuilleHeuresExported>(
            "feuille_heures.exported",
            "export",
            "The hours of one ISO week were exported (CSV, XLSX or ERP), for one site or all.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_lists_the_eight_types_with_examples() {
        let catalog = event_catalog();
        assert_eq!(catalog.len(), 8);
        for info in &catalog {
            let examples = info.data_schema.get("examples");
            assert!(
                examples.is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty())),
                "{} has an example",
                info.event_type
            );
            // An export is its own aggregate (`export_id`): the feuille
            // d'heures is derived, it has no id of its own.
            let expected = match info.event_type {
                "feuille_heures.exported" => Some("export"),
                // A variable belongs to its pointage.
                "variable_paie.created" => Some("heures"),
                other => other.split('.').next(),
            };
            assert_eq!(expected, Some(info.aggregate_type), "{}", info.event_type);
        }
    }

    #[test]
    fn every_event_but_the_export_carries_chantier_id_and_hours_are_minutes() {
        let validated = serde_json::to_value(examples::validated()).unwrap();
        assert_eq!(validated["heures_normales"], 480);
        assert_eq!(validated["date"], "2026-12-07");
        for value in [
            serde_json::to_value(examples::created()).unwrap(),
            serde_json::to_value(examples::updated()).unwrap(),
            serde_json::to_value(examples::submitted()).unwrap(),
            validated,
            serde_json::to_value(examples::rejected()).unwrap(),
            serde_json::to_value(examples::deleted()).unwrap(),
            serde_json::to_value(examples::variable_created()).unwrap(),
            serde_json::to_value(examples::exported()).unwrap(),
        ] {
            assert!(value["chantier_id"].is_string(), "{value}");
        }
        let exported = serde_json::to_value(examples::exported()).unwrap();
        assert_eq!(exported["semaine"], "2026-W50");
        let variable = serde_json::to_value(examples::variable_created()).unwrap();
        assert_eq!(variable["valeur"], "9.40");
        assert_eq!(
            examples::variable_created().aggregate_id(),
            variable["heures_id"].as_str().unwrap()
        );
    }

    #[test]
    fn an_iso_week_starts_on_its_monday() {
        let semaine = SemaineIso::of(time::macros::date!(2026 - 12 - 10));
        assert_eq!(semaine.lundi(), Some(time::macros::date!(2026 - 12 - 07)));
        assert_eq!(
            SemaineIso::of(time::macros::date!(2027 - 01 - 01)).to_string(),
            "2026-W53"
        );
    }
}
