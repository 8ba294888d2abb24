//! Logistique use cases — one small struct per use case, each checking who
//! may act, then writing its change and its events through the
//! [`RessourceRepository`] / [`ReservationRepository`] ports in one step —
//! and the [`Directory`] port (what this context knows of chantiers and
//! users). The overlap rule is the reservation repository's to enforce
//! atomically ([`RepositoryError::Overlap`]).

mod ports;
mod queries;
mod use_cases;

pub use ports::{
    Directory, Noms, RepositoryError, ReservationFilter, ReservationOrder, ReservationRepository,
    RessourceFilter, RessourceRepository,
};
pub use use_cases::{
    AnnulerReservation, CancelChantierReservations, CreateReservation, CreateRessource,
    DeleteRessource, GetReservation, LogistiqueError, LogistiquePorts, RefuserReservation,
    ReservationInput, ReservationUpdateInput, RessourceInput, RessourceUpdateInput,
    UpdateReservation, UpdateRessource, ValiderReservation,
};

pub use queries::{
    DisplayNames, GetRessource, HistoriqueRessource, Libelles, ListRessources, PLANNING_MAX_DAYS,
    Planning, PlanningRessource, ReservationsChantier, ReservationsEnAttente, semaine,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockDirectory, MockReservationRepository, MockRessourceRepository};
