//! Pointages adapters: [`DieselPointageRepository`] (pointages and their
//! events in one PostgreSQL transaction, one per user, chantier and day held
//! by a unique constraint) and [`DieselDirectory`] (the context's read
//! models of users and chantiers, fed by their events through the platform
//! directory).

mod directory;
mod repository;
mod schema;

pub use directory::{DieselDirectory, chantiers, users};
pub use repository::DieselPointageRepository;
