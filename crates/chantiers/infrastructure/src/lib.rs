//! Chantiers adapters: [`DieselChantierRepository`] (a site and its events in
//! one PostgreSQL transaction, with optimistic locking), the HTTP routes of
//! `/api/v1/chantiers` ([`http`]), and the [`AffectationsProjector`] that
//! keeps this context's view of who is assigned where; [`CONTEXT`] is how
//! the app lists it.

mod affectations;
mod context;
pub mod http;
mod repository;
mod schema;

pub use affectations::AffectationsProjector;
pub use context::CONTEXT;
pub use http::{ChantiersApi, ChantiersHttp};
pub use repository::DieselChantierRepository;
