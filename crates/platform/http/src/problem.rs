//! RFC 9457 problem documents: the one shape of every error answer.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use hub_kernel::{FieldError, ValidationErrors};
use serde::Serialize;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An error answer. `code` is stable and machine-readable (clients branch on
/// it); `detail` is for people; `errors` lists invalid fields. Boxed, so that
/// `Result<_, Problem>` stays small on the happy path.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<Body>);

#[derive(Debug, Clone, Serialize)]
struct Body {
    #[serde(rename = "type")]
    type_uri: String,
    title: Cow<'static, str>,
    status: u16,
    detail: String,
    code: Cow<'static, str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    #[serde(skip)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Self {
        let code = code.into();
        Self(Box::new(Body {
            type_uri: format!("urn:hub-chantier:problem:{code}"),
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            headers: Vec::new(),
        }))
    }

    /// 422 listing every invalid field.
    pub fn validation(errors: ValidationErrors) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("the request is invalid: {errors}"),
        );
        problem.0.errors = errors.errors().to_vec();
        problem
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn service_unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// An internal error (500). The cause is logged here, once, with the
    /// request's span; the client only learns that something failed on our side.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; it has been logged",
        )
    }

    /// An internal error (500) described only by a message, e.g. a use
    /// case's `Unavailable(reason)`; logged like [`Problem::internal`].
    pub fn internal_message(reason: impl Into<String>) -> Self {
        Self::internal(&std::io::Error::other(reason.into()))
    }

    /// Adds a response header (e.g. `Retry-After`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    pub fn code(&self) -> &str {
        &self.0.code
    }

    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.0.status, self.0.code, self.0.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_CONTENT_TYPE);
        for (name, value) in &self.0.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.json(self)
    }
}

impl From<ValidationErrors> for Problem {
    fn from(errors: ValidationErrors) -> Self {
        Self::validation(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::http::header;

    async fn body(problem: &Problem) -> (StatusCode, String, serde_json::Value) {
        let response = problem.error_response();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (
            status,
            content_type,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn problem_is_rfc9457_json_with_a_stable_code() {
        let (status, content_type, json) =
            body(&Problem::conflict("invalid_transition", "ferme is final")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(content_type, PROBLEM_CONTENT_TYPE);
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:hub-chantier:problem:invalid_transition",
                "title": "Conflict",
                "status": 409,
                "detail": "ferme is final",
                "code": "invalid_transition"
            })
        );
    }

    #[tokio::test]
    async fn validation_problem_lists_fields() {
        let errors = ValidationErrors::single("nom", "required", "is required");
        let (status, _, json) = body(&Problem::from(errors)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json["code"], "validation_failed");
        assert_eq!(json["errors"][0]["field"], "nom");
        assert_eq!(json["errors"][0]["code"], "required");
    }

    #[tokio::test]
    async fn internal_problem_hides_the_cause_and_headers_are_sent() {
        let cause = std::io::Error::other("password=hunter2 in a connection string");
        let problem = Problem::internal(&cause)
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("3"));
        let response = problem.error_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
        let (status, _, json) = body(&problem).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json.to_string().contains("hunter2"));
    }
}
