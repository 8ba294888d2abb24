//! The priority of a signalement, which sets its processing delay, and the
//! escalation levels reached as that delay runs out.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::ValueError;

/// How urgent a signalement is; it sets the deadline when no desired date
/// is given.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priorite {
    /// 4 hours.
    Critique,
    /// 24 hours.
    Haute,
    /// 48 hours (the default).
    Moyenne,
    /// 72 hours.
    Basse,
}

impl Priorite {
    /// From most to least urgent (the order of lists).
    pub const ALL: [Priorite; 4] = [
        Priorite::Critique,
        Priorite::Haute,
        Priorite::Moyenne,
        Priorite::Basse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priorite::Critique => "critique",
            Priorite::Haute => "haute",
            Priorite::Moyenne => "moyenne",
            Priorite::Basse => "basse",
        }
    }

    /// The time allowed to deal with it.
    pub fn delai(self) -> Duration {
        Duration::hours(match self {
            Priorite::Critique => 4,
            Priorite::Haute => 24,
            Priorite::Moyenne => 48,
            Priorite::Basse => 72,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Priorite::Critique => "Critique (4h)",
            Priorite::Haute => "Haute (24h)",
            Priorite::Moyenne => "Moyenne (48h)",
            Priorite::Basse => "Basse (72h)",
        }
    }

    pub fn couleur(self) -> &'static str {
        match self {
            Priorite::Critique => "red",
            Priorite::Haute => "orange",
            Priorite::Moyenne => "yellow",
            Priorite::Basse => "green",
        }
    }
}

impl fmt::Display for Priorite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priorite {
    type Err = ValueError;

    /// Case is ignored, as in the original.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priorite::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(ValueError::NotOneOf("critique, haute, moyenne, basse"))
    }
}

/// An escalation level: reached at 50, 100 and 200 % of the time allowed;
/// each names the role integrators should alert (recipients are cumulative).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NiveauEscalade {
    /// 50 %: the chefs de chantier (and the creator).
    ChefChantier,
    /// 100 % (late): adds the conducteurs.
    Conducteur,
    /// 200 %: adds the administrators.
    Admin,
}

impl NiveauEscalade {
    pub const ALL: [NiveauEscalade; 3] = [
        NiveauEscalade::ChefChantier,
        NiveauEscalade::Conducteur,
        NiveauEscalade::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NiveauEscalade::ChefChantier => "chef_chantier",
            NiveauEscalade::Conducteur => "conducteur",
            NiveauEscalade::Admin => "admin",
        }
    }

    /// 1, 2 or 3 (the `niveau` of `signalement.escalated`, `nb_escalades`).
    pub fn rang(self) -> u8 {
        match self {
            NiveauEscalade::ChefChantier => 1,
            NiveauEscalade::Conducteur => 2,
            NiveauEscalade::Admin => 3,
        }
    }

    /// The level of rank 1 to 3.
    pub fn of_rang(rang: i16) -> Option<Self> {
        NiveauEscalade::ALL
            .into_iter()
            .find(|n| i16::from(n.rang()) == rang)
    }

    /// Percentage of the time allowed at which it is reached.
    pub fn seuil_pourcentage(self) -> i64 {
        match self {
            NiveauEscalade::ChefChantier => 50,
            NiveauEscalade::Conducteur => 100,
            NiveauEscalade::Admin => 200,
        }
    }

    /// The highest level reached at `pourcentage` of the time allowed.
    pub fn atteint(pourcentage: f64) -> Option<Self> {
        NiveauEscalade::ALL
            .into_iter()
            .rev()
            .find(|n| pourcentage >= n.seuil_pourcentage() as f64)
    }
}

impl fmt::Display for NiveauEscalade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn priorities_parse_ignoring_case_and_set_the_delay() {
        assert_eq!("CRITIQUE".parse::<Priorite>().unwrap(), Priorite::Critique);
        assert_eq!(" haute ".parse::<Priorite>().unwrap(), Priorite::Haute);
        assert!("urgente".parse::<Priorite>().is_err());
        let hours: Vec<i64> = Priorite::ALL
            .iter()
            .map(|p| p.delai().whole_hours())
            .collect();
        assert_eq!(hours, [4, 24, 48, 72]);
        for p in Priorite::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
    }

    #[test]
    fn levels_are_reached_at_50_100_and_200_percent() {
        assert_eq!(NiveauEscalade::atteint(49.9), None);
        assert_eq!(
            NiveauEscalade::atteint(50.0),
            Some(NiveauEscalade::ChefChantier)
        );
        assert_eq!(
            NiveauEscalade::atteint(199.0),
            Some(NiveauEscalade::Conducteur)
        );
        assert_eq!(NiveauEscalade::atteint(500.0), Some(NiveauEscalade::Admin));
        for n in NiveauEscalade::ALL {
            assert_eq!(NiveauEscalade::of_rang(i16::from(n.rang())), Some(n));
        }
        assert_eq!(NiveauEscalade::of_rang(0), None);
    }

    proptest! {
        #[test]
        fn the_level_never_goes_down_as_time_passes(a in 0.0f64..400.0, b in 0.0f64..400.0) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(NiveauEscalade::atteint(low) <= NiveauEscalade::atteint(high));
        }
    }
}
