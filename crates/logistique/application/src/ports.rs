//! What the logistique use cases need from the outside world.

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, StorageError};
use hub_logistique_domain::{ChantierInfo, Reservation, Ressource};
use time::Date;
use uuid::Uuid;

/// Why a repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("it does not exist")]
    NotFound,
    /// Another non-deleted ressource has this code.
    #[error("the code is taken")]
    CodeTaken,
    /// Another active booking of the ressource overlaps; decided by the
    /// database, so two concurrent bookings cannot both win.
    #[error("the slot overlaps booking {other}")]
    Overlap { other: Uuid },
    /// Another request changed it since it was read.
    #[error("it was changed by someone else meanwhile")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Ressources and their events, stored together (outbox).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RessourceRepository: Send + Sync {
    async fn insert(
        &self,
        ressource: &Ressource,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn update(
        &self,
        ressource: &Ressource,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// A non-deleted ressource.
    async fn find(&self, id: Uuid) -> Result<Option<Ressource>, RepositoryError>;
}

/// Réservations and their events, stored together (outbox).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReservationRepository: Send + Sync {
    /// Fails with [`RepositoryError::Overlap`] when an active booking of
    /// the ressource overlaps it.
    async fn insert(
        &self,
        reservation: &Reservation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores it if the stored one is still at its version - 1; an overlap
    /// as for [`ReservationRepository::insert`].
    async fn update(
        &self,
        reservation: &Reservation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find(&self, id: Uuid) -> Result<Option<Reservation>, RepositoryError>;
    /// The active bookings of a chantier dated `from` or later.
    async fn active_from(
        &self,
        chantier_id: Uuid,
        from: Date,
    ) -> Result<Vec<Reservation>, RepositoryError>;
}

/// What this context knows of chantiers (a read model fed by their events).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Directory: Send + Sync {
    /// The chantier; `None` when unknown or deleted.
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError>;
}
