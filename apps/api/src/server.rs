//! Builds the application from its configuration and the contexts of
//! [`crate::CONTEXTS`], and runs it until a shutdown signal: HTTP server,
//! metrics listener, outbox relay (with every context's read models and
//! durable subscribers), the in-process event bus (fed by the NATS
//! JetStream bus when `EVENT_BUS_URL` is set), the contexts' workers and
//! the retention job.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header::ContentType;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use hub_kernel::{Clock, EventBus, SystemClock};
use hub_platform_context::{ModuleError, ModuleParts, Platform, Routes};
use hub_platform_event_bus::{InProcessBusConfig, InProcessEventBus};
use hub_platform_http::auth::{Authenticator, authenticator_data};
use hub_platform_http::{Problem, extractors, request_id};
use hub_platform_nats::NatsEventBus;
use hub_platform_outbound::NameResolver;
use hub_platform_postgres::retention::{DispatchedEventLogs, Retained};
use hub_platform_postgres::{Database, OutboxRelay, PoolSettings, RelayConfig, migrations};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::config::Config;
use crate::health;

/// A built, not yet running, application.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    /// `GET /metrics`, unless `METRICS_ADDR=off`; started by `run`.
    metrics: Option<(Server, SocketAddr)>,
    database: Database,
    bus: Arc<InProcessEventBus>,
    workers: CancellationToken,
    /// The relay, the retention job, the metrics refresher and the
    /// contexts' workers, stopped together.
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    retention: Vec<Retained>,
    config: Config,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .field("metrics", &self.metrics_addr())
            .finish_non_exhaustive()
    }
}

/// Test seams of [`Application::build_with`]; the defaults are production's.
#[derive(Default)]
pub struct Overrides {
    /// DNS for webhook destinations (e.g. a `FixtureResolver`); the system's by default.
    pub resolver: Option<Arc<dyn NameResolver>>,
    /// The time every context sees (e.g. a clock tests move); the system's by default.
    pub clock: Option<Arc<dyn Clock>>,
}

/// The parts of every context, gathered.
#[derive(Default)]
struct Modules {
    routes: Vec<Routes>,
    authenticator: Option<Arc<dyn Authenticator>>,
    projections: Vec<Arc<dyn hub_platform_postgres::Projection>>,
    relay: Vec<Arc<dyn hub_platform_postgres::DurableSubscriber>>,
    workers: Vec<hub_platform_context::Worker>,
    retention: Vec<Retained>,
}

impl Modules {
    /// Builds each context of [`crate::CONTEXTS`] on `platform`; a context
    /// whose configuration section is invalid stops start-up here, before
    /// anything has run.
    fn build(platform: &Platform) -> anyhow::Result<Self> {
        let mut modules = Self::default();
        for context in crate::CONTEXTS {
            let parts: ModuleParts = (context.build)(platform)
                .map_err(|error| match error {
                    ModuleError::Config(config) => {
                        anyhow::Error::new(config).context("invalid configuration")
                    }
                    other => anyhow::Error::new(other),
                })?
                .into_parts();
            modules.routes.extend(parts.routes);
            modules.projections.extend(parts.projections);
            modules.relay.extend(parts.durable);
            modules.workers.extend(parts.workers);
            modules.retention.extend(parts.retention);
            if let Some(authenticator) = parts.authenticator {
                anyhow::ensure!(
                    modules.authenticator.replace(authenticator).is_none(),
                    "two contexts provide the authenticator"
                );
            }
        }
        Ok(modules)
    }
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("resolver", &self.resolver.is_some())
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl Application {
    /// Migrates the database, starts the background workers and binds the
    /// listener (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Overrides::default()).await
    }

    /// [`Application::build`] with some parts replaced (tests).
    pub async fn build_with(config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        // Connections are opened lazily: nothing touches the database
        // before every context has read its configuration.
        let database = Database::connect(
            &config.database_url,
            &PoolSettings {
                max_size: config.database_pool_size,
                ..PoolSettings::default()
            },
        )
        .context("database pool")?;
        let clock: Arc<dyn Clock> = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut platform = Platform::new(
            database.clone(),
            clock,
            config.rate_limits.clone(),
            Arc::new(crate::event_catalog()?),
            config.source.lookup(),
        );
        platform.http_body_limit = config.http_body_limit;
        platform.shutdown_timeout = config.shutdown_timeout;
        if let Some(resolver) = overrides.resolver {
            platform = platform.with_seam(resolver);
        }
        let modules = Modules::build(&platform)?;
        let authenticator = modules
            .authenticator
            .context("no context provides the authenticator")?;

        let applied = migrations::run_pending(&config.database_url)
            .await
            .context("database migrations failed")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }

        let bus = Arc::new(InProcessEventBus::new(InProcessBusConfig {
            handler_timeout: config.event_handler_timeout,
            history_capacity: config.event_history_capacity,
        }));

        let workers = CancellationToken::new();
        let mut tasks = Vec::new();
        // With NATS, the relay publishes to the stream and this instance's
        // handlers (on `bus`) get the events of the whole cluster from the
        // group's consumer; without it, the relay publishes on `bus` itself.
        let relay_bus: Arc<dyn EventBus> = match &config.event_bus {
            None => bus.clone(),
            Some(nats) => {
                let nats = Arc::new(
                    NatsEventBus::connect(nats.clone(), bus.clone())
                        .await
                        .context("EVENT_BUS_URL: the NATS JetStream bus")?,
                );
                let (consumer, shutdown) = (nats.clone(), workers.clone());
                tasks.push((
                    "event consumer",
                    tokio::spawn(async move { consumer.consume(shutdown).await }),
                ));
                nats
            }
        };
        // Every context's read models first, together; then the other
        // durable subscribers in the order the contexts registered them.
        let relay = modules.relay.into_iter().fold(
            modules.projections.into_iter().fold(
                OutboxRelay::new(
                    database.clone(),
                    relay_bus,
                    RelayConfig {
                        batch_size: config.outbox_batch_size,
                        poll_interval: config.outbox_poll_interval,
                        ..RelayConfig::default()
                    },
                ),
                OutboxRelay::with_shared_projection,
            ),
            OutboxRelay::with_durable_subscriber,
        );
        tasks.push(("outbox relay", tokio::spawn(relay.run(workers.clone()))));
        for worker in modules.workers {
            tasks.push((worker.name, tokio::spawn(worker.start(workers.clone()))));
        }
        // Installed before the first request so that every metric is recorded.
        crate::ops::metrics::handle();
        if config.metrics_addr.is_some() {
            // Once now, so that the first scrape has every gauge; then in
            // the background: a scrape never queries the database.
            crate::ops::metrics::refresh(&database).await;
            tasks.push((
                "metrics refresher",
                tokio::spawn(crate::ops::metrics::refresher(
                    database.clone(),
                    config.metrics_refresh_interval,
                    workers.clone(),
                )),
            ));
        }
        let retention: Vec<Retained> = std::iter::once(Retained {
            target: Arc::new(DispatchedEventLogs),
            days: config.event_log_retention_days,
        })
        .chain(modules.retention)
        .collect();
        tasks.push((
            "retention",
            tokio::spawn(crate::ops::retention::scheduler(
                database.clone(),
                config.retention_at,
                retention.clone(),
                workers.clone(),
            )),
        ));

        let listener = TcpListener::bind(config.http_addr)
            .with_context(|| format!("cannot listen on HTTP_ADDR={}", config.http_addr))?;
        let addr = listener.local_addr()?;
        let server = http_server(
            listener,
            &config,
            database.clone(),
            bus.clone(),
            authenticator_data(authenticator),
            modules.routes,
        )?;
        let metrics = match config.metrics_addr {
            None => None,
            Some(metrics_addr) => {
                let listener = TcpListener::bind(metrics_addr).with_context(|| {
                    format!("cannot listen on METRICS_ADDR={metrics_addr} (`off` disables metrics)")
                })?;
                let bound = listener.local_addr()?;
                let server = crate::ops::metrics::server(
                    listener,
                    config.metrics_token.clone(),
                    config.shutdown_timeout,
                )?;
                Some((server, bound))
            }
        };
        Ok(Self {
            server,
            addr,
            metrics,
            database,
            bus,
            workers,
            tasks,
            retention,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `GET /metrics` is served (`None` with `METRICS_ADDR=off`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// Stops the server (gracefully with `stop(true)`), which ends [`Application::run`].
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn event_bus(&self) -> Arc<InProcessEventBus> {
        self.bus.clone()
    }

    /// What the daily retention job cleans, and for how long rows are kept.
    pub fn retention_targets(&self) -> &[Retained] {
        &self.retention
    }

    /// Serves until the server is stopped, then stops the metrics listener
    /// and the workers (bounded by `SHUTDOWN_TIMEOUT`: the delivery workers
    /// let requests in flight finish and release their leases) and closes
    /// the pool.
    pub async fn run(self) -> anyhow::Result<()> {
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping workers");
        self.workers.cancel();
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "the metrics listener failed"),
                Err(error) => tracing::warn!(%error, "the metrics listener panicked"),
            }
        }
        let stopped =
            futures::future::join_all(self.tasks.into_iter().map(|(name, task)| async move {
                if let Err(error) = task.await {
                    tracing::warn!(worker = name, %error, "a background worker panicked");
                }
            }));
        if tokio::time::timeout(self.config.shutdown_timeout, stopped)
            .await
            .is_err()
        {
            tracing::warn!("background workers did not stop in time");
        }
        self.database.close();
        served.context("HTTP server failed")
    }
}

/// Where the OpenAPI document is served (Swagger UI at `/docs` reads it).
const OPENAPI_PATH: &str = "/api/v1/openapi.json";

fn http_server(
    listener: TcpListener,
    config: &Config,
    database: Database,
    bus: Arc<InProcessEventBus>,
    authenticator: web::Data<dyn Authenticator>,
    routes: Vec<Routes>,
) -> anyhow::Result<Server> {
    let database = web::Data::new(database);
    let bus = web::Data::new(bus);
    let body_limit = config.http_body_limit;
    let openapi = web::Data::new(OpenApiJson::default());
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .wrap(from_fn(request_id::middleware))
            .app_data(database.clone())
            .app_data(bus.clone())
            .app_data(authenticator.clone())
            .app_data(extractors::json_config(body_limit))
            .app_data(extractors::query_config())
            .app_data(extractors::path_config())
            .service(health::live)
            .service(health::ready)
            .configure(crate::ops::events::configure);
        for configure in &routes {
            app = app.configure(|cfg| configure(cfg));
        }
        app.app_data(openapi.clone())
            .route(OPENAPI_PATH, web::get().to(openapi_json))
            .service(SwaggerUi::new("/docs/{_:.*}").config(SwaggerConfig::new([OPENAPI_PATH])))
            .configure(hub_platform_console::configure)
            .default_service(web::to(extractors::route_not_found))
    })
    // Signals are handled by `serve`, which also stops the workers.
    .disable_signals()
    .shutdown_timeout(config.shutdown_timeout.as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}

/// The OpenAPI document as JSON, serialized on its first request and shared
/// by every worker from then on. Serialized once because handing utoipa's
/// document to `SwaggerUi::url` kept a deep copy of it per worker and per
/// factory clone (about 25 MB of heap, measured with valgrind's massif; see
/// docs/PERFORMANCE.md); on first request because building it at start-up
/// took 7 MB of heap for a moment, which malloc kept (the idle server's
/// heap 11.3 MB instead of 1.8), and paged in 2 MB of code, a cost a server
/// whose document nobody reads need not pay at every start.
#[derive(Default)]
struct OpenApiJson(std::sync::OnceLock<web::Bytes>);

async fn openapi_json(cached: web::Data<OpenApiJson>) -> Result<HttpResponse, Problem> {
    let document = match cached.0.get() {
        Some(document) => document.clone(),
        None => {
            let document = serde_json::to_vec(&crate::openapi::document())
                .map_err(|error| Problem::internal(&error))?;
            // Two first requests at once both build it; one copy is kept.
            cached.0.get_or_init(|| document.into()).clone()
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(document))
}

/// Runs the application until SIGTERM or SIGINT, then shuts down gracefully:
/// stop accepting, finish in-flight requests, stop the relay.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let lookup = config.source.lookup();
    let app = Application::build(config).await?;
    if let Some(warning) = crate::first_run::plain_http_receivers(&lookup) {
        tracing::warn!("{warning}");
    }
    match crate::first_run::administrator_exists(app.database()).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("{}", crate::first_run::NO_ADMINISTRATOR),
        Err(error) => tracing::warn!(%error, "cannot tell whether an administrator exists"),
    }
    match app.metrics_addr() {
        Some(metrics) => tracing::info!(addr = %app.local_addr(), %metrics, "listening"),
        None => tracing::info!(addr = %app.local_addr(), "listening; metrics off"),
    }
    let handle = app.handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received");
        handle.stop(true).await;
    });
    app.run().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
