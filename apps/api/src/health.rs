//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use hub_platform_http::Problem;
use hub_platform_postgres::Database;
use serde_json::json;

/// The process is up and serving HTTP.
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// The process can do its work: the database answers within 2 s.
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
