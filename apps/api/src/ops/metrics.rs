//! `GET /metrics` in the Prometheus text format. Code anywhere records
//! through the `metrics` facade; this module installs the recorder once per
//! process and renders it, refreshing the gauges read from the database
//! (outbox backlog, webhook delivery queue).

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use hub_platform_postgres::{Database, outbox};
use hub_webhooks_infrastructure::delivery;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets (seconds) for every `*_duration_seconds` histogram.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

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

/// Refreshes the outbox and delivery-queue gauges, then renders every metric.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(db: web::Data<Database>) -> HttpResponse {
    let (pending, queue) = tokio::time::timeout(Duration::from_secs(2), async {
        let Ok(mut conn) = db.connection().await else {
            return (None, None);
        };
        let pending = outbox::pending(&mut conn).await.ok();
        let queue = delivery::queue_depth(&mut conn).await.ok();
        (pending, queue)
    })
    .await
    .unwrap_or_default();
    if let Some(queue) = queue {
        ::metrics::gauge!("hub_webhook_delivery_queue_depth", "status" => "pending")
            .set(queue.pending as f64);
        ::metrics::gauge!("hub_webhook_delivery_queue_depth", "status" => "in_flight")
            .set(queue.in_flight as f64);
    }
    if let Some((count, oldest)) = pending {
        ::metrics::gauge!("hub_outbox_pending_events").set(count as f64);
        let lag = oldest.map_or(0.0, |oldest| {
            (time::OffsetDateTime::now_utc() - oldest)
                .as_seconds_f64()
                .max(0.0)
        });
        ::metrics::gauge!("hub_outbox_lag_seconds").set(lag);
    }
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
