//! What the signalements use cases need from the outside world.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_signalements_domain::{ChantierInfo, Priorite, Reponse, Signalement, Statut, UserInfo};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("the signalement or reply does not exist")]
    NotFound,
    /// Another request changed it since it was read.
    #[error("it was changed by someone else meanwhile")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The order of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ordre {
    /// Most urgent priority first, then newest first (a chantier's list).
    #[default]
    Priorite,
    /// Newest first (search).
    Recents,
    /// Oldest first (the late list).
    Anciens,
}

/// Filters of the lists and statistics, all combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalementFilter {
    pub chantier_id: Option<Uuid>,
    pub statut: Option<Statut>,
    pub priorite: Option<Priorite>,
    /// Matched, case-insensitively, against titre, description and localisation.
    pub query: Option<String>,
    /// created_at ≥ date_debut.
    pub date_debut: Option<OffsetDateTime>,
    /// created_at ≤ date_fin.
    pub date_fin: Option<OffsetDateTime>,
    /// Only those still active past their deadline.
    pub en_retard_only: bool,
    /// Only those of the chantiers this user is responsable of or assigned
    /// to; `None` for every chantier.
    pub visible_to: Option<Uuid>,
    pub ordre: Ordre,
}

/// Counts over the signalements a filter selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statistiques {
    pub total: u64,
    /// Only the statuts present.
    pub par_statut: BTreeMap<Statut, u64>,
    /// Only the priorities present.
    pub par_priorite: BTreeMap<Priorite, u64>,
    pub en_retard: u64,
    /// Treated since the start of the week.
    pub traites_cette_semaine: u64,
    /// Mean hours from creation to treatment; `None` when none was treated.
    pub temps_moyen_resolution: Option<f64>,
    /// Mean hours from creation to closure; `None` when none was closed.
    pub temps_moyen_cloture: Option<f64>,
    /// (traite + cloture) / total × 100; 0 when there are none.
    pub taux_resolution: f64,
}

/// Signalements, their replies and their events, stored together: every
/// write appends its `events` to the outbox in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SignalementRepository: Send + Sync {
    async fn insert(
        &self,
        signalement: &Signalement,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `signalement` if the stored one is still at its version - 1.
    async fn update(
        &self,
        signalement: &Signalement,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Deletes it and its replies, if still at its version.
    async fn delete(
        &self,
        signalement: &Signalement,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find(&self, id: Uuid) -> Result<Option<Signalement>, RepositoryError>;
    /// A page in `filter.ordre`, and the total matching `filter`; lateness
    /// is judged at `now`.
    async fn list(
        &self,
        filter: &SignalementFilter,
        page: Page,
        now: OffsetDateTime,
    ) -> Result<(Vec<Signalement>, u64), RepositoryError>;
    /// Counts over `filter` (its order and lateness flag ignored); lateness
    /// at `now`, "this week" from `semaine_debut`.
    async fn statistiques(
        &self,
        filter: &SignalementFilter,
        now: OffsetDateTime,
        semaine_debut: OffsetDateTime,
    ) -> Result<Statistiques, RepositoryError>;
    /// The number of replies of each of `ids` (absent: none).
    async fn count_reponses(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, u64>, RepositoryError>;
    async fn insert_reponse(
        &self,
        reponse: &Reponse,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn update_reponse(
        &self,
        reponse: &Reponse,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn delete_reponse(
        &self,
        reponse: &Reponse,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find_reponse(&self, id: Uuid) -> Result<Option<Reponse>, RepositoryError>;
    /// A page of a signalement's replies, oldest first, and their total.
    async fn list_reponses(
        &self,
        signalement_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Reponse>, u64), RepositoryError>;
}

/// What this context knows of other contexts' users, chantiers and
/// affectations (read models fed by their events).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Directory: Send + Sync {
    /// The chantier; `None` when unknown or deleted.
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError>;
    /// Whether `user_id` has a live affectation on the chantier.
    async fn is_assigned(&self, user_id: Uuid, chantier_id: Uuid) -> Result<bool, StorageError>;
    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError>;
    /// "Prénom Nom" of the known users among `ids`.
    async fn names(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StorageError>;
    /// An uploaded document; `None` when unknown or deleted.
    async fn document(&self, id: Uuid) -> Result<Option<DocumentInfo>, StorageError>;
}

/// A document as this context knows it (from `document.*` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentInfo {
    pub chantier_id: Uuid,
    /// Of type `image` (what a photo must be).
    pub image: bool,
}
