//! Raw inputs of the commands, turned into domain values here so that every
//! invalid field is reported at once (422 with field errors).

use hub_kernel::ValidationErrors;
use hub_pointages_domain::{
    Commentaire, HeuresMinutes, NouveauPointage, NouvelleVariable, PointageUpdate, TypeVariable,
    Valeur, ValeurError,
};
use time::Date;
use uuid::Uuid;

/// What creating a pointage needs; hours as `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateInput {
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub date_pointage: Date,
    pub heures_normales: String,
    /// Absent: `00:00`.
    pub heures_supplementaires: Option<String>,
    pub commentaire: Option<String>,
    pub affectation_id: Option<Uuid>,
}

impl CreateInput {
    pub(crate) fn validate(&self) -> Result<NouveauPointage, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let normales = duree(&mut errors, "heures_normales", Some(&self.heures_normales));
        let sup = duree(
            &mut errors,
            "heures_supplementaires",
            self.heures_supplementaires.as_deref(),
        );
        let commentaire = errors
            .check(
                "commentaire",
                "invalid",
                Commentaire::parse(self.commentaire.as_deref()),
            )
            .flatten();
        errors.into_result()?;
        Ok(NouveauPointage {
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: self.date_pointage,
            heures_normales: normales.unwrap_or_default(),
            heures_supplementaires: sup.unwrap_or_default(),
            commentaire,
            affectation_id: self.affectation_id,
        })
    }
}

/// An edit: `None` = unchanged; `commentaire` `Some(None)` or blank clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateInput {
    pub heures_normales: Option<String>,
    pub heures_supplementaires: Option<String>,
    pub commentaire: Option<Option<String>>,
}

impl UpdateInput {
    pub(crate) fn validate(&self) -> Result<PointageUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let heures_normales = duree(
            &mut errors,
            "heures_normales",
            self.heures_normales.as_deref(),
        );
        let heures_supplementaires = duree(
            &mut errors,
            "heures_supplementaires",
            self.heures_supplementaires.as_deref(),
        );
        let commentaire = match &self.commentaire {
            None => None,
            Some(text) => errors.check(
                "commentaire",
                "invalid",
                Commentaire::parse(text.as_deref()),
            ),
        };
        errors.into_result()?;
        Ok(PointageUpdate {
            heures_normales,
            heures_supplementaires,
            commentaire,
        })
    }
}

/// A variable de paie to add to a pointage; the type and the value as
/// given (the type case-insensitive, the value a decimal text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableInput {
    pub pointage_id: Uuid,
    pub type_variable: String,
    pub valeur: String,
    pub date_application: Date,
    pub commentaire: Option<String>,
}

impl VariableInput {
    pub(crate) fn validate(&self) -> Result<NouvelleVariable, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let type_variable = TypeVariable::parse(&self.type_variable);
        if type_variable.is_none() {
            errors.add(
                "type_variable",
                "unknown",
                format!("must be one of: {}", TypeVariable::valeurs()),
            );
        }
        let valeur = match Valeur::parse(&self.valeur) {
            Ok(valeur) => Some(valeur),
            Err(error) => {
                let code = match error {
                    ValeurError::Format => "invalid",
                    ValeurError::Negative => "negative",
                    ValeurError::TooLarge => "too_large",
                };
                errors.add("valeur", code, error.to_string());
                None
            }
        };
        let commentaire = errors
            .check(
                "commentaire",
                "invalid",
                Commentaire::parse(self.commentaire.as_deref()),
            )
            .flatten();
        errors.into_result()?;
        Ok(NouvelleVariable {
            type_variable: type_variable.unwrap_or(TypeVariable::HeuresNormales),
            valeur: valeur.unwrap_or_default(),
            date_application: self.date_application,
            commentaire,
        })
    }
}

/// A duration field: absent is `None`, invalid is recorded.
fn duree(errors: &mut ValidationErrors, field: &str, input: Option<&str>) -> Option<HeuresMinutes> {
    errors.check(field, "invalid_duree", HeuresMinutes::parse(input?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn create(normales: &str, sup: Option<&str>) -> CreateInput {
        CreateInput {
            utilisateur_id: Uuid::from_u128(1),
            chantier_id: Uuid::from_u128(2),
            date_pointage: date!(2026 - 12 - 07),
            heures_normales: normales.to_owned(),
            heures_supplementaires: sup.map(str::to_owned),
            commentaire: Some("  ".to_owned()),
            affectation_id: None,
        }
    }

    #[test]
    fn overtime_defaults_to_zero_and_every_bad_field_is_reported() {
        let nouveau = create("7:30", None).validate().unwrap();
        assert_eq!(nouveau.heures_normales.minutes(), 450);
        assert_eq!(nouveau.heures_supplementaires, HeuresMinutes::ZERO);
        assert_eq!(nouveau.commentaire, None);
        let errors = create("7:60", Some("x")).validate().unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["heures_normales", "heures_supplementaires"]);
    }

    #[test]
    fn a_variable_parses_its_type_case_insensitively_and_reports_every_bad_field() {
        let input = |type_variable: &str, valeur: &str| VariableInput {
            pointage_id: Uuid::from_u128(1),
            type_variable: type_variable.to_owned(),
            valeur: valeur.to_owned(),
            date_application: date!(2026 - 12 - 07),
            commentaire: Some(" ".to_owned()),
        };
        let nouvelle = input("Panier_Repas", "9.4").validate().unwrap();
        assert_eq!(nouvelle.type_variable, TypeVariable::PanierRepas);
        assert_eq!(nouvelle.valeur.to_string(), "9.40");
        assert_eq!(nouvelle.commentaire, None);
        let errors = input("prime", "-2").validate().unwrap_err();
        let found: Vec<(&str, &str)> = errors
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            found,
            [("type_variable", "unknown"), ("valeur", "negative")]
        );
        assert!(errors.errors()[0].message.contains("panier_repas"));
        let errors = input("rtt", "1.234").validate().unwrap_err();
        assert_eq!(errors.errors()[0].code, "invalid");
    }

    #[test]
    fn an_edit_keeps_absent_fields_and_clears_a_blank_comment() {
        let update = UpdateInput {
            heures_supplementaires: Some("1:00".to_owned()),
            commentaire: Some(Some(" ".to_owned())),
            ..UpdateInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(update.heures_normales, None);
        assert_eq!(update.heures_supplementaires.map(|h| h.minutes()), Some(60));
        assert_eq!(update.commentaire, Some(None));
    }
}
