//! Raw inputs of the commands and queries, turned into domain values here
//! so that every invalid field is reported at once (422 with field errors).

use hub_kernel::ValidationErrors;
use hub_planning_charge_domain::{
    BesoinUpdate, Heures, Note, NouveauBesoin, Semaine, SemaineError, TypeMetier,
};
use uuid::Uuid;

/// A new besoin as the API receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct BesoinInput {
    pub chantier_id: Uuid,
    /// ISO week, `YYYY-Www`.
    pub semaine: String,
    pub type_metier: String,
    /// Decimal hours.
    pub besoin_heures: f64,
    pub note: Option<String>,
}

/// A change: `None` = unchanged; `note` `Some(None)` or blank clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateInput {
    pub besoin_heures: Option<f64>,
    pub note: Option<Option<String>>,
    pub type_metier: Option<String>,
}

/// A range of weeks (the grid, a chantier's list), and for the grid an
/// optional search on the chantiers' code and nom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrilleInput {
    pub semaine_debut: String,
    pub semaine_fin: String,
    pub recherche: Option<String>,
}

fn semaine(errors: &mut ValidationErrors, field: &str, input: &str) -> Option<Semaine> {
    errors.check(field, "invalid_semaine", Semaine::parse(input))
}

/// One week given on its own (a path, a query field).
pub(crate) fn semaine_of(field: &str, input: &str) -> Result<Semaine, ValidationErrors> {
    Semaine::parse(input)
        .map_err(|error| ValidationErrors::single(field, "invalid_semaine", error.to_string()))
}

fn heures(errors: &mut ValidationErrors, input: f64) -> Option<Heures> {
    errors.check(
        "besoin_heures",
        "invalid_heures",
        Heures::from_decimal(input),
    )
}

fn metier(errors: &mut ValidationErrors, input: &str) -> Option<TypeMetier> {
    errors.check(
        "type_metier",
        "invalid_type_metier",
        TypeMetier::parse(input),
    )
}

fn note(errors: &mut ValidationErrors, input: Option<&str>) -> Option<Option<Note>> {
    errors.check("note", "invalid_note", Note::parse(input))
}

impl BesoinInput {
    pub fn validate(&self) -> Result<NouveauBesoin, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let semaine = semaine(&mut errors, "semaine", &self.semaine);
        let type_metier = metier(&mut errors, &self.type_metier);
        let heures = heures(&mut errors, self.besoin_heures);
        let note = note(&mut errors, self.note.as_deref());
        match (semaine, type_metier, heures, note) {
            (Some(semaine), Some(type_metier), Some(heures), Some(note)) if errors.is_empty() => {
                Ok(NouveauBesoin {
                    chantier_id: self.chantier_id,
                    semaine,
                    type_metier,
                    heures,
                    note,
                })
            }
            _ => Err(errors),
        }
    }
}

impl UpdateInput {
    pub fn validate(&self) -> Result<BesoinUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let update = BesoinUpdate {
            heures: self.besoin_heures.and_then(|h| heures(&mut errors, h)),
            note: self
                .note
                .as_ref()
                .and_then(|n| note(&mut errors, n.as_deref())),
            type_metier: self
                .type_metier
                .as_deref()
                .and_then(|m| metier(&mut errors, m)),
        };
        if errors.is_empty() {
            Ok(update)
        } else {
            Err(errors)
        }
    }
}

impl GrilleInput {
    /// The weeks of the range, in order: `semaine_fin` not before
    /// `semaine_debut`, at most `MAX_SEMAINES`.
    pub fn semaines(&self) -> Result<Vec<Semaine>, ValidationErrors> {
        let (debut, fin) = self.bornes()?;
        Semaine::plage(debut, fin).map_err(|error| {
            let code = match error {
                SemaineError::TooMany => "too_many_weeks",
                _ => "before_semaine_debut",
            };
            ValidationErrors::single("semaine_fin", code, error.to_string())
        })
    }

    /// The first and last weeks (`semaine_fin` not before `semaine_debut`),
    /// without a cap on the span: a paginated list needs none.
    pub fn bornes(&self) -> Result<(Semaine, Semaine), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let debut = semaine(&mut errors, "semaine_debut", &self.semaine_debut);
        let fin = semaine(&mut errors, "semaine_fin", &self.semaine_fin);
        match (debut, fin) {
            (Some(debut), Some(fin)) if fin < debut => Err(ValidationErrors::single(
                "semaine_fin",
                "before_semaine_debut",
                SemaineError::Inverted.to_string(),
            )),
            (Some(debut), Some(fin)) => Ok((debut, fin)),
            _ => Err(errors),
        }
    }

    /// The search, trimmed; blank is none.
    pub fn recherche(&self) -> Option<String> {
        self.recherche
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> BesoinInput {
        BesoinInput {
            chantier_id: Uuid::from_u128(1),
            semaine: "2026-W50".to_owned(),
            type_metier: "Sous-traitant".to_owned(),
            besoin_heures: 14.5,
            note: Some("  ".to_owned()),
        }
    }

    fn fields(errors: &ValidationErrors) -> Vec<(&str, &str)> {
        errors
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect()
    }

    #[test]
    fn a_valid_besoin_is_normalised() {
        let besoin = input().validate().unwrap();
        assert_eq!(besoin.type_metier, TypeMetier::SousTraitant);
        assert_eq!(besoin.heures.minutes(), 870);
        assert_eq!(besoin.note, None);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let errors = BesoinInput {
            semaine: "2025-W53".to_owned(),
            type_metier: "plombier".to_owned(),
            besoin_heures: -1.0,
            ..input()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("semaine", "invalid_semaine"),
                ("type_metier", "invalid_type_metier"),
                ("besoin_heures", "invalid_heures"),
            ]
        );
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        assert_eq!(
            UpdateInput::default().validate(),
            Ok(BesoinUpdate::default())
        );
        let update = UpdateInput {
            besoin_heures: Some(3.5),
            note: Some(Some(" ".to_owned())),
            type_metier: Some("grutier".to_owned()),
        }
        .validate()
        .unwrap();
        assert_eq!(update.heures.map(Heures::minutes), Some(210));
        assert_eq!(update.note, Some(None));
        assert_eq!(update.type_metier, Some(TypeMetier::Grutier));
        let errors = UpdateInput {
            besoin_heures: Some(-2.0),
            type_metier: Some("x".to_owned()),
            ..UpdateInput::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("besoin_heures", "invalid_heures"),
                ("type_metier", "invalid_type_metier")
            ]
        );
    }

    #[test]
    fn ranges_are_checked() {
        let range = |debut: &str, fin: &str| GrilleInput {
            semaine_debut: debut.to_owned(),
            semaine_fin: fin.to_owned(),
            recherche: Some("  ".to_owned()),
        };
        assert_eq!(range("2026-W50", "2027-W02").semaines().unwrap().len(), 6);
        assert_eq!(range("2026-W50", "2027-W02").recherche(), None);
        assert_eq!(
            fields(&range("2026-W50", "2026-W49").semaines().unwrap_err()),
            [("semaine_fin", "before_semaine_debut")]
        );
        assert_eq!(
            fields(&range("2026-W01", "2028-W01").semaines().unwrap_err()),
            [("semaine_fin", "too_many_weeks")]
        );
        assert!(range("2026-W01", "2028-W01").bornes().is_ok());
        assert_eq!(
            fields(&range("S05-2026", "2026-W54").bornes().unwrap_err()),
            [
                ("semaine_debut", "invalid_semaine"),
                ("semaine_fin", "invalid_semaine")
            ]
        );
    }
}
