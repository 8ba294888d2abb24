//! `hub-chantier listen`, the developer's local receiver, run as a process
//! against the real delivery engine: it prints what arrives, verifies the
//! signature with the webhook's secret and says why it fails, and its
//! chosen answers make the engine retry.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use hub_webhook_signature::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret, sign};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Role, TestHub, eventually, free_port, http};

/// A running `hub-chantier listen`, its standard output gathered line by line.
struct Listener {
    child: Child,
    output: Arc<Mutex<String>>,
    url: String,
}

impl Listener {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
            .arg("listen")
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let (first_line, first) = std::sync::mpsc::channel();
        let gathered = output.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = first_line.send(line.clone());
                gathered.lock().unwrap().push_str(&format!("{line}\n"));
            }
            for line in lines.map_while(Result::ok) {
                gathered.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let banner = first
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("listen printed where it listens");
        let url = banner
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {banner}"))
            .to_owned();
        Self { child, output, url }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until the output contains `text`.
    async fn shows(&self, text: &str) {
        eventually(&format!("listen to print {text:?}"), || async {
            self.output().contains(text)
        })
        .await;
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn hub() -> TestHub {
    TestHub::builder()
        .env(&[
            ("RATE_LIMITS", "off"),
            ("WEBHOOKS_RETRY_SCHEDULE", "100ms,200ms"),
            ("WEBHOOKS_POLL_INTERVAL", "100ms"),
        ])
        .local_receivers()
        .start()
        .await
}

/// Creates a webhook on `chantier.*` to `url`; returns its id and secret.
async fn webhook(hub: &TestHub, url: &str) -> (String, String) {
    let created = hub
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            json!({"url": url, "events": ["chantier.*"]}),
        )
        .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn create_chantier(hub: &TestHub, code: &str) -> Value {
    let conducteur = hub.user(Role::Conducteur).await.id.clone();
    hub.expect(
        201,
        Method::POST,
        "/api/v1/chantiers",
        As::Admin,
        json!({
            "code": code, "nom": format!("Chantier {code}"),
            "adresse": "1 quai de Seine, Paris", "conducteur_ids": [conducteur]
        }),
    )
    .await
}

async fn delivery_log(hub: &TestHub, webhook_id: &str) -> Value {
    let path = format!("/api/v1/webhooks/{webhook_id}/deliveries");
    hub.expect(200, Method::GET, &path, As::Admin, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_pointed_at_listen_gets_verified_deliveries() {
    let mut hub = hub().await;
    let port = free_port();
    let (webhook_id, secret) = webhook(&hub, &format!("http://127.0.0.1:{port}/hooks")).await;
    let listener = Listener::start(&["--port", &port.to_string(), "--secret", &secret]);
    assert_eq!(listener.url, format!("http://127.0.0.1:{port}/"));

    create_chantier(&hub, "L-1").await;
    listener.shows("signature:   verified").await;
    let output = listener.output();
    let (_, created) = hub.events("chantier.created").await.remove(0);
    let event_id = hub
        .texts(
            "SELECT event_id::text AS text FROM event_logs WHERE event_type = 'chantier.created'",
        )
        .await
        .remove(0);
    assert!(output.contains("--- #1 POST /hooks at "), "{output}");
    assert!(output.contains("event type:  chantier.created"), "{output}");
    assert!(
        output.contains(&format!("webhook-id:  {event_id}")),
        "{output}"
    );
    assert!(output.contains(" s ago)\n"), "{output}");
    assert!(output.contains("answered:    200"), "{output}");
    // The body, pretty-printed: one field per line, the chantier's code in it.
    assert!(
        output.contains("\n  \"event_type\": \"chantier.created\""),
        "{output}"
    );
    assert_eq!(created["code"], "L-1");
    assert!(output.contains("\"code\": \"L-1\""), "{output}");
    eventually("the successful attempt in the log", || async {
        delivery_log(&hub, &webhook_id).await["deliveries"][0]["success"] == true
    })
    .await;

    // The test event reaches it too, verified.
    hub.expect(
        202,
        Method::POST,
        &format!("/api/v1/webhooks/{webhook_id}/test"),
        As::Admin,
        None,
    )
    .await;
    listener.shows("event type:  webhook.test").await;
    let test_block = listener.output();
    let test_block = &test_block[test_block.find("--- #2").unwrap()..];
    assert!(test_block.contains("signature:   verified"), "{test_block}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_500_makes_the_engine_retry() {
    let mut hub = hub().await;
    let port = free_port();
    let (webhook_id, secret) = webhook(&hub, &format!("http://127.0.0.1:{port}/")).await;
    let listener = Listener::start(&[
        "--port",
        &port.to_string(),
        "--secret",
        &secret,
        "--status",
        "500",
    ]);
    create_chantier(&hub, "L-2").await;

    // 1 + max_retries (3), capped by the schedule's two delays: 3 attempts.
    listener.shows("--- #3 POST").await;
    eventually("three failed attempts in the log", || async {
        let log = delivery_log(&hub, &webhook_id).await;
        log["total"] == 3
            && log["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|attempt| attempt["status_code"] == 500 && attempt["success"] == false)
    })
    .await;
    let output = listener.output();
    // The same delivery each time (same webhook-id), each one verified.
    let ids: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("webhook-id:  "))
        .collect();
    assert_eq!(ids.len(), 3, "{output}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{output}");
    assert_eq!(
        output.matches("signature:   verified").count(),
        3,
        "{output}"
    );
    assert_eq!(output.matches("answered:    500").count(), 3, "{output}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_with_the_reason() {
    let mut hub = hub().await;
    let port = free_port();
    let (webhook_id, _) = webhook(&hub, &format!("http://127.0.0.1:{port}/")).await;
    let other = WebhookSecret::generate_from([9; 32]);
    let listener = Listener::start(&["--port", &port.to_string(), "--secret", other.as_str()]);
    create_chantier(&hub, "L-3").await;

    listener
        .shows("signature:   FAILED: signature mismatch: wrong secret")
        .await;
    assert!(listener.output().contains("answered:    401"));
    eventually("the refused attempt in the log", || async {
        delivery_log(&hub, &webhook_id).await["deliveries"][0]["status_code"] == 401
    })
    .await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_altered_requests_are_explained_and_fail_every_answers_500() {
    let secret = WebhookSecret::generate_from([5; 32]);
    let listener = Listener::start(&[
        "--port",
        "0",
        "--secret",
        secret.as_str(),
        "--fail-every",
        "2",
    ]);
    let body = r#"{"event_type":"chantier.created","data":{"code":"X"}}"#;
    let id = "0190f1c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d";
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let send = |signed_at: i64, sent_body: &'static str| {
        let signature = sign(&[&secret], id, signed_at, body.as_bytes());
        http()
            .post(&listener.url)
            .header("content-type", "application/json")
            .header(HEADER_ID, id)
            .header(HEADER_TIMESTAMP, signed_at.to_string())
            .header(HEADER_SIGNATURE, signature)
            .body(sent_body)
    };
    let altered = r#"{"event_type":"chantier.created","data":{"code":"Y"}}"#;

    // #1 genuine: 200; #2 genuine: 500 (--fail-every 2); #3 stale; #4 altered.
    let genuine = send(now, body).send().await.unwrap();
    assert_eq!(genuine.status(), 200);
    let second = send(now, body).send().await.unwrap();
    assert_eq!(second.status(), 500);
    let stale = send(now - 3600, body).send().await.unwrap();
    assert_eq!(stale.status(), 401);
    let reason: Value = stale.json().await.unwrap();
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .starts_with("stale timestamp: signed 36"),
        "{reason}"
    );
    let tampered = send(now, altered).send().await.unwrap();
    assert_eq!(tampered.status(), 401);
    let unsigned = http().post(&listener.url).body(body).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    listener.shows("--- #5 POST").await;
    let output = listener.output();
    let verdicts: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("signature:   "))
        .collect();
    assert_eq!(verdicts.len(), 5, "{output}");
    assert!(verdicts[0].starts_with("verified"), "{output}");
    assert!(verdicts[1].starts_with("verified"), "{output}");
    assert!(
        verdicts[2].starts_with("FAILED: stale timestamp: signed 3600 s ago")
            || verdicts[2].starts_with("FAILED: stale timestamp: signed 3601 s ago"),
        "{output}"
    );
    assert!(
        verdicts[3].starts_with("FAILED: signature mismatch")
            && verdicts[3].contains("body, webhook-id or webhook-timestamp was altered"),
        "{output}"
    );
    assert_eq!(
        verdicts[4], "FAILED: not a signed delivery: the `webhook-id` header is missing",
        "{output}"
    );
    let answers: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("answered:    "))
        .collect();
    assert_eq!(answers, ["200", "500", "401", "401", "401"], "{output}");
}

#[test]
fn listen_refuses_a_malformed_secret_or_status() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
            .arg("listen")
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let bad_secret = run(&["--port", "0", "--secret", "not-a-secret"]);
    assert!(!bad_secret.status.success());
    let stderr = String::from_utf8_lossy(&bad_secret.stderr);
    assert!(
        stderr.contains("--secret is not a webhook secret"),
        "{stderr}"
    );
    let bad_status = run(&["--port", "0", "--status", "99"]);
    assert!(!bad_status.status.success());
    let stderr = String::from_utf8_lossy(&bad_status.stderr);
    assert!(stderr.contains("--status"), "{stderr}");
}
