//! Variables de paie: what payroll adds to a pointage's hours (night or
//! Sunday hours, allowances, bonuses, absences), each with a decimal value
//! kept exact in hundredths. A variable belongs to one pointage and is
//! added only while that pointage may be edited (brouillon or rejete): once
//! submitted, the pointage and its variables are the statement a
//! responsable validates, and a validated one is final.

use std::fmt;

use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::events::{Jour, VariablePaieCreated};
use crate::pointage::{Pointage, PointageError};
use crate::values::Commentaire;

/// The kinds of variables de paie, in the order payroll lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeVariable {
    HeuresNormales,
    HeuresSupplementaires,
    HeuresNuit,
    HeuresDimanche,
    HeuresFerie,
    PanierRepas,
    IndemniteTransport,
    PrimeIntemperies,
    PrimeSalissure,
    PrimeOutillage,
    CongesPayes,
    Rtt,
    Maladie,
    AccidentTravail,
    AbsenceInjustifiee,
    AbsenceJustifiee,
    Formation,
    Deplacement,
}

impl TypeVariable {
    pub const ALL: [Self; 18] = [
        Self::HeuresNormales,
        Self::HeuresSupplementaires,
        Self::HeuresNuit,
        Self::HeuresDimanche,
        Self::HeuresFerie,
        Self::PanierRepas,
        Self::IndemniteTransport,
        Self::PrimeIntemperies,
        Self::PrimeSalissure,
        Self::PrimeOutillage,
        Self::CongesPayes,
        Self::Rtt,
        Self::Maladie,
        Self::AccidentTravail,
        Self::AbsenceInjustifiee,
        Self::AbsenceJustifiee,
        Self::Formation,
        Self::Deplacement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HeuresNormales => "heures_normales",
            Self::HeuresSupplementaires => "heures_supplementaires",
            Self::HeuresNuit => "heures_nuit",
            Self::HeuresDimanche => "heures_dimanche",
            Self::HeuresFerie => "heures_ferie",
            Self::PanierRepas => "panier_repas",
            Self::IndemniteTransport => "indemnite_transport",
            Self::PrimeIntemperies => "prime_intemperies",
            Self::PrimeSalissure => "prime_salissure",
            Self::PrimeOutillage => "prime_outillage",
            Self::CongesPayes => "conges_payes",
            Self::Rtt => "rtt",
            Self::Maladie => "maladie",
            Self::AccidentTravail => "accident_travail",
            Self::AbsenceInjustifiee => "absence_injustifiee",
            Self::AbsenceJustifiee => "absence_justifiee",
            Self::Formation => "formation",
            Self::Deplacement => "deplacement",
        }
    }

    /// The label shown next to it (the original's).
    pub fn libelle(self) -> &'static str {
        match self {
            Self::HeuresNormales => "Heures normales",
            Self::HeuresSupplementaires => "Heures supplémentaires",
            Self::HeuresNuit => "Heures de nuit",
            Self::HeuresDimanche => "Heures dimanche",
            Self::HeuresFerie => "Heures jour férié",
            Self::PanierRepas => "Panier repas",
            Self::IndemniteTransport => "Indemnité transport",
            Self::PrimeIntemperies => "Prime intempéries",
            Self::PrimeSalissure => "Prime salissure",
            Self::PrimeOutillage => "Prime outillage",
            Self::CongesPayes => "Congés payés",
            Self::Rtt => "RTT",
            Self::Maladie => "Maladie",
            Self::AccidentTravail => "Accident du travail",
            Self::AbsenceInjustifiee => "Absence injustifiée",
            Self::AbsenceJustifiee => "Absence justifiée",
            Self::Formation => "Formation",
            Self::Deplacement => "Déplacement",
        }
    }

    /// Case-insensitive, surrounding blanks ignored; `None` when unknown.
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(input))
    }

    /// Every value, for an error message.
    pub fn valeurs() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for TypeVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValeurError {
    #[error("must be a decimal number such as 12.5 or 12.50 (at most two decimals)")]
    Format,
    #[error("must not be negative")]
    Negative,
    #[error("must be at most 99999999.99")]
    TooLarge,
}

/// A non-negative decimal with at most two places, kept exact as whole
/// hundredths (12.50 → 1250); at most 99 999 999.99 (the original
/// `Numeric(10,2)`). Printed with two places (`12.50`), which is also how
/// events and answers carry it: a string, so no consumer rounds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Valeur(u64);

impl Valeur {
    pub const ZERO: Self = Self(0);
    pub const MAX_CENTIEMES: u64 = 9_999_999_999;

    /// Parses `12`, `12.5`, `12.50` (a comma is taken for the point too).
    pub fn parse(input: &str) -> Result<Self, ValeurError> {
        let input = input.trim();
        let (negative, body) = match input.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, input.strip_prefix('+').unwrap_or(input)),
        };
        let (entiers, decimales) = body.split_once(['.', ',']).unwrap_or((body, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (entiers.is_empty() && decimales.is_empty())
            || !digits(entiers)
            || !digits(decimales)
            || decimales.len() > 2
            || (body.contains(['.', ',']) && decimales.is_empty())
        {
            return Err(ValeurError::Format);
        }
        let entiers = entiers.trim_start_matches('0');
        if entiers.len() > 8 {
            return Err(if negative {
                ValeurError::Negative
            } else {
                ValeurError::TooLarge
            });
        }
        let entiers: u64 = if entiers.is_empty() {
            0
        } else {
            entiers.parse().map_err(|_| ValeurError::Format)?
        };
        let centiemes: u64 = match decimales.len() {
            0 => 0,
            1 => u64::from(decimales.as_bytes()[0] - b'0') * 10,
            _ => decimales.parse().map_err(|_| ValeurError::Format)?,
        };
        let valeur = Self::from_centiemes(entiers * 100 + centiemes)?;
        if negative && valeur != Self::ZERO {
            return Err(ValeurError::Negative);
        }
        Ok(valeur)
    }

    /// Stored hundredths; refused past the maximum.
    pub fn from_centiemes(centiemes: u64) -> Result<Self, ValeurError> {
        if centiemes > Self::MAX_CENTIEMES {
            return Err(ValeurError::TooLarge);
        }
        Ok(Self(centiemes))
    }

    pub fn centiemes(self) -> u64 {
        self.0
    }

    /// The sum, saturating: totals of a week may pass the maximum of one.
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Valeur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// In events: the decimal as a string with two places (`"12.50"`).
impl Serialize for Valeur {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Valeur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Valeur".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{1,8}\\.[0-9]{2}$",
            "description": "A non-negative decimal with two places, as a string (exact)"
        })
    }
}

/// What adding a variable gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NouvelleVariable {
    pub type_variable: TypeVariable,
    pub valeur: Valeur,
    pub date_application: Date,
    pub commentaire: Option<Commentaire>,
}

/// A variable de paie of one pointage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariablePaie {
    pub id: Uuid,
    pub pointage_id: Uuid,
    pub type_variable: TypeVariable,
    pub valeur: Valeur,
    pub date_application: Date,
    pub commentaire: Option<Commentaire>,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

impl VariablePaie {
    /// Adds a variable to `pointage` while it may be edited (brouillon or
    /// rejete); a submitted or validated pointage is refused with
    /// [`PointageError::NonModifiable`], and nothing changes.
    pub fn create(
        pointage: &Pointage,
        nouvelle: NouvelleVariable,
        created_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(Self, VariablePaieCreated), PointageError> {
        if !pointage.is_editable() {
            return Err(PointageError::NonModifiable(pointage.statut()));
        }
        let variable = Self {
            id: Uuid::now_v7(),
            pointage_id: pointage.id(),
            type_variable: nouvelle.type_variable,
            valeur: nouvelle.valeur,
            date_application: nouvelle.date_application,
            commentaire: nouvelle.commentaire,
            created_by,
            created_at: now,
        };
        let event = VariablePaieCreated {
            variable_id: variable.id,
            heures_id: pointage.id(),
            utilisateur_id: pointage.utilisateur_id(),
            chantier_id: pointage.chantier_id(),
            type_variable: variable.type_variable,
            valeur: variable.valeur,
            date_application: Jour(variable.date_application),
        };
        Ok((variable, event))
    }
}

/// The sum of one type of variable over a set of variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalVariable {
    pub type_variable: TypeVariable,
    pub total: Valeur,
}

/// Running sums per type of variable, for totals summed as lines go by
/// (an export's users and week).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TotauxVariables([Option<Valeur>; TypeVariable::ALL.len()]);

impl TotauxVariables {
    pub fn add(&mut self, variable: &VariablePaie) {
        let sum = &mut self.0[variable.type_variable as usize];
        *sum = Some(sum.unwrap_or_default().saturating_add(variable.valeur));
    }

    /// The sum of one type (zero when it has none).
    pub fn of(&self, type_variable: TypeVariable) -> Valeur {
        self.0[type_variable as usize].unwrap_or_default()
    }

    /// The sums, in the types' order; types without any variable are left out.
    pub fn lignes(&self) -> Vec<TotalVariable> {
        TypeVariable::ALL
            .into_iter()
            .zip(self.0)
            .filter_map(|(type_variable, total)| {
                total.map(|total| TotalVariable {
                    type_variable,
                    total,
                })
            })
            .collect()
    }
}

/// The sums per type of `variables`, in the types' order; types without
/// any variable are left out.
pub fn totaux_variables<'a>(
    variables: impl IntoIterator<Item = &'a VariablePaie>,
) -> Vec<TotalVariable> {
    let mut totaux = TotauxVariables::default();
    for variable in variables {
        totaux.add(variable);
    }
    totaux.lignes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HeuresMinutes, Motif, NouveauPointage, Statut};
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-12-07 18:00 UTC);

    fn pointage(statut: Statut) -> Pointage {
        let (mut p, _) = Pointage::create(
            NouveauPointage {
                utilisateur_id: Uuid::from_u128(1),
                chantier_id: Uuid::from_u128(2),
                date: date!(2026 - 12 - 07),
                heures_normales: HeuresMinutes::parse("8:00").unwrap(),
                heures_supplementaires: HeuresMinutes::ZERO,
                commentaire: None,
                affectation_id: None,
            },
            None,
            NOW,
        );
        let chef = Uuid::from_u128(9);
        match statut {
            Statut::Brouillon => {}
            Statut::Soumis => {
                p.submit(NOW).unwrap();
            }
            Statut::Valide => {
                p.submit(NOW).unwrap();
                p.validate(chef, NOW).unwrap();
            }
            Statut::Rejete => {
                p.submit(NOW).unwrap();
                p.reject(chef, Motif::parse("non").unwrap(), NOW).unwrap();
            }
        }
        p
    }

    fn nouvelle(type_variable: TypeVariable, valeur: &str) -> NouvelleVariable {
        NouvelleVariable {
            type_variable,
            valeur: Valeur::parse(valeur).unwrap(),
            date_application: date!(2026 - 12 - 07),
            commentaire: None,
        }
    }

    #[test]
    fn types_parse_case_insensitively_and_have_their_labels() {
        assert_eq!(
            TypeVariable::parse(" PANIER_Repas "),
            Some(TypeVariable::PanierRepas)
        );
        assert_eq!(TypeVariable::parse("prime"), None);
        assert_eq!(TypeVariable::Rtt.libelle(), "RTT");
        assert_eq!(TypeVariable::HeuresFerie.libelle(), "Heures jour férié");
        for t in TypeVariable::ALL {
            assert_eq!(TypeVariable::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!(TypeVariable::valeurs().starts_with("heures_normales, heures_supplementaires"));
    }

    #[test]
    fn values_are_exact_hundredths_never_negative() {
        assert_eq!(Valeur::parse("12.5").unwrap().centiemes(), 1250);
        assert_eq!(Valeur::parse("12,05").unwrap().to_string(), "12.05");
        assert_eq!(Valeur::parse("0.1").unwrap().to_string(), "0.10");
        assert_eq!(Valeur::parse("7").unwrap().to_string(), "7.00");
        assert_eq!(Valeur::parse(".5").unwrap().centiemes(), 50);
        assert_eq!(Valeur::parse("-0").unwrap(), Valeur::ZERO);
        assert_eq!(Valeur::parse("-1.5"), Err(ValeurError::Negative));
        assert_eq!(Valeur::parse("100000000"), Err(ValeurError::TooLarge));
        assert_eq!(
            Valeur::parse("99999999.99").unwrap().centiemes(),
            9_999_999_999
        );
        for bad in ["", "1.234", "1.", "abc", "1e3", "1.2.3", "--1", " . "] {
            assert_eq!(Valeur::parse(bad), Err(ValeurError::Format), "{bad:?}");
        }
        assert_eq!(
            serde_json::to_value(Valeur::parse("3").unwrap()).unwrap(),
            "3.00"
        );
    }

    proptest! {
        #[test]
        fn every_value_round_trips_through_its_text(centiemes in 0u64..=Valeur::MAX_CENTIEMES) {
            let valeur = Valeur::from_centiemes(centiemes).unwrap();
            prop_assert_eq!(Valeur::parse(&valeur.to_string()).unwrap(), valeur);
        }

        #[test]
        fn arbitrary_text_never_panics(input in "\\PC{0,16}") {
            if let Ok(valeur) = Valeur::parse(&input) {
                prop_assert!(valeur.centiemes() <= Valeur::MAX_CENTIEMES);
            }
        }
    }

    #[test]
    fn a_variable_is_added_only_while_the_pointage_is_editable() {
        for statut in Statut::ALL {
            let p = pointage(statut);
            let added = VariablePaie::create(
                &p,
                nouvelle(TypeVariable::PanierRepas, "9.40"),
                Some(Uuid::from_u128(1)),
                NOW,
            );
            if statut.is_editable() {
                let (variable, event) = added.unwrap();
                assert_eq!(variable.pointage_id, p.id());
                assert_eq!(event.heures_id, p.id());
                assert_eq!(event.variable_id, variable.id);
                let data = serde_json::to_value(&event).unwrap();
                assert_eq!(data["valeur"], "9.40");
                assert_eq!(data["type_variable"], "panier_repas");
                assert_eq!(data["date_application"], "2026-12-07");
                assert_eq!(data["chantier_id"], Uuid::from_u128(2).to_string());
            } else {
                assert_eq!(added, Err(PointageError::NonModifiable(statut)));
            }
        }
    }

    #[test]
    fn totals_sum_each_type_in_the_types_order() {
        let p = pointage(Statut::Brouillon);
        let variable = |t, v| {
            VariablePaie::create(&p, nouvelle(t, v), None, NOW)
                .unwrap()
                .0
        };
        let variables = [
            variable(TypeVariable::PrimeSalissure, "3.50"),
            variable(TypeVariable::PanierRepas, "9.40"),
            variable(TypeVariable::PanierRepas, "9.45"),
        ];
        assert_eq!(
            totaux_variables(&variables),
            [
                TotalVariable {
                    type_variable: TypeVariable::PanierRepas,
                    total: Valeur::parse("18.85").unwrap()
                },
                TotalVariable {
                    type_variable: TypeVariable::PrimeSalissure,
                    total: Valeur::parse("3.5").unwrap()
                },
            ]
        );
        assert!(totaux_variables(&[]).is_empty());
    }
}
