//! The weekly read side: a user's feuille d'heures and the views of a week
//! per chantier and per user, each made of the pointages the caller may
//! see, computed on read (never stored, so never stale).

use hub_kernel::{Actor, Page, Role};
use hub_pointages_domain::{
    FeuilleHeures, Pointage, Semaine, VueChantier, VueCompagnon, vues_chantiers, vues_compagnons,
};
use time::Date;
use uuid::Uuid;

use crate::ports::{Noms, PointageFilter};
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
        let (found, _) = ListPointages(self.clone())
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

/// The display names of the users and chantiers of some pointages (for
/// answers that show names next to ids).
pub struct NomsPointages(pub PointagesPorts);

impl NomsPointages {
    pub async fn execute(&self, pointages: &[Pointage]) -> Result<Noms, PointagesError> {
        self.0.noms_of(pointages).await
    }
}

/// The feuille d'heures of one user for the week of a day: a compagnon
/// reads his own only (another's is not found); a conducteur or chef sees
/// the rows on his chantiers (and his own); an admin all of them.
pub struct GetFeuille(pub PointagesPorts);

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
            .0
            .week(actor, semaine, Some(utilisateur_id), None)
            .await?;
        let mut noms = self.0.noms_of(&rows).await?;
        if !noms.utilisateurs.contains_key(&utilisateur_id) {
            // The feuille names its user even when it is empty.
            let named = self.0.directory.names(&[utilisateur_id], &[]).await?;
            noms.utilisateurs.extend(named.utilisateurs);
        }
        Ok((FeuilleHeures::new(utilisateur_id, semaine, rows), noms))
    }
}

/// The week of a day per chantier (those with hours the caller may see),
/// optionally only `chantier_ids`.
pub struct VuesChantiers(pub PointagesPorts);

impl VuesChantiers {
    pub async fn execute(
        &self,
        actor: &Actor,
        day: Date,
        chantier_ids: &[Uuid],
    ) -> Result<(Semaine, Vec<VueChantier>, Noms), PointagesError> {
        let semaine = Semaine::contenant(day);
        let mut rows = self.0.week(actor, semaine, None, None).await?;
        if !chantier_ids.is_empty() {
            rows.retain(|p| chantier_ids.contains(&p.chantier_id()));
        }
        let noms = self.0.noms_of(&rows).await?;
        Ok((semaine, vues_chantiers(semaine, rows), noms))
    }
}

/// The week of a day per user (those with hours the caller may see), each
/// per chantier, optionally only `utilisateur_ids`.
pub struct VuesCompagnons(pub PointagesPorts);

impl VuesCompagnons {
    pub async fn execute(
        &self,
        actor: &Actor,
        day: Date,
        utilisateur_ids: &[Uuid],
    ) -> Result<(Semaine, Vec<VueCompagnon>, Noms), PointagesError> {
        let semaine = Semaine::contenant(day);
        let mut rows = self.0.week(actor, semaine, None, None).await?;
        if !utilisateur_ids.is_empty() {
            rows.retain(|p| utilisateur_ids.contains(&p.utilisateur_id()));
        }
        let noms = self.0.noms_of(&rows).await?;
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
        let feuille = GetFeuille(ports(rows()));
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
    async fn a_chef_sees_the_rows_of_his_chantiers_only() {
        let (feuille, _) = GetFeuille(ports(rows()))
            .execute(
                &actor(CHEF, Role::ChefChantier),
                KARIM,
                date!(2026 - 12 - 07),
            )
            .await
            .unwrap();
        assert_eq!(feuille.pointages().len(), 1);
        assert_eq!(feuille.pointages()[0].chantier_id(), SITE);
        let (_, vues, _) = VuesChantiers(ports(rows()))
            .execute(&actor(CHEF, Role::ChefChantier), date!(2026 - 12 - 09), &[])
            .await
            .unwrap();
        assert_eq!(vues.len(), 1);
        assert_eq!(vues[0].totaux.par_jour[0].to_string(), "13:00");
    }

    #[tokio::test]
    async fn the_views_narrow_to_the_ids_asked() {
        let admin = actor(Uuid::from_u128(99), Role::Admin);
        let (semaine, chantiers, _) = VuesChantiers(ports(rows()))
            .execute(&admin, date!(2026 - 12 - 13), &[AUTRE])
            .await
            .unwrap();
        assert_eq!(semaine.lundi(), date!(2026 - 12 - 07));
        assert_eq!(chantiers.len(), 1);
        assert_eq!(chantiers[0].chantier_id, AUTRE);
        let (_, compagnons, noms) = VuesCompagnons(ports(rows()))
            .execute(&admin, date!(2026 - 12 - 07), &[])
            .await
            .unwrap();
        assert_eq!(compagnons.len(), 2);
        assert_eq!(compagnons[0].utilisateur_id, KARIM);
        assert_eq!(compagnons[0].totaux.total().to_string(), "15:00");
        assert_eq!(compagnons[0].chantiers.len(), 2);
        assert_eq!(noms.utilisateur(LEA), format!("Utilisateur {LEA}"));
    }
}
