//! Figures over a week of hours: the progress gauge of one user (FDH-14)
//! and the comparison of the teams of each chantier (FDH-15), with the
//! original's thresholds.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::{HeuresMinutes, Pointage};

/// The hours a week is planned for when nothing else is said.
pub const HEURES_SEMAINE: f64 = 35.0;

/// Beyond this gap (in percent of the plan) a team's week is an écart.
pub const SEUIL_ECART: f64 = 15.0;

/// Where a user is against his planned hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatutJauge {
    /// At least 110 % of the plan.
    EnAvance,
    /// From 90 % to 110 %.
    Normal,
    /// Below 90 %.
    EnRetard,
}

impl StatutJauge {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnAvance => "en_avance",
            Self::Normal => "normal",
            Self::EnRetard => "en_retard",
        }
    }
}

/// A user's week against its plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jauge {
    pub heures_planifiees: f64,
    pub realise: HeuresMinutes,
    /// réalisé / planifié × 100; 0 when nothing is planned.
    pub taux: f64,
    pub statut: StatutJauge,
}

/// réalisé / planifié in percent, 0 when nothing is planned.
fn taux(realise: HeuresMinutes, planifie: f64) -> f64 {
    if planifie <= 0.0 {
        0.0
    } else {
        realise.decimal() / planifie * 100.0
    }
}

/// The gauge of `realise` hours against `heures_planifiees`.
pub fn jauge(realise: HeuresMinutes, heures_planifiees: f64) -> Jauge {
    let taux = taux(realise, heures_planifiees);
    let statut = if taux >= 110.0 {
        StatutJauge::EnAvance
    } else if taux >= 90.0 {
        StatutJauge::Normal
    } else {
        StatutJauge::EnRetard
    };
    Jauge {
        heures_planifiees,
        realise,
        taux,
        statut,
    }
}

/// The week of one chantier's team.
#[derive(Debug, Clone, PartialEq)]
pub struct Equipe {
    pub chantier_id: Uuid,
    /// The distinct users with hours there that week.
    pub nombre_utilisateurs: usize,
    /// [`HEURES_SEMAINE`] per user.
    pub heures_planifiees: f64,
    pub realise: HeuresMinutes,
    pub taux: f64,
}

/// Which way a team is off its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensEcart {
    Surplus,
    Deficit,
}

impl SensEcart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Surplus => "surplus",
            Self::Deficit => "deficit",
        }
    }
}

/// A team more than [`SEUIL_ECART`] % off its plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Ecart {
    pub chantier_id: Uuid,
    pub sens: SensEcart,
    /// |réalisé − planifié| in hours.
    pub ecart_heures: f64,
    /// |taux − 100|.
    pub ecart_pourcentage: f64,
}

/// The teams of every chantier with hours among `pointages` (one week's),
/// by chantier id, and those off their plan.
pub fn comparaison<'a>(
    pointages: impl IntoIterator<Item = &'a Pointage>,
) -> (Vec<Equipe>, Vec<Ecart>) {
    let mut par_chantier: BTreeMap<Uuid, (BTreeSet<Uuid>, HeuresMinutes)> = BTreeMap::new();
    for pointage in pointages {
        let (users, total) = par_chantier.entry(pointage.chantier_id()).or_default();
        users.insert(pointage.utilisateur_id());
        *total = total.saturating_add(pointage.total());
    }
    let mut equipes = Vec::with_capacity(par_chantier.len());
    let mut ecarts = Vec::new();
    for (chantier_id, (users, realise)) in par_chantier {
        let heures_planifiees = HEURES_SEMAINE * users.len() as f64;
        let taux = taux(realise, heures_planifiees);
        if (taux - 100.0).abs() > SEUIL_ECART {
            ecarts.push(Ecart {
                chantier_id,
                sens: if realise.decimal() > heures_planifiees {
                    SensEcart::Surplus
                } else {
                    SensEcart::Deficit
                },
                ecart_heures: (realise.decimal() - heures_planifiees).abs(),
                ecart_pourcentage: (taux - 100.0).abs(),
            });
        }
        equipes.push(Equipe {
            chantier_id,
            nombre_utilisateurs: users.len(),
            heures_planifiees,
            realise,
            taux,
        });
    }
    (equipes, ecarts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NouveauPointage;
    use time::macros::{date, datetime};

    fn h(text: &str) -> HeuresMinutes {
        HeuresMinutes::parse(text).unwrap()
    }

    #[test]
    fn the_gauge_uses_the_original_thresholds() {
        let at = |realise: &str, plan: f64| jauge(h(realise), plan).statut;
        assert_eq!(at("38:30", 35.0), StatutJauge::EnAvance); // 110 %
        assert_eq!(at("38:29", 35.0), StatutJauge::Normal);
        assert_eq!(at("31:30", 35.0), StatutJauge::Normal); // 90 %
        assert_eq!(at("31:29", 35.0), StatutJauge::EnRetard);
        let none = jauge(h("10:00"), 0.0);
        assert_eq!((none.taux, none.statut), (0.0, StatutJauge::EnRetard));
        assert!((jauge(h("17:30"), 35.0).taux - 50.0).abs() < 1e-9);
    }

    fn pointage(user: u128, chantier: u128, jour: time::Date, heures: &str) -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: Uuid::from_u128(user),
                chantier_id: Uuid::from_u128(chantier),
                date: jour,
                heures_normales: h(heures),
                heures_supplementaires: HeuresMinutes::ZERO,
                commentaire: None,
                affectation_id: None,
            },
            None,
            datetime!(2026-12-07 08:00 UTC),
        )
        .0
    }

    #[test]
    fn teams_are_planned_35_hours_per_user_and_gaps_past_15_percent_are_ecarts() {
        let rows = [
            // Chantier 10: two users, 70 h planned, 72 h done: within 15 %.
            pointage(1, 10, date!(2026 - 12 - 07), "36:00"),
            pointage(2, 10, date!(2026 - 12 - 07), "36:00"),
            // Chantier 11: one user, 35 h planned, 42 h done: +20 %.
            pointage(1, 11, date!(2026 - 12 - 08), "42:00"),
            // Chantier 12: one user twice, 35 h planned, 14 h done: −60 %.
            pointage(3, 12, date!(2026 - 12 - 08), "7:00"),
            pointage(3, 12, date!(2026 - 12 - 09), "7:00"),
        ];
        let (equipes, ecarts) = comparaison(&rows);
        let summary: Vec<(u128, usize, f64, u32)> = equipes
            .iter()
            .map(|e| {
                (
                    e.chantier_id.as_u128(),
                    e.nombre_utilisateurs,
                    e.heures_planifiees,
                    e.realise.minutes(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (10, 2, 70.0, 72 * 60),
                (11, 1, 35.0, 42 * 60),
                (12, 1, 35.0, 14 * 60)
            ]
        );
        assert_eq!(ecarts.len(), 2);
        assert_eq!(
            (ecarts[0].chantier_id.as_u128(), ecarts[0].sens),
            (11, SensEcart::Surplus)
        );
        assert!((ecarts[0].ecart_heures - 7.0).abs() < 1e-9);
        assert!((ecarts[0].ecart_pourcentage - 20.0).abs() < 1e-9);
        assert_eq!(
            (ecarts[1].chantier_id.as_u128(), ecarts[1].sens),
            (12, SensEcart::Deficit)
        );
        assert!((ecarts[1].ecart_heures - 21.0).abs() < 1e-9);
    }
}
