//! What this context knows of users, chantiers and affectations: its own
//! read models (`documents_users`, `documents_chantiers`,
//! `documents_affectations`), fed by the platform directory's projections.

use async_trait::async_trait;
use hub_documents_application::ports::Directory;
use hub_documents_domain::{ChantierInfo, UserInfo};
use hub_kernel::StorageError;
use hub_platform_directory::{AffectationsDirectory, ChantiersDirectory, UsersDirectory};
use hub_platform_postgres::{Database, storage};
use uuid::Uuid;

/// Users, from `user.*`: grantees must be active.
pub fn users() -> UsersDirectory {
    UsersDirectory::new("documents.users", "documents_users")
}

/// Chantiers, from `chantier.*`: statut (writes stop once `ferme` or
/// deleted) and responsables (scope, who manages autorisations).
pub fn chantiers() -> ChantiersDirectory {
    ChantiersDirectory::new("documents.chantiers", "documents_chantiers")
}

/// Who is planned where, from the planning context's `affectation.*`: a
/// compagnon or chef assigned to a chantier sees its documents.
pub fn affectations() -> AffectationsDirectory {
    AffectationsDirectory::new("documents.affectations", "documents_affectations")
}

/// [`Directory`] on this context's read models.
#[derive(Debug, Clone)]
pub struct DieselDirectory {
    db: Database,
    users: UsersDirectory,
    chantiers: ChantiersDirectory,
    affectations: AffectationsDirectory,
}

impl DieselDirectory {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            users: users(),
            chantiers: chantiers(),
            affectations: affectations(),
        }
    }
}

#[async_trait]
impl Directory for DieselDirectory {
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let view = self.chantiers.find(&mut conn, id).await.map_err(storage)?;
        // A deleted chantier stays known: its documents remain readable.
        Ok(view.map(|v| ChantierInfo {
            chantier_id: v.chantier_id,
            ferme: v.statut.as_deref() == Some("ferme"),
            supprime: v.deleted,
            conducteur_ids: v.conducteur_ids,
            chef_chantier_ids: v.chef_chantier_ids,
        }))
    }

    async fn is_assigned(&self, user_id: Uuid, chantier_id: Uuid) -> Result<bool, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        self.affectations
            .is_assigned(&mut conn, user_id, chantier_id)
            .await
            .map_err(storage)
    }

    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let view = self.users.find(&mut conn, id).await.map_err(storage)?;
        Ok(view.map(|v| UserInfo {
            user_id: v.user_id,
            role: v.role(),
            is_active: v.is_active,
        }))
    }
}
