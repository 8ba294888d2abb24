//! The planning de charge context as the app lists it: the
//! `/api/v1/planning-charge` routes and its read models of users,
//! chantiers and affectations.

use std::sync::Arc;

use actix_web::web;
use hub_planning_charge_application::PlanningChargePorts;
use hub_platform_context::{Context, Module, ModuleError, Platform};
use utoipa::OpenApi;

use crate::directory::{DieselDirectory, chantiers, users};
use crate::{
    AffectationsProjection, DieselAffectations, DieselBesoinRepository, PlanningChargeApi,
    PlanningChargeHttp,
};

/// The planning de charge context (no configuration of its own).
pub const CONTEXT: Context = Context {
    name: "planning_charge",
    openapi: PlanningChargeApi::openapi,
    event_catalog: hub_planning_charge_domain::event_catalog,
    rate_limits: &[],
    build,
};

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let database = platform.database.clone();
    let directory = Arc::new(DieselDirectory::new(database.clone()));
    let state = web::Data::new(PlanningChargeHttp::new(PlanningChargePorts {
        besoins: Arc::new(DieselBesoinRepository::new(database.clone())),
        chantiers: directory.clone(),
        effectif: directory,
        affectations: Arc::new(DieselAffectations::new(database)),
        clock: platform.clock.clone(),
    }));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(users())
        .projection(chantiers())
        .projection(AffectationsProjection::new()))
}
