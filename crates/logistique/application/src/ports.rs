//! What the logistique use cases need from the outside world.

use std::collections::HashMap;

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_logistique_domain::{
    CategorieRessource, ChantierInfo, Reservation, Ressource, StatutReservation,
};
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
    /// The ressources among `ids`, deleted ones included (names on the
    /// answers about their bookings).
    async fn find_many(&self, ids: &[Uuid]) -> Result<Vec<Ressource>, RepositoryError>;
    /// A page of the catalogue (non-deleted), by nom, and the total.
    async fn list(
        &self,
        filter: &RessourceFilter,
        page: Page,
    ) -> Result<(Vec<Ressource>, u64), RepositoryError>;
}

/// Which ressources a catalogue page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RessourceFilter {
    pub categorie: Option<CategorieRessource>,
    /// Hide inactive ressources.
    pub actif_seulement: bool,
}

/// In which order a list of réservations comes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReservationOrder {
    /// Date then heure_debut, earliest first (plannings, pending ones).
    #[default]
    Chronologique,
    /// Date then heure_debut, latest first (historique).
    Recent,
}

/// Which réservations a list holds; every criterion set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservationFilter {
    pub ressource_id: Option<Uuid>,
    /// Only on these chantiers (`None`: any).
    pub chantier_ids: Option<Vec<Uuid>>,
    /// Only those this user asked for.
    pub demandeur_id: Option<Uuid>,
    /// Only in these statuts (empty: any).
    pub statuts: Vec<StatutReservation>,
    pub date_debut: Option<Date>,
    pub date_fin: Option<Date>,
    pub order: ReservationOrder,
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
    /// A page of réservations and the total matching `filter`.
    async fn list(
        &self,
        filter: &ReservationFilter,
        page: Page,
    ) -> Result<(Vec<Reservation>, u64), RepositoryError>;
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
    /// The (not deleted) chantiers listing `user_id` as a conducteur or a
    /// chef de chantier; whether that makes them a valideur is the
    /// domain's to say.
    async fn chantiers_run_by(&self, user_id: Uuid) -> Result<Vec<ChantierInfo>, StorageError>;
    /// The names of the users ("Prénom Nom") and chantiers among these ids
    /// that are known.
    async fn noms(&self, users: &[Uuid], chantiers: &[Uuid]) -> Result<Noms, StorageError>;
}

/// Display names answers show next to ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noms {
    pub utilisateurs: HashMap<Uuid, String>,
    pub chantiers: HashMap<Uuid, String>,
}
