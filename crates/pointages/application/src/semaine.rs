//! The weekly read side: a user's feuille d'heures and the views of a week
//! per chantier and per user, each made of the pointages the caller may
//! see, computed on read (never stored, so never stale).

use hub_kernel::{Actor, Page, Role, ValidationErrors};
use hub_pointages_domain::{
    Ecart, Equipe, FeuilleHeures, HEURES_SEMAINE, Jauge, Pointage, Semaine, VueChantier,
    VueCompagnon, comparaison, jauge, vues_chantiers, vues_compagnons,
};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::ports::{FeuilleFilter, Noms, PointageFilter};
use crate::use_cases::{ListPointages, PointagesError, PointagesPorts};

/// The most pointages one week's read loads: far above a real week (a
/// thousand people on every day), low enough to bound the memory used.
pub const WEEK_ROWS: u64 = 100_000;

impl PointagesPorts {
    /// The pointages of `semaine` that `actor` may see, narrowed to one
    /// user or chantier when given.
    pub(crate) async fn week(
        &self,
        actor: &Actor,
        semaine: Semaine,
        utilisateur_id: Option<Uuid>,
        chantier_id: Option<Uuid>,
    ) -> Result<Vec<Pointage>, PointagesError> {
        let filter = PointageFilter {
            utilisateur_id,
            chantier_id,
            date_debut: Some(semaine.lundi()),
            date_fin: Some(semaine.dimanche()),
            ..PointageFilter::default()
        };
        let page = Page {
            skip: 0,
            limit: WEEK_ROWS,
        };
        let (found, _) = ListPointages::new(self.clone())
            .execute(actor, filter, page)
            .await?;
        Ok(found)
    }

    /// The names of every user and chantier of `pointages`.
    pub(crate) async fn noms_of(&self, pointages: &[Pointage]) -> Result<Noms, PointagesError> {
        let mut users: Vec<Uuid> = pointages.iter().map(Pointage::utilisateur_id).collect();
        let mut chantiers: Vec<Uuid> = pointages.iter().map(Pointage::chantier_id).collect();
        users.sort_unstable();
        users.dedup();
        chantiers.sort_unstable();
        chantiers.dedup();
        Ok(self.directory.names(&users, &chantiers).await?)
    }
}

hub_kernel::use_cases! {
    PointagesPorts;
    /// The display names of the users and chantiers of some pointages (for
    /// answers that show names next to ids).
    NomsPointages,
    /// The feuille d'heures of one user for the week of a day: a compagnon
    /// reads his own only (another's is not found); a conducteur or chef sees
    /// the rows on his chantiers (and his own); an admin all of them.
    GetFeuille,
    /// A user's feuille de route for a week (FDH-19): his feuille d'heures
    /// read as [`GetFeuille`] reads it (same scope: a compagnon his own only,
    /// a chef or conducteur the rows of his chantiers, an admin all), with the
    /// chantiers' addresses, and when it was made.
    FeuilleRoute,
    /// A user's week against its planned hours (FDH-14), over the rows the
    /// caller may read of it (as [`GetFeuille`]: a compagnon only his own).
    JaugeAvancement,
    /// Each chantier's team of a week against 35 h per user (FDH-15): an admin
    /// sees every chantier, a conducteur those he runs (CDC §3.3).
    ComparaisonEquipes,
    /// The feuilles d'heures the caller may see — a user's week with at least
    /// one pointage in his scope — most recent week first, each computed from
    /// its pointages like [`GetFeuille`] (a chef sees the rows of his
    /// chantiers, a compagnon only his own feuilles).
    ListFeuilles,
    /// The week of a day per chantier (those with hours the caller may see),
    /// optionally only `chantier_ids`.
    VuesChantiers,
    /// The week of a day per user (those with hours the caller may see), each
    /// per chantier, optionally only `utilisateur_ids`.
    VuesCompagnons,
}

impl NomsPointages {
    pub async fn execute(&self, pointages: &[Pointage]) -> Result<Noms, PointagesError> {
        self.ports.noms_of(pointages).await
    }
}

impl GetFeuille {
    pub async fn execute(
        &self,
        actor: &Actor,
        utilisateur_id: Uuid,
        day: Date,
    ) -> Result<(FeuilleHeures, Noms), PointagesError> {
        if actor.role == Role::Compagnon && actor.user_id != utilisateur_id {
            return Err(PointagesError::FeuilleNotFound);
        }
        let semaine = Semaine::contenant(day);
        let rows = self
            .ports
            .week(actor, semaine, Some(utilisateur_id), None)
            .await?;
        let mut noms = self.ports.noms_of(&rows).await?;
        if !noms.utilisateurs.contains_key(&utilisateur_id) {
            // The feuille names its user even when it is empty.
            let named = self.ports.directory.names(&[utilisateur_id], &[]).await?;
            noms.utilisateurs.extend(named.utilisateurs);
        }
        let variables = self.ports.variables_of(&rows).await?;
        Ok((
            FeuilleHeures::new(utilisateur_id, semaine, rows).with_variables(variables),
            noms,
        ))
    }
}

impl FeuilleRoute {
    pub async fn execute(
        &self,
        actor: &Actor,
        utilisateur_id: Uuid,
        day: Date,
    ) -> Result<(FeuilleHeures, Noms, OffsetDateTime), PointagesError> {
        let (feuille, noms) = GetFeuille::new(self.ports.clone())
            .execute(actor, utilisateur_id, day)
            .await?;
        Ok((feuille, noms, self.ports.clock.now()))
    }
}

impl JaugeAvancement {
    pub async fn execute(
        &self,
        actor: &Actor,
        utilisateur_id: Uuid,
        day: Date,
        heures_planifiees: Option<f64>,
    ) -> Result<(Semaine, Jauge), PointagesError> {
        let heures_planifiees = heures_planifiees.unwrap_or(HEURES_SEMAINE);
        if !(0.0..=168.0).contains(&heures_planifiees) {
            return Err(ValidationErrors::single(
                "heures_planifiees",
                "out_of_range",
                "must be between 0 and 168 (the hours of a week)",
            )
            .into());
        }
        let (feuille, _) = GetFeuille::new(self.ports.clone())
            .execute(actor, utilisateur_id, day)
            .await?;
        Ok((
            feuille.semaine(),
            jauge(feuille.totaux().total(), heures_planifiees),
        ))
    }
}

const COMPARAISON: &str = "only an administrator or a conducteur may compare the teams";

impl ComparaisonEquipes {
    pub async fn execute(
        &self,
        actor: &Actor,
        day: Date,
    ) -> Result<(Semaine, Vec<Equipe>, Vec<Ecart>, Noms), PointagesError> {
        let semaine = Semaine::contenant(day);
        let mut rows = match actor.role {
            Role::Admin => self.ports.week(actor, semaine, None, None).await?,
            Role::Conducteur => {
                let siens = self.ports.directory.chantiers_run_by(actor.user_id).await?;
                let mut rows = self.ports.week(actor, semaine, None, None).await?;
                // His own hours on another's chantier are not his team's.
                rows.retain(|p| siens.contains(&p.chantier_id()));
                rows
            }
            _ => return Err(PointagesError::Forbidden(COMPARAISON)),
        };
        rows.retain(|p| semaine.contient(p.date()));
        let (equipes, ecarts) = comparaison(&rows);
        let chantiers: Vec<Uuid> = equipes.iter().map(|e| e.chantier_id).collect();
        let noms = self.ports.directory.names(&[], &chantiers).await?;
        Ok((semaine, equipes, ecarts, noms))
    }
}

/// The largest page of feuilles d'heures (each carries its pointages).
pub const FEUILLES_MAX_LIMIT: u64 = 50;

impl ListFeuilles {
    pub async fn execute(
        &self,
        actor: &Actor,
        mut filter: FeuilleFilter,
        page: Page,
    ) -> Result<(Vec<FeuilleHeures>, Noms, u64), PointagesError> {
        let mut errors = ValidationErrors::new();
        if filter
            .annee
            .is_some_and(|annee| !(2000..=2100).contains(&annee))
        {
            errors.add("annee", "out_of_range", "must be between 2000 and 2100");
        }
        if filter
            .numero_semaine
            .is_some_and(|numero| !(1..=53).contains(&numero))
        {
            errors.add("numero_semaine", "out_of_range", "must be between 1 and 53");
        }
        errors.into_result()?;
        let scope = self.ports.scoped(actor, PointageFilter::default()).await?;
        filter.visible_user = scope.visible_user;
        filter.visible_chantiers = scope.visible_chantiers;
        let (keys, total) = self.ports.pointages.feuilles(&filter, page).await?;
        let mut feuilles = Vec::with_capacity(keys.len());
        let mut all = Vec::new();
        for (utilisateur_id, lundi) in keys {
            let semaine = Semaine::contenant(lundi);
            let rows = self
                .ports
                .week(actor, semaine, Some(utilisateur_id), None)
                .await?;
            all.extend(rows.iter().cloned());
            feuilles.push(FeuilleHeures::new(utilisateur_id, semaine, rows));
        }
        // One read for the variables of the whole page.
        let variables = self.ports.variables_of(&all).await?;
        let feuilles: Vec<FeuilleHeures> = feuilles
            .into_iter()
            .map(|feuille| feuille.with_variables(variables.clone()))
            .collect();
        let noms = self.ports.noms_of(&all).await?;
        Ok((feuilles, noms, total))
    }
}

impl VuesChantiers {
    pub async fn execute(
        &self,
        actor: &Actor,
        day: Date,
        chantier_ids: &[Uuid],
    ) -> Result<(Semaine, Vec<VueChantier>, Noms), PointagesError> {
        let semaine = Semaine::contenant(day);
        let mut rows = self.ports.week(actor, semaine, None, None).await?;
        if !chantier_ids.is_empty() {
            rows.retain(|p| chantier_ids.contains(&p.chantier_id()));
        }
        let noms = self.ports.noms_of(&rows).await?;
        Ok((semaine, vues_chantiers(semaine, rows), noms))
    }
}

impl VuesCompagnons {
    pub async fn execute(
        &self,
        actor: &Actor,
        day: Date,
        utilisateur_ids: &[Uuid],
    ) -> Result<(Semaine, Vec<VueCompagnon>, Noms), PointagesError> {
        let semaine = Semaine::contenant(day);
        let mut rows = self.ports.week(actor, semaine, None, None).await?;
        if !utilisateur_ids.is_empty() {
            rows.retain(|p| utilisateur_ids.contains(&p.utilisateur_id()));
        }
        let noms = self.ports.noms_of(&rows).await?;
        Ok((semaine, vues_compagnons(semaine, rows), noms))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ports::{MockDirectory, MockPointageRepository};
    use hub_kernel::FixedClock;
    use hub_pointages_domain::{HeuresMinutes, NouveauPointage, Statut};
    use time::macros::{date, datetime};

    const KARIM: Uuid = Uuid::from_u128(1);
    const LEA: Uuid = Uuid::from_u128(2);
    const CHEF: Uuid = Uuid::from_u128(3);
    const SITE: Uuid = Uuid::from_u128(10);
    const AUTRE: Uuid = Uuid::from_u128(11);

    fn pointage(user: Uuid, chantier: Uuid, date: Date, normales: &str) -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: user,
                chantier_id: chantier,
                date,
                heures_normales: HeuresMinutes::parse(normales).unwrap(),
                heures_supplementaires: HeuresMinutes::ZERO,
                commentaire: None,
                affectation_id: None,
            },
            None,
            datetime!(2026-12-07 08:00 UTC),
        )
        .0
    }

    /// A repository applying the scope and the dates of the filter, like
    /// the real one; CHEF runs SITE.
    fn ports(rows: Vec<Pointage>) -> PointagesPorts {
        let mut repo = MockPointageRepository::new();
        // The feuilles: every (user, Monday) with a row in the scope, like
        // the real repository (no other filter here).
        let all = rows.clone();
        repo.expect_feuilles().returning(move |filter, _| {
            let mut keys: Vec<(Uuid, Date)> = all
                .iter()
                .filter(|p| {
                    filter.visible_user.is_none()
                        || filter.visible_user == Some(p.utilisateur_id())
                        || filter.visible_chantiers.contains(&p.chantier_id())
                })
                .map(|p| (p.utilisateur_id(), Semaine::contenant(p.date()).lundi()))
                .collect();
            keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            keys.dedup();
            let total = keys.len() as u64;
            Ok((keys, total))
        });
        repo.expect_list().returning(move |filter, page| {
            assert_eq!(page.limit, WEEK_ROWS);
            let found: Vec<Pointage> = rows
                .iter()
                .filter(|p| {
                    filter.visible_user.is_none()
                        || filter.visible_user == Some(p.utilisateur_id())
                        || filter.visible_chantiers.contains(&p.chantier_id())
                })
                .filter(|p| {
                    filter
                        .utilisateur_id
                        .is_none_or(|u| u == p.utilisateur_id())
                })
                .filter(|p| filter.date_debut.is_none_or(|d| p.date() >= d))
                .filter(|p| filter.date_fin.is_none_or(|d| p.date() <= d))
                .cloned()
                .collect();
            let total = found.len() as u64;
            Ok((found, total))
        });
        repo.expect_variables().returning(|_| Ok(vec![]));
        let mut directory = MockDirectory::new();
        directory
            .expect_chantiers_run_by()
            .returning(|user| Ok(if user == CHEF { vec![SITE] } else { vec![] }));
        directory.expect_names().returning(|users, chantiers| {
            Ok(Noms {
                utilisateurs: users
                    .iter()
                    .filter(|u| **u == KARIM)
                    .map(|u| (*u, "Karim Benali".to_owned()))
                    .collect(),
                chantiers: chantiers
                    .iter()
                    .map(|c| (*c, format!("Site {}", c.as_u128())))
                    .collect(),
                adresses: chantiers
                    .iter()
                    .filter(|c| **c == SITE)
                    .map(|c| (*c, "1 quai de Seine".to_owned()))
                    .collect(),
            })
        });
        PointagesPorts {
            pointages: Arc::new(repo),
            directory: Arc::new(directory),
            clock: Arc::new(FixedClock(datetime!(2026-12-07 08:00 UTC))),
        }
    }

    fn rows() -> Vec<Pointage> {
        vec![
            pointage(KARIM, SITE, date!(2026 - 12 - 07), "7:00"),
            pointage(KARIM, AUTRE, date!(2026 - 12 - 08), "8:00"),
            pointage(LEA, SITE, date!(2026 - 12 - 07), "6:00"),
            pointage(KARIM, SITE, date!(2026 - 12 - 14), "8:00"),
        ]
    }

    fn actor(user_id: Uuid, role: Role) -> Actor {
        Actor { user_id, role }
    }

    #[tokio::test]
    async fn a_compagnon_reads_his_feuille_and_not_anothers() {
        let feuille = GetFeuille::new(ports(rows()));
        let (own, noms) = feuille
            .execute(&actor(KARIM, Role::Compagnon), KARIM, date!(2026 - 12 - 10))
            .await
            .unwrap();
        assert_eq!(own.pointages().len(), 2);
        assert_eq!(own.totaux().total().to_string(), "15:00");
        assert_eq!(own.statut_global(), Statut::Brouillon);
        assert_eq!(noms.utilisateur(KARIM), "Karim Benali");
        assert_eq!(noms.chantier(AUTRE), "Site 11");
        let theirs = feuille
            .execute(&actor(LEA, Role::Compagnon), KARIM, date!(2026 - 12 - 10))
            .await;
        assert!(matches!(theirs, Err(PointagesError::FeuilleNotFound)));
    }

    #[tokio::test]
    async fn a_feuille_de_route_is_scoped_as_the_feuille_with_addresses_and_variables() {
        use hub_pointages_domain::{NouvelleVariable, TypeVariable, Valeur, VariablePaie};
        let rows = rows();
        let panier = VariablePaie::create(
            &rows[0],
            NouvelleVariable {
                type_variable: TypeVariable::PanierRepas,
                valeur: Valeur::parse("9.40").unwrap(),
                date_application: rows[0].date(),
                commentaire: None,
            },
            None,
            datetime!(2026-12-07 18:00 UTC),
        )
        .unwrap()
        .0;
        let mut ports = ports(rows.clone());
        let mut repo = MockPointageRepository::new();
        let all = rows.clone();
        repo.expect_list().returning(move |filter, _| {
            let found: Vec<Pointage> = all
                .iter()
                .filter(|p| filter.utilisateur_id == Some(p.utilisateur_id()))
                .filter(|p| {
                    filter.visible_user.is_none() || filter.visible_user == Some(p.utilisateur_id())
                })
                .filter(|p| filter.date_debut.is_none_or(|d| p.date() >= d))
                .filter(|p| filter.date_fin.is_none_or(|d| p.date() <= d))
                .cloned()
                .collect();
            let total = found.len() as u64;
            Ok((found, total))
        });
        repo.expect_variables().returning(move |ids| {
            Ok(std::iter::once(panier.clone())
                .filter(|v| ids.contains(&v.pointage_id))
                .collect())
        });
        ports.pointages = Arc::new(repo);
        let route = FeuilleRoute::new(ports);
        let (feuille, noms, generated_at) = route
            .execute(&actor(KARIM, Role::Compagnon), KARIM, date!(2026 - 12 - 09))
            .await
            .unwrap();
        assert_eq!(generated_at, datetime!(2026-12-07 08:00 UTC));
        let lignes = feuille.par_chantier();
        assert_eq!(lignes.len(), 2);
        assert_eq!(
            noms.adresses.get(&SITE).map(String::as_str),
            Some("1 quai de Seine")
        );
        assert_eq!(noms.adresses.get(&AUTRE), None);
        let variables = feuille.variables_paie();
        assert_eq!(variables.len(), 1);
        assert_eq!(variables[0].total.to_string(), "9.40");
        // Another compagnon's is not found, as his feuille.
        let theirs = route
            .execute(&actor(LEA, Role::Compagnon), KARIM, date!(2026 - 12 - 09))
            .await;
        assert!(matches!(theirs, Err(PointagesError::FeuilleNotFound)));
    }

    #[tokio::test]
    async fn a_chef_sees_the_rows_of_his_chantiers_only() {
        let (feuille, _) = GetFeuille::new(ports(rows()))
            .execute(
                &actor(CHEF, Role::ChefChantier),
                KARIM,
                date!(2026 - 12 - 07),
            )
            .await
            .unwrap();
        assert_eq!(feuille.pointages().len(), 1);
        assert_eq!(feuille.pointages()[0].chantier_id(), SITE);
        let (_, vues, _) = VuesChantiers::new(ports(rows()))
            .execute(&actor(CHEF, Role::ChefChantier), date!(2026 - 12 - 09), &[])
            .await
            .unwrap();
        assert_eq!(vues.len(), 1);
        assert_eq!(vues[0].totaux.par_jour[0].to_string(), "13:00");
    }

    #[tokio::test]
    async fn the_views_narrow_to_the_ids_asked() {
        let admin = actor(Uuid::from_u128(99), Role::Admin);
        let (semaine, chantiers, _) = VuesChantiers::new(ports(rows()))
            .execute(&admin, date!(2026 - 12 - 13), &[AUTRE])
            .await
            .unwrap();
        assert_eq!(semaine.lundi(), date!(2026 - 12 - 07));
        assert_eq!(chantiers.len(), 1);
        assert_eq!(chantiers[0].chantier_id, AUTRE);
        let (_, compagnons, noms) = VuesCompagnons::new(ports(rows()))
            .execute(&admin, date!(2026 - 12 - 07), &[])
            .await
            .unwrap();
        assert_eq!(compagnons.len(), 2);
        assert_eq!(compagnons[0].utilisateur_id, KARIM);
        assert_eq!(compagnons[0].totaux.total().to_string(), "15:00");
        assert_eq!(compagnons[0].chantiers.len(), 2);
        assert_eq!(noms.utilisateur(LEA), format!("Utilisateur {LEA}"));
    }

    #[tokio::test]
    async fn feuilles_are_listed_within_the_callers_view() {
        let list = ListFeuilles::new(ports(rows()));
        let page = Page::new(None, None);
        // Karim sees his two weeks, not Léa's.
        let (feuilles, noms, total) = list
            .execute(
                &actor(KARIM, Role::Compagnon),
                FeuilleFilter::default(),
                page,
            )
            .await
            .unwrap();
        assert_eq!(total, 2);
        let weeks: Vec<(Uuid, Date)> = feuilles
            .iter()
            .map(|f| (f.utilisateur_id(), f.semaine().lundi()))
            .collect();
        assert_eq!(
            weeks,
            [
                (KARIM, date!(2026 - 12 - 14)),
                (KARIM, date!(2026 - 12 - 07))
            ]
        );
        assert_eq!(feuilles[1].totaux().total().to_string(), "15:00");
        assert_eq!(noms.utilisateur(KARIM), "Karim Benali");
        // A chef sees the weeks with rows on his site, each holding only
        // those rows.
        let (feuilles, _, total) = list
            .execute(
                &actor(CHEF, Role::ChefChantier),
                FeuilleFilter::default(),
                page,
            )
            .await
            .unwrap();
        assert_eq!(total, 3);
        let karim_week_50 = feuilles
            .iter()
            .find(|f| f.utilisateur_id() == KARIM && f.semaine().lundi() == date!(2026 - 12 - 07))
            .unwrap();
        assert_eq!(karim_week_50.totaux().total().to_string(), "07:00");
    }

    #[tokio::test]
    async fn a_year_or_week_out_of_range_is_refused_before_any_read() {
        // No expectation: a read would panic.
        let list = ListFeuilles::new(PointagesPorts {
            pointages: Arc::new(MockPointageRepository::new()),
            directory: Arc::new(MockDirectory::new()),
            clock: Arc::new(FixedClock(datetime!(2026-12-07 08:00 UTC))),
        });
        for filter in [
            FeuilleFilter {
                annee: Some(1999),
                ..FeuilleFilter::default()
            },
            FeuilleFilter {
                numero_semaine: Some(54),
                ..FeuilleFilter::default()
            },
            FeuilleFilter {
                numero_semaine: Some(0),
                ..FeuilleFilter::default()
            },
        ] {
            let refused = list
                .execute(&actor(KARIM, Role::Admin), filter, Page::new(None, None))
                .await;
            assert!(matches!(refused, Err(PointagesError::Invalid(_))));
        }
    }

    #[tokio::test]
    async fn the_gauge_is_read_within_the_callers_view() {
        let jauge = JaugeAvancement::new(ports(rows()));
        let (semaine, own) = jauge
            .execute(
                &actor(KARIM, Role::Compagnon),
                KARIM,
                date!(2026 - 12 - 09),
                None,
            )
            .await
            .unwrap();
        assert_eq!(semaine.lundi(), date!(2026 - 12 - 07));
        assert_eq!(own.realise.to_string(), "15:00");
        assert_eq!(own.heures_planifiees, 35.0);
        let other = jauge
            .execute(
                &actor(LEA, Role::Compagnon),
                KARIM,
                date!(2026 - 12 - 09),
                Some(15.0),
            )
            .await;
        assert!(matches!(other, Err(PointagesError::FeuilleNotFound)));
        // The chef sees only Karim's row on his site.
        let (_, chef) = jauge
            .execute(
                &actor(CHEF, Role::ChefChantier),
                KARIM,
                date!(2026 - 12 - 09),
                Some(7.0),
            )
            .await
            .unwrap();
        assert_eq!(chef.realise.to_string(), "07:00");
        assert!((chef.taux - 100.0).abs() < 1e-9);
        for bad in [-1.0, 169.0, f64::NAN] {
            let refused = jauge
                .execute(
                    &actor(KARIM, Role::Admin),
                    KARIM,
                    date!(2026 - 12 - 09),
                    Some(bad),
                )
                .await;
            assert!(matches!(refused, Err(PointagesError::Invalid(_))), "{bad}");
        }
    }

    #[tokio::test]
    async fn teams_are_compared_by_admins_and_conducteurs_of_their_sites() {
        let compare = ComparaisonEquipes::new(ports(rows()));
        let (_, equipes, _, noms) = compare
            .execute(
                &actor(Uuid::from_u128(99), Role::Admin),
                date!(2026 - 12 - 08),
            )
            .await
            .unwrap();
        // Week 50: SITE (Karim 7 h, Léa 6 h), AUTRE (Karim 8 h).
        let summary: Vec<(Uuid, usize, String)> = equipes
            .iter()
            .map(|e| (e.chantier_id, e.nombre_utilisateurs, e.realise.to_string()))
            .collect();
        assert_eq!(
            summary,
            [
                (SITE, 2, "13:00".to_owned()),
                (AUTRE, 1, "08:00".to_owned())
            ]
        );
        assert_eq!(noms.chantier(SITE), "Site 10");
        for role in [Role::ChefChantier, Role::Compagnon] {
            let refused = compare
                .execute(&actor(CHEF, role), date!(2026 - 12 - 08))
                .await;
            assert!(matches!(refused, Err(PointagesError::Forbidden(_))));
        }
    }
}
