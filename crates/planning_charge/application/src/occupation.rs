//! The occupation of one week per trade: for each type de métier, the hours
//! needed, planned and available, with the grid footer's formulas
//! ([`hub_planning_charge_domain::charge`]). People count under the trade
//! their métier maps to ([`TypeMetier::du_metier`]), on both the planned and
//! the capacity side. All quantities are whole minutes.

use std::collections::BTreeMap;

use hub_planning_charge_domain::charge::{self, Occupation};
use hub_planning_charge_domain::{Semaine, TypeMetier};

/// A figure of one person's métier as the read models hold it (free text,
/// `None` when identity has none): minutes or people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParMetier {
    pub metier: Option<String>,
    pub valeur: u64,
}

/// One trade's figures in the week.
#[derive(Debug, Clone, PartialEq)]
pub struct LigneMetier {
    pub type_metier: TypeMetier,
    /// Minutes planned for people of this trade, on the chantiers shown.
    pub planifie: u64,
    /// Minutes needed in this trade, on the chantiers shown.
    pub besoin: u64,
    /// People of this trade counted as capacity.
    pub effectif: u64,
    /// Their capacity: effectif × 35 h.
    pub capacite: u64,
    pub occupation: Occupation,
    /// People to hire: the needs beyond capacity in 35-hour weeks, half up.
    pub a_recruter: u64,
    /// People of this trade planned nowhere that week.
    pub a_placer: u64,
}

/// The week's occupation: the trades with any figure, in display order,
/// and their totals.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupationSemaine {
    pub semaine: Semaine,
    pub types: Vec<LigneMetier>,
    pub planifie: u64,
    pub besoin: u64,
    pub effectif: u64,
    pub capacite: u64,
    pub occupation: Occupation,
    pub a_recruter: u64,
    pub a_placer: u64,
}

fn par_type(figures: &[ParMetier]) -> BTreeMap<TypeMetier, u64> {
    let mut map = BTreeMap::new();
    for figure in figures {
        *map.entry(TypeMetier::du_metier(figure.metier.as_deref()))
            .or_default() += figure.valeur;
    }
    map
}

impl OccupationSemaine {
    /// Puts the week's figures together: `besoins` per trade, and per
    /// métier the minutes `planifie`, the `effectif` and how many of them
    /// are `occupes` (planned at least once). Trades whose planned, needed
    /// and available hours are all zero are left out; the totals are those
    /// of the whole week (so equal to the grid's footer), and `a_recruter`
    /// is computed on the totals, not summed per trade (rounding).
    pub fn assembler(
        semaine: Semaine,
        besoins: &[(TypeMetier, u64)],
        planifie: &[ParMetier],
        effectif: &[ParMetier],
        occupes: &[ParMetier],
    ) -> Self {
        let mut besoin_par_type: BTreeMap<TypeMetier, u64> = BTreeMap::new();
        for &(type_metier, minutes) in besoins {
            *besoin_par_type.entry(type_metier).or_default() += minutes;
        }
        let planifie = par_type(planifie);
        let effectif = par_type(effectif);
        let occupes = par_type(occupes);
        let figure = |map: &BTreeMap<TypeMetier, u64>, t| map.get(&t).copied().unwrap_or(0);
        let types: Vec<LigneMetier> = TypeMetier::ALL
            .into_iter()
            .map(|t| {
                let (planifie, besoin, effectif) = (
                    figure(&planifie, t),
                    figure(&besoin_par_type, t),
                    figure(&effectif, t),
                );
                let capacite = charge::capacite(effectif);
                LigneMetier {
                    type_metier: t,
                    planifie,
                    besoin,
                    effectif,
                    capacite,
                    occupation: Occupation::calculer(planifie, capacite),
                    a_recruter: charge::a_recruter(besoin, capacite),
                    a_placer: charge::a_placer(effectif, figure(&occupes, t)),
                }
            })
            .filter(|ligne| ligne.planifie > 0 || ligne.besoin > 0 || ligne.capacite > 0)
            .collect();
        let planifie: u64 = types.iter().map(|l| l.planifie).sum();
        let besoin: u64 = types.iter().map(|l| l.besoin).sum();
        let effectif: u64 = types.iter().map(|l| l.effectif).sum();
        let capacite = charge::capacite(effectif);
        Self {
            semaine,
            planifie,
            besoin,
            effectif,
            capacite,
            occupation: Occupation::calculer(planifie, capacite),
            a_recruter: charge::a_recruter(besoin, capacite),
            a_placer: types.iter().map(|l| l.a_placer).sum(),
            types,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 60;

    fn figure(metier: Option<&str>, valeur: u64) -> ParMetier {
        ParMetier {
            metier: metier.map(str::to_owned),
            valeur,
        }
    }

    fn semaine() -> Semaine {
        Semaine::parse("2026-W50").unwrap()
    }

    #[test]
    fn people_count_under_the_trade_of_their_metier_on_both_sides() {
        let occupation = OccupationSemaine::assembler(
            semaine(),
            &[(TypeMetier::Macon, 70 * H), (TypeMetier::Grutier, 10 * H)],
            &[
                figure(Some("Maçon"), 21 * H),
                figure(Some("maçon coffreur"), 14 * H),
                figure(Some("Prestataire"), 7 * H),
                figure(None, 7 * H),
            ],
            &[
                figure(Some("Maçon"), 1),
                figure(Some("maçon coffreur"), 1),
                figure(Some("Prestataire"), 1),
                figure(Some("Plombier"), 1),
            ],
            &[figure(Some("Maçon"), 1), figure(Some("Prestataire"), 1)],
        );
        let par_type: Vec<_> = occupation
            .types
            .iter()
            .map(|l| (l.type_metier, l.planifie / H, l.besoin / H, l.capacite / H))
            .collect();
        // Display order; the sub-contractor's planned hours fall under
        // sous_traitant, like his capacity (the original split them).
        assert_eq!(
            par_type,
            [
                (TypeMetier::Employe, 7, 0, 35),
                (TypeMetier::SousTraitant, 7, 0, 35),
                (TypeMetier::Macon, 35, 70, 70),
                (TypeMetier::Grutier, 0, 10, 0),
            ]
        );
        let macon = &occupation.types[2];
        assert_eq!(macon.occupation.taux, 50.0);
        assert_eq!((macon.a_recruter, macon.a_placer), (0, 1));
        let grutier = &occupation.types[3];
        // 10 h needed and nobody of the trade: 10/35 of a person rounds to
        // none to hire; no capacity and nothing planned is 0 %.
        assert_eq!((grutier.a_recruter, grutier.occupation.taux), (0, 0.0));

        assert_eq!(
            (occupation.planifie, occupation.besoin, occupation.capacite),
            (49 * H, 80 * H, 140 * H)
        );
        assert_eq!(occupation.effectif, 4);
        assert_eq!(occupation.occupation.taux, 35.0);
        assert_eq!(occupation.occupation.niveau.as_str(), "sous_charge");
        // Employe (the plombier) and the second maçon are planned nowhere.
        assert_eq!(occupation.a_placer, 2);
        assert_eq!(occupation.a_recruter, 0);
    }

    #[test]
    fn hiring_is_rounded_on_the_totals_and_empty_trades_are_left_out() {
        let occupation = OccupationSemaine::assembler(
            semaine(),
            &[
                (TypeMetier::Macon, 20 * H),
                (TypeMetier::Coffreur, 20 * H),
                (TypeMetier::Coffreur, 0),
            ],
            &[],
            &[],
            &[],
        );
        // Per trade 20/35 rounds up to 1 each; the week needs 40 h: 1 person.
        assert_eq!(
            occupation
                .types
                .iter()
                .map(|l| (l.type_metier, l.a_recruter))
                .collect::<Vec<_>>(),
            [(TypeMetier::Macon, 1), (TypeMetier::Coffreur, 1)]
        );
        assert_eq!(occupation.a_recruter, 1);
        // Needs and no capacity and nothing planned: 0 %, not an alert.
        assert!(!occupation.occupation.alerte());

        let vide = OccupationSemaine::assembler(semaine(), &[], &[], &[], &[]);
        assert!(vide.types.is_empty());
        assert_eq!((vide.capacite, vide.a_placer), (0, 0));
    }
}
