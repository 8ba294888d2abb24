//! A context as the app sees it: a [`Context`] item to list, a [`Module`]
//! to run, built from the [`Platform`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::ServiceConfig;
use futures::future::BoxFuture;
use hub_kernel::{Clock, EventCatalog, EventTypeInfo};
use hub_platform_http::auth::Authenticator;
use hub_platform_http::rate_limit::{RateLimitRule, RateLimits};
use hub_platform_postgres::jobs::{ScheduledJob, run_every};
use hub_platform_postgres::retention::{Retained, RetentionTarget};
use hub_platform_postgres::{Database, DurableSubscriber, Projection};
use tokio_util::sync::CancellationToken;

use crate::env::{ConfigError, Env, Lookup};

/// Why a context could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the {context} context cannot start: {source}")]
    Start {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ModuleError {
    pub fn start(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ModuleError::Start {
            context,
            source: source.into(),
        }
    }
}

/// One bounded context, as the app lists it. Each infrastructure crate
/// exposes one as `pub const CONTEXT: Context`.
#[derive(Clone, Copy)]
pub struct Context {
    /// `chantiers`, `planning`, … (logs and errors).
    pub name: &'static str,
    /// Its part of the OpenAPI document.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// The event types it publishes, with the JSON Schema of their data.
    pub event_catalog: fn() -> Vec<EventTypeInfo>,
    /// The rate limits it declares (keys of `RATE_LIMITS`).
    pub rate_limits: &'static [RateLimitRule],
    /// Builds what it runs; reads its own configuration section from
    /// [`Platform::env`].
    pub build: fn(&Platform) -> Result<Module, ModuleError>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("name", &self.name).finish()
    }
}

/// What the app shares with every context it builds.
#[derive(Clone)]
pub struct Platform {
    pub database: Database,
    pub clock: Arc<dyn Clock>,
    /// `RATE_LIMITS` over every context's declared rules.
    pub rate_limits: RateLimits,
    /// The merged catalog of every context (what webhooks may subscribe to).
    pub catalog: Arc<EventCatalog>,
    /// Largest accepted request body (`HTTP_BODY_LIMIT`).
    pub http_body_limit: usize,
    /// How long shutdown waits for requests and workers (`SHUTDOWN_TIMEOUT`).
    pub shutdown_timeout: Duration,
    lookup: Lookup,
    seams: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").finish_non_exhaustive()
    }
}

impl Platform {
    pub fn new(
        database: Database,
        clock: Arc<dyn Clock>,
        rate_limits: RateLimits,
        catalog: Arc<EventCatalog>,
        lookup: Lookup,
    ) -> Self {
        Self {
            database,
            clock,
            rate_limits,
            catalog,
            http_body_limit: 64 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            lookup,
            seams: Arc::default(),
        }
    }

    /// The configuration, for a context's own section.
    pub fn env(&self) -> Env<'_> {
        Env::new(&*self.lookup)
    }

    /// Replaces a part a context would otherwise build itself (tests: a
    /// fixed DNS resolver, a fake clock…), looked up by type with [`Platform::seam`].
    pub fn with_seam<T: Any + Send + Sync>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.seams).insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// The replacement of type `T`, if the app was given one.
    pub fn seam<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        self.seams
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }
}

/// A background task of a context (delivery workers, a daily reminder…):
/// it runs until its token is cancelled, then returns.
pub struct Worker {
    pub name: &'static str,
    run: Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>,
}

impl Worker {
    pub fn new(
        name: &'static str,
        run: impl FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> Self {
        Self {
            name,
            run: Box::new(run),
        }
    }

    /// A job run every `every` (at once first) on one instance at a time,
    /// with the platform's clock (see `hub_platform_postgres::jobs`).
    pub fn scheduled(platform: &Platform, job: Arc<dyn ScheduledJob>, every: Duration) -> Self {
        let (database, clock) = (platform.database.clone(), platform.clock.clone());
        Self::new(job.name(), move |shutdown| {
            Box::pin(run_every(database, job, every, clock, shutdown))
        })
    }

    /// Starts it; it stops when `shutdown` is cancelled.
    pub fn start(self, shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        (self.run)(shutdown)
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

/// A context's routes, registered on every server worker.
pub type Routes = Arc<dyn Fn(&mut ServiceConfig) + Send + Sync>;

/// What a built context runs.
#[derive(Default)]
pub struct Module {
    routes: Vec<Routes>,
    projections: Vec<Arc<dyn Projection>>,
    durable: Vec<Arc<dyn DurableSubscriber>>,
    workers: Vec<Worker>,
    retention: Vec<Retained>,
    authenticator: Option<Arc<dyn Authenticator>>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field(
                "projections",
                &self
                    .projections
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>(),
            )
            .field(
                "durable",
                &self
                    .durable
                    .iter()
                    .map(|d| d.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("workers", &self.workers)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Module {
    pub fn new() -> Self {
        Self::default()
    }

    /// Its HTTP routes: registered on every server worker (full paths under `/api/v1`).
    pub fn routes(
        mut self,
        configure: impl Fn(&mut ServiceConfig) + Send + Sync + 'static,
    ) -> Self {
        self.routes.push(Arc::new(configure));
        self
    }

    /// A read model fed by other contexts' events.
    pub fn projection(mut self, projection: impl Projection + 'static) -> Self {
        self.projections.push(Arc::new(projection));
        self
    }

    /// Any other subscriber whose effect is database work in the relay's
    /// transaction (runs after every context's projections, and after the
    /// subscribers registered before it).
    pub fn durable_subscriber(mut self, subscriber: Arc<dyn DurableSubscriber>) -> Self {
        self.durable.push(subscriber);
        self
    }

    pub fn worker(mut self, worker: Worker) -> Self {
        self.workers.push(worker);
        self
    }

    /// Rows the daily retention job deletes after `days`.
    pub fn retention(mut self, target: Arc<dyn RetentionTarget>, days: u32) -> Self {
        self.retention.push(Retained { target, days });
        self
    }

    /// The authenticator behind every route (the identity context's).
    pub fn authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// Takes the parts apart, for the app to run them.
    pub fn into_parts(self) -> ModuleParts {
        ModuleParts {
            routes: self.routes,
            projections: self.projections,
            durable: self.durable,
            workers: self.workers,
            retention: self.retention,
            authenticator: self.authenticator,
        }
    }
}

/// A module's parts, as the app runs them.
pub struct ModuleParts {
    pub routes: Vec<Routes>,
    /// Its read models (the relay runs every context's together, first).
    pub projections: Vec<Arc<dyn Projection>>,
    pub durable: Vec<Arc<dyn DurableSubscriber>>,
    pub workers: Vec<Worker>,
    pub retention: Vec<Retained>,
    pub authenticator: Option<Arc<dyn Authenticator>>,
}
