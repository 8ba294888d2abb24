//! Webhook delivery end to end: events created over HTTP reach real local
//! receivers (plain HTTP and TLS on 127.0.0.1, allowed by
//! `WEBHOOKS_ALLOWED_CIDRS`), signed, retried, logged; the delivery routes;
//! shutdown and crash safety of the queue.

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hub_platform_outbound::FixtureResolver;
use hub_webhook_signature::{Verifier, WebhookHeaders, WebhookSecret, verify_legacy};
use reqwest::Method;
use ring::hmac;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, As, JWT_SECRET, Receiver, Recorded, Reply, Role, TestHub,
    WEBHOOK_SECRETS_KEY, eventually, free_port, http, metric, test_pki,
};

/// What every test here runs with: local receivers allowed, fast retries.
fn builder(resolver: Arc<FixtureResolver>) -> crate::support::Builder {
    TestHub::builder()
        .env(&[
            ("RATE_LIMITS", "off"),
            ("WEBHOOKS_RETRY_SCHEDULE", "50ms,100ms,150ms"),
            ("WEBHOOKS_POLL_INTERVAL", "100ms"),
        ])
        .local_receivers()
        .resolver(resolver)
}

fn resolver() -> Arc<FixtureResolver> {
    let localhost: IpAddr = "127.0.0.1".parse().unwrap();
    Arc::new(FixtureResolver::new().with("tls.test", [localhost]))
}

async fn hub(extra: &[(&str, &str)]) -> TestHub {
    builder(resolver()).env(extra).start().await
}

/// Creates a webhook; returns its id and secret.
async fn webhook(
    hub: &TestHub,
    who: impl Into<As<'_>>,
    url: &str,
    events: Value,
) -> (String, String) {
    let body = json!({"url": url, "events": events});
    let created = hub
        .expect(201, Method::POST, "/api/v1/webhooks", who, body)
        .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn patch(hub: &TestHub, id: &str, changes: Value) -> Value {
    let path = format!("/api/v1/webhooks/{id}");
    hub.expect(200, Method::PATCH, &path, As::Admin, changes)
        .await
}

async fn get(hub: &TestHub, id: &str) -> Value {
    let path = format!("/api/v1/webhooks/{id}");
    hub.expect(200, Method::GET, &path, As::Admin, None).await
}

/// Opens a chantier (a `chantier.created` event); returns its id.
async fn chantier(hub: &TestHub, code: &str) -> String {
    let body = json!({"code": code, "nom": "Tour A", "adresse": "1 quai"});
    let created = hub
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// The delivery log of `id` (`query` e.g. `?limit=5`).
async fn delivery_log(hub: &TestHub, id: &str, query: &str) -> Value {
    let path = format!("/api/v1/webhooks/{id}/deliveries{query}");
    hub.expect(200, Method::GET, &path, As::Admin, None).await
}

/// The statuses of the webhook's delivery jobs, sorted.
async fn job_statuses(hub: &TestHub, webhook_id: &str) -> Vec<String> {
    hub.texts(&format!(
        "SELECT status AS text FROM webhook_deliveries WHERE webhook_id = '{webhook_id}' \
         ORDER BY status"
    ))
    .await
}

/// Checks the Standard Webhooks signature of `request` with `secret`,
/// independently: with the project's verifier, and by recomputing the HMAC
/// with ring. The legacy header is opt-in: a webhook created without
/// `legacy_signature` must not get it.
fn assert_signed(request: &Recorded, secret: &str) {
    assert_standard_signature(request, secret);
    assert_eq!(
        request.header("x-hub-chantier-signature"),
        None,
        "legacy header sent without legacy_signature"
    );
}

fn assert_standard_signature(request: &Recorded, secret: &str) {
    let id = request.header("webhook-id").unwrap();
    let timestamp = request.header("webhook-timestamp").unwrap();
    let signature = request.header("webhook-signature").unwrap();

    let parsed = WebhookSecret::parse(secret).unwrap();
    Verifier::new(&parsed)
        .verify_now(
            &WebhookHeaders::new(id, timestamp, signature),
            &request.body,
        )
        .unwrap();

    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(&request.body);
    let expected =
        base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, &content).as_ref());
    assert!(
        signature
            .split(' ')
            .any(|entry| entry == format!("v1,{expected}")),
        "{signature}"
    );
}

/// Both signatures: the Standard Webhooks one and the legacy
/// `X-Hub-Chantier-Signature` (HMAC of the body keyed with the whole secret
/// string), recomputed with ring.
fn assert_signed_with_legacy(request: &Recorded, secret: &str) {
    assert_standard_signature(request, secret);
    let parsed = WebhookSecret::parse(secret).unwrap();
    let legacy = request
        .header("x-hub-chantier-signature")
        .expect("legacy header");
    verify_legacy(&parsed, &request.body, legacy).unwrap();
    let legacy_key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    assert_eq!(
        legacy,
        format!(
            "sha256={}",
            hex::encode(hmac::sign(&legacy_key, &request.body).as_ref())
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chantier_created_over_http_reaches_the_receiver_signed() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::start(|_| Reply::status(202).body("merci")).await;
    let (webhook_id, secret) = webhook(
        &s,
        As::Admin,
        &receiver.url("/hooks?token=abc"),
        json!(["chantier.*"]),
    )
    .await;

    let chantier_id = chantier(&s, "CH-DELIV-1").await;
    let requests = receiver.wait_for(1).await;
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks?token=abc");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some("Hub-Chantier-Webhooks/1.0")
    );
    assert_eq!(
        request.header("x-hub-chantier-event"),
        Some("chantier.created")
    );
    let body = request.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected_keys = vec![
        "event_id",
        "event_type",
        "timestamp",
        "aggregate_type",
        "aggregate_id",
        "actor_id",
        "data",
    ];
    expected_keys.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected_keys);
    // The raw bytes keep the documented order.
    let raw = String::from_utf8(request.body.clone()).unwrap();
    assert!(raw.starts_with(r#"{"event_id":""#), "{raw}");
    assert!(raw.contains(r#","data":{"#), "{raw}");
    assert_eq!(body["event_type"], "chantier.created");
    assert_eq!(body["aggregate_type"], "chantier");
    assert_eq!(body["aggregate_id"], chantier_id.as_str());
    assert_eq!(body["data"]["chantier_id"], chantier_id.as_str());
    assert_eq!(body["data"]["code"], "CH-DELIV-1");
    assert!(body["actor_id"].is_string());
    assert_eq!(
        request.header("webhook-id"),
        body["event_id"].as_str(),
        "webhook-id is the event id"
    );
    time::OffsetDateTime::parse(
        body["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_signed(request, &secret);

    // The attempt is logged, and the webhook's bookkeeping done.
    eventually("the attempt in the log", || async {
        delivery_log(&s, &webhook_id, "").await["total"] == 1
    })
    .await;
    let log = delivery_log(&s, &webhook_id, "").await;
    let attempt = &log["deliveries"][0];
    assert_eq!(attempt["event_id"], body["event_id"]);
    assert_eq!(attempt["event_type"], "chantier.created");
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["success"], true);
    assert_eq!(attempt["status_code"], 202);
    assert_eq!(attempt["response_body"], "merci");
    assert_eq!(attempt["error_kind"], Value::Null);
    assert_eq!(attempt["delivery_status"], "succeeded");
    assert!(attempt["duration_ms"].is_u64(), "{attempt}");
    eventually("last_triggered_at", || async {
        get(&s, &webhook_id).await["last_triggered_at"].is_string()
    })
    .await;
    assert_eq!(receiver.requests().len(), 1, "delivered once");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_signature_header_is_sent_only_to_webhooks_that_opt_in() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::start(|_| Reply::status(204)).await;
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            Some(json!({
                "url": receiver.url("/legacy"), "events": ["chantier.created"],
                "legacy_signature": true
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["legacy_signature"], true);
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let (plain_id, plain_secret) = webhook(
        &s,
        As::Admin,
        &receiver.url("/plain"),
        json!(["chantier.created"]),
    )
    .await;
    assert_eq!(get(&s, &plain_id).await["legacy_signature"], false);

    chantier(&s, "CH-LEGACY-1").await;
    let requests = receiver.wait_for(2).await;
    let on = requests.iter().find(|r| r.path == "/legacy").unwrap();
    let off = requests.iter().find(|r| r.path == "/plain").unwrap();
    assert_signed_with_legacy(on, &secret);
    assert_signed(off, &plain_secret);

    // Switched off by PATCH: the next delivery has the standard headers only.
    let patched = patch(&s, &id, json!({"legacy_signature": false})).await;
    assert_eq!(patched["legacy_signature"], false);
    chantier(&s, "CH-LEGACY-2").await;
    let requests = receiver.wait_for(4).await;
    let later = requests
        .iter()
        .filter(|r| r.path == "/legacy")
        .nth(1)
        .unwrap();
    assert_signed(later, &secret);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_once_gets_the_event_again_with_the_same_webhook_id() {
    let mut s = hub(&[]).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::start({
        let calls = calls.clone();
        move |_| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(500).body("boom")
            } else {
                Reply::status(200)
            }
        }
    })
    .await;
    let (webhook_id, secret) = webhook(
        &s,
        As::Admin,
        &receiver.url("/in"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-RETRY").await;
    let requests = receiver.wait_for(2).await;
    assert_eq!(
        requests[0].header("webhook-id"),
        requests[1].header("webhook-id")
    );
    assert_eq!(requests[0].body, requests[1].body, "the same bytes");
    let gap = requests[1].at - requests[0].at;
    // No upper bound: a busy machine may pick the retry up late, never early.
    assert!(
        gap >= Duration::from_millis(40),
        "retried after the first step (50 ms ± 20 %): {gap:?}"
    );
    for request in &requests {
        assert_signed(request, &secret);
    }
    eventually("both attempts logged", || async {
        delivery_log(&s, &webhook_id, "").await["total"] == 2
    })
    .await;
    let log = delivery_log(&s, &webhook_id, "").await;
    let (second, first) = (&log["deliveries"][0], &log["deliveries"][1]);
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["success"], false);
    assert_eq!(first["status_code"], 500);
    assert_eq!(first["response_body"], "boom");
    assert_eq!(first["error_kind"], "http_status");
    assert_eq!(first["error_message"], "the receiver answered HTTP 500");
    assert_eq!(second["attempt"], 2);
    assert_eq!(second["success"], true);
    assert_eq!(first["delivery_id"], second["delivery_id"]);
    assert_eq!(second["delivery_status"], "succeeded");
    assert_eq!(get(&s, &webhook_id).await["consecutive_failures"], 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_failing_receiver_gets_every_attempt_then_the_webhook_is_deactivated() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::start(|_| Reply::status(503).body("down")).await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/in"),
        json!(["chantier.created"]),
    )
    .await;
    for i in 0..10 {
        chantier(&s, &format!("CH-KO-{i}")).await;
    }
    // 10 deliveries × (1 + max_retries 3) attempts.
    receiver.wait_for(40).await;
    eventually("the deactivation", || async {
        get(&s, &webhook_id).await["is_active"] == false
    })
    .await;
    let webhook = get(&s, &webhook_id).await;
    assert_eq!(webhook["consecutive_failures"], 10);
    assert_eq!(
        webhook["disabled_reason"],
        "deactivated after 10 consecutive failed deliveries (last: the receiver answered HTTP 503)"
    );
    eventually("every delivery finished", || async {
        job_statuses(&s, &webhook_id).await == vec!["failed"; 10]
    })
    .await;
    assert_eq!(
        delivery_log(&s, &webhook_id, "?success=false").await["total"],
        40
    );
    // One webhook.updated tells the deactivation.
    assert_eq!(
        s.count(
            "SELECT count(*) AS count FROM event_logs WHERE event_type = 'webhook.updated' \
             AND data->'changes'->'disabled_reason' IS NOT NULL"
        )
        .await,
        1
    );
    // Nothing more is sent to it: once the relay has dispatched the next
    // event, the fan-out has decided, and it made no job for this webhook.
    chantier(&s, "CH-KO-AFTER").await;
    s.wait_for_dispatch().await;
    assert_eq!(job_statuses(&s, &webhook_id).await.len(), 10);
    assert_eq!(receiver.requests().len(), 40, "exactly 4 attempts each");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_slower_than_the_timeout_fails_as_timeout() {
    let mut s = hub(&[
        ("WEBHOOKS_TIMEOUT", "300ms"),
        ("WEBHOOKS_LEASE_DURATION", "5s"),
    ])
    .await;
    // It would answer long after the timeout: the attempt's duration tells
    // whether the worker gave up at the timeout or waited for the answer.
    let receiver = Receiver::start(|_| Reply::status(200).delayed(Duration::from_secs(30))).await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/slow"),
        json!(["chantier.created"]),
    )
    .await;
    patch(&s, &webhook_id, json!({"retry_enabled": false})).await;
    chantier(&s, "CH-SLOW").await;
    eventually("the failed attempt", || async {
        delivery_log(&s, &webhook_id, "").await["total"] == 1
    })
    .await;
    let attempt = &delivery_log(&s, &webhook_id, "").await["deliveries"][0];
    assert_eq!(attempt["success"], false);
    assert_eq!(attempt["error_kind"], "timeout");
    assert_eq!(attempt["status_code"], Value::Null);
    assert!(
        attempt["error_message"]
            .as_str()
            .unwrap()
            .starts_with("timed out"),
        "{attempt}"
    );
    let duration = attempt["duration_ms"].as_u64().unwrap();
    assert!((250..30_000).contains(&duration), "{duration}");
    assert_eq!(attempt["delivery_status"], "failed");
    assert_eq!(get(&s, &webhook_id).await["consecutive_failures"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_308_is_followed_and_a_302_fails_as_redirect() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::start(|request| match request.path.as_str() {
        "/old" => Reply::status(308).header("location", "/new"),
        "/moved" => Reply::status(302).header("location", "/new"),
        _ => Reply::status(200),
    })
    .await;
    let (followed, secret) = webhook(
        &s,
        As::Admin,
        &receiver.url("/old"),
        json!(["chantier.created"]),
    )
    .await;
    let (refused, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/moved"),
        json!(["chantier.created"]),
    )
    .await;
    patch(&s, &refused, json!({"retry_enabled": false})).await;
    chantier(&s, "CH-REDIRECT").await;
    eventually("both attempts", || async {
        delivery_log(&s, &followed, "").await["total"] == 1
            && delivery_log(&s, &refused, "").await["total"] == 1
    })
    .await;

    let ok = &delivery_log(&s, &followed, "").await["deliveries"][0];
    assert_eq!(ok["success"], true, "{ok}");
    assert_eq!(ok["status_code"], 200);
    let requests = receiver.requests();
    let hops: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.path == "/old" || r.path == "/new")
        .collect();
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(hops[0].path, "/old");
    assert_eq!(hops[1].path, "/new");
    assert_eq!(hops[1].method, "POST", "same method after a 308");
    assert_eq!(hops[0].body, hops[1].body, "same body after a 308");
    assert_signed(hops[1], &secret);

    let ko = &delivery_log(&s, &refused, "").await["deliveries"][0];
    assert_eq!(ko["success"], false);
    assert_eq!(ko["error_kind"], "redirect");
    assert!(
        ko["error_message"].as_str().unwrap().contains("302"),
        "{ko}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.path == "/new" && r.method != "POST"),
        "a 302 is never followed"
    );
    s.stop().await;
}

/// DNS rebinding: the name passes the check at creation, then points at an
/// internal address when the delivery connects. The attempt fails as
/// `ssrf_refused`, and what its owner can read says neither the address nor
/// its kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_rebound_to_an_internal_address_is_refused_at_delivery_without_naming_it() {
    let resolver = resolver();
    let localhost: IpAddr = "127.0.0.1".parse().unwrap();
    let internal: IpAddr = "10.20.30.40".parse().unwrap();
    resolver.set_sequence("rebind.test", vec![vec![localhost], vec![internal]]);
    let mut s = builder(resolver.clone()).start().await;
    let receiver = Receiver::ok().await;
    let url = format!("http://rebind.test:{}/in", receiver.port());
    let (webhook_id, _) = webhook(&s, As::Admin, &url, json!(["chantier.created"])).await;
    assert_eq!(resolver.lookups("rebind.test"), 1, "checked at creation");

    chantier(&s, "CH-REBIND").await;
    eventually("the refused attempt", || async {
        delivery_log(&s, &webhook_id, "").await["total"] != 0
    })
    .await;
    let log = delivery_log(&s, &webhook_id, "").await;
    for attempt in log["deliveries"].as_array().unwrap() {
        assert_eq!(attempt["success"], false, "{attempt}");
        assert_eq!(attempt["error_kind"], "ssrf_refused", "{attempt}");
        assert_eq!(
            attempt["error_message"],
            "refused by the outbound policy: the URL resolves to a forbidden address"
        );
    }
    let text = log.to_string();
    for leak in ["10.20.30.40", "private"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
    // Nor anywhere it is stored (the job's last error feeds disabled_reason).
    assert_eq!(
        s.count(
            "SELECT (SELECT count(*) FROM webhook_delivery_attempts \
                     WHERE error_message LIKE '%10.20.30.40%' OR error_message LIKE '%private%') \
                  + (SELECT count(*) FROM webhook_deliveries \
                     WHERE last_error LIKE '%10.20.30.40%' OR last_error LIKE '%private%') AS count"
        )
        .await,
        0
    );
    assert!(
        resolver.lookups("rebind.test") >= 2,
        "vetted when connecting"
    );
    assert!(receiver.requests().is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_deactivates_the_webhook_at_once() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::start(|_| Reply::status(410).body("gone")).await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/gone"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-GONE").await;
    eventually("the deactivation", || async {
        get(&s, &webhook_id).await["is_active"] == false
    })
    .await;
    let webhook = get(&s, &webhook_id).await;
    assert_eq!(webhook["disabled_reason"], "the receiver answered 410 Gone");
    let log = delivery_log(&s, &webhook_id, "").await;
    assert_eq!(log["total"], 1, "no retry after 410");
    assert_eq!(log["deliveries"][0]["status_code"], 410);
    assert_eq!(log["deliveries"][0]["delivery_status"], "failed");
    // The job is final: no attempt will ever follow.
    assert_eq!(job_statuses(&s, &webhook_id).await, ["failed"]);
    assert_eq!(receiver.requests().len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_endpoint_is_announced_to_its_owners_other_webhooks() {
    let mut s = hub(&[]).await;
    let conducteur = s.user(Role::Conducteur).await.id.clone();
    let gone = Receiver::start(|_| Reply::status(410).body("gone")).await;
    let notices = Receiver::ok().await;
    let admin_notices = Receiver::ok().await;
    // A conducteur's ERP endpoint, and their monitoring endpoint.
    let (erp, _) = webhook(
        &s,
        As::Conducteur,
        &gone.url("/erp"),
        json!(["chantier.created"]),
    )
    .await;
    let (_, secret) = webhook(
        &s,
        As::Conducteur,
        &notices.url("/alerts"),
        json!(["webhook.disabled"]),
    )
    .await;
    // An admin's subscription sees every webhook event, as before.
    webhook(
        &s,
        As::Admin,
        &admin_notices.url("/audit"),
        json!(["webhook.disabled"]),
    )
    .await;
    let body = json!({"code": "CH-410", "nom": "Tour", "adresse": "1 quai", "conducteur_ids": [conducteur]});
    s.expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;

    let received = notices.wait_for(1).await;
    assert_signed(&received[0], &secret);
    let notice = received[0].json();
    assert_eq!(notice["event_type"], "webhook.disabled");
    assert_eq!(
        notice["data"],
        json!({
            "webhook_id": erp,
            "owner_id": conducteur,
            "reason": "the receiver answered 410 Gone",
            "consecutive_failures": 1
        })
    );
    assert_eq!(
        admin_notices.wait_for(1).await[0].json()["data"]["webhook_id"],
        erp.as_str()
    );
    // In the event history, after the settings change of the same write.
    let history: Vec<String> = s
        .events("webhook.")
        .await
        .into_iter()
        .map(|(event_type, _)| event_type)
        .filter(|t| t != "webhook.created")
        .collect();
    assert_eq!(history, ["webhook.updated", "webhook.disabled"]);
    // The owner sees why, and what the endpoint last answered.
    let path = format!("/api/v1/webhooks/{erp}");
    let shown = s
        .expect(200, Method::GET, &path, As::Conducteur, None)
        .await;
    assert_eq!(shown["is_active"], false);
    assert_eq!(shown["disabled_reason"], "the receiver answered 410 Gone");
    assert_eq!(shown["last_error"], "the receiver answered HTTP 410");
    assert!(shown["last_error_at"].is_string(), "{shown}");
    // The notice itself is not announced again: one of each.
    s.wait_for_dispatch().await;
    assert_eq!(notices.requests().len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_receiver_trusted_through_the_extra_ca_file() {
    let pki = test_pki("tls.test");
    let ca_file = std::env::temp_dir().join(format!("hub-test-ca-{}.pem", uuid::Uuid::now_v7()));
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let mut s = hub(&[
        ("WEBHOOKS_ALLOW_HTTP", "false"),
        ("WEBHOOKS_EXTRA_CA_FILE", ca_file.to_str().unwrap()),
    ])
    .await;
    let receiver = Receiver::start_tls(pki.acceptor.clone(), |_| Reply::status(200)).await;
    let url = format!("https://tls.test:{}/secure", receiver.port());
    let (webhook_id, secret) = webhook(&s, As::Admin, &url, json!(["chantier.*"])).await;
    chantier(&s, "CH-TLS").await;
    let requests = receiver.wait_for(1).await;
    assert_eq!(requests[0].path, "/secure");
    assert_signed(&requests[0], &secret);
    eventually("the attempt", || async {
        delivery_log(&s, &webhook_id, "").await["deliveries"][0]["success"] == true
    })
    .await;
    std::fs::remove_file(&ca_file).unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_route_delivers_to_that_webhook_only_even_when_inactive() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::ok().await;
    let other = Receiver::ok().await;
    let (webhook_id, secret) =
        webhook(&s, As::Admin, &receiver.url("/t"), json!(["chantier.*"])).await;
    webhook(&s, As::Admin, &other.url("/other"), json!(["*"])).await;
    patch(&s, &webhook_id, json!({"is_active": false})).await;
    let before = other.requests().len();

    let (status, queued) = s
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{webhook_id}/test"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let requests = receiver.wait_for(1).await;
    let request = &requests[0];
    assert_signed(request, &secret);
    assert_eq!(request.header("x-hub-chantier-event"), Some("webhook.test"));
    assert_eq!(request.header("webhook-id"), queued["event_id"].as_str());
    let body = request.json();
    assert_eq!(body["event_type"], "webhook.test");
    assert_eq!(body["aggregate_type"], "webhook");
    assert_eq!(body["aggregate_id"], webhook_id.as_str());
    assert_eq!(body["data"]["webhook_id"], webhook_id.as_str());
    assert!(body["data"]["message"].as_str().unwrap().contains("Test"));
    eventually("the test attempt in the log", || async {
        delivery_log(&s, &webhook_id, "").await["total"] == 1
    })
    .await;
    let log = delivery_log(&s, &webhook_id, "?event_type=webhook.test").await;
    assert_eq!(log["deliveries"][0]["delivery_id"], queued["delivery_id"]);
    // The event is in the outbox like any other, and fanned out to nobody.
    assert_eq!(
        s.count("SELECT count(*) AS count FROM event_logs WHERE event_type = 'webhook.test'")
            .await,
        1
    );
    eventually("the relay dispatched it", || async {
        s.count(
            "SELECT count(*) AS count FROM event_logs WHERE event_type = 'webhook.test' \
             AND dispatched_at IS NOT NULL",
        )
        .await
            == 1
    })
    .await;
    // Dispatched, so the fan-out has run: the route's own job is the test
    // event's only one, and it is finished. Nothing else can be sent.
    assert_eq!(
        s.count("SELECT count(*) FROM webhook_deliveries WHERE event_type = 'webhook.test'")
            .await,
        1
    );
    eventually("the test delivery to finish", || async {
        job_statuses(&s, &webhook_id).await == ["succeeded"]
    })
    .await;
    assert!(
        other
            .requests()
            .iter()
            .skip(before)
            .all(|r| r.header("x-hub-chantier-event") != Some("webhook.test")),
        "never sent to another webhook"
    );
    assert_eq!(receiver.requests().len(), 1);
    // Still inactive, its bookkeeping untouched: a test is a diagnostic.
    let webhook = get(&s, &webhook_id).await;
    assert_eq!(webhook["is_active"], false);
    assert_eq!(webhook["last_triggered_at"], Value::Null);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_sent_again_by_retry_and_recover() {
    let mut s = hub(&[]).await;
    let healthy = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::start({
        let healthy = healthy.clone();
        move |_| {
            if AtomicUsize::load(&healthy, Ordering::SeqCst) == 0 {
                Reply::status(500)
            } else {
                Reply::status(200)
            }
        }
    })
    .await;
    let since = time::OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/r"),
        json!(["chantier.created"]),
    )
    .await;
    patch(&s, &webhook_id, json!({"retry_enabled": false})).await;
    chantier(&s, "CH-R1").await;
    chantier(&s, "CH-R2").await;
    eventually("two failed deliveries", || async {
        job_statuses(&s, &webhook_id).await == ["failed", "failed"]
    })
    .await;
    assert_eq!(get(&s, &webhook_id).await["consecutive_failures"], 2);
    let log = delivery_log(&s, &webhook_id, "").await;
    let newest = log["deliveries"][0].clone();
    let oldest = log["deliveries"][1].clone();
    healthy.store(1, Ordering::SeqCst);

    // Retry by delivery id: the same event, now, with the same webhook-id.
    let base = format!("/api/v1/webhooks/{webhook_id}");
    let (status, retried) = s
        .call(
            Method::POST,
            &format!(
                "{base}/deliveries/{}/retry",
                oldest["delivery_id"].as_str().unwrap()
            ),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(status, 202, "{retried}");
    assert_eq!(retried["delivery_id"], oldest["delivery_id"]);
    assert_eq!(retried["status"], "pending");
    let requests = receiver.wait_for(3).await;
    assert_eq!(
        requests[2].header("webhook-id"),
        oldest["event_id"].as_str()
    );
    eventually("the retried delivery succeeded", || async {
        delivery_log(&s, &webhook_id, "?success=true").await["total"] == 1
    })
    .await;
    let success = &delivery_log(&s, &webhook_id, "?success=true").await["deliveries"][0];
    assert_eq!(success["attempt"], 2);
    assert_eq!(success["delivery_id"], oldest["delivery_id"]);
    assert_eq!(get(&s, &webhook_id).await["consecutive_failures"], 0);

    // Recover: every failed delivery of the window (the other one).
    let (status, recovered) = s
        .call(
            Method::POST,
            &format!("{base}/recover"),
            As::Admin,
            Some(json!({"since": since.format(&time::format_description::well_known::Rfc3339).unwrap()})),
        )
        .await;
    assert_eq!(status, 202, "{recovered}");
    assert_eq!(recovered["requeued"], 1);
    let requests = receiver.wait_for(4).await;
    assert_eq!(
        requests[3].header("webhook-id"),
        newest["event_id"].as_str()
    );
    eventually("every delivery succeeded", || async {
        job_statuses(&s, &webhook_id).await == ["succeeded", "succeeded"]
    })
    .await;
    let (_, again) = s
        .call(
            Method::POST,
            &format!("{base}/recover"),
            As::Admin,
            Some(json!({"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(again["requeued"], 0, "nothing failed any more");

    // A succeeded delivery may be sent again too, by the id of an attempt.
    let (status, _) = s
        .call(
            Method::POST,
            &format!("{base}/deliveries/{}/retry", newest["id"].as_str().unwrap()),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(status, 202);
    receiver.wait_for(5).await;

    // Errors.
    let unknown = uuid::Uuid::now_v7();
    let problem = s
        .expect(
            404,
            Method::POST,
            &format!("{base}/deliveries/{unknown}/retry"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(problem["code"], "delivery_not_found");
    let (status, problem) = s
        .call(
            Method::POST,
            &format!("{base}/recover"),
            As::Admin,
            Some(json!({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "until");
    let (status, _) = s
        .call(
            Method::POST,
            &format!("{base}/recover"),
            As::Admin,
            Some(json!({"since": "yesterday"})),
        )
        .await;
    assert!(status == 400 || status == 422, "{status}");
    patch(&s, &webhook_id, json!({"is_active": false})).await;
    let problem = s
        .expect(
            409,
            Method::POST,
            &format!(
                "{base}/deliveries/{}/retry",
                oldest["delivery_id"].as_str().unwrap()
            ),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(problem["code"], "webhook_inactive");
    let problem = s
        .expect(
            409,
            Method::POST,
            &format!("{base}/recover"),
            As::Admin,
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(problem["code"], "webhook_inactive");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_webhook_is_404_on_every_delivery_route() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::ok().await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/mine"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-MINE").await;
    eventually("the delivery", || async {
        delivery_log(&s, &webhook_id, "").await["total"] == 1
    })
    .await;
    let delivery_id = delivery_log(&s, &webhook_id, "").await["deliveries"][0]["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = s.new_user(Role::Conducteur).await;
    let base = format!("/api/v1/webhooks/{webhook_id}");
    for (method, path, body) in [
        (Method::GET, format!("{base}/deliveries"), None),
        (Method::POST, format!("{base}/test"), None),
        (
            Method::POST,
            format!("{base}/deliveries/{delivery_id}/retry"),
            None,
        ),
        (
            Method::POST,
            format!("{base}/recover"),
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
        ),
    ] {
        let problem = s.expect(404, method, &path, &other, body).await;
        assert_eq!(problem["code"], "webhook_not_found", "{path}");
    }
    // Nor does the owner see another webhook's deliveries through theirs.
    let (other_webhook, _) = webhook(
        &s,
        &other,
        &receiver.url("/theirs"),
        json!(["chantier.created"]),
    )
    .await;
    let problem = s
        .expect(
            404,
            Method::POST,
            &format!("/api/v1/webhooks/{other_webhook}/deliveries/{delivery_id}/retry"),
            &other,
            None,
        )
        .await;
    assert_eq!(problem["code"], "delivery_not_found");
    assert_eq!(receiver.requests().len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_pages_newest_first_and_filters() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::start(|request| {
        let body = request.json();
        if body["data"]["code"]
            .as_str()
            .unwrap_or_default()
            .starts_with("KO")
        {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/log"),
        json!(["chantier.created"]),
    )
    .await;
    patch(&s, &webhook_id, json!({"retry_enabled": false})).await;
    for code in ["OK-1", "KO-1", "OK-2", "KO-2", "OK-3"] {
        chantier(&s, code).await;
        // One at a time, so that the log's order is the creation order.
        receiver.wait_for(receiver.requests().len() + 1).await;
    }
    eventually("five attempts", || async {
        delivery_log(&s, &webhook_id, "").await["total"] == 5
    })
    .await;
    let all = delivery_log(&s, &webhook_id, "").await;
    let times: Vec<&str> = all["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempted_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert_eq!(
        delivery_log(&s, &webhook_id, "?success=true").await["total"],
        3
    );
    let failed = delivery_log(&s, &webhook_id, "?success=false").await;
    assert_eq!(failed["total"], 2);
    assert!(
        failed["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["success"] == false && d["error_kind"] == "http_status")
    );
    assert_eq!(
        delivery_log(&s, &webhook_id, "?event_type=chantier.created").await["total"],
        5
    );
    assert_eq!(
        delivery_log(&s, &webhook_id, "?event_type=chantier.deleted").await["total"],
        0
    );
    let page = delivery_log(&s, &webhook_id, "?limit=2").await;
    assert_eq!(page["total"], 5);
    assert_eq!(page["deliveries"].as_array().unwrap().len(), 2);
    assert_eq!(page["deliveries"][0]["id"], all["deliveries"][0]["id"]);
    let last = delivery_log(&s, &webhook_id, "?skip=4&limit=2").await;
    assert_eq!(last["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(last["deliveries"][0]["id"], all["deliveries"][4]["id"]);
    let both = delivery_log(
        &s,
        &webhook_id,
        "?success=false&event_type=chantier.created&limit=1",
    )
    .await;
    assert_eq!(both["total"], 2);
    for bad in [
        "?limit=0",
        "?limit=101",
        "?event_type=Chantier..created",
        "?success=maybe",
        "?colour=blue",
    ] {
        let (status, problem) = s
            .call(
                Method::GET,
                &format!("/api/v1/webhooks/{webhook_id}/deliveries{bad}"),
                As::Admin,
                None,
            )
            .await;
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    s.stop().await;
}

/// Jobs leased by some worker, and jobs in flight.
async fn leased(hub: &TestHub) -> i64 {
    hub.count(
        "SELECT count(*) AS count FROM webhook_deliveries \
         WHERE status = 'in_flight' OR lease_until IS NOT NULL OR leased_by IS NOT NULL",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_delivery_in_flight_finish_and_leaves_nothing_leased() {
    let mut s = hub(&[]).await;
    // Answered 2 s after the request arrives: time enough to see the job
    // in flight and begin the stop, well within SHUTDOWN_TIMEOUT (5 s).
    let answer_delay = Duration::from_secs(2);
    let receiver = Receiver::start(move |_| Reply::status(200).delayed(answer_delay)).await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/slowish"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-STOP").await;
    let arrived = receiver.wait_for(1).await[0].at;
    assert_eq!(leased(&s).await, 1, "in flight when the stop begins");
    s.stop().await;
    // Measured from the request's arrival, not from the stop's start: the
    // stop cannot have returned before the receiver answered.
    assert!(arrived.elapsed() >= answer_delay, "it waited");
    assert_eq!(leased(&s).await, 0);
    assert_eq!(job_statuses(&s, &webhook_id).await, ["succeeded"]);
    assert_eq!(
        s.count("SELECT count(*) AS count FROM webhook_delivery_attempts WHERE success")
            .await,
        1,
        "its outcome was recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_the_lease_of_a_delivery_that_does_not_finish_in_time() {
    // The delivery would end at its own timeout (60 s) at the earliest; the
    // stop gives up on it after 1 s.
    let mut s = hub(&[
        ("SHUTDOWN_TIMEOUT", "1s"),
        ("WEBHOOKS_TIMEOUT", "60s"),
        ("WEBHOOKS_LEASE_DURATION", "90s"),
    ])
    .await;
    let receiver = Receiver::start(|_| Reply::status(200).delayed(Duration::from_secs(600))).await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/hang"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-HANG").await;
    receiver.wait_for(1).await;
    let stopping = Instant::now();
    s.stop().await;
    // Far below the delivery's 60 s, whatever the machine's load.
    assert!(
        stopping.elapsed() < Duration::from_secs(30),
        "{:?}",
        stopping.elapsed()
    );
    assert_eq!(leased(&s).await, 0, "nothing left leased");
    // Due again at once for the next worker; the interrupted attempt does
    // not count.
    assert_eq!(job_statuses(&s, &webhook_id).await, ["pending"]);
    assert_eq!(
        s.count(
            "SELECT count(*) AS count FROM webhook_deliveries \
             WHERE attempt = 0 AND next_attempt_at <= now()"
        )
        .await,
        1
    );
    assert_eq!(
        s.count("SELECT count(*) AS count FROM webhook_delivery_attempts")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_of_a_killed_worker_are_sent_after_restart_with_the_same_webhook_id() {
    // The database and its administrator; no server of the hub's yet.
    let mut s = builder(resolver()).prepare().await;
    // The first three requests hang (the worker dies while waiting); every
    // later one is answered.
    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::start({
        let calls = calls.clone();
        move |_| {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Reply::status(200).delayed(Duration::from_secs(60))
            } else {
                Reply::status(200)
            }
        }
    })
    .await;

    // A real process, killed with SIGKILL: no shutdown code runs.
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", s.database_url())
        .env("JWT_SECRET", JWT_SECRET)
        .env("WEBHOOK_SECRETS_KEY", WEBHOOK_SECRETS_KEY)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", "off")
        .env("RATE_LIMITS", "off")
        .env("WEBHOOKS_ALLOW_HTTP", "true")
        .env("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8")
        .env("WEBHOOKS_MAX_IN_FLIGHT", "3")
        .env("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT", "3")
        .env("WEBHOOKS_TIMEOUT", "30s")
        .env("WEBHOOKS_LEASE_DURATION", "32s")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while http()
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_err()
    {
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = {
        let response = http()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };
    let created = http()
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": receiver.url("/crash"), "events": ["chantier.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for i in 0..5 {
        let response = http()
            .post(format!("{base}/api/v1/chantiers"))
            .bearer_auth(&token)
            .json(&json!({"code": format!("CH-CRASH-{i}"), "nom": "Tour", "adresse": "1 quai"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let hung = receiver.wait_for(3).await;
    // The two others are leased to the worker too, held in its memory
    // until a slot frees (WEBHOOKS_MAX_HELD_BYTES): the crash loses them
    // as well.
    eventually("every event fanned out", || async {
        s.count("SELECT count(*) AS count FROM webhook_deliveries")
            .await
            == 5
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        leased(&s).await,
        5,
        "the dead worker's leases remain: three requests in flight, two jobs held"
    );

    // Expire the dead worker's leases rather than waiting 32 s for them.
    s.run_sql("UPDATE webhook_deliveries SET lease_until = now() WHERE status = 'in_flight'")
        .await;
    s.serve(&[]).await;
    eventually("every event delivered", || async {
        s.count("SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'succeeded'")
            .await
            == 5
    })
    .await;
    let requests = receiver.requests();
    let after: Vec<&str> = requests[3..]
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    let events = s
        .texts(
            "SELECT event_id::text AS text FROM event_logs WHERE event_type = 'chantier.created'",
        )
        .await;
    assert_eq!(events.len(), 5);
    for event in &events {
        assert!(
            after.contains(&event.as_str()),
            "{event} delivered after the restart"
        );
    }
    for request in &hung {
        let id = request.header("webhook-id").unwrap();
        assert!(
            after.contains(&id),
            "the interrupted {id} was sent again, same webhook-id"
        );
    }
    assert_eq!(leased(&s).await, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_metrics_are_exported() {
    let mut s = hub(&[]).await;
    let text = || async {
        http()
            .get(s.metrics_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    // The recorder is process-wide: under `cargo test` the other tests of
    // this process deliver too, so the counter is read before and after.
    let successes = r#"hub_webhook_delivery_attempts_total{result="success"}"#;
    let before = metric(&text().await, successes).unwrap_or(0.0);
    let receiver = s.receiver().await;
    webhook(
        &s,
        As::Admin,
        &receiver.url("/m"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-METRICS").await;
    receiver.wait_for(1).await;
    eventually("the attempt counter to count the success", || async {
        metric(&text().await, successes).is_some_and(|after| after >= before + 1.0)
    })
    .await;
    let metrics = text().await;
    for expected in [
        "hub_webhook_delivery_duration_seconds_bucket",
        r#"hub_webhook_delivery_queue_depth{status="pending"}"#,
        r#"hub_webhook_delivery_queue_depth{status="in_flight"}"#,
        "hub_webhook_deliveries_in_flight",
        "hub_webhook_deliveries_held",
    ] {
        assert!(metrics.contains(expected), "{expected}\n{metrics}");
    }
    s.stop().await;
}

/// `hub-chantier cleanup-deliveries <args>` on the hub's database.
fn cleanup(hub: &TestHub, args: &[&str]) -> std::process::Output {
    hub.command(&[&["cleanup-deliveries"], args].concat())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deliveries_deletes_the_log_past_retention() {
    let mut s = hub(&[]).await;
    let receiver = Receiver::ok().await;
    let (webhook_id, _) = webhook(
        &s,
        As::Admin,
        &receiver.url("/old"),
        json!(["chantier.created"]),
    )
    .await;
    chantier(&s, "CH-OLD").await;
    chantier(&s, "CH-NEW").await;
    eventually("both delivered", || async {
        job_statuses(&s, &webhook_id).await == ["succeeded", "succeeded"]
    })
    .await;
    s.stop().await;
    // One delivery (job and attempt) is 100 days old, the other fresh.
    s.run_sql(
        "WITH old AS (SELECT id FROM webhook_deliveries ORDER BY created_at LIMIT 1) \
         UPDATE webhook_deliveries SET finished_at = now() - interval '100 days' \
         WHERE id IN (SELECT id FROM old)",
    )
    .await;
    s.run_sql(
        "UPDATE webhook_delivery_attempts SET attempted_at = now() - interval '100 days' \
         WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE finished_at < now() - interval '90 days')",
    )
    .await;

    let dry = cleanup(&s, &["--retention-days", "90", "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let report: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(report["would_delete"], 1);
    assert_eq!(report["dry_run"], true);
    let cutoff = time::OffsetDateTime::parse(
        report["cutoff"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expected = time::OffsetDateTime::now_utc() - time::Duration::days(90);
    assert!((cutoff - expected).abs() < time::Duration::minutes(1));
    assert_eq!(report.as_object().unwrap().len(), 3);
    assert_eq!(
        s.count("SELECT count(*) AS count FROM webhook_delivery_attempts")
            .await,
        2,
        "a dry run deletes nothing"
    );

    let run = cleanup(&s, &["--retention-days", "90"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["deleted"], 1);
    assert_eq!(report["dry_run"], false);
    assert!(report["cutoff"].is_string());
    assert_eq!(
        s.count("SELECT count(*) AS count FROM webhook_delivery_attempts")
            .await,
        1
    );
    assert_eq!(
        s.count("SELECT count(*) AS count FROM webhook_deliveries")
            .await,
        1,
        "the finished job past retention went too"
    );

    for bad in ["0", "-5", "3651", "many"] {
        let refused = cleanup(&s, &["--retention-days", bad]);
        assert!(!refused.status.success(), "{bad}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("retention-days"), "{bad}: {stderr}");
        assert!(refused.stdout.is_empty());
    }
}

/// Retry and recover are judged by the access rule of the send: an owner
/// taken off the event's chantier is refused a retry (403, nothing queued),
/// and recover skips that event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_is_refused_for_an_event_the_owner_may_no_longer_see() {
    let s = hub(&[]).await;
    let conducteur = s.user(Role::Conducteur).await.id.clone();
    let receiver = Receiver::start(|_| Reply::status(500)).await;
    let created = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            json!({"url": receiver.url("/r"), "events": ["chantier.*"]}),
        )
        .await;
    let webhook_id = created["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/webhooks/{webhook_id}");
    s.expect(
        200,
        Method::PATCH,
        &base,
        As::Conducteur,
        json!({"retry_enabled": false}),
    )
    .await;
    let site = s
        .expect(
            201,
            Method::POST,
            "/api/v1/chantiers",
            As::Admin,
            json!({"code": "CH-AC", "nom": "Tour", "adresse": "1 quai", "conducteur_ids": [conducteur]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually("the delivery failed", || async {
        job_statuses(&s, &webhook_id).await == ["failed"]
    })
    .await;
    let delivery_id = s
        .texts(&format!(
            "SELECT id::text AS text FROM webhook_deliveries WHERE webhook_id = '{webhook_id}'"
        ))
        .await
        .remove(0);
    let responsables = format!("/api/v1/chantiers/{site}/responsables");
    s.expect(
        200,
        Method::PUT,
        &responsables,
        As::Admin,
        json!({"conducteur_ids": [], "chef_chantier_ids": []}),
    )
    .await;
    s.wait_for_dispatch().await;

    let retry = format!("{base}/deliveries/{delivery_id}/retry");
    let answer = s.send(Method::POST, &retry, As::Conducteur, None).await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(
        answer.headers["content-type"], "application/problem+json",
        "{}",
        answer.text
    );
    assert_eq!(answer.body["code"], "access_revoked");
    assert_eq!(
        job_statuses(&s, &webhook_id).await,
        ["failed"],
        "nothing queued"
    );

    let recover = format!("{base}/recover");
    let (status, recovered) = s
        .call(
            Method::POST,
            &recover,
            As::Conducteur,
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 202, "{recovered}");
    assert_eq!(recovered, json!({"requeued": 0, "skipped": 1}));
    assert_eq!(job_statuses(&s, &webhook_id).await, ["failed"]);

    // Back on the chantier, the same retry is accepted.
    s.expect(
        200,
        Method::PUT,
        &responsables,
        As::Admin,
        json!({"conducteur_ids": [conducteur], "chef_chantier_ids": []}),
    )
    .await;
    s.wait_for_dispatch().await;
    let (status, retried) = s.call(Method::POST, &retry, As::Conducteur, None).await;
    assert_eq!(status, 202, "{retried}");
}

/// A webhook limited to some chantiers, or to events whose `data` meets
/// conditions, receives only those: the others create no delivery row.
/// Conditions are checked against the catalog at creation and on change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chantier_ids_and_filters_select_what_a_webhook_receives() {
    let s = hub(&[]).await;
    let a = chantier(&s, "CH-FA").await;
    let b = chantier(&s, "CH-FB").await;
    let one_site = s.receiver().await;
    let started = s.receiver().await;
    let before = s.count("SELECT count(*) FROM event_logs").await;

    for (body, field, code) in [
        (
            json!({"filters": {"statu": "en_cours"}}),
            "filters.statu",
            "unknown_field",
        ),
        (
            json!({"filters": {"statut": 3}}),
            "filters.statut",
            "wrong_type",
        ),
        (
            json!({"filters": {"statut": "perdu"}}),
            "filters.statut",
            "not_allowed",
        ),
        (
            json!({"filters": {"statut": ["en_cours"]}}),
            "filters.statut",
            "not_scalar",
        ),
        (json!({"chantier_ids": []}), "chantier_ids", "empty"),
    ] {
        let mut request = json!({"url": started.url("/x"), "events": ["chantier.*"]});
        request
            .as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let answer = s
            .send(Method::POST, "/api/v1/webhooks", As::Admin, Some(request))
            .await;
        assert_eq!(answer.status, 422, "{}", answer.text);
        assert_eq!(answer.body["code"], "validation_failed");
        assert_eq!(answer.body["errors"][0]["field"], field, "{}", answer.text);
        assert_eq!(answer.body["errors"][0]["code"], code, "{}", answer.text);
    }
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            Some(
                json!({"url": started.url("/x"), "events": ["chantier.*", "user.*"],
                        "filters": {"statut": "en_cours"}}),
            ),
        )
        .await;
    assert_eq!(status, 422, "user.* events have no statut");
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs").await,
        before,
        "refused creations publish nothing"
    );

    let limited = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            json!({"url": one_site.url("/a"), "events": ["chantier.*"], "chantier_ids": [a]}),
        )
        .await;
    let filtered = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            json!({"url": started.url("/en-cours"), "events": ["chantier.*"],
                   "filters": {"statut": "en_cours"}, "ordering": "aggregate"}),
        )
        .await;
    let (limited_id, filtered_id) = (
        limited["id"].as_str().unwrap().to_owned(),
        filtered["id"].as_str().unwrap().to_owned(),
    );
    let shown = get(&s, &filtered_id).await;
    assert_eq!(shown["filters"], json!({"statut": "en_cours"}));
    assert_eq!(shown["chantier_ids"], Value::Null);
    assert_eq!(shown["ordering"], "aggregate");
    assert_eq!(get(&s, &limited_id).await["chantier_ids"], json!([a]));
    let created = s.events("webhook.created").await;
    assert_eq!(
        created.last().unwrap().1["filters"],
        json!({"statut": "en_cours"})
    );

    // A's and B's updates (ouvert), then B starts (en_cours).
    for site in [&a, &b] {
        s.expect(
            200,
            Method::PATCH,
            &format!("/api/v1/chantiers/{site}"),
            As::Admin,
            json!({"nom": "Renommé"}),
        )
        .await;
    }
    s.expect(
        200,
        Method::POST,
        &format!("/api/v1/chantiers/{b}/demarrer"),
        As::Admin,
        None,
    )
    .await;
    s.wait_for_dispatch().await;
    let rows =
        |id: &str| format!("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{id}'");
    assert_eq!(s.count(&rows(&limited_id)).await, 1, "A's update only");
    assert_eq!(s.count(&rows(&filtered_id)).await, 1, "B's start only");
    let received = one_site.wait_for(1).await;
    assert_eq!(received[0].json()["data"]["chantier_id"], json!(a));
    let received = started.wait_for(1).await;
    assert_eq!(received[0].json()["event_type"], "chantier.statut_changed");
    assert_eq!(received[0].json()["data"]["chantier_id"], json!(b));

    // Patterns the kept conditions do not suit are refused; lifting them works.
    let path = format!("/api/v1/webhooks/{filtered_id}");
    let answer = s
        .send(
            Method::PATCH,
            &path,
            As::Admin,
            Some(json!({"events": ["*"]})),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.body["errors"][0]["field"], "filters.statut");
    let patched = patch(&s, &filtered_id, json!({"events": ["*"], "filters": {}})).await;
    assert_eq!(patched["filters"], json!({}));
    let patched = patch(&s, &limited_id, json!({"chantier_ids": null})).await;
    assert_eq!(patched["chantier_ids"], Value::Null);
    let updated = s.events("webhook.updated").await;
    assert_eq!(
        updated.last().unwrap().1["changes"]["chantier_ids"],
        json!({"old": [a], "new": null})
    );
}

/// An ordered webhook receives the events of each aggregate in the order
/// they occurred, from a receiver that fails every other request of each
/// aggregate (each event is sent again before the next is sent), while the
/// other aggregate's events flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_webhook_receives_each_aggregates_events_in_order_from_a_flapping_receiver() {
    let s = hub(&[]).await;
    let seen: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    let receiver = Receiver::start({
        let seen = seen.clone();
        move |request| {
            let aggregate = request.json()["aggregate_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(aggregate).or_default();
            *n += 1;
            // The 1st, 3rd, 5th… request of each aggregate fails, slowly:
            // the aggregate's next events are fanned out meanwhile, and an
            // unordered webhook would be sent them before this one's retry.
            if *n % 2 == 1 {
                Reply::status(503).delayed(Duration::from_millis(800))
            } else {
                Reply::status(200)
            }
        }
    })
    .await;
    let created = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            json!({"url": receiver.url("/ordered"), "events": ["chantier.*"], "ordering": "aggregate"}),
        )
        .await;
    let webhook_id = created["id"].as_str().unwrap().to_owned();
    let a = chantier(&s, "CH-OA").await;
    let b = chantier(&s, "CH-OB").await;
    for round in 0..3 {
        for site in [&a, &b] {
            s.expect(
                200,
                Method::PATCH,
                &format!("/api/v1/chantiers/{site}"),
                As::Admin,
                json!({"nom": format!("Tour {round}")}),
            )
            .await;
        }
    }
    eventually("every delivery succeeded", || async {
        let statuses = job_statuses(&s, &webhook_id).await;
        statuses.len() == 8 && statuses.iter().all(|st| st == "succeeded")
    })
    .await;

    let requests = receiver.requests();
    for site in [&a, &b] {
        let occurred = s
            .texts(&format!(
                "SELECT event_id::text AS text FROM event_logs \
                 WHERE aggregate_id = '{site}' AND event_type LIKE 'chantier.%' ORDER BY seq"
            ))
            .await;
        assert_eq!(occurred.len(), 4);
        let mut received: Vec<String> = requests
            .iter()
            .map(|r| r.json())
            .filter(|body| body["aggregate_id"] == json!(site))
            .map(|body| body["event_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(received.len(), 8, "each event failed once, then succeeded");
        received.dedup();
        assert_eq!(received, occurred, "received in the order of occurrence");
    }
    // One aggregate waiting for its retries does not hold the other back.
    let of = |site: &String| -> Vec<usize> {
        requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.json()["aggregate_id"] == json!(site))
            .map(|(i, _)| i)
            .collect()
    };
    assert!(
        of(&b).first() < of(&a).last(),
        "B's events flowed while A's were retried"
    );
}
