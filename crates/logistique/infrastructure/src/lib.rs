//! Logistique adapters: [`DieselRessourceRepository`] and
//! [`DieselReservationRepository`] (rows and their events in one
//! PostgreSQL transaction; a code unique among non-deleted ressources and
//! no two overlapping active bookings of a ressource, both held by the
//! database), [`DieselDirectory`] (the context's read models of users and
//! chantiers, fed by their events through the platform directory), the
//! HTTP routes of `/api/v1/logistique` ([`http`]), the day-before
//! [`RappelJob`], the [`ChantierFermeSubscriber`] that cancels the bookings
//! of a closed or deleted chantier; [`CONTEXT`] is how the app lists it.

mod context;
mod directory;
pub mod http;
mod rappel;
mod reactions;
mod repository;
mod schema;

pub use context::CONTEXT;
pub use directory::{DieselDirectory, chantiers, users};
pub use http::{LogistiqueApi, LogistiqueHttp};
pub use rappel::RappelJob;
pub use reactions::{ChantierFermeSubscriber, MOTIF_FERME, MOTIF_SUPPRIME};
pub use repository::{DieselReservationRepository, DieselRessourceRepository};
