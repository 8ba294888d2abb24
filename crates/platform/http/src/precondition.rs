//! Lost-update protection over HTTP: a versioned resource answers with an
//! `ETag` (its version), and a change sent with `If-Match` applies only to
//! the version(s) it names, else 412 `precondition_failed`. The version is
//! the optimistic one every aggregate keeps; the use case compares it after
//! loading ([`hub_kernel::CommandContext::check_version`]) and the
//! repository's version guard closes the window until the write.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETag, EntityTag, Header, IfMatch};
use actix_web::{HttpRequest, HttpResponse};
use hub_kernel::VersionMismatch;
use serde::Serialize;
use utoipa::IntoParams;

use crate::Problem;

/// The strong entity tag of a resource at `version`: `"<version>"`.
pub fn entity_tag(version: i64) -> EntityTag {
    EntityTag::new_strong(version.to_string())
}

/// `200 OK` with `body` as JSON and the `ETag` of `version`.
pub fn json_with_etag<T: Serialize>(version: i64, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(entity_tag(version)))
        .json(body)
}

/// The versions a request's `If-Match` allows: `None` without the header
/// or with `*` (any current version); otherwise the versions its strong
/// tags name. Weak tags never match (RFC 9110 §13.1.1 compares strongly),
/// and neither does a tag that is not a version: both are kept as "no
/// version", so the change is refused rather than applied unconditionally.
pub fn expected_versions(req: &HttpRequest) -> Option<Vec<i64>> {
    if !req
        .headers()
        .contains_key(actix_web::http::header::IF_MATCH)
    {
        return None;
    }
    match IfMatch::parse(req) {
        Ok(IfMatch::Any) => None,
        Ok(IfMatch::Items(tags)) => Some(
            tags.iter()
                .filter(|tag| !tag.weak)
                .filter_map(|tag| tag.tag().parse().ok())
                .collect(),
        ),
        Err(_) => Some(Vec::new()),
    }
}

impl From<VersionMismatch> for Problem {
    fn from(error: VersionMismatch) -> Self {
        Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            format!(
                "the resource changed since it was read (it is at version {}): read it again, then retry with its new ETag",
                error.current
            ),
        )
    }
}

/// The `If-Match` request header, for the OpenAPI of operations that honour it.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IfMatchHeader {
    /// Apply the change only if the resource is still at this version: the
    /// `ETag` of the last read (`"3"`). A mismatch is a 412
    /// `precondition_failed` and changes nothing.
    #[param(rename = "If-Match", example = "\"3\"")]
    if_match: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::test::TestRequest;

    use super::*;

    fn versions(if_match: Option<&str>) -> Option<Vec<i64>> {
        let mut request = TestRequest::default();
        if let Some(value) = if_match {
            request = request.insert_header(("If-Match", value));
        }
        expected_versions(&request.to_http_request())
    }

    #[test]
    fn if_match_names_the_versions_a_change_may_apply_to() {
        assert_eq!(versions(None), None);
        assert_eq!(versions(Some("*")), None);
        assert_eq!(versions(Some("\"3\"")), Some(vec![3]));
        assert_eq!(versions(Some("\"3\", \"7\"")), Some(vec![3, 7]));
        // Weak, foreign and unreadable tags match nothing: refused, not ignored.
        assert_eq!(versions(Some("W/\"3\"")), Some(vec![]));
        assert_eq!(versions(Some("\"abc\"")), Some(vec![]));
        assert_eq!(versions(Some("3")), Some(vec![]));
    }

    #[test]
    fn the_etag_is_the_quoted_version_and_a_mismatch_is_a_412() {
        let response = json_with_etag(4, &serde_json::json!({"version": 4}));
        assert_eq!(response.headers().get("etag").unwrap(), "\"4\"");
        let problem = Problem::from(VersionMismatch { current: 5 });
        assert_eq!(problem.code(), "precondition_failed");
        assert_eq!(
            actix_web::ResponseError::status_code(&problem),
            StatusCode::PRECONDITION_FAILED
        );
    }
}
