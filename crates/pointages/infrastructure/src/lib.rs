//! Pointages adapters: [`DieselPointageRepository`] (pointages and their
//! events in one PostgreSQL transaction, one per user, chantier and day held
//! by a unique constraint), [`DieselDirectory`] (the context's read
//! models of users and chantiers, fed by their events through the platform
//! directory), [`AffectationsSubscriber`] (brouillons pre-filled from the
//! planning's `affectation.*` events), the HTTP routes of
//! `/api/v1/pointages` ([`http`]) and the CSV / XLSX files of an export;
//! [`CONTEXT`] is how the app lists it.

mod affectations;
mod context;
mod directory;
mod export;
pub mod http;
mod repository;
mod schema;

pub use affectations::AffectationsSubscriber;
pub use context::CONTEXT;
pub use directory::{DieselDirectory, chantiers, users};
pub use http::{PointagesApi, PointagesHttp};
pub use repository::DieselPointageRepository;
