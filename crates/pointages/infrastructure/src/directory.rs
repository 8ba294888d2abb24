//! The pointages' read models of users and chantiers, as its use cases ask.

use async_trait::async_trait;
use hub_kernel::StorageError;
use hub_platform_directory::{ChantiersDirectory, UsersDirectory};
use hub_platform_postgres::{Database, storage};
use hub_pointages_application::{ChantierInfo, Directory, Noms, UserInfo};
use hub_pointages_domain::access::Responsables;
use uuid::Uuid;

/// The users the pointages know, from `user.*` events: whose hours may be entered.
pub fn users() -> UsersDirectory {
    UsersDirectory::new("pointages.users", "pointages_users")
}

/// The chantiers the pointages know, from `chantier.*` events: which accept
/// hours, who runs them (validates their hours), and where they are (the
/// feuille de route).
pub fn chantiers() -> ChantiersDirectory {
    ChantiersDirectory::new("pointages.chantiers", "pointages_chantiers")
}

/// [`Directory`] on the `pointages_users` and `pointages_chantiers` tables.
#[derive(Debug, Clone)]
pub struct DieselDirectory {
    db: Database,
}

impl DieselDirectory {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Directory for DieselDirectory {
    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let user = users().find(&mut conn, id).await.map_err(storage)?;
        Ok(user.map(|user| UserInfo {
            user_id: user.user_id,
            is_active: user.is_active,
        }))
    }

    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let chantier = chantiers().find(&mut conn, id).await.map_err(storage)?;
        Ok(chantier.map(|chantier| ChantierInfo {
            chantier_id: chantier.chantier_id,
            // Hours may be booked until the site is closed (a `receptionne`
            // site still gets its last hours entered).
            open: !chantier.deleted && chantier.statut.as_deref() != Some("ferme"),
            responsables: Responsables {
                conducteur_ids: chantier.conducteur_ids,
                chef_chantier_ids: chantier.chef_chantier_ids,
            },
        }))
    }

    async fn chantiers_run_by(&self, user_id: Uuid) -> Result<Vec<Uuid>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        chantiers()
            .run_by(&mut conn, user_id)
            .await
            .map_err(storage)
    }

    async fn names(&self, user_ids: &[Uuid], chantier_ids: &[Uuid]) -> Result<Noms, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let known_users = users().of(&mut conn, user_ids).await.map_err(storage)?;
        let known_chantiers = chantiers()
            .of(&mut conn, chantier_ids)
            .await
            .map_err(storage)?;
        Ok(Noms {
            utilisateurs: known_users
                .iter()
                .map(|user| (user.user_id, user.display_name()))
                .collect(),
            adresses: known_chantiers
                .iter()
                .filter_map(|chantier| Some((chantier.chantier_id, chantier.adresse.clone()?)))
                .collect(),
            chantiers: known_chantiers
                .into_iter()
                .filter_map(|chantier| Some((chantier.chantier_id, chantier.nom?)))
                .collect(),
        })
    }
}
