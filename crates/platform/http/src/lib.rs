//! HTTP plumbing shared by every web adapter: the `application/problem+json`
//! error type ([`Problem`]), extractor configurations that turn malformed
//! input into problems ([`extractors`]), and the request-id middleware whose
//! id follows a request into logs and events ([`request_id`]), rate limits
//! ([`rate_limit`]), who the client is behind reverse proxies
//! ([`client_ip`]), the shared OpenAPI pieces ([`openapi`]), lost-update
//! protection with `ETag`/`If-Match` ([`precondition`]) and the DTO
//! shapes every context uses ([`IsoDate`], [`Instant`], [`present`] for PATCH bodies).

pub mod auth;
pub mod client_ip;
pub mod extractors;
pub mod openapi;
pub mod precondition;
mod problem;
pub mod rate_limit;
pub mod request_id;
mod values;

pub use problem::{PROBLEM_CONTENT_TYPE, Problem};
pub use request_id::RequestId;
pub use values::{Instant, IsoDate, present};
