//! The pointages context as the app lists it: the `/api/v1/pointages`
//! routes, its read models of users and chantiers, and the drafts the
//! planning's affectations pre-fill.

use std::sync::Arc;

use actix_web::web;
use hub_platform_context::{Context, Module, ModuleError, Platform};
use hub_pointages_application::PointagesPorts;
use utoipa::OpenApi;

use crate::directory::{chantiers, users};
use crate::{
    AffectationsSubscriber, DieselDirectory, DieselPointageRepository, PointagesApi, PointagesHttp,
};

/// The pointages context (no configuration of its own).
pub const CONTEXT: Context = Context {
    name: "pointages",
    openapi: PointagesApi::openapi,
    event_catalog: hub_pointages_domain::event_catalog,
    rate_limits: &[],
    build,
};

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let database = platform.database.clone();
    let subscriber = AffectationsSubscriber::new(platform.clock.clone())
        .map_err(|error| ModuleError::start("pointages", error))?;
    let state = web::Data::new(PointagesHttp::new(PointagesPorts {
        pointages: Arc::new(DieselPointageRepository::new(database.clone())),
        directory: Arc::new(DieselDirectory::new(database)),
        clock: platform.clock.clone(),
    }));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(users())
        .projection(chantiers())
        .durable_subscriber(Arc::new(subscriber)))
}
