//! The documents context through the real app: its events are in the
//! catalog, so integrators can subscribe to them before the routes exist.

use std::sync::Arc;

use hub_platform_outbound::FixtureResolver;
use reqwest::Method;
use serde_json::json;

use crate::support::{As, TestHub};

async fn hub() -> TestHub {
    let resolver =
        FixtureResolver::new().with("ged.example.com", ["93.184.216.34".parse().unwrap()]);
    TestHub::builder()
        .env(&[("RATE_LIMITS", "off")])
        .resolver(Arc::new(resolver))
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_events_are_in_the_catalog_and_open_to_webhooks() {
    let hub = hub().await;
    let (status, body) = hub
        .call(Method::GET, "/api/v1/event-types", As::Compagnon, None)
        .await;
    assert_eq!(status, 200);
    let types = body["event_types"].as_array().unwrap();
    let uploaded = types
        .iter()
        .find(|t| t["event_type"] == "document.uploaded")
        .expect("document.uploaded is in the catalog");
    let text = uploaded.to_string();
    for field in ["taille_octets", "sha256", "chantier_id", "uploaded_by"] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
    for expected in [
        "document.updated",
        "document.deleted",
        "dossier.created",
        "dossier.updated",
        "dossier.deleted",
        "document_autorisation.granted",
        "document_autorisation.revoked",
    ] {
        assert!(
            types.iter().any(|t| t["event_type"] == expected),
            "{expected} missing"
        );
    }

    // A conducteur subscribes to every document and dossier event.
    let created = hub
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            json!({"url": "https://ged.example.com/hooks", "events": ["document.*", "dossier.*"]}),
        )
        .await;
    assert_eq!(created["events"], json!(["document.*", "dossier.*"]));
}
