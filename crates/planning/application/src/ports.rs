//! What the planning use cases need from the outside world.

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_planning_domain::Affectation;
use time::Date;
use uuid::Uuid;

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The user already has a planned affectation that day (the database's
    /// one-per-day constraint, which holds under concurrency).
    #[error("user {utilisateur_id} already has an affectation on {date}")]
    Conflict { utilisateur_id: Uuid, date: Date },
    #[error("the affectation does not exist")]
    NotFound,
    /// Another request changed the affectation since it was read.
    #[error("the affectation was changed by someone else meanwhile")]
    Changed,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Filters of the planning (every field narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanningFilter {
    pub date_debut: Option<Date>,
    pub date_fin: Option<Date>,
    /// Any of these users (empty: all).
    pub utilisateur_ids: Vec<Uuid>,
    /// Any of these chantiers (empty: all).
    pub chantier_ids: Vec<Uuid>,
    /// Only the planned ones (cancelled left out).
    pub planned_only: bool,
    /// The caller's scope: `None` sees everything; otherwise only the
    /// affectations of `visible_user`, or on `visible_chantiers`.
    pub visible_user: Option<Uuid>,
    pub visible_chantiers: Vec<Uuid>,
}

/// Affectations and their events, stored together: every write appends its
/// `events` to the outbox in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AffectationRepository: Send + Sync {
    /// Stores new affectations; [`RepositoryError::Conflict`] (nothing
    /// stored) when one lands on a day its user already has.
    async fn insert(
        &self,
        affectations: &[Affectation],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `affectation` if the stored one is still at `version() - 1`.
    async fn update(
        &self,
        affectation: &Affectation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Deletes these affectations, each at the version it was read.
    async fn delete(
        &self,
        affectations: &[Affectation],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find(&self, id: Uuid) -> Result<Option<Affectation>, RepositoryError>;
    async fn find_many(&self, ids: &[Uuid]) -> Result<Vec<Affectation>, RepositoryError>;
    /// A page ordered by date, user and start time, and the total.
    async fn list(
        &self,
        filter: &PlanningFilter,
        page: Page,
    ) -> Result<(Vec<Affectation>, u64), RepositoryError>;
    /// Users with a planned affectation between the two days.
    async fn planned_users(&self, debut: Date, fin: Date) -> Result<Vec<Uuid>, RepositoryError>;
}

/// A user as the planning knows them (from `user.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: Uuid,
    pub is_active: bool,
}

/// A chantier as the planning knows it (from `chantier.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierInfo {
    pub chantier_id: Uuid,
    /// Not deleted, `ouvert` or `en_cours`: staff may be planned there.
    pub plannable: bool,
    pub conducteur_ids: Vec<Uuid>,
}

/// Display names the planning grid shows next to ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noms {
    /// "Prénom Nom" by user id.
    pub utilisateurs: std::collections::HashMap<Uuid, String>,
    /// The chantier's nom by id.
    pub chantiers: std::collections::HashMap<Uuid, String>,
}

/// The read models of users and chantiers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Directory: Send + Sync {
    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError>;
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError>;
    /// The chantiers `user_id` is a conducteur or chef de chantier of.
    async fn chantiers_run_by(&self, user_id: Uuid) -> Result<Vec<Uuid>, StorageError>;
    /// Every active user.
    async fn active_users(&self) -> Result<Vec<Uuid>, StorageError>;
    /// The names of the users and chantiers among these ids that are known.
    async fn names(&self, users: &[Uuid], chantiers: &[Uuid]) -> Result<Noms, StorageError>;
}
