//! Builds the application from its configuration and runs it until a
//! shutdown signal: HTTP server, outbox relay, and the in-process event bus.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use hub_chantiers_infrastructure::{ChantiersHttp, DieselChantierRepository};
use hub_identity_application::Authenticate;
use hub_identity_infrastructure::{
    Argon2Hasher, DieselUserRepository, IdentityAuthenticator, IdentityHttp, JwtTokenService,
};
use hub_kernel::{Clock, SystemClock};
use hub_platform_event_bus::{InProcessBusConfig, InProcessEventBus};
use hub_platform_http::auth::{Authenticator, authenticator_data};
use hub_platform_http::rate_limit::RateLimit;
use hub_platform_http::{extractors, request_id};
use hub_platform_postgres::{Database, OutboxRelay, PoolSettings, RelayConfig, migrations};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::health;

/// A built, not yet running, application.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    database: Database,
    bus: Arc<InProcessEventBus>,
    workers: CancellationToken,
    relay: JoinHandle<()>,
    config: Config,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Migrates the database, starts the background workers and binds the
    /// listener (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
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
        let relay = OutboxRelay::new(
            database.clone(),
            bus.clone(),
            RelayConfig {
                batch_size: config.outbox_batch_size,
                poll_interval: config.outbox_poll_interval,
                ..RelayConfig::default()
            },
        );
        let relay = tokio::spawn(relay.run(workers.clone()));

        let listener = TcpListener::bind(config.http_addr)
            .with_context(|| format!("cannot listen on HTTP_ADDR={}", config.http_addr))?;
        let addr = listener.local_addr()?;
        let contexts = Contexts::build(&config, &database)?;
        let server = http_server(listener, &config, database.clone(), contexts)?;
        Ok(Self {
            server,
            addr,
            database,
            bus,
            workers,
            relay,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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

    /// Serves until the server is stopped, then stops the workers (bounded
    /// by `SHUTDOWN_TIMEOUT`) and closes the pool.
    pub async fn run(self) -> anyhow::Result<()> {
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping workers");
        self.workers.cancel();
        if tokio::time::timeout(self.config.shutdown_timeout, self.relay)
            .await
            .is_err()
        {
            tracing::warn!("outbox relay did not stop in time");
        }
        self.database.close();
        served.context("HTTP server failed")
    }
}

/// The HTTP side of every context, built once and shared by the workers.
#[derive(Clone)]
struct Contexts {
    authenticator: web::Data<dyn Authenticator>,
    identity: web::Data<IdentityHttp>,
    chantiers: web::Data<ChantiersHttp>,
    login_limit: RateLimit,
}

impl Contexts {
    fn build(config: &Config, database: &Database) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let users = Arc::new(DieselUserRepository::new(database.clone()));
        let tokens = Arc::new(JwtTokenService::new(&config.jwt_secret, config.jwt_ttl));
        let hasher = Arc::new(Argon2Hasher::new().map_err(anyhow::Error::msg)?);
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
            identity: web::Data::new(IdentityHttp::new(users, hasher, tokens, clock)),
            login_limit: config.rate_limits.layer("auth.login")?,
        })
    }
}

fn http_server(
    listener: TcpListener,
    config: &Config,
    database: Database,
    contexts: Contexts,
) -> anyhow::Result<Server> {
    let database = web::Data::new(database);
    let body_limit = config.http_body_limit;
    let openapi = crate::openapi::document();
    let server = HttpServer::new(move || {
        let contexts = contexts.clone();
        App::new()
            .wrap(from_fn(request_id::middleware))
            .app_data(database.clone())
            .app_data(contexts.authenticator.clone())
            .app_data(extractors::json_config(body_limit))
            .app_data(extractors::query_config())
            .app_data(extractors::path_config())
            .service(health::live)
            .service(health::ready)
            .configure(|cfg| {
                hub_identity_infrastructure::http::configure(
                    cfg,
                    contexts.identity,
                    contexts.login_limit,
                )
            })
            .configure(|cfg| hub_chantiers_infrastructure::http::configure(cfg, contexts.chantiers))
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
    tracing::info!(addr = %app.local_addr(), "listening");
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
