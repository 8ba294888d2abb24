//! Signalements adapters: [`DieselSignalementRepository`] (signalements,
//! replies and their events in one PostgreSQL transaction, lists and
//! statistics in SQL), [`DieselDirectory`] (this context's read models of
//! users, chantiers and affectations), the [`EscaladeJob`] that publishes
//! `signalement.escalated`, and the HTTP routes of `/api/v1/signalements`
//! ([`http`]); [`CONTEXT`] is how the app lists it.

mod context;
pub mod directory;
mod escalation;
pub mod http;
mod repository;
mod schema;

pub use context::CONTEXT;
pub use directory::DieselDirectory;
pub use escalation::EscaladeJob;
pub use http::{SignalementsApi, SignalementsHttp};
pub use repository::DieselSignalementRepository;
