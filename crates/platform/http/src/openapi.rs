//! OpenAPI pieces shared by every context's documentation.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// The shape of every error answer (`application/problem+json`, RFC 9457).
#[derive(Debug, ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub struct ProblemSchema {
    /// `urn:hub-chantier:problem:<code>`.
    #[schema(
        rename = "type",
        example = "urn:hub-chantier:problem:validation_failed"
    )]
    type_uri: String,
    #[schema(example = "Unprocessable Entity")]
    title: String,
    #[schema(example = 422)]
    status: u16,
    /// For people.
    detail: String,
    /// Stable and machine-readable: clients branch on it.
    #[schema(example = "validation_failed")]
    code: String,
    /// One entry per invalid field (422 only).
    errors: Option<Vec<FieldErrorSchema>>,
}

/// One invalid field of a request.
#[derive(Debug, ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub struct FieldErrorSchema {
    #[schema(example = "nom")]
    field: String,
    #[schema(example = "invalid")]
    code: String,
    #[schema(example = "is required")]
    message: String,
}

/// Declares the two ways to send the access token: `Authorization: Bearer`
/// and the `access_token` cookie.
#[derive(Debug)]
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::ACCESS_TOKEN_COOKIE,
            ))),
        );
    }
}
