//! Weeks of pointages: the ISO week (Monday to Sunday) any day belongs to,
//! the feuille d'heures of one user for one week with its global statut and
//! totals, and the weekly views grouped per chantier and per user.
//!
//! Everything here is derived on read from the pointages themselves, so a
//! global statut or a total can never be stale (the original stored
//! `statut_global` and never recomputed it).

use std::collections::BTreeMap;

use time::{Date, Duration};
use uuid::Uuid;

use crate::events::SemaineIso;
use crate::pointage::{Pointage, Statut};
use crate::values::HeuresMinutes;
use crate::variables::{TotalVariable, VariablePaie, totaux_variables};

/// The day keys of a week, Monday first.
pub const JOURS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

/// One ISO week, Monday to Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Semaine {
    lundi: Date,
}

impl Semaine {
    /// The week `day` belongs to (any day moves back to its Monday).
    pub fn contenant(day: Date) -> Self {
        let back = i64::from(day.weekday().number_days_from_monday());
        Self {
            lundi: day.saturating_sub(Duration::days(back)),
        }
    }

    /// The week named `YYYY-Www`; `None` when there is no such week.
    pub fn iso(semaine: SemaineIso) -> Option<Self> {
        semaine.lundi().map(|lundi| Self { lundi })
    }

    pub fn lundi(self) -> Date {
        self.lundi
    }

    pub fn dimanche(self) -> Date {
        self.lundi.saturating_add(Duration::days(6))
    }

    pub fn semaine_iso(self) -> SemaineIso {
        SemaineIso::of(self.lundi)
    }

    /// `Semaine 50 - 2026`, as the original labels it.
    pub fn label(self) -> String {
        let iso = self.semaine_iso();
        format!("Semaine {} - {}", iso.numero, iso.annee)
    }

    pub fn precedente(self) -> Self {
        Self::contenant(self.lundi.saturating_sub(Duration::days(7)))
    }

    pub fn suivante(self) -> Self {
        Self::contenant(self.lundi.saturating_add(Duration::days(7)))
    }

    /// 0 (lundi) to 6 (dimanche) for a day of this week.
    pub fn jour(self, day: Date) -> Option<usize> {
        (Self::contenant(day) == self).then(|| day.weekday().number_days_from_monday() as usize)
    }

    pub fn contient(self, day: Date) -> bool {
        self.jour(day).is_some()
    }
}

/// The key of a weekday (`lundi` …).
pub fn jour_semaine(day: Date) -> &'static str {
    JOURS[day.weekday().number_days_from_monday() as usize]
}

/// The statut of a set of pointages, recomputed every time: none →
/// brouillon; all validated → valide; else any rejected → rejete; else any
/// submitted → soumis; else brouillon.
pub fn statut_global(statuts: impl IntoIterator<Item = Statut>) -> Statut {
    let (mut any, mut all_valide, mut rejete, mut soumis) = (false, true, false, false);
    for statut in statuts {
        any = true;
        all_valide &= statut == Statut::Valide;
        rejete |= statut == Statut::Rejete;
        soumis |= statut == Statut::Soumis;
    }
    match () {
        () if !any => Statut::Brouillon,
        () if all_valide => Statut::Valide,
        () if rejete => Statut::Rejete,
        () if soumis => Statut::Soumis,
        () => Statut::Brouillon,
    }
}

/// Sums of hours over a set of pointages of one week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totaux {
    pub heures_normales: HeuresMinutes,
    pub heures_supplementaires: HeuresMinutes,
    /// Normal plus overtime, per day, Monday first.
    pub par_jour: [HeuresMinutes; 7],
}

impl Totaux {
    /// The totals of `pointages` (those outside `semaine` are left out).
    pub fn of<'a>(semaine: Semaine, pointages: impl IntoIterator<Item = &'a Pointage>) -> Self {
        let mut totaux = Self::default();
        for pointage in pointages {
            totaux.add(semaine, pointage);
        }
        totaux
    }

    /// Adds one pointage (left out when outside `semaine`): what a streamed
    /// export sums as its lines go by.
    pub fn add(&mut self, semaine: Semaine, pointage: &Pointage) {
        let Some(jour) = semaine.jour(pointage.date()) else {
            return;
        };
        self.heures_normales = self
            .heures_normales
            .saturating_add(pointage.heures_normales());
        self.heures_supplementaires = self
            .heures_supplementaires
            .saturating_add(pointage.heures_supplementaires());
        self.par_jour[jour] = self.par_jour[jour].saturating_add(pointage.total());
    }

    /// Normal plus overtime over the week.
    pub fn total(&self) -> HeuresMinutes {
        self.heures_normales
            .saturating_add(self.heures_supplementaires)
    }
}

/// The pointages of one user on one chantier in a week, and their totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LigneChantier {
    pub chantier_id: Uuid,
    pub totaux: Totaux,
    /// By date, then user.
    pub pointages: Vec<Pointage>,
}

impl LigneChantier {
    /// The days (`lundi` …) with a pointage on this chantier, Monday first:
    /// the days of a feuille de route.
    pub fn jours(&self) -> Vec<&'static str> {
        let mut jours: Vec<usize> = self
            .pointages
            .iter()
            .map(|p| p.date().weekday().number_days_from_monday() as usize)
            .collect();
        jours.sort_unstable();
        jours.dedup();
        jours.into_iter().map(|jour| JOURS[jour]).collect()
    }
}

/// The feuille d'heures of one user for one week: his pointages of that
/// week on every chantier, their totals and the global statut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeuilleHeures {
    utilisateur_id: Uuid,
    semaine: Semaine,
    /// By date, then chantier.
    pointages: Vec<Pointage>,
    /// The variables de paie of those pointages.
    variables: Vec<VariablePaie>,
}

impl FeuilleHeures {
    /// The feuille of `utilisateur_id` for `semaine`, from any pointages
    /// (others' and other weeks' are left out).
    pub fn new(utilisateur_id: Uuid, semaine: Semaine, pointages: Vec<Pointage>) -> Self {
        let mut pointages: Vec<Pointage> = pointages
            .into_iter()
            .filter(|p| p.utilisateur_id() == utilisateur_id && semaine.contient(p.date()))
            .collect();
        pointages.sort_by_key(|p| (p.date(), p.chantier_id(), p.id()));
        Self {
            utilisateur_id,
            semaine,
            pointages,
            variables: Vec::new(),
        }
    }

    /// The feuille with the variables de paie of its pointages (others are
    /// left out).
    pub fn with_variables(mut self, variables: Vec<VariablePaie>) -> Self {
        self.variables = variables
            .into_iter()
            .filter(|v| self.pointages.iter().any(|p| p.id() == v.pointage_id))
            .collect();
        self
    }

    /// The sums of its variables de paie per type.
    pub fn variables_paie(&self) -> Vec<TotalVariable> {
        totaux_variables(&self.variables)
    }

    pub fn utilisateur_id(&self) -> Uuid {
        self.utilisateur_id
    }

    pub fn semaine(&self) -> Semaine {
        self.semaine
    }

    pub fn pointages(&self) -> &[Pointage] {
        &self.pointages
    }

    pub fn statut_global(&self) -> Statut {
        statut_global(self.pointages.iter().map(Pointage::statut))
    }

    pub fn totaux(&self) -> Totaux {
        Totaux::of(self.semaine, &self.pointages)
    }

    /// Every working day (Monday to Friday) has at least one pointage.
    pub fn is_complete(&self) -> bool {
        (0..5).all(|jour| {
            self.pointages
                .iter()
                .any(|p| self.semaine.jour(p.date()) == Some(jour))
        })
    }

    /// At least one pointage, and every one validated.
    pub fn is_all_validated(&self) -> bool {
        !self.pointages.is_empty() && self.pointages.iter().all(|p| p.statut() == Statut::Valide)
    }

    /// The totals per chantier, by chantier id.
    pub fn par_chantier(&self) -> Vec<LigneChantier> {
        par_chantier(self.semaine, self.pointages.iter().cloned())
    }
}

/// The pointages of one chantier in a week, all users.
pub type VueChantier = LigneChantier;

/// The pointages of one user in a week, per chantier (line total = user ×
/// chantier; group total = the user on every chantier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VueCompagnon {
    pub utilisateur_id: Uuid,
    pub totaux: Totaux,
    pub chantiers: Vec<LigneChantier>,
}

fn par_chantier(
    semaine: Semaine,
    pointages: impl IntoIterator<Item = Pointage>,
) -> Vec<LigneChantier> {
    let mut groups: BTreeMap<Uuid, Vec<Pointage>> = BTreeMap::new();
    for pointage in pointages.into_iter().filter(|p| semaine.contient(p.date())) {
        groups
            .entry(pointage.chantier_id())
            .or_default()
            .push(pointage);
    }
    groups
        .into_iter()
        .map(|(chantier_id, mut pointages)| {
            pointages.sort_by_key(|p| (p.date(), p.utilisateur_id(), p.id()));
            LigneChantier {
                chantier_id,
                totaux: Totaux::of(semaine, &pointages),
                pointages,
            }
        })
        .collect()
}

/// One entry per chantier with hours in `semaine`, by chantier id.
pub fn vues_chantiers(semaine: Semaine, pointages: Vec<Pointage>) -> Vec<VueChantier> {
    par_chantier(semaine, pointages)
}

/// One entry per user with hours in `semaine`, by user id.
pub fn vues_compagnons(semaine: Semaine, pointages: Vec<Pointage>) -> Vec<VueCompagnon> {
    let mut groups: BTreeMap<Uuid, Vec<Pointage>> = BTreeMap::new();
    for pointage in pointages.into_iter().filter(|p| semaine.contient(p.date())) {
        groups
            .entry(pointage.utilisateur_id())
            .or_default()
            .push(pointage);
    }
    groups
        .into_iter()
        .map(|(utilisateur_id, pointages)| VueCompagnon {
            utilisateur_id,
            totaux: Totaux::of(semaine, &pointages),
            chantiers: par_chantier(semaine, pointages),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NouveauPointage;
    use proptest::prelude::*;
    use time::OffsetDateTime;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-12-07 08:00 UTC);

    fn pointage(user: u128, chantier: u128, date: Date, normales: &str, sup: &str) -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: Uuid::from_u128(user),
                chantier_id: Uuid::from_u128(chantier),
                date,
                heures_normales: HeuresMinutes::parse(normales).unwrap(),
                heures_supplementaires: HeuresMinutes::parse(sup).unwrap(),
                commentaire: None,
                affectation_id: None,
            },
            None,
            NOW,
        )
        .0
    }

    fn with_statut(mut p: Pointage, statut: Statut) -> Pointage {
        let validateur = Uuid::from_u128(99);
        match statut {
            Statut::Brouillon => {}
            Statut::Soumis => {
                p.submit(NOW).unwrap();
            }
            Statut::Valide => {
                p.submit(NOW).unwrap();
                p.validate(validateur, NOW).unwrap();
            }
            Statut::Rejete => {
                p.submit(NOW).unwrap();
                p.reject(validateur, crate::Motif::parse("non").unwrap(), NOW)
                    .unwrap();
            }
        }
        p
    }

    #[test]
    fn any_day_moves_back_to_its_monday() {
        let semaine = Semaine::contenant(date!(2026 - 12 - 13));
        assert_eq!(semaine.lundi(), date!(2026 - 12 - 07));
        assert_eq!(semaine.dimanche(), date!(2026 - 12 - 13));
        assert_eq!(semaine.label(), "Semaine 50 - 2026");
        assert_eq!(semaine.semaine_iso().to_string(), "2026-W50");
        assert_eq!(semaine.precedente().lundi(), date!(2026 - 11 - 30));
        assert_eq!(semaine.suivante().lundi(), date!(2026 - 12 - 14));
        assert_eq!(semaine.jour(date!(2026 - 12 - 09)), Some(2));
        assert_eq!(semaine.jour(date!(2026 - 12 - 14)), None);
        assert_eq!(jour_semaine(date!(2026 - 12 - 13)), "dimanche");
        // An ISO week across the new year.
        let w1 = Semaine::contenant(date!(2027 - 01 - 01));
        assert_eq!(w1.semaine_iso().to_string(), "2026-W53");
        assert_eq!(Semaine::iso(w1.semaine_iso()), Some(w1));
    }

    #[test]
    fn the_global_statut_follows_the_rows() {
        use Statut::*;
        assert_eq!(statut_global([]), Brouillon);
        assert_eq!(statut_global([Valide, Valide]), Valide);
        assert_eq!(statut_global([Valide, Rejete, Soumis]), Rejete);
        assert_eq!(statut_global([Valide, Soumis, Brouillon]), Soumis);
        assert_eq!(statut_global([Valide, Brouillon]), Brouillon);
    }

    #[test]
    fn a_feuille_totals_its_users_week_per_day_and_per_chantier() {
        let lundi = date!(2026 - 12 - 07);
        let rows = vec![
            with_statut(pointage(1, 10, lundi, "7:00", "1:00"), Statut::Valide),
            pointage(1, 11, lundi, "1:30", "0:00"),
            with_statut(
                pointage(1, 10, date!(2026 - 12 - 08), "8:00", "0:00"),
                Statut::Soumis,
            ),
            // Another user, another week: not in this feuille.
            pointage(2, 10, lundi, "8:00", "0:00"),
            pointage(1, 10, date!(2026 - 12 - 14), "8:00", "0:00"),
        ];
        let feuille = FeuilleHeures::new(Uuid::from_u128(1), Semaine::contenant(lundi), rows);
        assert_eq!(feuille.pointages().len(), 3);
        let totaux = feuille.totaux();
        assert_eq!(totaux.heures_normales.to_string(), "16:30");
        assert_eq!(totaux.heures_supplementaires.to_string(), "01:00");
        assert_eq!(totaux.total().to_string(), "17:30");
        assert_eq!(totaux.par_jour[0].to_string(), "09:30");
        assert_eq!(totaux.par_jour[1].to_string(), "08:00");
        assert_eq!(totaux.par_jour[2], HeuresMinutes::ZERO);
        assert_eq!(feuille.statut_global(), Statut::Soumis);
        assert!(!feuille.is_complete());
        assert!(!feuille.is_all_validated());
        let lignes = feuille.par_chantier();
        assert_eq!(lignes.len(), 2);
        assert_eq!(lignes[0].chantier_id, Uuid::from_u128(10));
        assert_eq!(lignes[0].totaux.total().to_string(), "16:00");
        assert_eq!(lignes[1].totaux.total().to_string(), "01:30");
        // The days of a feuille de route: those with a pointage there.
        assert_eq!(lignes[0].jours(), ["lundi", "mardi"]);
        assert_eq!(lignes[1].jours(), ["lundi"]);
    }

    #[test]
    fn a_feuille_sums_the_variables_of_its_own_pointages_only() {
        use crate::{NouvelleVariable, TypeVariable, Valeur, VariablePaie};
        let lundi = date!(2026 - 12 - 07);
        let own = pointage(1, 10, lundi, "7:00", "0:00");
        let other_week = pointage(1, 10, date!(2026 - 12 - 14), "7:00", "0:00");
        let variable = |p: &Pointage, t: TypeVariable, v: &str| {
            VariablePaie::create(
                p,
                NouvelleVariable {
                    type_variable: t,
                    valeur: Valeur::parse(v).unwrap(),
                    date_application: p.date(),
                    commentaire: None,
                },
                None,
                NOW,
            )
            .unwrap()
            .0
        };
        let variables = vec![
            variable(&own, TypeVariable::PanierRepas, "9.40"),
            variable(&own, TypeVariable::HeuresNuit, "2.5"),
            variable(&own, TypeVariable::PanierRepas, "0.60"),
            variable(&other_week, TypeVariable::PanierRepas, "100"),
        ];
        let feuille = FeuilleHeures::new(
            Uuid::from_u128(1),
            Semaine::contenant(lundi),
            vec![own.clone(), other_week],
        )
        .with_variables(variables);
        let totaux: Vec<(TypeVariable, String)> = feuille
            .variables_paie()
            .iter()
            .map(|t| (t.type_variable, t.total.to_string()))
            .collect();
        assert_eq!(
            totaux,
            [
                (TypeVariable::HeuresNuit, "2.50".to_owned()),
                (TypeVariable::PanierRepas, "10.00".to_owned()),
            ]
        );
    }

    #[test]
    fn a_week_with_every_working_day_validated_is_complete_and_validated() {
        let semaine = Semaine::contenant(date!(2026 - 12 - 07));
        let rows: Vec<Pointage> = (0..5)
            .map(|d| {
                let day = semaine.lundi().saturating_add(Duration::days(d));
                with_statut(pointage(1, 10, day, "7:00", "0:00"), Statut::Valide)
            })
            .collect();
        let feuille = FeuilleHeures::new(Uuid::from_u128(1), semaine, rows);
        assert!(feuille.is_complete());
        assert!(feuille.is_all_validated());
        assert_eq!(feuille.statut_global(), Statut::Valide);
        assert_eq!(feuille.totaux().total().to_string(), "35:00");
    }

    #[test]
    fn the_views_group_per_chantier_and_per_user() {
        let lundi = date!(2026 - 12 - 07);
        let rows = vec![
            pointage(1, 10, lundi, "7:00", "0:00"),
            pointage(2, 10, lundi, "8:00", "0:30"),
            pointage(1, 11, date!(2026 - 12 - 09), "2:00", "0:00"),
        ];
        let semaine = Semaine::contenant(lundi);
        let chantiers = vues_chantiers(semaine, rows.clone());
        assert_eq!(chantiers.len(), 2);
        assert_eq!(chantiers[0].totaux.par_jour[0].to_string(), "15:30");
        assert_eq!(chantiers[0].pointages.len(), 2);
        let compagnons = vues_compagnons(semaine, rows);
        assert_eq!(compagnons.len(), 2);
        assert_eq!(compagnons[0].utilisateur_id, Uuid::from_u128(1));
        assert_eq!(compagnons[0].totaux.total().to_string(), "09:00");
        assert_eq!(compagnons[0].chantiers.len(), 2);
        assert_eq!(
            compagnons[0].chantiers[1].totaux.par_jour[2].to_string(),
            "02:00"
        );
    }

    proptest! {
        #[test]
        fn per_day_totals_add_up_to_the_week(
            minutes in proptest::collection::vec((0u32..7, 0u32..600, 0u32..120), 0..20)
        ) {
            let semaine = Semaine::contenant(date!(2026 - 12 - 07));
            let rows: Vec<Pointage> = minutes
                .iter()
                .enumerate()
                .map(|(n, (day, normales, sup))| {
                    let date = semaine.lundi().saturating_add(Duration::days(i64::from(*day)));
                    pointage(
                        1,
                        n as u128,
                        date,
                        &HeuresMinutes::from_minutes(i64::from(*normales)).unwrap().to_string(),
                        &HeuresMinutes::from_minutes(i64::from(*sup)).unwrap().to_string(),
                    )
                })
                .collect();
            let totaux = Totaux::of(semaine, &rows);
            let by_day: u32 = totaux.par_jour.iter().map(|m| m.minutes()).sum();
            prop_assert_eq!(by_day, totaux.total().minutes());
            let lignes = vues_chantiers(semaine, rows);
            let by_site: u32 = lignes.iter().map(|l| l.totaux.total().minutes()).sum();
            prop_assert_eq!(by_site, totaux.total().minutes());
        }
    }
}
