//! The life of a signalement: ouvert → en_cours → traite → cloture, and
//! back to ouvert when it is reopened.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a signalement stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    /// Reported, nobody on it yet.
    Ouvert,
    /// Assigned to someone.
    EnCours,
    /// Dealt with (a comment says how); awaiting closure.
    Traite,
    /// Closed by a chef de chantier or above; only a reopening changes it.
    Cloture,
}

/// A move the statut machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a signalement cannot go from `{from}` to `{to}`{}", reason(*.from, *.to))]
pub struct InvalidTransition {
    pub from: Statut,
    pub to: Statut,
}

fn reason(from: Statut, to: Statut) -> &'static str {
    match (from, to) {
        _ if from == to => " (it already is)",
        (_, Statut::Cloture) => " (only a treated signalement can be closed)",
        (_, Statut::Ouvert) => " (it is open already)",
        (Statut::Cloture, _) => " (a closed signalement must be reopened first)",
        (_, Statut::EnCours) => " (only an open signalement is taken on by assigning it)",
        _ => "",
    }
}

impl Statut {
    pub const ALL: [Statut; 4] = [
        Statut::Ouvert,
        Statut::EnCours,
        Statut::Traite,
        Statut::Cloture,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Statut::Ouvert => "ouvert",
            Statut::EnCours => "en_cours",
            Statut::Traite => "traite",
            Statut::Cloture => "cloture",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Statut::Ouvert => "Ouvert",
            Statut::EnCours => "En cours",
            Statut::Traite => "Traité",
            Statut::Cloture => "Clôturé",
        }
    }

    pub fn couleur(self) -> &'static str {
        match self {
            Statut::Ouvert => "red",
            Statut::EnCours => "orange",
            Statut::Traite => "blue",
            Statut::Cloture => "green",
        }
    }

    /// Still to be dealt with: its deadline runs and it may escalate.
    pub fn est_actif(self) -> bool {
        matches!(self, Statut::Ouvert | Statut::EnCours)
    }

    /// Checks a move:
    /// - ouvert → en_cours (assigning it);
    /// - ouvert, en_cours → traite (treating it);
    /// - traite → cloture (closing it; never straight from ouvert or en_cours);
    /// - en_cours, traite, cloture → ouvert (reopening it).
    pub fn transition_to(self, to: Statut) -> Result<Statut, InvalidTransition> {
        use Statut::*;
        match (self, to) {
            (Ouvert, EnCours)
            | (Ouvert | EnCours, Traite)
            | (Traite, Cloture)
            | (EnCours | Traite | Cloture, Ouvert) => Ok(to),
            _ => Err(InvalidTransition { from: self, to }),
        }
    }
}

impl fmt::Display for Statut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Statut {
    type Err = crate::ValueError;

    /// Case is ignored, as in the original.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Statut::ALL
            .into_iter()
            .find(|statut| statut.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(crate::ValueError::NotOneOf(
                "ouvert, en_cours, traite, cloture",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_is_decided() {
        use Statut::*;
        let allowed = [
            (Ouvert, EnCours),
            (Ouvert, Traite),
            (EnCours, Traite),
            (Traite, Cloture),
            (EnCours, Ouvert),
            (Traite, Ouvert),
            (Cloture, Ouvert),
        ];
        for from in Statut::ALL {
            for to in Statut::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.transition_to(to).is_ok(), expected, "{from} → {to}");
            }
        }
    }

    #[test]
    fn refusals_explain_themselves() {
        let close = Statut::Ouvert.transition_to(Statut::Cloture).unwrap_err();
        assert_eq!(
            close.to_string(),
            "a signalement cannot go from `ouvert` to `cloture` (only a treated signalement can be closed)"
        );
        let reopen = Statut::Ouvert.transition_to(Statut::Ouvert).unwrap_err();
        assert!(reopen.to_string().ends_with("(it already is)"));
        let treat = Statut::Cloture.transition_to(Statut::Traite).unwrap_err();
        assert!(treat.to_string().ends_with("reopened first)"));
    }

    #[test]
    fn names_round_trip_and_only_open_ones_are_active() {
        for statut in Statut::ALL {
            assert_eq!(statut.as_str().parse::<Statut>().unwrap(), statut);
            assert_eq!(serde_json::to_value(statut).unwrap(), statut.as_str());
        }
        assert_eq!("EN_COURS".parse::<Statut>().unwrap(), Statut::EnCours);
        assert!("ferme".parse::<Statut>().is_err());
        let active: Vec<Statut> = Statut::ALL.into_iter().filter(|s| s.est_actif()).collect();
        assert_eq!(active, [Statut::Ouvert, Statut::EnCours]);
    }
}
