//! The OpenAPI document of the whole API, merged from each context's own,
//! served at `/api/v1/openapi.json` with Swagger UI at `/docs`.

use hub_platform_http::openapi::{SecuritySchemes, SharedProblems};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hub Chantier API",
        description = "Construction-site management backend. Errors are `application/problem+json` with a stable `code`.",
        version = env!("CARGO_PKG_VERSION")
    ),
    modifiers(&SecuritySchemes),
    tags((name = "health", description = "Probes"))
)]
struct Root;

/// The complete document.
pub fn document() -> Document {
    let mut document = Root::openapi();
    for context in crate::CONTEXTS {
        document.merge((context.openapi)());
    }
    document.merge(crate::health::HealthApi::openapi());
    document.merge(crate::ops::events::EventsApi::openapi());
    // Last: it attaches the shared error answers to every operation merged above.
    SharedProblems.modify(&mut document);
    // `/metrics` is not part of the API: it is served on METRICS_ADDR.
    document
}
