//! The OpenAPI document covers every route, and the committed copy
//! `docs/openapi.json` is the one the code generates.

use std::collections::BTreeSet;

use reqwest::Method;

use crate::support::{As, TestHub};

/// The sources that register routes, read at compile time.
const ROUTE_SOURCES: &[(&str, &str)] = &[
    (
        "identity",
        include_str!("../../../../crates/identity/infrastructure/src/http.rs"),
    ),
    (
        "chantiers",
        include_str!("../../../../crates/chantiers/infrastructure/src/http.rs"),
    ),
    (
        "webhooks",
        include_str!("../../../../crates/webhooks/infrastructure/src/http.rs"),
    ),
    (
        "planning",
        include_str!("../../../../crates/planning/infrastructure/src/http.rs"),
    ),
    ("events", include_str!("../../src/ops/events.rs")),
    ("health", include_str!("../../src/health.rs")),
];

/// String literals that register a route: `web::resource("/…")`,
/// `.route("/…", …)` and actix's `#[get("/…")]`. Paths in `#[utoipa::path]`
/// (`path = "/…"`) are documentation and are not collected.
fn registered_paths(source: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for marker in ["web::resource(\"", ".route(\"", "#[get(\"", "#[post(\""] {
        let mut rest = source;
        while let Some(start) = rest.find(marker) {
            let after = &rest[start + marker.len()..];
            let Some(end) = after.find('"') else { break };
            let path = &after[..end];
            if path.starts_with('/') {
                paths.insert(path.to_owned());
            }
            rest = &after[end..];
        }
    }
    paths
}

/// `{id}` and `{webhook_id}` are the same path for this comparison.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_registered_route_is_in_the_openapi_document() {
    let document = serde_json::to_value(hub_chantier::openapi::document()).unwrap();
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| shape(p))
        .collect();
    let mut missing = Vec::new();
    let mut seen = 0;
    for (source_name, source) in ROUTE_SOURCES {
        let paths = registered_paths(source);
        assert!(
            !paths.is_empty(),
            "no route found in {source_name}: the scanner is broken"
        );
        for path in paths {
            seen += 1;
            if !documented.contains(&shape(&path)) {
                missing.push(format!("{path} ({source_name})"));
            }
        }
    }
    assert!(
        seen >= 15,
        "only {seen} routes found: the scanner is broken"
    );
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
}

#[test]
fn the_scanner_finds_registrations_but_not_documentation() {
    let source = r#"
        #[utoipa::path(get, path = "/api/v1/documented-only")]
        cfg.service(web::resource("/api/v1/things").route(web::get().to(list)))
           .route("/api/v1/things/{id}/archive", web::post().to(archive));
        #[get("/health/live")]
        format!("/api/v1/things/{}", id)
    "#;
    let found: Vec<String> = registered_paths(source).into_iter().collect();
    assert_eq!(
        found,
        [
            "/api/v1/things",
            "/api/v1/things/{id}/archive",
            "/health/live"
        ]
    );
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = hub_chantier::openapi::document().to_pretty_json().unwrap();
    let committed = include_str!("../../../../docs/openapi.json");
    assert!(
        committed.trim_end() == generated.trim_end(),
        "docs/openapi.json is stale: run `make openapi` and commit the result"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_path_answers_from_a_real_route() {
    let mut hub = TestHub::start().await;
    let document = hub
        .expect(
            200,
            Method::GET,
            "/api/v1/openapi.json",
            As::Anonymous,
            None,
        )
        .await;
    for (path, operations) in document["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "01234567-89ab-7def-8123-456789abcdef"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = hub
                .send(method.clone(), &concrete, As::Anonymous, None)
                .await;
            let (status, body) = (answer.status, answer.text);
            assert!(
                status != 405 && !body.contains("route_not_found"),
                "{method} {path} is documented but not routed ({status} {body})"
            );
        }
    }
    hub.stop().await;
}
