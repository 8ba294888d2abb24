//! Extractor configurations: malformed bodies, queries and paths become
//! problem documents instead of actix's plain-text errors.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::web::{JsonConfig, PathConfig, QueryConfig};
use actix_web::{HttpRequest, HttpResponse};

use hub_kernel::Page;

use crate::Problem;

/// Default body limit of JSON routes: far above any legitimate payload of
/// this API, far below what could hurt the server.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;

/// JSON bodies: size limit, `application/json` required, errors as problems
/// (syntax → 400, wrong shape → 422, too large → 413, wrong type → 415).
pub fn json_config(limit: usize) -> JsonConfig {
    JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req| json_problem(&error).into())
}

pub fn query_config() -> QueryConfig {
    QueryConfig::default().error_handler(|error, _req| query_problem(&error).into())
}

pub fn path_config() -> PathConfig {
    PathConfig::default().error_handler(|error, _req| path_problem(&error).into())
}

fn json_problem(error: &JsonPayloadError) -> Problem {
    match error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON with `Content-Type: application/json`",
        ),
        JsonPayloadError::Deserialize(serde) if serde.is_data() => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("the body does not have the expected shape: {serde}"),
        ),
        JsonPayloadError::Deserialize(serde) => Problem::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {serde}"),
        ),
        other => Problem::bad_request(
            "invalid_body",
            format!("the body could not be read: {other}"),
        ),
    }
}

fn query_problem(error: &QueryPayloadError) -> Problem {
    Problem::bad_request(
        "invalid_query",
        format!("the query string is invalid: {error}"),
    )
}

fn path_problem(error: &PathError) -> Problem {
    Problem::bad_request("invalid_path", format!("the URL path is invalid: {error}"))
}

/// The page a list route was asked for: `skip` defaults to 0, `limit` to
/// [`Page::DEFAULT_LIMIT`]; a `limit` outside 1..=[`Page::MAX_LIMIT`] is a
/// 400 rather than silently changed.
pub fn page(skip: Option<u64>, limit: Option<u64>) -> Result<Page, Problem> {
    if limit.is_some_and(|l| l == 0 || l > Page::MAX_LIMIT) {
        return Err(Problem::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {}", Page::MAX_LIMIT),
        ));
    }
    Ok(Page::new(skip, limit))
}

/// Default service: any route that does not exist.
pub async fn route_not_found(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&Problem::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for {} {}", req.method(), req.path()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, test, web};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        nom: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Page {
        limit: u32,
    }

    async fn create(_body: web::Json<Body>) -> HttpResponse {
        HttpResponse::Created().finish()
    }

    async fn list(_query: web::Query<Page>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn get(_id: web::Path<uuid::Uuid>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn answer(req: test::TestRequest) -> (u16, serde_json::Value) {
        let app = test::init_service(
            App::new()
                .app_data(json_config(32))
                .app_data(query_config())
                .app_data(path_config())
                .route("/items", web::post().to(create))
                .route("/items", web::get().to(list))
                .route("/items/{id}", web::get().to(get))
                .default_service(web::to(route_not_found)),
        )
        .await;
        let response = test::call_service(&app, req.to_request()).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = test::read_body(response).await;
        if status >= 400 {
            assert_eq!(content_type.as_deref(), Some(crate::PROBLEM_CONTENT_TYPE));
        }
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    #[::core::prelude::v1::test]
    fn pages_default_and_refuse_out_of_range_limits() {
        assert_eq!(
            page(None, None).unwrap(),
            hub_kernel::Page { skip: 0, limit: 50 }
        );
        assert_eq!(
            page(Some(20), Some(100)).unwrap(),
            hub_kernel::Page {
                skip: 20,
                limit: 100
            }
        );
        for bad in [0, 101] {
            assert_eq!(page(None, Some(bad)).unwrap_err().code(), "invalid_query");
        }
    }

    #[actix_web::test]
    async fn malformed_inputs_become_problems() {
        let post = || test::TestRequest::post().uri("/items");
        let cases = [
            (
                post()
                    .set_payload("{")
                    .insert_header(("content-type", "application/json")),
                400,
                "malformed_json",
            ),
            (
                post().set_json(serde_json::json!({"nom": 3})),
                422,
                "invalid_body",
            ),
            (
                post().set_json(serde_json::json!({"nom": "a", "x": 1})),
                422,
                "invalid_body",
            ),
            (post().set_json(serde_json::json!({})), 422, "invalid_body"),
            (
                post().set_json(serde_json::json!({"nom": "x".repeat(64)})),
                413,
                "payload_too_large",
            ),
            (
                post()
                    .set_payload("nom=a")
                    .insert_header(("content-type", "text/plain")),
                415,
                "unsupported_media_type",
            ),
            (
                test::TestRequest::get().uri("/items?limit=abc"),
                400,
                "invalid_query",
            ),
            (
                test::TestRequest::get().uri("/items/not-a-uuid"),
                400,
                "invalid_path",
            ),
            (
                test::TestRequest::get().uri("/nowhere"),
                404,
                "route_not_found",
            ),
        ];
        for (request, status, code) in cases {
            let (got_status, body) = answer(request).await;
            assert_eq!(
                (got_status, body["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let (status, _) = answer(post().set_json(serde_json::json!({"nom": "ok"}))).await;
        assert_eq!(status, 201);
    }
}
