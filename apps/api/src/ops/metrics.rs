//! Prometheus metrics, served at `GET /metrics` on their own listener
//! (`METRICS_ADDR`, loopback by default), never on the API address. Code
//! anywhere records through the `metrics` facade; this module installs the
//! recorder once per process, keeps the gauges read from the database
//! (outbox backlog, webhook delivery queue) fresh from a background task, and
//! renders. A scrape only renders what is recorded: it runs no query, so
//! scraping often cannot load the database.

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use hub_platform_http::{Problem, extractors};
use hub_platform_postgres::{Database, outbox};
use hub_webhooks_infrastructure::delivery;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use ring::hmac;
use ring::rand::SystemRandom;
use tokio_util::sync::CancellationToken;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets (seconds) for every `*_duration_seconds` histogram.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How long one refresh of the database gauges may take.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

/// The process-wide recorder (installed on first use).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    DURATION_BUCKETS,
                )
                .map(PrometheusBuilder::build_recorder);
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    if ::metrics::set_global_recorder(recorder).is_err() {
                        tracing::warn!(
                            "a metrics recorder was already installed; /metrics will be empty"
                        );
                        return None;
                    }
                    Some(handle)
                }
                Err(error) => {
                    tracing::error!(%error, "cannot build the metrics recorder");
                    None
                }
            }
        })
        .as_ref()
}

/// Reads the outbox backlog and the delivery queue depth and sets their
/// gauges. A failure (database down, timeout) leaves the previous values.
pub async fn refresh(db: &Database) {
    let read = tokio::time::timeout(REFRESH_TIMEOUT, async {
        let mut conn = db.connection().await.map_err(|e| e.to_string())?;
        let pending = outbox::pending(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let queue = delivery::queue_depth(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((pending, queue))
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {REFRESH_TIMEOUT:?}")));
    let ((count, oldest), queue) = match read {
        Ok(read) => read,
        Err(error) => {
            tracing::warn!(%error, "cannot refresh the database gauges; keeping the last values");
            return;
        }
    };
    ::metrics::gauge!("hub_webhook_delivery_queue_depth", "status" => "pending")
        .set(queue.pending as f64);
    ::metrics::gauge!("hub_webhook_delivery_queue_depth", "status" => "in_flight")
        .set(queue.in_flight as f64);
    ::metrics::gauge!("hub_outbox_pending_events").set(count as f64);
    let lag = oldest.map_or(0.0, |oldest| {
        (time::OffsetDateTime::now_utc() - oldest)
            .as_seconds_f64()
            .max(0.0)
    });
    ::metrics::gauge!("hub_outbox_lag_seconds").set(lag);
}

/// Refreshes the database gauges every `every` until `shutdown` (the first
/// refresh is the caller's, at start-up).
pub async fn refresher(db: Database, every: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // An interval's first tick is immediate: that refresh was done at start.
    ticks.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => refresh(&db).await,
        }
    }
    tracing::info!("metrics refresher stopped");
}

/// Why `METRICS_TOKEN` was refused. Never carries the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsTokenError {
    #[error("must be at least {MIN_TOKEN_LEN} characters long (e.g. `openssl rand -base64 32`)")]
    TooShort,
    #[error("the random number generator failed")]
    Random,
}

/// Shortest accepted `METRICS_TOKEN`.
pub const MIN_TOKEN_LEN: usize = 16;

/// The bearer token a scrape must present (`METRICS_TOKEN`). Only an HMAC
/// of it is kept, under a key drawn at start-up: a presented token is
/// checked by ring's constant-time `hmac::verify`, whatever its length.
#[derive(Clone)]
pub struct MetricsToken {
    key: hmac::Key,
    tag: Vec<u8>,
}

impl MetricsToken {
    pub fn new(token: &str) -> Result<Self, MetricsTokenError> {
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(MetricsTokenError::TooShort);
        }
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| MetricsTokenError::Random)?;
        let tag = hmac::sign(&key, token.as_bytes()).as_ref().to_vec();
        Ok(Self { key, tag })
    }

    /// Whether `presented` is the token.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        hmac::verify(&self.key, presented, &self.tag).is_ok()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme
/// case-insensitive), if that is what the request carries.
fn bearer(request: &HttpRequest) -> Option<&[u8]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

/// `GET /metrics`: every metric in the Prometheus text format.
async fn scrape(request: HttpRequest, token: web::Data<Option<MetricsToken>>) -> HttpResponse {
    if let Some(token) = token.get_ref()
        && !bearer(&request).is_some_and(|presented| token.accepts(presented))
    {
        return Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "scraping needs `Authorization: Bearer <METRICS_TOKEN>`",
        )
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
        .error_response();
    }
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}

/// The metrics server on `listener`: `GET /metrics` and nothing else (404
/// problems). One worker: a scrape only renders memory.
pub fn server(
    listener: TcpListener,
    token: Option<MetricsToken>,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let token = web::Data::new(token);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(token.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(extractors::route_not_found))
    })
    .workers(1)
    // Stopped by `Application::run`, with the API server.
    .disable_signals()
    .shutdown_timeout(shutdown_timeout.as_secs())
    .listen(listener)?
    .run())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_accepts_itself_only_and_is_never_printed() {
        let token = MetricsToken::new("0123456789abcdef-secret").unwrap();
        assert!(token.accepts(b"0123456789abcdef-secret"));
        for other in [&b"0123456789abcdef-secreT"[..], b"", b"0123456789abcdef"] {
            assert!(!token.accepts(other));
        }
        assert_eq!(format!("{token:?}"), "MetricsToken(***)");
        assert_eq!(
            MetricsToken::new("short").unwrap_err(),
            MetricsTokenError::TooShort
        );
    }
}
