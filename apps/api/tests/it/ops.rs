//! Operations: metrics, event history, correlation ids, replay, retention.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::sql_query;
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use hub_chantier::ops::retention::{self, Retained};
use hub_platform_postgres::retention::DispatchedEventLogs;
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{Running, bootstrap_admin, http, start, start_with};

async fn app() -> (TestDatabase, Running, String) {
    let db = TestDatabase::new().await;
    bootstrap_admin(db.url()).await;
    let app = start(db.url()).await;
    let admin = app.admin_token().await;
    (db, app, admin)
}

async fn create_chantier(app: &Running, token: &str, code: &str, request_id: &str) -> Value {
    let response = http()
        .post(app.url("/api/v1/chantiers"))
        .bearer_auth(token)
        .header("x-request-id", request_id)
        .json(&json!({"code": code, "nom": "Site", "adresse": "1 rue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn get(app: &Running, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = http().get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Polls until `check` holds (the relay publishes asynchronously).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_becomes_the_events_correlation_id_and_history_serves_it() {
    let (_db, app, admin) = app().await;
    let chantier = create_chantier(&app, &admin, "CH-OPS-1", "corr-4242").await;
    let id = chantier["id"].as_str().unwrap();

    let (status, page) = get(
        &app,
        Some(&admin),
        &format!("/api/v1/events?type=chantier.*&aggregate_id={id}"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let event = &page["events"][0];
    assert_eq!(event["event_type"], "chantier.created");
    assert_eq!(event["correlation_id"], "corr-4242");
    assert_eq!(event["data"]["chantier_id"], id);
    let event_id = event["event_id"].as_str().unwrap();

    let (status, one) = get(&app, Some(&admin), &format!("/api/v1/events/{event_id}")).await;
    assert_eq!((status, one["event_id"].as_str()), (200, Some(event_id)));
    // The relay publishes it; the bus keeps it in its in-memory history.
    eventually("the in-memory history", || async {
        let (_, recent) = get(
            &app,
            Some(&admin),
            "/api/v1/events/recent?type=chantier.created",
        )
        .await;
        recent["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["event_id"] == event_id))
    })
    .await;
    eventually("dispatched_at", || async {
        let (_, one) = get(&app, Some(&admin), &format!("/api/v1/events/{event_id}")).await;
        one["dispatched_at"].is_string()
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_history_pages_filters_and_is_for_admins_only() {
    let (_db, app, admin) = app().await;
    for i in 0..5 {
        create_chantier(&app, &admin, &format!("CH-P{i}"), &format!("req-{i}")).await;
    }
    let (_, first) = get(
        &app,
        Some(&admin),
        "/api/v1/events?type=chantier.created&limit=3",
    )
    .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = get(
        &app,
        Some(&admin),
        &format!("/api/v1/events?type=chantier.created&limit=3&cursor={cursor}"),
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

    let (_, users) = get(&app, Some(&admin), "/api/v1/events?type=user.*").await;
    assert!(
        users["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event_type"].as_str().unwrap().starts_with("user."))
    );
    let future = "2999-01-01T00:00:00Z";
    let (_, none) = get(
        &app,
        Some(&admin),
        &format!("/api/v1/events?since={future}"),
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
        let (status, body) = get(&app, Some(&admin), path).await;
        assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{path}");
    }
    let (status, body) = get(
        &app,
        Some(&admin),
        &format!("/api/v1/events/{}", uuid::Uuid::now_v7()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("event_not_found"))
    );

    app.create_user(&admin, "conducteur@example.fr", "conducteur")
        .await;
    let conducteur = app
        .login("conducteur@example.fr", "mot-de-passe-long-1")
        .await;
    for path in ["/api/v1/events", "/api/v1/events/recent"] {
        assert_eq!(get(&app, Some(&conducteur), path).await.0, 403);
        assert_eq!(get(&app, None, path).await.0, 401);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_requests_events_and_outbox_lag() {
    let (_db, app, admin) = app().await;
    create_chantier(&app, &admin, "CH-MET", "req-m").await;
    let (status, _) = get(&app, Some(&admin), "/api/v1/chantiers").await;
    assert_eq!(status, 200);
    eventually("the published-events counter", || async {
        let (_, body) = get(&app, None, "/metrics").await;
        body.as_str().is_some_and(|text| {
            text.contains(r#"hub_events_published_total{event_type="chantier.created"}"#)
        })
    })
    .await;
    let (status, body) = get(&app, None, "/metrics").await;
    assert_eq!(status, 200);
    let text = body.as_str().unwrap();
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
    assert!(text.contains("hub_outbox_pending_events"), "{text}");
    assert!(text.contains("hub_outbox_lag_seconds"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_events_command_marks_events_for_the_relay() {
    let (db, app, admin) = app().await;
    create_chantier(&app, &admin, "CH-R1", "req-r").await;
    app.stop().await;
    let output = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
        .args([
            "replay-events",
            "--since",
            "2000-01-01T00:00:00Z",
            "--type",
            "chantier.*",
        ])
        .env_clear()
        .env("DATABASE_URL", db.url())
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

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    let pending: Count =
        sql_query("SELECT count(*) AS count FROM event_logs WHERE dispatched_at IS NULL")
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(pending.count, 1);

    let bad = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
        .args(["replay-events", "--since", "hier"])
        .env_clear()
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_run_deletes_old_dispatched_events_once_per_lock() {
    let (db, app, admin) = app().await;
    create_chantier(&app, &admin, "CH-OLD", "req-o").await;
    create_chantier(&app, &admin, "CH-NEW", "req-n").await;
    let database = hub_platform_postgres::Database::connect(db.url(), &Default::default()).unwrap();
    // Let the relay dispatch everything, then age one event past the period.
    eventually("dispatch", || async {
        let mut conn = database.connection().await.unwrap();
        hub_platform_postgres::outbox::pending(&mut conn)
            .await
            .unwrap()
            .0
            == 0
    })
    .await;
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    sql_query("UPDATE event_logs SET occurred_at = $1 WHERE data->>'code' = 'CH-OLD'")
        .bind::<Timestamptz, _>(OffsetDateTime::now_utc() - time::Duration::days(91))
        .execute(&mut conn)
        .await
        .unwrap();
    let targets = vec![Retained {
        target: std::sync::Arc::new(DispatchedEventLogs),
        days: 90,
    }];

    // Another instance holds the lock: this one skips.
    let mut holder = AsyncPgConnection::establish(db.url()).await.unwrap();
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
    let (_, left) = get(&app, Some(&admin), "/api/v1/events?type=chantier.*").await;
    let codes: Vec<&str> = left["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CH-NEW"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_run_drops_expired_previous_secrets() {
    let db = TestDatabase::new().await;
    bootstrap_admin(db.url()).await;
    // Receivers on loopback, named by IP: no DNS needed to create webhooks.
    let local = [
        ("WEBHOOKS_ALLOW_HTTP", "true"),
        ("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8"),
    ];
    let app = start_with(db.url(), &local).await;
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created: Value = http()
            .post(app.url("/api/v1/webhooks"))
            .bearer_auth(&admin)
            .json(&json!({"url": "http://127.0.0.1:9/hook", "events": ["chantier.*"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let rotated = http()
            .post(app.url(&format!("/api/v1/webhooks/{id}/rotate-secret")))
            .bearer_auth(&admin)
            .json(&json!({"grace_period_seconds": 3600}))
            .send()
            .await
            .unwrap();
        assert_eq!(rotated.status(), 200);
        ids.push(id);
    }
    let (expired, current) = (&ids[0], &ids[1]);
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    sql_query(format!(
        "UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 minute' \
         WHERE id = '{expired}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
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

    let database = hub_platform_postgres::Database::connect(db.url(), &Default::default()).unwrap();
    let config = crate::support::config_with(db.url(), &local);
    let report = retention::run_once(
        &database,
        &hub_chantier::server::retention_targets(&config),
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
    let (status, shown) = get(&app, Some(&admin), &format!("/api/v1/webhooks/{expired}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["previous_secret_expires_at"], Value::Null);
    app.stop().await;
}
