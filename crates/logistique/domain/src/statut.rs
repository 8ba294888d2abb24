//! The life of a réservation: en_attente → validee / refusee / annulee,
//! validee → annulee. refusee and annulee are final.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ValueError;

/// Where a réservation stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StatutReservation {
    /// Waiting for a valideur; holds the slot already.
    EnAttente,
    /// Approved (or auto-approved); holds the slot.
    Validee,
    /// Refused, with a motif; final.
    Refusee,
    /// Cancelled; final.
    Annulee,
}

/// A move the statut machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Transition invalide: {} → {}", .from.label(), .to.label())]
pub struct InvalidTransition {
    pub from: StatutReservation,
    pub to: StatutReservation,
}

impl StatutReservation {
    pub const ALL: [StatutReservation; 4] = [
        StatutReservation::EnAttente,
        StatutReservation::Validee,
        StatutReservation::Refusee,
        StatutReservation::Annulee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnAttente => "en_attente",
            Self::Validee => "validee",
            Self::Refusee => "refusee",
            Self::Annulee => "annulee",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::EnAttente => "En attente",
            Self::Validee => "Validée",
            Self::Refusee => "Refusée",
            Self::Annulee => "Annulée",
        }
    }

    pub fn couleur(self) -> &'static str {
        match self {
            Self::EnAttente => "#FFC107",
            Self::Validee => "#4CAF50",
            Self::Refusee => "#F44336",
            Self::Annulee => "#9E9E9E",
        }
    }

    /// Occupies its slot: no other booking of the ressource may overlap it.
    pub fn est_active(self) -> bool {
        matches!(self, Self::EnAttente | Self::Validee)
    }

    /// No move leaves it.
    pub fn est_finale(self) -> bool {
        matches!(self, Self::Refusee | Self::Annulee)
    }

    /// Checks a move: en_attente → validee | refusee | annulee, and
    /// validee → annulee.
    pub fn transition_to(self, to: Self) -> Result<Self, InvalidTransition> {
        use StatutReservation::*;
        match (self, to) {
            (EnAttente, Validee | Refusee | Annulee) | (Validee, Annulee) => Ok(to),
            _ => Err(InvalidTransition { from: self, to }),
        }
    }
}

impl fmt::Display for StatutReservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StatutReservation {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|statut| statut.as_str() == s.trim())
            .ok_or(ValueError::NotOneOf(
                "en_attente, validee, refusee, annulee",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_is_decided() {
        use StatutReservation::*;
        let allowed = [
            (EnAttente, Validee),
            (EnAttente, Refusee),
            (EnAttente, Annulee),
            (Validee, Annulee),
        ];
        for from in StatutReservation::ALL {
            for to in StatutReservation::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.transition_to(to).is_ok(), expected, "{from} → {to}");
            }
        }
    }

    #[test]
    fn refusals_name_both_statuts() {
        let err = StatutReservation::Refusee
            .transition_to(StatutReservation::Validee)
            .unwrap_err();
        assert_eq!(err.to_string(), "Transition invalide: Refusée → Validée");
    }

    #[test]
    fn only_pending_and_validated_hold_the_slot_and_the_others_are_final() {
        for statut in StatutReservation::ALL {
            assert_eq!(statut.est_active(), !statut.est_finale(), "{statut}");
            assert_eq!(
                statut.as_str().parse::<StatutReservation>().unwrap(),
                statut
            );
            assert_eq!(serde_json::to_value(statut).unwrap(), statut.as_str());
        }
        assert!(StatutReservation::EnAttente.est_active());
        assert!(StatutReservation::Validee.est_active());
    }
}
