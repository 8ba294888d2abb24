//! Planning adapters: [`DieselAffectationRepository`] (affectations and
//! their events in one PostgreSQL transaction, the one-per-day rule held by
//! a unique index), [`DieselDirectory`] (the context's read models of users
//! and chantiers, fed by their events through the platform directory), the
//! HTTP routes of `/api/v1/planning` ([`http`]); [`CONTEXT`] is how the app
//! lists it.

mod context;
mod directory;
pub mod http;
mod repository;
mod schema;

pub use context::{CONTEXT, chantiers, users};
pub use directory::DieselDirectory;
pub use http::{PlanningApi, PlanningHttp};
pub use repository::DieselAffectationRepository;
