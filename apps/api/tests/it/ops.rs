//! Operations: metrics, event history, correlation ids, replay, retention.

use std::time::Duration;

use diesel::sql_query;
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::RunQueryDsl;
use hub_chantier::ops::retention::{self, Retained};
use hub_platform_postgres::retention::DispatchedEventLogs;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{As, TestHub, eventually, http, metric};

/// Opens a chantier as the administrator, with `request_id` as the request's id.
async fn create_chantier(hub: &TestHub, code: &str, request_id: &str) -> Value {
    let response = hub
        .request(Method::POST, "/api/v1/chantiers", As::Admin)
        .await
        .header("x-request-id", request_id)
        .json(&json!({"code": code, "nom": "Site", "adresse": "1 rue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_becomes_the_events_correlation_id_and_history_serves_it() {
    let mut hub = TestHub::start().await;
    let chantier = create_chantier(&hub, "CH-OPS-1", "corr-4242").await;
    let id = chantier["id"].as_str().unwrap();

    let (status, page) = hub
        .call(
            Method::GET,
            &format!("/api/v1/events?type=chantier.*&aggregate_id={id}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let event = &page["events"][0];
    assert_eq!(event["event_type"], "chantier.created");
    assert_eq!(event["correlation_id"], "corr-4242");
    assert_eq!(event["data"]["chantier_id"], id);
    let event_id = event["event_id"].as_str().unwrap();

    let (status, one) = hub
        .call(
            Method::GET,
            &format!("/api/v1/events/{event_id}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!((status, one["event_id"].as_str()), (200, Some(event_id)));
    // The relay publishes it; the bus keeps it in its in-memory history.
    eventually("the in-memory history", || async {
        let (_, recent) = hub
            .call(
                Method::GET,
                "/api/v1/events/recent?type=chantier.created",
                As::Admin,
                None,
            )
            .await;
        recent["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["event_id"] == event_id))
    })
    .await;
    eventually("dispatched_at", || async {
        let (_, one) = hub
            .call(
                Method::GET,
                &format!("/api/v1/events/{event_id}"),
                As::Admin,
                None,
            )
            .await;
        one["dispatched_at"].is_string()
    })
    .await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_history_pages_filters_and_is_for_admins_only() {
    let mut hub = TestHub::start().await;
    for i in 0..5 {
        create_chantier(&hub, &format!("CH-P{i}"), &format!("req-{i}")).await;
    }
    let (_, first) = hub
        .call(
            Method::GET,
            "/api/v1/events?type=chantier.created&limit=3",
            As::Admin,
            None,
        )
        .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = hub
        .call(
            Method::GET,
            &format!("/api/v1/events?type=chantier.created&limit=3&cursor={cursor}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(second["events"].as_array().unwrap().len(), 2);
    assert_eq!(second["next_cursor"], Value::Null);
    let codes: Vec<String> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["events"].as_array().unwrap())
        .map(|e| e["data"]["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes,
        ["CH-P4", "CH-P3", "CH-P2", "CH-P1", "CH-P0"],
        "newest first"
    );

    let (_, users) = hub
        .call(Method::GET, "/api/v1/events?type=user.*", As::Admin, None)
        .await;
    assert!(
        users["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event_type"].as_str().unwrap().starts_with("user."))
    );
    let future = "2999-01-01T00:00:00Z";
    let (_, none) = hub
        .call(
            Method::GET,
            &format!("/api/v1/events?since={future}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(none["events"], json!([]));

    for (path, code) in [
        ("/api/v1/events?type=Chantier", "invalid_query"),
        ("/api/v1/events?since=yesterday", "invalid_query"),
        ("/api/v1/events?limit=0", "invalid_query"),
        ("/api/v1/events?cursor=abc", "invalid_query"),
        ("/api/v1/events/recent?limit=5000", "invalid_query"),
    ] {
        let (status, body) = hub.call(Method::GET, path, As::Admin, None).await;
        assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{path}");
    }
    let body = hub
        .expect(
            404,
            Method::GET,
            &format!("/api/v1/events/{}", uuid::Uuid::now_v7()),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(body["code"], "event_not_found");

    for path in ["/api/v1/events", "/api/v1/events/recent"] {
        assert_eq!(
            hub.call(Method::GET, path, As::Conducteur, None).await.0,
            403
        );
        assert_eq!(
            hub.call(Method::GET, path, As::Anonymous, None).await.0,
            401
        );
    }
    hub.stop().await;
}

/// A scrape of the metrics listener: status, content type, body.
async fn scrape(hub: &TestHub, token: Option<&str>) -> (u16, String, String) {
    let mut request = http().get(hub.metrics_url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener_only() {
    let mut hub = TestHub::start().await;
    // The recorder is process-wide (other tests of a `cargo test` process
    // publish too): the counter must grow, not merely exist.
    let published = r#"hub_events_published_total{event_type="chantier.created"}"#;
    let before = metric(&scrape(&hub, None).await.2, published).unwrap_or(0.0);
    create_chantier(&hub, "CH-MET", "req-m").await;
    let (status, _) = hub
        .call(Method::GET, "/api/v1/chantiers", As::Admin, None)
        .await;
    assert_eq!(status, 200);

    // Not on the API address any more.
    let response = http().get(hub.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "route_not_found");

    eventually("the published-events counter", || async {
        metric(&scrape(&hub, None).await.2, published).is_some_and(|after| after >= before + 1.0)
    })
    .await;
    let (status, content_type, text) = scrape(&hub, None).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(
        text.contains(
            r#"hub_http_requests_total{method="POST",route="/api/v1/chantiers",status="201"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains("hub_http_request_duration_seconds_bucket"),
        "histograms, not summaries"
    );
    for gauge in [
        "hub_outbox_pending_events",
        "hub_outbox_lag_seconds",
        r#"hub_webhook_delivery_queue_depth{status="pending"}"#,
        r#"hub_webhook_delivery_queue_depth{status="in_flight"}"#,
    ] {
        assert!(text.contains(gauge), "{gauge}\n{text}");
    }
    // Nothing else is served there.
    let other = http()
        .get(hub.metrics_url("/api/v1/chantiers"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    // The listener stops with the application.
    let metrics = hub.metrics_url("/metrics");
    hub.stop().await;
    assert!(http().get(&metrics).send().await.is_err(), "still serving");
}

/// One gauge's value in the text format.
fn gauge(text: &str, series: &str) -> f64 {
    metric(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// A webhook with one delivery queued for next year: the queue depth
/// gauge counts it, no worker sends it.
async fn queue_a_delivery(hub: &TestHub) {
    hub.run_sql(
        "WITH w AS (INSERT INTO webhooks (id, owner_id, url, events, secret_ciphertext, \
         secret_nonce, secret_key_id, created_at, updated_at) VALUES (gen_random_uuid(), \
         gen_random_uuid(), 'https://erp.example.com/', ARRAY['*'], '\\x00', \
         '\\x000000000000000000000000', 'k', now(), now()) RETURNING id) \
         INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, status, \
         attempt, max_attempts, next_attempt_at, created_at, updated_at) \
         SELECT gen_random_uuid(), w.id, gen_random_uuid(), 'chantier.created', '{}', \
         'pending', 0, 4, now() + interval '1 year', now(), now() FROM w",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_renders_the_gauges_of_the_last_refresh_without_querying() {
    let pending = r#"hub_webhook_delivery_queue_depth{status="pending"}"#;
    // Refreshed at start, then not for an hour.
    let mut hub = TestHub::start_with(&[("METRICS_REFRESH_INTERVAL", "1h")]).await;
    let (_, _, text) = scrape(&hub, None).await;
    assert_eq!(gauge(&text, pending), 0.0, "refreshed once at start");
    queue_a_delivery(&hub).await;
    for _ in 0..3 {
        let (status, _, text) = scrape(&hub, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            gauge(&text, pending),
            0.0,
            "a scrape shows the cached value, it does not count again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // With a short interval the background refresh picks the job up.
    hub.serve(&[("METRICS_REFRESH_INTERVAL", "200ms")]).await;
    eventually("the refreshed queue depth", || async {
        gauge(&scrape(&hub, None).await.2, pending) == 1.0
    })
    .await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_is_required_when_configured_and_metrics_can_be_off() {
    let token = "scrape-token-0123456789abcdef";
    let mut hub = TestHub::builder().prepare().await;
    hub.serve(&[("METRICS_TOKEN", token)]).await;
    for presented in [None, Some("wrong-token-0123456789abcdef"), Some("")] {
        let mut request = http().get(hub.metrics_url("/metrics"));
        if let Some(presented) = presented {
            request = request.header("authorization", format!("Bearer {presented}"));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{presented:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let text = response.text().await.unwrap();
        assert!(!text.contains("hub_"), "{text}");
    }
    let basic = http()
        .get(hub.metrics_url("/metrics"))
        .basic_auth("prometheus", Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "Bearer only");
    let (status, _, text) = scrape(&hub, Some(token)).await;
    assert_eq!(status, 200);
    assert!(text.contains("hub_outbox_pending_events"), "{text}");

    hub.serve(&[("METRICS_ADDR", "off")]).await;
    assert_eq!(hub.metrics_base(), None);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_events_command_marks_events_for_the_relay() {
    let mut hub = TestHub::start().await;
    create_chantier(&hub, "CH-R1", "req-r").await;
    hub.stop().await;
    let output = hub
        .command(&[
            "replay-events",
            "--since",
            "2000-01-01T00:00:00Z",
            "--type",
            "chantier.*",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report,
        json!({"marked": 1, "since": "2000-01-01T00:00:00Z", "type": "chantier.*"})
    );

    assert_eq!(
        hub.count("SELECT count(*) AS count FROM event_logs WHERE dispatched_at IS NULL")
            .await,
        1
    );

    let bad = hub
        .command(&["replay-events", "--since", "hier"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_run_deletes_old_dispatched_events_once_per_lock() {
    let mut hub = TestHub::start().await;
    create_chantier(&hub, "CH-OLD", "req-o").await;
    create_chantier(&hub, "CH-NEW", "req-n").await;
    let database =
        hub_platform_postgres::Database::connect(hub.database_url(), &Default::default()).unwrap();
    // Let the relay dispatch everything, then age one event past the period.
    hub.wait_for_dispatch().await;
    sql_query("UPDATE event_logs SET occurred_at = $1 WHERE data->>'code' = 'CH-OLD'")
        .bind::<Timestamptz, _>(OffsetDateTime::now_utc() - time::Duration::days(91))
        .execute(&mut hub.connection().await)
        .await
        .unwrap();
    let targets = vec![Retained {
        target: std::sync::Arc::new(DispatchedEventLogs),
        days: 90,
    }];

    // Another instance holds the lock: this one skips.
    let mut holder = hub.connection().await;
    assert!(
        hub_platform_postgres::retention::try_lock(&mut holder)
            .await
            .unwrap()
    );
    assert_eq!(
        retention::run_once(&database, &targets, OffsetDateTime::now_utc())
            .await
            .unwrap(),
        None
    );
    hub_platform_postgres::retention::unlock(&mut holder)
        .await
        .unwrap();

    let report = retention::run_once(&database, &targets, OffsetDateTime::now_utc())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report[0].target, "event_logs");
    assert_eq!(report[0].deleted, 1);
    let (_, left) = hub
        .call(
            Method::GET,
            "/api/v1/events?type=chantier.*",
            As::Admin,
            None,
        )
        .await;
    let codes: Vec<&str> = left["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CH-NEW"]);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_run_drops_expired_previous_secrets() {
    // Receivers on loopback, named by IP: no DNS needed to create webhooks.
    let mut hub = TestHub::builder().local_receivers().start().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (_, created) = hub
            .call(
                Method::POST,
                "/api/v1/webhooks",
                As::Admin,
                json!({"url": "http://127.0.0.1:9/hook", "events": ["chantier.*"]}),
            )
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let (status, _) = hub
            .call(
                Method::POST,
                &format!("/api/v1/webhooks/{id}/rotate-secret"),
                As::Admin,
                json!({"grace_period_seconds": 3600}),
            )
            .await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    let (expired, current) = (&ids[0], &ids[1]);
    hub.run_sql(&format!(
        "UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 minute' \
         WHERE id = '{expired}'"
    ))
    .await;
    let mut conn = hub.connection().await;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        cleared: bool,
        #[diesel(sql_type = BigInt)]
        version: i64,
    }
    let row = |id: String| {
        sql_query(format!(
            "SELECT (previous_secret_ciphertext IS NULL AND previous_secret_nonce IS NULL \
             AND previous_secret_key_id IS NULL AND previous_secret_expires_at IS NULL) AS cleared, \
             version FROM webhooks WHERE id = '{id}'"
        ))
    };
    let before: Row = row(expired.clone()).get_result(&mut conn).await.unwrap();
    assert!(!before.cleared);

    let database =
        hub_platform_postgres::Database::connect(hub.database_url(), &Default::default()).unwrap();
    let report = retention::run_once(
        &database,
        hub.retention_targets(),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .unwrap();
    let cleared = report
        .iter()
        .find(|purged| purged.target == "webhooks_previous_secret")
        .unwrap_or_else(|| panic!("no previous-secret target in {report:?}"));
    assert_eq!(cleared.deleted, 1);

    let after: Row = row(expired.clone()).get_result(&mut conn).await.unwrap();
    assert!(after.cleared, "all four previous_secret_* columns are null");
    assert!(
        after.version > before.version,
        "a write loaded before the clear must conflict, not bring the ciphertext back"
    );
    let kept: Row = row(current.clone()).get_result(&mut conn).await.unwrap();
    assert!(
        !kept.cleared,
        "a previous secret still in its grace period stays"
    );
    let (status, shown) = hub
        .call(
            Method::GET,
            &format!("/api/v1/webhooks/{expired}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["previous_secret_expires_at"], Value::Null);
    hub.stop().await;
}
