//! What the pointages use cases need from the outside world.

use std::collections::HashMap;

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_pointages_domain::access::Responsables;
use hub_pointages_domain::{Pointage, Statut, VariablePaie};
use time::Date;
use uuid::Uuid;

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The user already has a pointage on that chantier that day (the
    /// database's unique constraint, which holds under concurrency).
    #[error(
        "a pointage already exists for user {utilisateur_id} on chantier {chantier_id} on {date}"
    )]
    Conflict {
        utilisateur_id: Uuid,
        chantier_id: Uuid,
        date: Date,
    },
    #[error("the pointage does not exist")]
    NotFound,
    /// Another request changed the pointage since it was read.
    #[error("the pointage was changed by someone else meanwhile")]
    Changed,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Filters of the list (every field narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointageFilter {
    pub utilisateur_id: Option<Uuid>,
    /// Only these users; empty: no narrowing.
    pub utilisateur_ids: Vec<Uuid>,
    pub chantier_id: Option<Uuid>,
    /// Inclusive.
    pub date_debut: Option<Date>,
    /// Inclusive.
    pub date_fin: Option<Date>,
    pub statut: Option<Statut>,
    /// The caller's scope: `None` sees everything; otherwise only the
    /// pointages of `visible_user`, or on `visible_chantiers`.
    pub visible_user: Option<Uuid>,
    pub visible_chantiers: Vec<Uuid>,
}

/// Filters of the list of feuilles d'heures (every field narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeuilleFilter {
    pub utilisateur_id: Option<Uuid>,
    /// ISO year of the week.
    pub annee: Option<i32>,
    /// ISO week number, 1 to 53.
    pub numero_semaine: Option<u8>,
    /// The feuille's global statut (computed from its pointages).
    pub statut: Option<Statut>,
    /// The caller's scope, as [`PointageFilter`]'s.
    pub visible_user: Option<Uuid>,
    pub visible_chantiers: Vec<Uuid>,
}

/// Pointages and their events, stored together: every write appends its
/// `events` to the outbox in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PointageRepository: Send + Sync {
    /// Stores a new pointage; [`RepositoryError::Conflict`] (nothing stored)
    /// when its user already has one on that chantier and day.
    async fn insert(
        &self,
        pointage: &Pointage,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `pointage` if the stored one is still at `version() - 1`.
    async fn update(
        &self,
        pointage: &Pointage,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Deletes `pointage` at the version it was read.
    async fn delete(
        &self,
        pointage: &Pointage,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find(&self, id: Uuid) -> Result<Option<Pointage>, RepositoryError>;
    /// Stores events that change no pointage (an export) in the outbox.
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), RepositoryError>;
    /// The distinct users of the pointages that `filter` selects (what an
    /// export walks through, one batch of users at a time).
    async fn utilisateurs(&self, filter: &PointageFilter) -> Result<Vec<Uuid>, RepositoryError>;
    /// A page of the feuilles d'heures `filter` selects — each a user and
    /// the Monday of a week where he has pointages in the scope — the most
    /// recent week first, then by user id; and how many there are.
    async fn feuilles(
        &self,
        filter: &FeuilleFilter,
        page: Page,
    ) -> Result<(Vec<(Uuid, Date)>, u64), RepositoryError>;
    /// Stores a variable de paie and its events if its pointage may still
    /// be edited (brouillon or rejete), checked in the same transaction
    /// with the pointage's row locked, so that a submission racing it
    /// cannot slip between: [`RepositoryError::Changed`] (nothing stored)
    /// otherwise, [`RepositoryError::NotFound`] when the pointage is gone.
    async fn insert_variable(
        &self,
        variable: &VariablePaie,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// The variables de paie of these pointages, by pointage then creation.
    async fn variables(&self, pointage_ids: &[Uuid]) -> Result<Vec<VariablePaie>, RepositoryError>;
    /// A page ordered by date descending, and the total.
    async fn list(
        &self,
        filter: &PointageFilter,
        page: Page,
    ) -> Result<(Vec<Pointage>, u64), RepositoryError>;
}

/// A user as the pointages know them (from `user.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: Uuid,
    pub is_active: bool,
}

/// A chantier as the pointages know it (from `chantier.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierInfo {
    pub chantier_id: Uuid,
    /// Not deleted and not `ferme`: hours may be entered there.
    pub open: bool,
    pub responsables: Responsables,
}

/// The read models of users and chantiers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Directory: Send + Sync {
    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError>;
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError>;
    /// The chantiers `user_id` is a conducteur or chef de chantier of.
    async fn chantiers_run_by(&self, user_id: Uuid) -> Result<Vec<Uuid>, StorageError>;
    /// The display names of the users and chantiers among these ids that
    /// are known, and the chantiers' addresses.
    async fn names(&self, users: &[Uuid], chantiers: &[Uuid]) -> Result<Noms, StorageError>;
}

/// Display names shown next to ids in weekly views and exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noms {
    /// "Prénom Nom" by user id.
    pub utilisateurs: HashMap<Uuid, String>,
    /// The chantier's nom by id.
    pub chantiers: HashMap<Uuid, String>,
    /// The chantier's postal address by id, when known.
    pub adresses: HashMap<Uuid, String>,
}

impl Noms {
    /// The user's name, or `Utilisateur {id}` when unknown (as the original).
    pub fn utilisateur(&self, id: Uuid) -> String {
        self.utilisateurs
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("Utilisateur {id}"))
    }

    /// The chantier's nom, or `Chantier {id}` when unknown.
    pub fn chantier(&self, id: Uuid) -> String {
        self.chantiers
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("Chantier {id}"))
    }
}
