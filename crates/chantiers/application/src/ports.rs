//! What the chantiers use cases need from the outside world.

use async_trait::async_trait;
use hub_chantiers_domain::{Chantier, Statut};
use hub_kernel::{EventEnvelope, Page, StorageError};
use uuid::Uuid;

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("a chantier with the code {0} already exists")]
    DuplicateCode(String),
    #[error("the chantier does not exist")]
    NotFound,
    /// Another request changed the chantier since it was read.
    #[error("the chantier was changed by someone else meanwhile")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Filters of the chantier list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChantierFilter {
    pub statut: Option<Statut>,
    /// Matched, case-insensitively, against code, nom and adresse.
    pub q: Option<String>,
    /// Only the chantiers this user is responsable of or assigned to;
    /// `None` for every chantier.
    pub visible_to: Option<Uuid>,
}

/// Chantiers and their events, stored together: every write appends its
/// `events` to the outbox in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChantierRepository: Send + Sync {
    async fn insert(
        &self,
        chantier: &Chantier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `chantier` if the stored one is still at `chantier.version() - 1`.
    async fn update(
        &self,
        chantier: &Chantier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn delete(
        &self,
        chantier: &Chantier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find(&self, id: Uuid) -> Result<Option<Chantier>, RepositoryError>;
    /// Whether `user_id` has an affectation on the chantier (the planning
    /// context's events, kept as a local read model).
    async fn is_assigned(&self, user_id: Uuid, chantier_id: Uuid) -> Result<bool, RepositoryError>;
    /// A page ordered by code, and the total matching `filter`.
    async fn list(
        &self,
        filter: &ChantierFilter,
        page: Page,
    ) -> Result<(Vec<Chantier>, u64), RepositoryError>;
}
