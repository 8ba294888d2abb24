//! What this context knows of users, chantiers, affectations and documents:
//! its own read models (`signalement_users`, `signalement_chantiers`,
//! `signalement_affectations`, `signalement_documents`), fed by the platform
//! directory's projections.

use std::collections::HashMap;

use async_trait::async_trait;
use hub_kernel::StorageError;
use hub_platform_directory::{
    AffectationsDirectory, ChantiersDirectory, DocumentsDirectory, UsersDirectory,
};
use hub_platform_postgres::{Database, storage};
use hub_signalements_application::{Directory, DocumentInfo};
use hub_signalements_domain::{ChantierInfo, UserInfo};
use uuid::Uuid;

/// Users, from `user.*`.
pub fn users() -> UsersDirectory {
    UsersDirectory::new("signalements.users", "signalement_users")
}

/// Chantiers, from `chantier.*`.
pub fn chantiers() -> ChantiersDirectory {
    ChantiersDirectory::new("signalements.chantiers", "signalement_chantiers")
}

/// Who is planned where, from the planning context's `affectation.*`: a
/// compagnon assigned to a chantier sees (and reports on) it.
pub fn affectations() -> AffectationsDirectory {
    AffectationsDirectory::new("signalements.affectations", "signalement_affectations")
}

/// Uploaded documents, from the documents context's `document.*`: what a
/// photo reference is checked against.
pub fn documents() -> DocumentsDirectory {
    DocumentsDirectory::new("signalements.documents", "signalement_documents")
}

/// [`Directory`] on this context's read models.
#[derive(Debug, Clone)]
pub struct DieselDirectory {
    db: Database,
    users: UsersDirectory,
    chantiers: ChantiersDirectory,
    affectations: AffectationsDirectory,
    documents: DocumentsDirectory,
}

impl DieselDirectory {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            users: users(),
            chantiers: chantiers(),
            affectations: affectations(),
            documents: documents(),
        }
    }
}

#[async_trait]
impl Directory for DieselDirectory {
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let view = self.chantiers.find(&mut conn, id).await.map_err(storage)?;
        Ok(view.filter(|v| !v.deleted).map(|v| ChantierInfo {
            chantier_id: v.chantier_id,
            ferme: v.statut.as_deref() == Some("ferme"),
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

    async fn document(&self, id: Uuid) -> Result<Option<DocumentInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let view = self.documents.find(&mut conn, id).await.map_err(storage)?;
        Ok(view.filter(|v| v.active).map(|v| DocumentInfo {
            chantier_id: v.chantier_id,
            image: v.type_document == "image",
        }))
    }

    async fn names(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StorageError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.db.connection().await.map_err(storage)?;
        let views = self.users.of(&mut conn, ids).await.map_err(storage)?;
        Ok(views
            .into_iter()
            .filter(|v| v.nom.is_some())
            .map(|v| (v.user_id, v.display_name()))
            .collect())
    }
}
