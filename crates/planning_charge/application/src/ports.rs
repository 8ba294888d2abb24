//! What the planning de charge use cases need from the outside world: the
//! besoins' storage, and read models of other contexts (fed by their
//! events, never by their tables).

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_planning_charge_domain::{Besoin, Semaine, TypeMetier};
use uuid::Uuid;

use crate::occupation::ParMetier;

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("the besoin does not exist")]
    NotFound,
    /// Another request changed it since it was read.
    #[error("it was changed by someone else meanwhile")]
    Conflict,
    /// A live besoin already holds this (chantier, week, trade).
    #[error("a besoin already exists for this chantier, week and trade")]
    Duplicate,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Minutes summed for one chantier in one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantite {
    pub chantier_id: Uuid,
    pub semaine: Semaine,
    pub minutes: u64,
}

/// Besoins and their events, stored together: every write appends its
/// `events` to the outbox in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BesoinRepository: Send + Sync {
    /// Stores a new besoin; [`RepositoryError::Duplicate`] when its cell is taken.
    async fn insert(
        &self,
        besoin: &Besoin,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `besoin` (changed or soft-deleted) if the stored one is still
    /// at its version - 1; [`RepositoryError::Duplicate`] when a new trade
    /// collides with another live besoin.
    async fn update(
        &self,
        besoin: &Besoin,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// A live (not deleted) besoin.
    async fn find(&self, id: Uuid) -> Result<Option<Besoin>, RepositoryError>;
    /// A page of a chantier's live besoins of weeks `debut` to `fin`, by
    /// week then trade, and their total.
    async fn list(
        &self,
        chantier_id: Uuid,
        debut: Semaine,
        fin: Semaine,
        page: Page,
    ) -> Result<(Vec<Besoin>, u64), RepositoryError>;
    /// The live besoins of `chantier_ids` in weeks `debut` to `fin`, summed
    /// over trades per (chantier, week); cells without besoin are absent.
    async fn totaux(
        &self,
        chantier_ids: &[Uuid],
        debut: Semaine,
        fin: Semaine,
    ) -> Result<Vec<Quantite>, RepositoryError>;
    /// The live besoins of `chantier_ids` in `semaine`, summed per trade;
    /// trades without besoin are absent.
    async fn par_metier(
        &self,
        chantier_ids: &[Uuid],
        semaine: Semaine,
    ) -> Result<Vec<(TypeMetier, u64)>, RepositoryError>;
}

/// A chantier as this context knows it from `chantier.*` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierInfo {
    pub chantier_id: Uuid,
    pub code: Option<String>,
    pub nom: Option<String>,
    /// Not deleted and `ouvert` or `en_cours`: besoins may be entered, and
    /// it is a row of the grid.
    pub ouvert: bool,
    /// Its conducteurs and chefs de chantier.
    pub responsables: Vec<Uuid>,
}

/// The chantiers read model.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Chantiers: Send + Sync {
    /// The chantier, `None` when unknown or deleted.
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError>;
    /// The open chantiers (`ouvert`, `en_cours`) by code, those whose code
    /// or nom contains `recherche` (case-insensitive) when given.
    async fn ouverts(&self, recherche: Option<String>) -> Result<Vec<ChantierInfo>, StorageError>;
    /// The (not deleted) chantiers `user_id` is a conducteur or chef of.
    async fn run_by(&self, user_id: Uuid) -> Result<Vec<Uuid>, StorageError>;
}

/// The users read model, as capacity.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Effectif: Send + Sync {
    /// How many active people work on sites (compagnons and chefs de
    /// chantier): each brings 35 h a week of capacity.
    async fn effectif(&self) -> Result<u64, StorageError>;
    /// The same people, counted per métier (as identity keeps it).
    async fn par_metier(&self) -> Result<Vec<ParMetier>, StorageError>;
}

/// The affectations read model (fed by `affectation.*`), as planned hours.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Affectations: Send + Sync {
    /// The minutes planned on `chantier_ids` in weeks `debut` to `fin`,
    /// per (chantier, week); cells without affectation are absent.
    async fn planifie(
        &self,
        chantier_ids: &[Uuid],
        debut: Semaine,
        fin: Semaine,
    ) -> Result<Vec<Quantite>, StorageError>;
    /// Per week of `debut` to `fin`, how many of the people counted by
    /// [`Effectif`] are planned at least once (on any chantier); weeks
    /// with nobody planned are absent.
    async fn occupes(
        &self,
        debut: Semaine,
        fin: Semaine,
    ) -> Result<Vec<(Semaine, u64)>, StorageError>;
    /// The minutes planned on `chantier_ids` in `semaine`, per métier of
    /// the people planned (unknown people under no métier).
    async fn planifie_par_metier(
        &self,
        chantier_ids: &[Uuid],
        semaine: Semaine,
    ) -> Result<Vec<ParMetier>, StorageError>;
    /// Per métier, how many of the people counted by [`Effectif`] are
    /// planned at least once in `semaine` (on any chantier).
    async fn occupes_par_metier(&self, semaine: Semaine) -> Result<Vec<ParMetier>, StorageError>;
}
