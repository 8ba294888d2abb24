//! The planning's read models of users and chantiers, as its use cases ask.

use async_trait::async_trait;
use hub_kernel::StorageError;
use hub_planning_application::{ChantierInfo, Directory, Noms, UserInfo};
use hub_platform_postgres::{Database, storage};
use uuid::Uuid;

use crate::context::{chantiers, users};

/// [`Directory`] on the `planning_users` and `planning_chantiers` tables.
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
            plannable: chantier.is_active(),
            conducteur_ids: chantier.conducteur_ids,
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
            chantiers: known_chantiers
                .into_iter()
                .filter_map(|chantier| Some((chantier.chantier_id, chantier.nom?)))
                .collect(),
        })
    }

    async fn active_users(&self) -> Result<Vec<Uuid>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let active = users().active(&mut conn).await.map_err(storage)?;
        Ok(active.into_iter().map(|user| user.user_id).collect())
    }
}
