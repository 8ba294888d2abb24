//! The logistique context as the app lists it: the `/api/v1/logistique`
//! routes, its read models of users and chantiers, the reaction to closed
//! or deleted chantiers and the day-before reminder job.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use hub_logistique_application::LogistiquePorts;
use hub_platform_context::parse;
use hub_platform_context::{Context, Module, ModuleError, Platform, Worker};
use utoipa::OpenApi;

use crate::{
    ChantierFermeSubscriber, DieselDirectory, DieselReservationRepository,
    DieselRessourceRepository, LogistiqueApi, LogistiqueHttp, RappelJob, chantiers, users,
};

/// The logistique context. Configuration: `LOGISTIQUE_RAPPEL_INTERVAL`
/// (how often the reminder job looks for bookings of tomorrow; default `5m`).
pub const CONTEXT: Context = Context {
    name: "logistique",
    openapi: LogistiqueApi::openapi,
    event_catalog: hub_logistique_domain::event_catalog,
    rate_limits: &[],
    build,
};

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let every = platform.env().parse_or(
        "LOGISTIQUE_RAPPEL_INTERVAL",
        Duration::from_secs(300),
        parse::positive_duration,
    )?;
    let database = platform.database.clone();
    let ports = LogistiquePorts {
        ressources: Arc::new(DieselRessourceRepository::new(database.clone())),
        reservations: Arc::new(DieselReservationRepository::new(database.clone())),
        directory: Arc::new(DieselDirectory::new(database)),
        clock: platform.clock.clone(),
    };
    let state = web::Data::new(LogistiqueHttp::new(ports.clone()));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(users())
        .projection(chantiers())
        .durable_subscriber(Arc::new(ChantierFermeSubscriber::new(ports)))
        .worker(Worker::scheduled(
            platform,
            Arc::new(RappelJob::new()),
            every,
        )))
}
