//! The logistique's read models of users and chantiers (tables
//! `logistique_users`, `logistique_chantiers`, fed by `user.*` and
//! `chantier.*` events through the platform directory), as its use cases
//! ask.

use async_trait::async_trait;
use hub_kernel::StorageError;
use hub_logistique_application::{Directory, Noms};
use hub_logistique_domain::ChantierInfo;
use hub_platform_directory::{ChantierView, ChantiersDirectory, UsersDirectory};
use hub_platform_postgres::{Database, storage};
use uuid::Uuid;

/// The users the logistique knows, from `user.*` events: names on answers.
pub fn users() -> UsersDirectory {
    UsersDirectory::new("logistique.users", "logistique_users")
}

/// The chantiers the logistique knows, from `chantier.*` events: which can
/// be booked for, and who validates there.
pub fn chantiers() -> ChantiersDirectory {
    ChantiersDirectory::new("logistique.chantiers", "logistique_chantiers")
}

/// A chantier as the domain sees it. Only `ouvert` and `en_cours` sites
/// take bookings (the platform's "active"); `receptionne`, `ferme` or an
/// unknown statut count as closed.
pub(crate) fn info(view: ChantierView) -> ChantierInfo {
    ChantierInfo {
        chantier_id: view.chantier_id,
        ferme: !view.is_active(),
        conducteur_ids: view.conducteur_ids,
        chef_chantier_ids: view.chef_chantier_ids,
    }
}

/// [`Directory`] on the logistique's read models.
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
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let found = chantiers().find(&mut conn, id).await.map_err(storage)?;
        Ok(found.filter(|view| !view.deleted).map(info))
    }

    async fn chantiers_run_by(&self, user_id: Uuid) -> Result<Vec<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let directory = chantiers();
        let ids = directory
            .run_by(&mut conn, user_id)
            .await
            .map_err(storage)?;
        let views = directory.of(&mut conn, &ids).await.map_err(storage)?;
        Ok(views
            .into_iter()
            .filter(|view| !view.deleted)
            .map(info)
            .collect())
    }

    async fn noms(&self, user_ids: &[Uuid], chantier_ids: &[Uuid]) -> Result<Noms, StorageError> {
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
}
