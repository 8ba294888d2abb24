//! Raw inputs of the commands, turned into domain values here so that every
//! invalid field is reported at once (422 with field errors).

use hub_kernel::ValidationErrors;
use hub_planning_domain::calendrier::{self, CalendrierError};
use hub_planning_domain::{
    AffectationUpdate, Heure, JoursRecurrence, Modele, Note, Plage, SourceLot, TypeAffectation,
};
use time::Date;
use uuid::Uuid;

/// What creating affectations needs: one day, a day range (`date_fin`) or
/// a weekly recurrence (`type_affectation` `recurrente`, `jours_recurrence`,
/// `date_fin_recurrence`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateInput {
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub date: Date,
    pub date_fin: Option<Date>,
    pub heure_debut: Option<String>,
    pub heure_fin: Option<String>,
    pub note: Option<String>,
    pub type_affectation: Option<String>,
    pub jours_recurrence: Option<Vec<i64>>,
    pub date_fin_recurrence: Option<Date>,
}

/// One affectation of a batch (`POST /affectations/batch`): any user, any
/// chantier, any day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInput {
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub date: Date,
    pub heure_debut: Option<String>,
    pub heure_fin: Option<String>,
    pub note: Option<String>,
}

impl ItemInput {
    /// The item's shared part, its errors recorded under `affectations[index]`.
    pub(crate) fn validate(&self, index: usize, errors: &mut ValidationErrors) -> Option<Modele> {
        let mut own = ValidationErrors::new();
        let debut = heure(&mut own, "heure_debut", self.heure_debut.as_deref());
        let fin = heure(&mut own, "heure_fin", self.heure_fin.as_deref());
        let plage = plage(&mut own, debut, fin);
        let note = own
            .check("note", "invalid", Note::parse(self.note.as_deref()))
            .flatten();
        for error in own.errors() {
            errors.add(
                format!("affectations[{index}].{}", error.field),
                error.code,
                error.message.clone(),
            );
        }
        own.is_empty().then_some(Modele {
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            plage,
            note,
            type_affectation: TypeAffectation::Unique,
            jours_recurrence: None,
        })
    }
}

/// A move or an edit: `None` = unchanged; `note` `Some(None)` or blank clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateInput {
    pub date: Option<Date>,
    pub utilisateur_id: Option<Uuid>,
    pub chantier_id: Option<Uuid>,
    pub heure_debut: Option<String>,
    pub heure_fin: Option<String>,
    pub note: Option<Option<String>>,
}

/// The affectations a creation makes: what they share, their days, and
/// the `source` of their bulk event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planification {
    pub modele: Modele,
    pub dates: Vec<Date>,
    pub source: SourceLot,
}

/// Records a refused set of days on the field the client should fix.
pub(crate) fn calendar_error(errors: &mut ValidationErrors, error: CalendrierError, field: &str) {
    let (field, code) = match &error {
        CalendrierError::TooMany => (field, "too_many_days"),
        CalendrierError::Inverted { fin, .. } => (*fin, "before_start"),
        CalendrierError::AucuneDate => ("jours_recurrence", "no_matching_date"),
        CalendrierError::HorsBloc => ("date_debut", "outside_range"),
    };
    errors.add(field, code, error.to_string());
}

fn heure(errors: &mut ValidationErrors, field: &str, input: Option<&str>) -> Option<Heure> {
    input.and_then(|text| errors.check(field, "invalid", Heure::parse(text)))
}

fn plage(errors: &mut ValidationErrors, debut: Option<Heure>, fin: Option<Heure>) -> Plage {
    errors
        .check("heure_fin", "before_heure_debut", Plage::new(debut, fin))
        .unwrap_or_default()
}

impl CreateInput {
    pub(crate) fn validate(&self) -> Result<Planification, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let debut = heure(&mut errors, "heure_debut", self.heure_debut.as_deref());
        let fin = heure(&mut errors, "heure_fin", self.heure_fin.as_deref());
        let plage = plage(&mut errors, debut, fin);
        let note = errors
            .check("note", "invalid", Note::parse(self.note.as_deref()))
            .flatten();
        let type_affectation = match self.type_affectation.as_deref() {
            None => Some(TypeAffectation::Unique),
            Some(text) => errors.check("type_affectation", "invalid", TypeAffectation::parse(text)),
        };
        let mut planned = None;
        match type_affectation {
            Some(TypeAffectation::Unique) => match calendrier::plage(self.date, self.date_fin) {
                Ok(dates) => {
                    planned = Some((dates, None, SourceLot::Bulk, TypeAffectation::Unique));
                }
                Err(error) => calendar_error(&mut errors, error, "date_fin"),
            },
            Some(TypeAffectation::Recurrente) => {
                let jours = errors.check(
                    "jours_recurrence",
                    "invalid",
                    JoursRecurrence::new(self.jours_recurrence.as_deref().unwrap_or_default()),
                );
                let fin = self.date_fin_recurrence;
                if fin.is_none() {
                    errors.add(
                        "date_fin_recurrence",
                        "required",
                        "is required for a recurrence",
                    );
                }
                if let (Some(jours), Some(fin)) = (jours, fin) {
                    match calendrier::recurrence(self.date, fin, &jours) {
                        Ok(dates) => {
                            planned = Some((
                                dates,
                                Some(jours),
                                SourceLot::Recurrence,
                                TypeAffectation::Recurrente,
                            ));
                        }
                        Err(error) => calendar_error(&mut errors, error, "date_fin_recurrence"),
                    }
                }
            }
            None => {}
        }
        match planned {
            Some((dates, jours_recurrence, source, type_affectation)) if errors.is_empty() => {
                Ok(Planification {
                    modele: Modele {
                        utilisateur_id: self.utilisateur_id,
                        chantier_id: self.chantier_id,
                        plage,
                        note,
                        type_affectation,
                        jours_recurrence,
                    },
                    dates,
                    source,
                })
            }
            _ => Err(errors),
        }
    }
}

impl UpdateInput {
    pub(crate) fn validate(&self) -> Result<AffectationUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let update = AffectationUpdate {
            date: self.date,
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            heure_debut: heure(&mut errors, "heure_debut", self.heure_debut.as_deref()),
            heure_fin: heure(&mut errors, "heure_fin", self.heure_fin.as_deref()),
            note: self.note.as_ref().map(|note| {
                errors
                    .check("note", "invalid", Note::parse(note.as_deref()))
                    .flatten()
            }),
        };
        errors.into_result().map(|()| update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> CreateInput {
        CreateInput {
            utilisateur_id: Uuid::from_u128(1),
            chantier_id: Uuid::from_u128(2),
            date: date!(2026 - 12 - 07),
            date_fin: None,
            heure_debut: Some("7:30".into()),
            heure_fin: Some("16:30".into()),
            note: Some("  ".into()),
            type_affectation: None,
            jours_recurrence: Some(vec![9]),
            date_fin_recurrence: None,
        }
    }

    #[test]
    fn one_day_ignores_recurrence_fields() {
        let planned = input().validate().unwrap();
        assert_eq!(planned.dates, [date!(2026 - 12 - 07)]);
        assert_eq!(planned.modele.note, None);
        assert_eq!(planned.modele.jours_recurrence, None);
        assert_eq!(planned.modele.plage.debut().unwrap().to_string(), "07:30");
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let bad = CreateInput {
            heure_debut: Some("25:00".into()),
            heure_fin: Some("7h".into()),
            note: Some("x".repeat(501)),
            type_affectation: Some("souvent".into()),
            ..input()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["heure_debut", "heure_fin", "note", "type_affectation"]
        );
    }

    #[test]
    fn a_recurrence_needs_its_days_and_its_end() {
        let bad = CreateInput {
            type_affectation: Some("recurrente".into()),
            ..input()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["jours_recurrence", "date_fin_recurrence"]);

        let ok = CreateInput {
            type_affectation: Some("Recurrente".into()),
            jours_recurrence: Some(vec![0, 2]),
            date_fin_recurrence: Some(date!(2026 - 12 - 16)),
            ..input()
        };
        let planned = ok.validate().unwrap();
        assert_eq!(planned.dates.len(), 4);
        assert_eq!(planned.source, SourceLot::Recurrence);

        let too_long = CreateInput {
            date_fin: Some(date!(2028 - 01 - 01)),
            ..input()
        };
        let errors = too_long.validate().unwrap_err();
        assert_eq!(errors.errors()[0].code, "too_many_days");
    }

    #[test]
    fn times_in_the_wrong_order_are_refused() {
        let bad = CreateInput {
            heure_debut: Some("17:00".into()),
            heure_fin: Some("08:00".into()),
            ..input()
        };
        assert_eq!(bad.validate().unwrap_err().errors()[0].field, "heure_fin");
    }
}
