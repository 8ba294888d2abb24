//! The API shell: health probes, errors, start-up and shutdown of the real binary.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::sql_query;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use hub_platform_test_db::TestDatabase;

use crate::support::{JWT_SECRET, TestHub, WEBHOOK_SECRETS_KEY, free_port, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_answer_and_carry_a_request_id() {
    let mut app = TestHub::start().await;
    let client = http();

    let live = client
        .get(format!("{}/health/live", app.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert!(live.headers().contains_key("x-request-id"));

    let ready = client
        .get(format!("{}/health/ready", app.base()))
        .header("x-request-id", "probe-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["x-request-id"], "probe-1");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_is_a_problem_document() {
    let mut app = TestHub::start().await;
    let response = http()
        .get(format!("{}/api/v1/nothing-here", app.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "route_not_found");
    assert_eq!(body["status"], 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_while_the_database_is_unreachable() {
    let mut app = TestHub::start().await;
    let client = http();
    let ready = format!("{}/health/ready", app.base());
    assert_eq!(client.get(&ready).send().await.unwrap().status(), 200);

    // Take the database away under the running server.
    let admin_url = hub_platform_test_db::server_url();
    let name = app.database_url().rsplit('/').next().unwrap().to_owned();
    let mut admin = AsyncPgConnection::establish(admin_url).await.unwrap();
    sql_query(format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
        .execute(&mut admin)
        .await
        .unwrap();

    let response = client.get(&ready).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable");
    // Liveness does not depend on the database.
    assert_eq!(
        client
            .get(format!("{}/health/live", app.base()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hub-chantier"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        // Not the default 127.0.0.1:9464: tests and servers run side by side.
        .env("METRICS_ADDR", "127.0.0.1:0")
        .stdin(Stdio::null());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_until_sigterm_then_exits_cleanly() {
    let test_db = TestDatabase::new().await;
    let port = free_port();
    let mut child = binary()
        .arg("serve")
        .env("DATABASE_URL", test_db.url())
        .env("JWT_SECRET", JWT_SECRET)
        .env("WEBHOOK_SECRETS_KEY", WEBHOOK_SECRETS_KEY)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let client = http();
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(&url).send().await {
            assert_eq!(response.status(), 200);
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "server exited early");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\n{logs}", output.status);
    assert!(logs.contains("shutdown signal received"), "{logs}");
    assert!(logs.contains("outbox relay stopped"), "{logs}");
    // A fresh database has no administrator: the line to run is logged.
    assert!(
        logs.contains(
            "no administrator exists yet: create the first one with \
             `make admin EMAIL=you@example.com`"
        ),
        "{logs}"
    );
    // Plain-http receivers are off by default, so nothing says they are on.
    assert!(!logs.contains("plain http://"), "{logs}");
    // Every line is a JSON object (log collectors depend on it).
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}

#[test]
fn binary_refuses_to_start_without_database_url() {
    let output = binary().arg("serve").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");
}

#[test]
fn binary_names_an_invalid_variable() {
    let output = binary()
        .arg("serve")
        .env("DATABASE_URL", "postgres://127.0.0.1/x")
        .env("JWT_SECRET", JWT_SECRET)
        .env("HTTP_ADDR", "nowhere")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HTTP_ADDR=\"nowhere\" is invalid"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_subcommand_applies_migrations_to_an_empty_database() {
    let test_db = TestDatabase::new().await;
    // Start from an empty database: drop what the template put there.
    let mut conn = AsyncPgConnection::establish(test_db.url()).await.unwrap();
    conn.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .unwrap();
    drop(conn);

    let output = binary()
        .arg("migrate")
        .env("DATABASE_URL", test_db.url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut conn = AsyncPgConnection::establish(test_db.url()).await.unwrap();
    sql_query("SELECT 1 FROM event_logs LIMIT 1")
        .execute(&mut conn)
        .await
        .expect("event_logs exists again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_logs_plain_http_receivers_and_no_admin_hint_once_an_admin_exists() {
    // An administrator exists (bootstrapped), and http:// receivers are on,
    // as `make run` sets them.
    let hub = TestHub::builder().prepare().await;
    let port = free_port();
    let mut child = binary()
        .arg("serve")
        .env("DATABASE_URL", hub.database_url())
        .env("JWT_SECRET", JWT_SECRET)
        .env("WEBHOOK_SECRETS_KEY", WEBHOOK_SECRETS_KEY)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("WEBHOOKS_ALLOW_HTTP", "true")
        .env("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8,::1/128")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = http();
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let started = Instant::now();
    while client.get(&url).send().await.is_err() {
        assert!(child.try_wait().unwrap().is_none(), "server exited early");
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{logs}");
    assert!(
        logs.contains(
            "webhook receivers over plain http:// are accepted (WEBHOOKS_ALLOW_HTTP=true; \
             allowed despite the SSRF policy: WEBHOOKS_ALLOWED_CIDRS=127.0.0.0/8,::1/128)"
        ),
        "{logs}"
    );
    assert!(!logs.contains("no administrator exists yet"), "{logs}");
}
