//! The planning context as the app lists it: the `/api/v1/planning` routes
//! and its read models of users and chantiers.

use std::sync::Arc;

use actix_web::web;
use hub_planning_application::PlanningPorts;
use hub_platform_context::{Context, Module, ModuleError, Platform};
use hub_platform_directory::{ChantiersDirectory, UsersDirectory};
use utoipa::OpenApi;

use crate::{DieselAffectationRepository, DieselDirectory, PlanningApi, PlanningHttp};

/// The users the planning knows, from `user.*` events: who may be planned.
pub fn users() -> UsersDirectory {
    UsersDirectory::new("planning.users", "planning_users")
}

/// The chantiers the planning knows, from `chantier.*` events: which are
/// open for planning, and who runs them.
pub fn chantiers() -> ChantiersDirectory {
    ChantiersDirectory::new("planning.chantiers", "planning_chantiers")
}

/// The planning context (no configuration of its own).
pub const CONTEXT: Context = Context {
    name: "planning",
    openapi: PlanningApi::openapi,
    event_catalog: hub_planning_domain::event_catalog,
    rate_limits: &[],
    build,
};

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let state = web::Data::new(PlanningHttp::new(PlanningPorts {
        affectations: Arc::new(DieselAffectationRepository::new(platform.database.clone())),
        directory: Arc::new(DieselDirectory::new(platform.database.clone())),
        clock: platform.clock.clone(),
    }));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(users())
        .projection(chantiers()))
}
