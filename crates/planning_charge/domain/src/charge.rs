//! The grid's formulas: a cell's coverage and, per week, the footer's
//! occupation rate, people to hire and people to place. Pure functions over
//! whole minutes, so that sums are exact and the thresholds (70, 90 and
//! 100 %) are decided without rounding error.

use schemars::JsonSchema;
use serde::Serialize;

/// Hours of one working day: what an affectation without times counts.
pub const HEURES_PAR_JOUR: u64 = 7;
/// Hours of one person's working week: capacity per person, and the unit of
/// people to hire.
pub const HEURES_PAR_SEMAINE: u64 = 35;

const MINUTES_PAR_JOUR: u64 = HEURES_PAR_JOUR * 60;
const MINUTES_PAR_SEMAINE: u64 = HEURES_PAR_SEMAINE * 60;

/// The minutes one affectation plans: its times when it has both (end
/// after start), otherwise a working day of [`HEURES_PAR_JOUR`] (the
/// original counted 7 h always, ignoring the times).
pub fn minutes_affectation(debut: Option<u16>, fin: Option<u16>) -> u64 {
    match (debut, fin) {
        (Some(debut), Some(fin)) if fin > debut => u64::from(fin - debut),
        _ => MINUTES_PAR_JOUR,
    }
}

/// The weekly capacity of `effectif` people: 35 h each.
pub fn capacite(effectif: u64) -> u64 {
    effectif.saturating_mul(MINUTES_PAR_SEMAINE)
}

/// A cell's hours needed but not planned: max(besoin − planifié, 0).
pub fn besoin_non_couvert(besoin: u64, planifie: u64) -> u64 {
    besoin.saturating_sub(planifie)
}

/// People to hire in a week: the hours needed beyond capacity, in 35-hour
/// weeks, rounded half up.
pub fn a_recruter(besoin: u64, capacite: u64) -> u64 {
    let manque = besoin.saturating_sub(capacite);
    manque.saturating_add(MINUTES_PAR_SEMAINE / 2) / MINUTES_PAR_SEMAINE
}

/// People to place in a week: those of the `effectif` planned nowhere that
/// week (`occupes` counts the distinct people planned at least once).
pub fn a_placer(effectif: u64, occupes: u64) -> u64 {
    effectif.saturating_sub(occupes)
}

/// How loaded a week is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NiveauOccupation {
    /// Below 70 %.
    SousCharge,
    /// 70 % to below 90 %.
    Normal,
    /// 90 % to below 100 %.
    Haute,
    /// Exactly 100 %.
    Surcharge,
    /// Above 100 %.
    Critique,
}

impl NiveauOccupation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SousCharge => "sous_charge",
            Self::Normal => "normal",
            Self::Haute => "haute",
            Self::Surcharge => "surcharge",
            Self::Critique => "critique",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::SousCharge => "Sous-charge",
            Self::Normal => "Normal",
            Self::Haute => "Charge haute",
            Self::Surcharge => "Surcharge",
            Self::Critique => "Critique",
        }
    }

    pub fn couleur(self) -> &'static str {
        match self {
            Self::SousCharge => "#27AE60",
            Self::Normal => "#3498DB",
            Self::Haute => "#F39C12",
            Self::Surcharge => "#E74C3C",
            Self::Critique => "#C0392B",
        }
    }
}

/// A week's occupation: planned hours against capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occupation {
    /// planifié / capacité × 100, not rounded; 0 when both are 0, 200 when
    /// there is planned work but no capacity.
    pub taux: f64,
    pub niveau: NiveauOccupation,
}

impl Occupation {
    /// The occupation of `planifie` minutes against `capacite` minutes.
    pub fn calculer(planifie: u64, capacite: u64) -> Self {
        if capacite == 0 {
            return if planifie == 0 {
                Self {
                    taux: 0.0,
                    niveau: NiveauOccupation::SousCharge,
                }
            } else {
                Self {
                    taux: 200.0,
                    niveau: NiveauOccupation::Critique,
                }
            };
        }
        // The level compares integers (planifié × 100 against threshold ×
        // capacité): 70 % of a capacity is 70 %, not 69.999…
        let centieme = u128::from(planifie) * 100;
        let seuil = |pourcent: u128| pourcent * u128::from(capacite);
        let niveau = if centieme < seuil(70) {
            NiveauOccupation::SousCharge
        } else if centieme < seuil(90) {
            NiveauOccupation::Normal
        } else if centieme < seuil(100) {
            NiveauOccupation::Haute
        } else if centieme == seuil(100) {
            NiveauOccupation::Surcharge
        } else {
            NiveauOccupation::Critique
        };
        Self {
            taux: planifie as f64 / capacite as f64 * 100.0,
            niveau,
        }
    }

    /// An alert from 100 % up (surcharge or critique).
    pub fn alerte(self) -> bool {
        matches!(
            self.niveau,
            NiveauOccupation::Surcharge | NiveauOccupation::Critique
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: u64 = 60;

    #[test]
    fn occupation_of_nothing_is_zero_and_work_without_capacity_is_200() {
        let vide = Occupation::calculer(0, 0);
        assert_eq!(vide.taux, 0.0);
        assert_eq!(vide.niveau, NiveauOccupation::SousCharge);
        assert!(!vide.alerte());
        let sans_capacite = Occupation::calculer(7 * H, 0);
        assert_eq!(sans_capacite.taux, 200.0);
        assert_eq!(sans_capacite.niveau, NiveauOccupation::Critique);
        assert!(sans_capacite.alerte());
    }

    #[test]
    fn occupation_is_planned_over_capacity_not_rounded() {
        // 2 people (70 h) and 21 h planned: 30 %.
        let taux = Occupation::calculer(21 * H, capacite(2)).taux;
        assert_eq!(taux, 30.0);
        // 3 people (105 h), 35 h planned: 33.33…%, not rounded.
        let taux = Occupation::calculer(35 * H, capacite(3)).taux;
        assert!((taux - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn thresholds_are_70_90_and_100_percent() {
        let capacite = 100 * H;
        let niveau = |planifie_heures: f64| {
            Occupation::calculer((planifie_heures * 60.0) as u64, capacite).niveau
        };
        assert_eq!(niveau(0.0), NiveauOccupation::SousCharge);
        assert_eq!(niveau(69.5), NiveauOccupation::SousCharge);
        assert_eq!(niveau(70.0), NiveauOccupation::Normal);
        assert_eq!(niveau(89.5), NiveauOccupation::Normal);
        assert_eq!(niveau(90.0), NiveauOccupation::Haute);
        assert_eq!(niveau(99.5), NiveauOccupation::Haute);
        assert_eq!(niveau(100.0), NiveauOccupation::Surcharge);
        assert_eq!(niveau(100.5), NiveauOccupation::Critique);
        assert!(!Occupation::calculer(99 * H, capacite).alerte());
        assert!(Occupation::calculer(100 * H, capacite).alerte());
        assert!(Occupation::calculer(101 * H, capacite).alerte());
    }

    #[test]
    fn thresholds_hold_where_floats_would_round() {
        // 3 people: 105 h; 73.5 h is exactly 70 % (0.7 is not exact in binary).
        let occupation = Occupation::calculer(735 * 6, capacite(3));
        assert_eq!(occupation.niveau, NiveauOccupation::Normal);
        // 94.5 h is exactly 90 % of 105 h.
        assert_eq!(
            Occupation::calculer(945 * 6, capacite(3)).niveau,
            NiveauOccupation::Haute
        );
    }

    #[test]
    fn levels_have_the_specs_labels_and_colours() {
        let all = [
            (
                NiveauOccupation::SousCharge,
                "sous_charge",
                "Sous-charge",
                "#27AE60",
            ),
            (NiveauOccupation::Normal, "normal", "Normal", "#3498DB"),
            (NiveauOccupation::Haute, "haute", "Charge haute", "#F39C12"),
            (
                NiveauOccupation::Surcharge,
                "surcharge",
                "Surcharge",
                "#E74C3C",
            ),
            (
                NiveauOccupation::Critique,
                "critique",
                "Critique",
                "#C0392B",
            ),
        ];
        for (niveau, code, label, couleur) in all {
            assert_eq!(
                (niveau.as_str(), niveau.label(), niveau.couleur()),
                (code, label, couleur)
            );
            assert_eq!(serde_json::to_value(niveau).unwrap(), code);
        }
    }

    #[test]
    fn people_to_hire_round_half_up_in_35_hour_weeks() {
        // Needs within capacity: nobody.
        assert_eq!(a_recruter(70 * H, capacite(2)), 0);
        assert_eq!(a_recruter(0, 0), 0);
        // 17 h short: 0.49 → 0; 17.5 h short: 0.5 → 1 (half up).
        assert_eq!(a_recruter(87 * H, capacite(2)), 0);
        assert_eq!(a_recruter(87 * H + 30, capacite(2)), 1);
        // 52.5 h with no capacity: 1.5 → 2; 105 h: 3.
        assert_eq!(a_recruter(52 * H + 30, 0), 2);
        assert_eq!(a_recruter(105 * H, 0), 3);
    }

    #[test]
    fn people_to_place_are_those_planned_nowhere() {
        assert_eq!(a_placer(5, 3), 2);
        assert_eq!(a_placer(5, 5), 0);
        // Someone planned but no longer counted (deactivated): never negative.
        assert_eq!(a_placer(2, 3), 0);
    }

    #[test]
    fn a_cell_is_uncovered_by_what_planning_lacks() {
        assert_eq!(besoin_non_couvert(14 * H, 7 * H), 7 * H);
        assert_eq!(besoin_non_couvert(7 * H, 14 * H), 0);
        assert_eq!(capacite(2), 70 * H);
    }

    #[test]
    fn an_affectation_counts_its_times_or_a_day() {
        assert_eq!(minutes_affectation(None, None), 7 * H);
        assert_eq!(minutes_affectation(Some(7 * 60 + 30), None), 7 * H);
        assert_eq!(
            minutes_affectation(Some(7 * 60 + 30), Some(16 * 60 + 30)),
            9 * H
        );
        assert_eq!(minutes_affectation(Some(10 * 60), Some(9 * 60)), 7 * H);
    }

    proptest! {
        #[test]
        fn the_level_agrees_with_the_rate(planifie in 0u64..1_000_000, capacite in 1u64..1_000_000) {
            let occupation = Occupation::calculer(planifie, capacite);
            let attendu = match occupation.taux {
                t if t < 69.999_999 => Some(NiveauOccupation::SousCharge),
                t if (70.000_001..89.999_999).contains(&t) => Some(NiveauOccupation::Normal),
                t if (90.000_001..99.999_999).contains(&t) => Some(NiveauOccupation::Haute),
                t if t > 100.000_001 => Some(NiveauOccupation::Critique),
                // At a threshold, only the exact integer comparison decides.
                _ => None,
            };
            if let Some(attendu) = attendu {
                prop_assert_eq!(occupation.niveau, attendu);
            }
            prop_assert_eq!(occupation.alerte(), planifie >= capacite);
        }

        #[test]
        fn hiring_covers_the_shortfall_within_half_a_person(besoin in 0u64..10_000_000, capacite in 0u64..10_000_000) {
            let manque = besoin.saturating_sub(capacite) as f64 / MINUTES_PAR_SEMAINE as f64;
            let recrues = a_recruter(besoin, capacite) as f64;
            prop_assert!((recrues - manque).abs() <= 0.5);
        }
    }
}
