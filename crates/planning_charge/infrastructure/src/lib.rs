//! Planning de charge adapters: [`DieselBesoinRepository`] (besoins and
//! their events in one PostgreSQL transaction, one live besoin per cell
//! held by a partial unique index), [`DieselDirectory`] (read models of
//! users and chantiers through the platform directory),
//! [`AffectationsProjection`] / [`DieselAffectations`] (this context's own
//! read model of `affectation.*` as planned hours), the HTTP routes of
//! `/api/v1/planning-charge` ([`http`]); [`CONTEXT`] is how the app lists it.

mod affectations;
mod context;
mod directory;
pub mod http;
mod repository;
mod schema;

pub use affectations::{AffectationsProjection, DieselAffectations};
pub use context::CONTEXT;
pub use directory::{DieselDirectory, chantiers, users};
pub use http::{PlanningChargeApi, PlanningChargeHttp};
pub use repository::DieselBesoinRepository;
