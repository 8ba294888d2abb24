//! The life of a site: ouvert → en_cours → receptionne → ferme.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a site stands. Moves only go forward; `ferme` is final.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    /// Created, works not started.
    Ouvert,
    /// Works under way.
    EnCours,
    /// Works handed over to the client (réception des travaux).
    Receptionne,
    /// Closed for good.
    Ferme,
}

/// A move the statut machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a chantier cannot go from `{from}` to `{to}`{}", reason(*.from, *.to))]
pub struct InvalidTransition {
    pub from: Statut,
    pub to: Statut,
}

fn reason(from: Statut, to: Statut) -> &'static str {
    if from == Statut::Ferme {
        " (a closed chantier is final)"
    } else if from == to {
        " (it already is)"
    } else {
        " (statuts only move forward)"
    }
}

impl Statut {
    pub const ALL: [Statut; 4] = [
        Statut::Ouvert,
        Statut::EnCours,
        Statut::Receptionne,
        Statut::Ferme,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Statut::Ouvert => "ouvert",
            Statut::EnCours => "en_cours",
            Statut::Receptionne => "receptionne",
            Statut::Ferme => "ferme",
        }
    }

    /// Checks a move: strictly forward (a site may be closed before its
    /// works start, e.g. when a project is abandoned); never out of `ferme`.
    pub fn transition_to(self, to: Statut) -> Result<Statut, InvalidTransition> {
        if to > self {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
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

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Statut::ALL
            .into_iter()
            .find(|statut| statut.as_str() == s)
            .ok_or(crate::ValueError::NotOneOf(
                "ouvert, en_cours, receptionne, ferme",
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
            (Ouvert, Receptionne),
            (Ouvert, Ferme),
            (EnCours, Receptionne),
            (EnCours, Ferme),
            (Receptionne, Ferme),
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
        let back = Statut::EnCours.transition_to(Statut::Ouvert).unwrap_err();
        assert_eq!(
            back.to_string(),
            "a chantier cannot go from `en_cours` to `ouvert` (statuts only move forward)"
        );
        let closed = Statut::Ferme.transition_to(Statut::Ferme).unwrap_err();
        assert!(closed.to_string().ends_with("(a closed chantier is final)"));
        let same = Statut::Ouvert.transition_to(Statut::Ouvert).unwrap_err();
        assert!(same.to_string().ends_with("(it already is)"));
    }

    #[test]
    fn names_round_trip() {
        for statut in Statut::ALL {
            assert_eq!(statut.as_str().parse::<Statut>().unwrap(), statut);
            assert_eq!(serde_json::to_value(statut).unwrap(), statut.as_str());
        }
        assert!("termine".parse::<Statut>().is_err());
    }
}
