//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use hub_platform_http::Problem;
use hub_platform_postgres::Database;
use serde_json::json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(live, ready))]
pub(crate) struct HealthApi;

/// The process is up and serving HTTP.
#[utoipa::path(get, path = "/health/live", tag = "health", security(()), responses((status = 200, description = "Live")))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// The process can do its work: the database answers within 2 s.
#[utoipa::path(
    get, path = "/health/ready", tag = "health", security(()),
    responses((status = 200, description = "Ready"), (status = 503, description = "Database unreachable", content_type = "application/problem+json"))
)]
#[get("/health/ready")]
pub async fn ready(db: web::Data<Database>) -> Result<HttpResponse, Problem> {
    match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            Err(Problem::service_unavailable(
                "database_unavailable",
                "the database is unreachable",
            ))
        }
        Err(_) => Err(Problem::service_unavailable(
            "database_unavailable",
            "the database did not answer within 2 s",
        )),
    }
}
