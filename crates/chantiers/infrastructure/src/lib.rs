//! Chantiers adapters: [`DieselChantierRepository`] (a site and its events in
//! one PostgreSQL transaction, with optimistic locking) and the HTTP routes
//! of `/api/v1/chantiers` ([`http`]).

pub mod http;
mod repository;
mod schema;

pub use http::{ChantiersApi, ChantiersHttp};
pub use repository::DieselChantierRepository;
