//! One id per request: taken from a well-formed `X-Request-Id` header or
//! generated (UUIDv7), put on the tracing span of the request, echoed in the
//! response, and passed to use cases as the events' `correlation_id` — with
//! the request's `If-Match`, when it makes its change conditional
//! ([`crate::precondition`]).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use tracing::Instrument;
use uuid::Uuid;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_INCOMING_LEN: usize = 64;

/// The id of the current request (and its `If-Match`, for its commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    id: String,
    expected_versions: Option<Vec<i64>>,
}

impl RequestId {
    fn new(id: String) -> Self {
        Self {
            id,
            expected_versions: None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }

    pub fn into_string(self) -> String {
        self.id
    }

    /// The context of a command `actor` runs in this request: its events
    /// get this id as `correlation_id`, and it applies only to the versions
    /// the request's `If-Match` names, if it has one.
    pub fn command_context(self, actor: hub_kernel::Actor) -> hub_kernel::CommandContext {
        hub_kernel::CommandContext::user(actor, Some(self.id)).expecting(self.expected_versions)
    }
}

impl FromRequest for RequestId {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // Without the middleware (unit tests of a handler) a fresh id still
        // keeps events traceable.
        let mut id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId::new(Uuid::now_v7().to_string()));
        id.expected_versions = crate::precondition::expected_versions(req);
        ready(Ok(id))
    }
}

/// Accepts a caller's id only if it is short and plain, so that it cannot
/// forge log lines or bloat them.
fn accept_incoming(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let plain = !text.is_empty()
        && text.len() <= MAX_INCOMING_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| text.to_owned())
}

/// Middleware (`actix_web::middleware::from_fn(request_id::middleware)`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(accept_incoming)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId::new(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path()
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    let duration_ms = elapsed * 1000.0;
    // The route pattern (`/api/v1/chantiers/{id}`), never the raw path, so
    // that ids do not explode the number of series.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = response.request().method().to_string();
    metrics::counter!(
        "hub_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("hub_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, duration_ms, "request failed");
        } else {
            tracing::info!(status, duration_ms, "request");
        }
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};

    async fn echo(id: RequestId) -> HttpResponse {
        HttpResponse::Ok().body(id.into_string())
    }

    #[actix_web::test]
    async fn generates_accepts_or_replaces_the_id() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(middleware))
                .route("/", web::get().to(echo)),
        )
        .await;

        let response =
            test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        let header = response
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = test::read_body(response).await;
        assert_eq!(
            header.as_bytes(),
            &body[..],
            "handler and response see the same id"
        );
        assert_eq!(Uuid::parse_str(&header).unwrap().get_version_num(), 7);

        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/")
                .insert_header(("x-request-id", "abc-123"))
                .to_request(),
        )
        .await;
        assert_eq!(response.headers().get("x-request-id").unwrap(), "abc-123");

        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/")
                .insert_header(("x-request-id", "bad id\" injected=1"))
                .to_request(),
        )
        .await;
        let replaced = response
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(Uuid::parse_str(replaced).is_ok(), "unsafe ids are replaced");
    }
}
