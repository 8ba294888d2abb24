//! Builds the application from its configuration and runs it until a
//! shutdown signal: HTTP server, metrics listener, outbox relay, the
//! in-process event bus, the webhook delivery workers and the retention job.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use hub_chantiers_infrastructure::{
    AffectationsProjector, ChantiersHttp, DieselChantierRepository,
};
use hub_identity_application::Authenticate;
use hub_identity_infrastructure::{
    Argon2Hasher, BoundedHasher, DieselUserRepository, HashingLimit, IdentityAuthenticator,
    IdentityHttp, InMemorySignInThrottle, JwtTokenService, SignInLimit,
};
use hub_kernel::{Clock, SystemClock};
use hub_platform_event_bus::{InProcessBusConfig, InProcessEventBus};
use hub_platform_http::auth::{Authenticator, authenticator_data};
use hub_platform_http::rate_limit::RateLimit;
use hub_platform_http::{extractors, request_id};
use hub_platform_outbound::{HickoryResolver, NameResolver, OutboundClient, OutboundConfig};
use hub_platform_postgres::{Database, OutboxRelay, PoolSettings, RelayConfig, migrations};
use hub_webhooks_infrastructure::{
    AeadSecretVault, ChantierScopeProjector, DeliveryAttemptsRetention, DeliveryConfig,
    DeliveryEngine, DeliveryFanOut, DeliveryWaker, DieselDeliveryRepository,
    DieselWebhookRepository, ExpiredPreviousSecrets, FinishedDeliveriesRetention,
    OutboundDestinations, OwnerProjector, WebhookRateLimits, WebhooksHttp, WebhooksPorts,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_swagger_ui::SwaggerUi;

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
    relay: JoinHandle<()>,
    deliveries: JoinHandle<()>,
    retention: JoinHandle<()>,
    /// Refreshes the gauges read from the database (with the listener only).
    metrics_refresher: Option<JoinHandle<()>>,
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
#[derive(Debug, Default)]
pub struct Overrides {
    /// DNS for webhook destinations (e.g. a `FixtureResolver`); the system's by default.
    pub resolver: Option<Arc<dyn NameResolver>>,
}

impl Application {
    /// Migrates the database, starts the background workers and binds the
    /// listener (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Overrides::default()).await
    }

    /// [`Application::build`] with some parts replaced (tests).
    pub async fn build_with(config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        let applied = migrations::run_pending(&config.database_url)
            .await
            .context("database migrations failed")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let database = Database::connect(
            &config.database_url,
            &PoolSettings {
                max_size: config.database_pool_size,
                ..PoolSettings::default()
            },
        )
        .context("database pool")?;

        let bus = Arc::new(InProcessEventBus::new(InProcessBusConfig {
            handler_timeout: config.event_handler_timeout,
            history_capacity: config.event_history_capacity,
        }));

        let workers = CancellationToken::new();
        let webhooks = WebhooksWiring::build(&config, &database, &overrides)?;
        let relay = OutboxRelay::new(
            database.clone(),
            bus.clone(),
            RelayConfig {
                batch_size: config.outbox_batch_size,
                poll_interval: config.outbox_poll_interval,
                ..RelayConfig::default()
            },
        )
        // The chantiers context's view of planning (who may see which chantier).
        .with_projection(AffectationsProjector::new()?)
        // Webhook access scoping: read models kept in step with the events.
        .with_projection(ChantierScopeProjector::new())
        .with_projection(OwnerProjector::new())
        // After the projectors, so that an event is fanned out to the
        // recipients it itself makes (a chantier.created naming a conducteur).
        .with_durable_subscriber(Arc::new(DeliveryFanOut::new(
            config.webhooks_retry_schedule.clone(),
            webhooks.waker.clone(),
        )));
        let relay = tokio::spawn(relay.run(workers.clone()));
        let deliveries = tokio::spawn(webhooks.engine(&config, &database).run(workers.clone()));
        // Installed before the first request so that every metric is recorded.
        crate::ops::metrics::handle();
        let metrics_refresher = match config.metrics_addr {
            None => None,
            Some(_) => {
                // Once now, so that the first scrape has every gauge; then
                // in the background: a scrape never queries the database.
                crate::ops::metrics::refresh(&database).await;
                Some(tokio::spawn(crate::ops::metrics::refresher(
                    database.clone(),
                    config.metrics_refresh_interval,
                    workers.clone(),
                )))
            }
        };
        let retention = tokio::spawn(crate::ops::retention::scheduler(
            database.clone(),
            config.retention_at,
            retention_targets(&config),
            workers.clone(),
        ));

        let listener = TcpListener::bind(config.http_addr)
            .with_context(|| format!("cannot listen on HTTP_ADDR={}", config.http_addr))?;
        let addr = listener.local_addr()?;
        let contexts = Contexts::build(&config, &database, &webhooks)?;
        let server = http_server(listener, &config, database.clone(), bus.clone(), contexts)?;
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
            relay,
            deliveries,
            retention,
            metrics_refresher,
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
        let refresher = self.metrics_refresher;
        let workers = async {
            let _ = tokio::join!(self.relay, self.deliveries, self.retention, async {
                if let Some(refresher) = refresher {
                    let _ = refresher.await;
                }
            });
        };
        if tokio::time::timeout(self.config.shutdown_timeout, workers)
            .await
            .is_err()
        {
            tracing::warn!("background workers did not stop in time");
        }
        self.database.close();
        served.context("HTTP server failed")
    }
}

/// What the daily retention job cleans, and for how long rows are kept.
pub fn retention_targets(config: &Config) -> Vec<crate::ops::retention::Retained> {
    use crate::ops::retention::Retained;
    vec![
        Retained {
            target: Arc::new(hub_platform_postgres::retention::DispatchedEventLogs),
            days: config.event_log_retention_days,
        },
        Retained {
            target: Arc::new(DeliveryAttemptsRetention),
            days: config.delivery_retention_days,
        },
        Retained {
            target: Arc::new(FinishedDeliveriesRetention),
            days: config.delivery_retention_days,
        },
        // A previous secret is useless once its grace period is over: its
        // ciphertext goes at the first run after it expired.
        Retained {
            target: Arc::new(ExpiredPreviousSecrets),
            days: 0,
        },
    ]
}

/// What the webhooks HTTP routes and the delivery workers share: one
/// outbound client (the same SSRF policy checks URLs at creation and at
/// delivery), one vault, one repository, and the waker that the fan-out
/// and the test route ring for the workers.
struct WebhooksWiring {
    outbound: OutboundClient,
    webhooks: Arc<DieselWebhookRepository>,
    vault: Arc<AeadSecretVault>,
    waker: DeliveryWaker,
}

impl WebhooksWiring {
    fn build(config: &Config, database: &Database, overrides: &Overrides) -> anyhow::Result<Self> {
        Ok(Self {
            outbound: outbound_client(config, overrides.resolver.clone())?,
            webhooks: Arc::new(DieselWebhookRepository::new(database.clone())),
            vault: Arc::new(AeadSecretVault::new(
                &config.webhook_secrets_key,
                &config.webhook_secrets_old_keys,
            )),
            waker: DeliveryWaker::new(),
        })
    }

    fn engine(&self, config: &Config, database: &Database) -> DeliveryEngine {
        DeliveryEngine::new(
            database.clone(),
            self.outbound.clone(),
            self.vault.clone(),
            self.webhooks.clone(),
            Arc::new(SystemClock),
            self.waker.clone(),
            DeliveryConfig {
                max_in_flight: config.webhooks_max_in_flight,
                max_in_flight_per_endpoint: config.webhooks_max_in_flight_per_endpoint,
                poll_interval: config.webhooks_poll_interval,
                lease: config.webhooks_lease,
                schedule: config.webhooks_retry_schedule.clone(),
                // What is left of SHUTDOWN_TIMEOUT serves to record the
                // outcomes and release the leases.
                shutdown_grace: config.shutdown_timeout.mul_f64(0.8),
            },
        )
    }

    fn http(
        &self,
        config: &Config,
        database: &Database,
    ) -> anyhow::Result<web::Data<WebhooksHttp>> {
        Ok(web::Data::new(
            WebhooksHttp::new(WebhooksPorts {
                webhooks: self.webhooks.clone(),
                deliveries: Arc::new(DieselDeliveryRepository::new(
                    database.clone(),
                    self.waker.clone(),
                )),
                catalog: Arc::new(crate::event_catalog()?),
                destinations: Arc::new(OutboundDestinations::new(self.outbound.clone())),
                vault: self.vault.clone(),
                clock: Arc::new(SystemClock),
                schedule: config.webhooks_retry_schedule.clone(),
            })
            .with_body_limit(config.http_body_limit),
        ))
    }
}

/// The HTTP side of every context, built once and shared by the workers.
#[derive(Clone)]
struct Contexts {
    authenticator: web::Data<dyn Authenticator>,
    identity: web::Data<IdentityHttp>,
    chantiers: web::Data<ChantiersHttp>,
    login_limit: RateLimit,
    webhooks: web::Data<WebhooksHttp>,
    webhook_limits: WebhookRateLimits,
}

impl Contexts {
    fn build(
        config: &Config,
        database: &Database,
        webhooks: &WebhooksWiring,
    ) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let users = Arc::new(DieselUserRepository::new(database.clone()));
        let tokens = Arc::new(JwtTokenService::new(&config.jwt_secret, config.jwt_ttl));
        let hasher = Arc::new(BoundedHasher::new(
            Arc::new(Argon2Hasher::new().map_err(anyhow::Error::msg)?),
            HashingLimit::for_this_machine(),
        ));
        let authenticator = Arc::new(IdentityAuthenticator::new(Authenticate::new(
            users.clone(),
            tokens.clone(),
            clock.clone(),
        )));
        Ok(Self {
            authenticator: authenticator_data(authenticator),
            chantiers: web::Data::new(ChantiersHttp::new(
                Arc::new(DieselChantierRepository::new(database.clone())),
                clock.clone(),
            )),
            identity: web::Data::new(IdentityHttp::new(
                users,
                hasher,
                tokens,
                Arc::new(InMemorySignInThrottle::new(SignInLimit::default())),
                clock,
            )),
            login_limit: config.rate_limits.layer("auth.login")?,
            webhooks: webhooks.http(config, database)?,
            webhook_limits: WebhookRateLimits::from_limits(&config.rate_limits)?,
        })
    }
}

/// The SSRF-safe client webhooks use, as configured (`WEBHOOKS_*`).
pub fn outbound_client(
    config: &Config,
    resolver: Option<Arc<dyn NameResolver>>,
) -> anyhow::Result<OutboundClient> {
    let resolver: Arc<dyn NameResolver> = match resolver {
        Some(resolver) => resolver,
        None => Arc::new(HickoryResolver::from_system_conf()?),
    };
    let defaults = OutboundConfig::default();
    let outbound = OutboundConfig {
        allow_http: config.webhooks_allow_http,
        allowed_cidrs: config.webhooks_allowed_cidrs.clone(),
        extra_root_certificates: config.webhooks_extra_ca.iter().cloned().collect(),
        timeout: config.webhooks_timeout,
        connect_timeout: defaults.connect_timeout.min(config.webhooks_timeout),
        ..defaults
    };
    OutboundClient::new(outbound, resolver).context(
        "cannot build the webhooks HTTP client (is WEBHOOKS_EXTRA_CA_FILE a PEM certificate?)",
    )
}

fn http_server(
    listener: TcpListener,
    config: &Config,
    database: Database,
    bus: Arc<InProcessEventBus>,
    contexts: Contexts,
) -> anyhow::Result<Server> {
    let database = web::Data::new(database);
    let bus = web::Data::new(bus);
    let body_limit = config.http_body_limit;
    let openapi = crate::openapi::document();
    let server = HttpServer::new(move || {
        let contexts = contexts.clone();
        App::new()
            .wrap(from_fn(request_id::middleware))
            .app_data(database.clone())
            .app_data(bus.clone())
            .app_data(contexts.authenticator.clone())
            .app_data(extractors::json_config(body_limit))
            .app_data(extractors::query_config())
            .app_data(extractors::path_config())
            .service(health::live)
            .service(health::ready)
            .configure(crate::ops::events::configure)
            .configure(|cfg| {
                hub_identity_infrastructure::http::configure(
                    cfg,
                    contexts.identity,
                    contexts.login_limit,
                )
            })
            .configure(|cfg| hub_chantiers_infrastructure::http::configure(cfg, contexts.chantiers))
            .configure(|cfg| {
                hub_webhooks_infrastructure::http::configure(
                    cfg,
                    contexts.webhooks,
                    contexts.webhook_limits,
                )
            })
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", openapi.clone()))
            .default_service(web::to(extractors::route_not_found))
    })
    // Signals are handled by `serve`, which also stops the workers.
    .disable_signals()
    .shutdown_timeout(config.shutdown_timeout.as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}

/// Runs the application until SIGTERM or SIGINT, then shuts down gracefully:
/// stop accepting, finish in-flight requests, stop the relay.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
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
