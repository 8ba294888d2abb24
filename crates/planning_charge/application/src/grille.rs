//! The workload grid: one row per open chantier, one column per ISO week,
//! each cell comparing hours needed with hours planned, and per week a
//! footer of the spec's formulas ([`hub_planning_charge_domain::charge`]).
//! All quantities are whole minutes; the HTTP adapter shows hours.

use std::collections::HashMap;

use hub_planning_charge_domain::Semaine;
use hub_planning_charge_domain::charge::{self, Occupation};
use uuid::Uuid;

use crate::ports::{ChantierInfo, Quantite};

/// One chantier in one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cellule {
    pub semaine: Semaine,
    pub planifie: u64,
    pub besoin: u64,
}

impl Cellule {
    /// max(besoin − planifié, 0).
    pub fn besoin_non_couvert(&self) -> u64 {
        charge::besoin_non_couvert(self.besoin, self.planifie)
    }

    pub fn has_besoin(&self) -> bool {
        self.besoin > 0
    }

    /// Planned at least as much as needed.
    pub fn est_couvert(&self) -> bool {
        self.planifie >= self.besoin
    }
}

/// A chantier's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LigneChantier {
    pub chantier_id: Uuid,
    pub code: Option<String>,
    pub nom: Option<String>,
    /// One per week of the grid, in order.
    pub cellules: Vec<Cellule>,
}

/// A week's footer.
#[derive(Debug, Clone, PartialEq)]
pub struct PiedSemaine {
    pub semaine: Semaine,
    /// Σ planned over the rows.
    pub planifie: u64,
    /// Σ needed over the rows.
    pub besoin: u64,
    /// Effectif × 35 h.
    pub capacite: u64,
    pub occupation: Occupation,
    /// People to hire: the needs beyond capacity in 35-hour weeks, half up.
    pub a_recruter: u64,
    /// People of the effectif planned nowhere that week.
    pub a_placer: u64,
}

/// Sums over the whole grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totaux {
    pub planifie: u64,
    pub besoin: u64,
    pub capacite: u64,
}

/// The grid of a range of weeks.
#[derive(Debug, Clone, PartialEq)]
pub struct Grille {
    pub semaines: Vec<Semaine>,
    pub chantiers: Vec<LigneChantier>,
    pub pied: Vec<PiedSemaine>,
    /// The people counted as capacity.
    pub effectif: u64,
    pub totaux: Totaux,
}

impl Grille {
    /// Puts the figures together: `besoins` and `planifie` per (chantier,
    /// week) — figures of chantiers or weeks outside the grid are ignored,
    /// so the footer and totals add up exactly what the rows show (the
    /// original's `besoin_total` also counted hidden chantiers) — the
    /// `effectif`, and per week how many of them are planned somewhere.
    pub fn assembler(
        semaines: Vec<Semaine>,
        chantiers: Vec<ChantierInfo>,
        besoins: &[Quantite],
        planifie: &[Quantite],
        effectif: u64,
        occupes: &[(Semaine, u64)],
    ) -> Self {
        let index = |quantites: &[Quantite]| {
            let mut map: HashMap<(Uuid, Semaine), u64> = HashMap::new();
            for q in quantites {
                *map.entry((q.chantier_id, q.semaine)).or_default() += q.minutes;
            }
            map
        };
        let besoins = index(besoins);
        let planifie = index(planifie);
        let occupes: HashMap<Semaine, u64> = occupes.iter().copied().collect();
        let lignes: Vec<LigneChantier> = chantiers
            .into_iter()
            .map(|chantier| LigneChantier {
                cellules: semaines
                    .iter()
                    .map(|&semaine| {
                        let key = (chantier.chantier_id, semaine);
                        Cellule {
                            semaine,
                            planifie: planifie.get(&key).copied().unwrap_or(0),
                            besoin: besoins.get(&key).copied().unwrap_or(0),
                        }
                    })
                    .collect(),
                chantier_id: chantier.chantier_id,
                code: chantier.code,
                nom: chantier.nom,
            })
            .collect();
        let capacite = charge::capacite(effectif);
        let pied: Vec<PiedSemaine> = semaines
            .iter()
            .enumerate()
            .map(|(i, &semaine)| {
                let (planifie, besoin) = lignes.iter().fold((0, 0), |(p, b), ligne| {
                    (p + ligne.cellules[i].planifie, b + ligne.cellules[i].besoin)
                });
                PiedSemaine {
                    semaine,
                    planifie,
                    besoin,
                    capacite,
                    occupation: Occupation::calculer(planifie, capacite),
                    a_recruter: charge::a_recruter(besoin, capacite),
                    a_placer: charge::a_placer(
                        effectif,
                        occupes.get(&semaine).copied().unwrap_or(0),
                    ),
                }
            })
            .collect();
        let totaux = Totaux {
            planifie: pied.iter().map(|p| p.planifie).sum(),
            besoin: pied.iter().map(|p| p.besoin).sum(),
            capacite: pied.iter().map(|p| p.capacite).sum(),
        };
        Self {
            semaines,
            chantiers: lignes,
            pied,
            effectif,
            totaux,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_planning_charge_domain::charge::NiveauOccupation;

    const H: u64 = 60;

    fn semaine(code: &str) -> Semaine {
        Semaine::parse(code).unwrap()
    }

    fn chantier(n: u128) -> ChantierInfo {
        ChantierInfo {
            chantier_id: Uuid::from_u128(n),
            code: Some(format!("CH-{n}")),
            nom: Some(format!("Chantier {n}")),
            ouvert: true,
            responsables: vec![],
        }
    }

    fn q(n: u128, code: &str, heures: u64) -> Quantite {
        Quantite {
            chantier_id: Uuid::from_u128(n),
            semaine: semaine(code),
            minutes: heures * H,
        }
    }

    #[test]
    fn cells_footer_and_totals_follow_the_spec() {
        let semaines = vec![semaine("2026-W50"), semaine("2026-W51")];
        // 2 people: 70 h of capacity a week.
        let grille = Grille::assembler(
            semaines.clone(),
            vec![chantier(1), chantier(2)],
            &[
                q(1, "2026-W50", 70),
                q(2, "2026-W50", 52),
                q(2, "2026-W51", 14),
            ],
            &[
                q(1, "2026-W50", 35),
                q(2, "2026-W50", 28),
                q(2, "2026-W51", 21),
                // Not a row of the grid (closed or out of sight): ignored.
                q(9, "2026-W51", 700),
            ],
            2,
            &[(semaine("2026-W50"), 2), (semaine("2026-W51"), 1)],
        );
        assert_eq!(grille.semaines, semaines);
        let cellule = grille.chantiers[0].cellules[0];
        assert_eq!((cellule.besoin, cellule.planifie), (70 * H, 35 * H));
        assert_eq!(cellule.besoin_non_couvert(), 35 * H);
        assert!(cellule.has_besoin() && !cellule.est_couvert());
        let vide = grille.chantiers[0].cellules[1];
        assert!(!vide.has_besoin() && vide.est_couvert());

        let w50 = &grille.pied[0];
        assert_eq!(
            (w50.planifie, w50.besoin, w50.capacite),
            (63 * H, 122 * H, 70 * H)
        );
        // 63 / 70 = 90 %: charge haute.
        assert_eq!(w50.occupation.taux, 90.0);
        assert_eq!(w50.occupation.niveau, NiveauOccupation::Haute);
        // 52 h beyond capacity: 1.49 people → 1.
        assert_eq!(w50.a_recruter, 1);
        assert_eq!(w50.a_placer, 0);

        let w51 = &grille.pied[1];
        assert_eq!(w51.occupation.taux, 30.0);
        assert_eq!(w51.occupation.niveau, NiveauOccupation::SousCharge);
        assert_eq!((w51.a_recruter, w51.a_placer), (0, 1));

        assert_eq!(
            grille.totaux,
            Totaux {
                planifie: 84 * H,
                besoin: 136 * H,
                capacite: 140 * H
            }
        );
    }

    #[test]
    fn no_capacity_with_planned_work_is_critical() {
        let grille = Grille::assembler(
            vec![semaine("2026-W50")],
            vec![chantier(1)],
            &[],
            &[q(1, "2026-W50", 7)],
            0,
            &[],
        );
        assert_eq!(grille.pied[0].occupation.taux, 200.0);
        assert!(grille.pied[0].occupation.alerte());
        assert_eq!(grille.pied[0].a_placer, 0);
    }

    proptest::proptest! {
        /// Whatever the figures, each footer adds up its column, the totals
        /// add up the footers, and figures outside the rows are ignored.
        #[test]
        fn footers_and_totals_add_up_the_cells(
            cells in proptest::collection::vec((1u128..4, 0usize..3, 0u64..10_000, 0u64..10_000), 0..30),
            effectif in 0u64..20,
        ) {
            let semaines = vec![semaine("2026-W52"), semaine("2026-W53"), semaine("2027-W01")];
            let quantites = |pick: fn(&(u128, usize, u64, u64)) -> u64| -> Vec<Quantite> {
                cells
                    .iter()
                    .map(|cell| Quantite {
                        chantier_id: Uuid::from_u128(cell.0),
                        semaine: semaines[cell.1],
                        minutes: pick(cell),
                    })
                    .collect()
            };
            let besoins = quantites(|c| c.2);
            let planifie = quantites(|c| c.3);
            // Chantier 3 is not a row.
            let grille = Grille::assembler(
                semaines.clone(),
                vec![chantier(1), chantier(2)],
                &besoins,
                &planifie,
                effectif,
                &[],
            );
            let shown = |q: &&Quantite| q.chantier_id != Uuid::from_u128(3);
            for (i, pied) in grille.pied.iter().enumerate() {
                let column = grille.chantiers.iter().map(|l| l.cellules[i]);
                proptest::prop_assert_eq!(pied.besoin, column.clone().map(|c| c.besoin).sum::<u64>());
                proptest::prop_assert_eq!(pied.planifie, column.map(|c| c.planifie).sum::<u64>());
                let expected: u64 = planifie.iter().filter(shown).filter(|q| q.semaine == semaines[i]).map(|q| q.minutes).sum();
                proptest::prop_assert_eq!(pied.planifie, expected);
                proptest::prop_assert_eq!(pied.capacite, effectif * 35 * 60);
                proptest::prop_assert_eq!(pied.a_placer, effectif);
            }
            proptest::prop_assert_eq!(grille.totaux.besoin, besoins.iter().filter(shown).map(|q| q.minutes).sum::<u64>());
            proptest::prop_assert_eq!(grille.totaux.planifie, grille.pied.iter().map(|p| p.planifie).sum::<u64>());
            proptest::prop_assert_eq!(grille.totaux.capacite, 3 * effectif * 35 * 60);
        }
    }

    #[test]
    fn an_empty_grid_has_a_footer_per_week() {
        let grille = Grille::assembler(vec![semaine("2026-W50")], vec![], &[], &[], 3, &[]);
        assert!(grille.chantiers.is_empty());
        assert_eq!(grille.pied[0].occupation.taux, 0.0);
        assert_eq!(grille.pied[0].a_placer, 3);
    }
}
