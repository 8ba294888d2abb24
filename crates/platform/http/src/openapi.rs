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

/// What the shared error answers of one status say, and the `code`s they carry.
struct Shared {
    status: &'static str,
    title: &'static str,
    codes: &'static [&'static str],
}

const MALFORMED: Shared = Shared {
    status: "400",
    title: "The request cannot be read",
    codes: &["malformed_json", "invalid_body"],
};
const BAD_PATH: Shared = Shared {
    status: "400",
    title: "The request cannot be read",
    codes: &["invalid_path"],
};
const BAD_QUERY: Shared = Shared {
    status: "400",
    title: "The request cannot be read",
    codes: &["invalid_query"],
};
const BAD_QUERY_VALUE: Shared = Shared {
    status: "422",
    title: "A query parameter has a value the operation does not accept (see `errors`)",
    codes: &["validation_failed"],
};
const UNAUTHENTICATED: Shared = Shared {
    status: "401",
    title: "Not signed in: no token, or an invalid, expired or revoked one",
    codes: &["unauthorized"],
};
const FORBIDDEN: Shared = Shared {
    status: "403",
    title: "The caller's role, or scope, does not allow it",
    codes: &["forbidden"],
};
const CSRF: Shared = Shared {
    status: "403",
    title: "Authenticated by the `access_token` cookie without the `X-CSRF-Token` header echoing the `__Host-csrf_token` cookie",
    codes: &["csrf_failed"],
};
const TOO_LARGE: Shared = Shared {
    status: "413",
    title: "The body is larger than the limit (`HTTP_BODY_LIMIT`)",
    codes: &["payload_too_large"],
};
const NOT_JSON: Shared = Shared {
    status: "415",
    title: "The body is not `application/json`",
    codes: &["unsupported_media_type"],
};
const BAD_SHAPE: Shared = Shared {
    status: "422",
    title: "The body does not have the expected shape, or a field is invalid",
    codes: &["invalid_body", "validation_failed"],
};
const PRECONDITION: Shared = Shared {
    status: "412",
    title: "The resource changed since the version the request's `If-Match` names",
    codes: &["precondition_failed"],
};
const INTERNAL: Shared = Shared {
    status: "500",
    title: "An internal error; it has been logged",
    codes: &["internal_error"],
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    title: "A dependency (the database, sign-in) is unavailable; retry later",
    codes: &["auth_unavailable", "server_busy"],
};

/// Declares, once for the whole document, the error answers every
/// operation can give because of its shape: a JSON body (400, 413, 415,
/// 422), path parameters (400), query parameters (400, 422), authentication (401, 403, 503),
/// and an internal error (500) anywhere. Operations keep declaring their
/// own business answers (404 `chantier_not_found`, 409 `duplicate_code`…);
/// a shared answer of the same status adds its codes to theirs.
///
/// Operations are authenticated unless they say `security(())`; the
/// document's default security is the bearer token or the cookie.
#[derive(Debug)]
pub struct SharedProblems;

impl Modify for SharedProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;

        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
        ]);
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .entry("Problem".to_owned())
            .or_insert_with(<ProblemSchema as utoipa::PartialSchema>::schema);
        components
            .schemas
            .entry("FieldError".to_owned())
            .or_insert_with(<FieldErrorSchema as utoipa::PartialSchema>::schema);
        for item in openapi.paths.paths.values_mut() {
            // A path one of whose operations honours `If-Match` is a
            // versioned resource: its 200 answers carry the `ETag`.
            let versioned = operations(item).any(|(_, operation)| takes_if_match(operation));
            for (writes, operation) in operations(item) {
                if versioned {
                    add_etag(operation);
                }
                problem_content_type(operation);
                // One answer per status, with the codes of every reason.
                let mut by_status: Vec<(&'static str, &'static str, Vec<&'static str>)> =
                    Vec::new();
                for shared in shared_answers(operation, writes) {
                    match by_status
                        .iter_mut()
                        .find(|(status, ..)| *status == shared.status)
                    {
                        Some((_, _, codes)) => codes.extend(shared.codes.iter().copied()),
                        None => {
                            by_status.push((shared.status, shared.title, shared.codes.to_vec()))
                        }
                    }
                }
                for (status, title, mut codes) in by_status {
                    codes.dedup();
                    add(operation, status, title, &codes);
                }
            }
        }
    }
}

/// The operations of `item`, each with whether its method may change
/// state (not GET, HEAD, OPTIONS or TRACE: the CSRF check applies).
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (bool, &mut utoipa::openapi::path::Operation)> {
    [
        (false, item.get.as_mut()),
        (true, item.put.as_mut()),
        (true, item.post.as_mut()),
        (true, item.delete.as_mut()),
        (false, item.options.as_mut()),
        (false, item.head.as_mut()),
        (true, item.patch.as_mut()),
        (false, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(writes, operation)| operation.map(|operation| (writes, operation)))
}

/// The shared answers `operation` can give, from its shape (`writes`: its
/// method may change state).
fn shared_answers(
    operation: &utoipa::openapi::path::Operation,
    writes: bool,
) -> Vec<&'static Shared> {
    use utoipa::openapi::path::ParameterIn;

    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| {
        parameters
            .iter()
            .any(|p| matches!(p, utoipa::openapi::RefOr::T(p) if p.parameter_in == place))
    };
    // `security(())` on an operation (an empty requirement, alone or among
    // others): the token is optional there, so no authentication answer.
    let public = operation.security.as_ref().is_some_and(|requirements| {
        requirements.iter().any(|r| {
            serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        })
    });
    let mut answers = Vec::new();
    if takes_if_match(operation) {
        answers.push(&PRECONDITION);
    }
    if operation.request_body.is_some() {
        answers.extend([&MALFORMED, &TOO_LARGE, &NOT_JSON, &BAD_SHAPE]);
    }
    if has(ParameterIn::Path) {
        answers.push(&BAD_PATH);
    }
    if has(ParameterIn::Query) {
        // Unreadable (400), or readable but refused field by field (422:
        // an unknown category, an inverted period…), as every context's
        // query parsing does.
        answers.extend([&BAD_QUERY, &BAD_QUERY_VALUE]);
    }
    if !public {
        answers.extend([&UNAUTHENTICATED, &FORBIDDEN, &UNAVAILABLE]);
        if writes {
            answers.push(&CSRF);
        }
    }
    answers.push(&INTERNAL);
    answers
}

/// Every error answer an operation declares with `body = ProblemSchema`
/// is `application/problem+json`, as the server sends it: routes need not
/// say so one by one (utoipa would call it `application/json`).
fn problem_content_type(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::RefOr;

    const JSON: &str = "application/json";
    let problem_ref = format!(
        "#/components/schemas/{}",
        <ProblemSchema as utoipa::ToSchema>::name()
    );
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_problem = response.content.get(JSON).is_some_and(|content| {
            matches!(content, RefOr::T(content)
                if matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location == problem_ref))
        });
        if is_problem && let Some(content) = response.content.shift_remove(JSON) {
            response
                .content
                .insert(crate::problem::PROBLEM_CONTENT_TYPE.to_owned(), content);
        }
    }
}

/// Whether `operation` declares the `If-Match` header ([`crate::precondition::IfMatchHeader`]).
fn takes_if_match(operation: &utoipa::openapi::path::Operation) -> bool {
    use utoipa::openapi::path::ParameterIn;

    operation
        .parameters
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|p| {
            matches!(p, utoipa::openapi::RefOr::T(p)
                if p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("If-Match"))
        })
}

/// Declares the `ETag` header on `operation`'s 200 answer.
fn add_etag(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::{HeaderBuilder, ObjectBuilder, RefOr, Type};

    if let Some(RefOr::T(response)) = operation.responses.responses.get_mut("200") {
        response
            .headers
            .entry("ETag".to_owned())
            .or_insert_with(|| {
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .description(Some(
                        "The resource's version, quoted (`\"3\"`): send it back in `If-Match` \
                     to change the resource only if nobody changed it since.",
                    ))
                    .build()
                    .into()
            });
    }
}

fn codes(codes: &[&str]) -> String {
    codes
        .iter()
        .map(|code| format!("`{code}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds a shared answer to `operation`'s responses, or its codes to the
/// answer of that status the operation declares itself.
fn add(
    operation: &mut utoipa::openapi::path::Operation,
    status: &str,
    title: &str,
    shared_codes: &[&str],
) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let responses = &mut operation.responses.responses;
    match responses.get_mut(status) {
        Some(RefOr::T(response)) => {
            let missing: Vec<&str> = shared_codes
                .iter()
                .copied()
                .filter(|code| !response.description.contains(&format!("`{code}`")))
                .collect();
            if !missing.is_empty() {
                let separator = if response.description.is_empty() {
                    ""
                } else {
                    "; "
                };
                response.description = format!(
                    "{}{separator}{title} ({})",
                    response.description,
                    codes(&missing)
                );
            }
            response
                .content
                .entry(crate::PROBLEM_CONTENT_TYPE.to_owned())
                .or_insert_with(|| {
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build()
                        .into()
                });
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let response = ResponseBuilder::new()
                .description(format!("{title} ({})", codes(shared_codes)))
                .content(
                    crate::PROBLEM_CONTENT_TYPE,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            responses.insert(status.to_owned(), RefOr::T(response));
        }
    }
}

/// A text schema with the `pattern` a domain value parses (its `PATTERN`
/// constant), so the document and the server's check come from one place.
/// Used through [`text_pattern_schema!`](crate::text_pattern_schema).
pub fn text_pattern(
    pattern: &str,
    max_length: Option<usize>,
    example: &str,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .max_length(max_length)
        .description(Some(description))
        .examples([serde_json::json!(example)])
        .into()
}

/// Declares a schema-only type for a text field a domain value checks:
/// `text_pattern_schema!(CodeChantier, ChantierCode::PATTERN, "CH-2026-001", "…")`,
/// then `#[schema(value_type = CodeChantier)]` on the DTO field and the type
/// in the context's `components(schemas(…))`. The domain's tests check that
/// every text matching the pattern parses, so the two cannot drift. A
/// trailing `max_length = N` bounds the text where the pattern cannot.
#[macro_export]
macro_rules! text_pattern_schema {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $example:expr, $description:expr) => {
        $crate::text_pattern_schema!(@declare $(#[$doc])* $name, $pattern, None, $example, $description);
    };
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $example:expr, $description:expr, max_length = $max:expr) => {
        $crate::text_pattern_schema!(@declare $(#[$doc])* $name, $pattern, Some($max), $example, $description);
    };
    (@declare $(#[$doc:meta])* $name:ident, $pattern:expr, $max:expr, $example:expr, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::openapi::text_pattern($pattern, $max, $example, $description)
            }
        }

        impl ::utoipa::ToSchema for $name {}
    };
}

text_pattern_schema!(
    /// A topic pattern as the API takes it (webhook subscriptions, event
    /// queries), from the kernel's own grammar.
    TopicPatternText,
    hub_kernel::TopicPattern::PATTERN,
    "chantier.*",
    "Dot-separated segments, each `*` or made of `a-z`, `0-9`, `_`: `*` matches one segment, or every remaining one in last position",
    max_length = hub_kernel::MAX_TOPIC_LEN
);
text_pattern_schema!(
    /// An event type name as the API takes it.
    EventTypeText,
    hub_kernel::EVENT_TYPE_PATTERN,
    "chantier.created",
    "`<aggregate>.<action>`: two or more dot-separated segments made of `a-z`, `0-9`, `_`",
    max_length = hub_kernel::MAX_TOPIC_LEN
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use utoipa::OpenApi;

    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Body {
        nom: String,
    }

    #[derive(utoipa::IntoParams)]
    #[into_params(parameter_in = Path)]
    #[allow(dead_code)]
    struct Id {
        id: uuid::Uuid,
    }

    /// Change a thing.
    #[utoipa::path(
        patch, path = "/things/{id}", params(Id), request_body = Body,
        responses(
            (status = 200, description = "Changed"),
            (status = 422, description = "`thing_closed`", body = ProblemSchema),
        )
    )]
    #[allow(dead_code)]
    fn change() {}

    #[derive(utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct Filter {
        semaine: Option<String>,
    }

    /// One thing.
    #[utoipa::path(
        get, path = "/things/{id}", params(Id, Filter),
        responses((status = 200, description = "The thing"))
    )]
    #[allow(dead_code)]
    fn read() {}

    /// Delete a thing, if it is still at the version the caller saw.
    #[utoipa::path(
        delete, path = "/things/{id}", params(Id, crate::precondition::IfMatchHeader),
        responses((status = 204, description = "Deleted"))
    )]
    #[allow(dead_code)]
    fn remove() {}

    /// A public probe.
    #[utoipa::path(get, path = "/probe", security(()), responses((status = 200, description = "Up")))]
    #[allow(dead_code)]
    fn probe() {}

    #[derive(OpenApi)]
    #[openapi(paths(change, read, remove, probe))]
    struct Doc;

    fn statuses(document: &serde_json::Value, path: &str, method: &str) -> Vec<String> {
        let responses = document["paths"][path][method]["responses"]
            .as_object()
            .unwrap();
        responses.keys().cloned().collect()
    }

    #[test]
    fn every_operation_gets_the_answers_its_shape_can_give() {
        let mut document = Doc::openapi();
        SharedProblems.modify(&mut document);
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(
            statuses(&json, "/things/{id}", "patch"),
            [
                "200", "400", "401", "403", "413", "415", "422", "500", "503"
            ]
        );
        let bad_request = json["paths"]["/things/{id}"]["patch"]["responses"]["400"]["description"]
            .as_str()
            .unwrap();
        for code in ["`malformed_json`", "`invalid_body`", "`invalid_path`"] {
            assert!(bad_request.contains(code), "{bad_request}");
        }
        // The operation's own 422 keeps its code and gains the shared ones.
        let unprocessable =
            json["paths"]["/things/{id}"]["patch"]["responses"]["422"]["description"]
                .as_str()
                .unwrap();
        assert!(
            unprocessable.starts_with("`thing_closed`"),
            "{unprocessable}"
        );
        assert!(
            unprocessable.contains("`validation_failed`"),
            "{unprocessable}"
        );
        // Declared with `body = ProblemSchema` alone: sent, and so
        // documented, as `application/problem+json`.
        let content = json["paths"]["/things/{id}"]["patch"]["responses"]["422"]["content"]
            .as_object()
            .unwrap();
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["application/problem+json"]
        );
        // Query parameters: unreadable (400) or refused field by field (422).
        assert_eq!(
            statuses(&json, "/things/{id}", "get"),
            ["200", "400", "401", "403", "422", "500", "503"]
        );
        // If-Match: a 412, and the path's 200 answers carry the ETag; the
        // 204 of the delete has no body to tag.
        assert_eq!(
            statuses(&json, "/things/{id}", "delete"),
            ["204", "400", "401", "403", "412", "500", "503"]
        );
        for method in ["get", "patch"] {
            let headers = &json["paths"]["/things/{id}"][method]["responses"]["200"]["headers"];
            assert!(headers["ETag"].is_object(), "{method}: {headers}");
        }
        // Writes, not reads, may answer the browser session's CSRF refusal.
        let description = |method: &str| {
            json["paths"]["/things/{id}"][method]["responses"]["403"]["description"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        for method in ["patch", "delete"] {
            assert!(description(method).contains("`csrf_failed`"), "{method}");
            assert!(description(method).contains("`forbidden`"), "{method}");
        }
        assert!(
            !description("get").contains("csrf"),
            "{}",
            description("get")
        );
        // A public operation without body or parameters: only the 500.
        assert_eq!(statuses(&json, "/probe", "get"), ["200", "500"]);
        // Secured by default; the problem schema is a component.
        assert_eq!(json["security"][0], serde_json::json!({"bearer": []}));
        assert!(json["components"]["schemas"]["Problem"].is_object());
        // Applying it twice changes nothing.
        let again = {
            let mut twice = document.clone();
            SharedProblems.modify(&mut twice);
            serde_json::to_value(&twice).unwrap()
        };
        assert_eq!(again, json);
    }
}
