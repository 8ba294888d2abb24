//! Chantiers adapters: [`DieselChantierRepository`] (a site and its events in
//! one PostgreSQL transaction, with optimistic locking), the HTTP routes of
//! `/api/v1/chantiers` ([`http`]), and its view of who is assigned where
//! (`chantier_affectations`, a platform `AffectationsDirectory`); [`CONTEXT`]
//! is how the app lists it.

mod context;
pub mod http;
mod repository;
mod schema;

pub use context::{CONTEXT, affectations};
pub use http::{ChantiersApi, ChantiersHttp};
pub use repository::DieselChantierRepository;
