//! The chantiers context as the app lists it: the `/api/v1/chantiers`
//! routes and its view of the planning context (`chantier_affectations`).

use std::sync::Arc;

use actix_web::web;
use hub_chantiers_application::ChantierPorts;
use hub_platform_context::{Context, Module, ModuleError, Platform};
use hub_platform_directory::AffectationsDirectory;
use utoipa::OpenApi;

use crate::{ChantiersApi, ChantiersHttp, DieselChantierRepository};

/// Who is planned on which chantier, from the planning context's events:
/// a chef or compagnon assigned to a chantier sees it.
pub fn affectations() -> AffectationsDirectory {
    AffectationsDirectory::new("chantiers.affectations", "chantier_affectations")
}

/// The chantiers context (no configuration of its own).
pub const CONTEXT: Context = Context {
    name: "chantiers",
    openapi: ChantiersApi::openapi,
    event_catalog: hub_chantiers_domain::event_catalog,
    rate_limits: &[],
    build,
};

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let state = web::Data::new(ChantiersHttp::new(ChantierPorts {
        chantiers: Arc::new(DieselChantierRepository::new(platform.database.clone())),
        clock: platform.clock.clone(),
    }));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(affectations()))
}
