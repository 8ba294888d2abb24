//! The signalements context as the app lists it: the `/api/v1/signalements`
//! routes, its read models of users, chantiers, affectations and documents, and the
//! escalation job.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use hub_platform_context::parse;
use hub_platform_context::{Context, Module, ModuleError, Platform, Worker};
use hub_signalements_application::SignalementPorts;
use utoipa::OpenApi;

use crate::directory::{DieselDirectory, affectations, chantiers, documents, users};
use crate::{DieselSignalementRepository, EscaladeJob, SignalementsApi, SignalementsHttp};

/// The signalements context. Configuration: `SIGNALEMENTS_ESCALATION_INTERVAL`
/// (how often the escalation job looks for due levels; default `1m`).
pub const CONTEXT: Context = Context {
    name: "signalements",
    openapi: SignalementsApi::openapi,
    event_catalog: hub_signalements_domain::event_catalog,
    rate_limits: &[],
    build,
};

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let every = platform.env().parse_or(
        "SIGNALEMENTS_ESCALATION_INTERVAL",
        Duration::from_secs(60),
        parse::positive_duration,
    )?;
    let database = platform.database.clone();
    let state = web::Data::new(SignalementsHttp::new(SignalementPorts {
        signalements: Arc::new(DieselSignalementRepository::new(database.clone())),
        directory: Arc::new(DieselDirectory::new(database)),
        clock: platform.clock.clone(),
    }));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(users())
        .projection(chantiers())
        .projection(affectations())
        .projection(documents())
        .worker(Worker::scheduled(
            platform,
            Arc::new(EscaladeJob::new()),
            every,
        )))
}
