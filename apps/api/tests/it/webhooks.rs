//! Webhooks over HTTP: every route, every role, every error path, quotas,
//! rate limits, secrets shown once, the event catalog, and the scoping read
//! models fed by the running relay. DNS answers come from a fixture
//! resolver: these tests never need the internet.

use std::net::IpAddr;
use std::sync::Arc;

use hub_platform_outbound::FixtureResolver;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Role, TestHub, eventually};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn resolver() -> Arc<FixtureResolver> {
    Arc::new(
        FixtureResolver::new()
            .with("erp.example.com", [ip("93.184.216.34")])
            .with("paie.example.com", [ip("2606:2800:220:1::1")])
            .with("intranet.example.com", [ip("10.0.0.5")])
            .with(
                "mixed.example.com",
                [ip("93.184.216.34"), ip("192.168.1.20")],
            ),
    )
}

/// A running hub resolving the fixture names; `extra` configuration on top
/// of the tests' (rate limits are off unless `extra` sets them).
async fn hub(extra: &[(&str, &str)]) -> TestHub {
    TestHub::builder()
        .env(&[("RATE_LIMITS", "off")])
        .env(extra)
        .resolver(resolver())
        .start()
        .await
}

/// Creates a webhook to `https://erp.example.com/hooks`.
async fn create(hub: &TestHub, who: impl Into<As<'_>>, events: Value) -> Value {
    let body = json!({"url": "https://erp.example.com/hooks", "events": events});
    hub.expect(201, Method::POST, "/api/v1/webhooks", who, body)
        .await
}

/// Every stored webhook row and event, as text.
async fn everything_stored(hub: &TestHub) -> String {
    hub.texts(
        "SELECT coalesce((SELECT string_agg(row_to_json(w)::text, '\n') FROM webhooks w), '') \
         || coalesce((SELECT string_agg(row_to_json(e)::text, '\n') FROM event_logs e), '') AS text",
    )
    .await
    .concat()
}

fn assert_secret(secret: &Value) -> String {
    let secret = secret.as_str().unwrap();
    let key = secret.strip_prefix("whsec_").unwrap();
    assert_eq!(key.len(), 44, "base64 of 32 bytes: {secret}");
    assert!(key.ends_with('='));
    secret.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_webhook_through_every_route() {
    let mut s = hub(&[]).await;
    let conducteur_id = s.user(Role::Conducteur).await.id.clone();
    let created = s
        .send(
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            Some(json!({
                "url": "HTTPS://ERP.example.com/hooks?token=abc",
                "events": ["chantier.*", "*.created", "chantier.*"],
                "description": "  Synchronisation ERP  "
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let body = &created.body;
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/webhooks/{id}").as_str()
    );
    assert_eq!(created.headers["cache-control"], "no-store");
    let secret = assert_secret(&body["secret"]);
    assert_eq!(body["owner_id"], conducteur_id.as_str());
    assert_eq!(body["url"], "https://erp.example.com/hooks?token=abc");
    assert_eq!(body["events"], json!(["chantier.*", "*.created"]));
    assert_eq!(body["description"], "Synchronisation ERP");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["consecutive_failures"], 0);
    assert_eq!(body["last_triggered_at"], Value::Null);
    assert_eq!(body["retry_enabled"], true);
    assert_eq!(body["max_retries"], 3);
    assert_eq!(body["disabled_reason"], Value::Null);
    assert_eq!(body["legacy_signature"], false, "opt-in");
    assert_eq!(body["previous_secret_expires_at"], Value::Null);

    // The secret is never shown again.
    let path = format!("/api/v1/webhooks/{id}");
    let one = s.send(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["id"], id.as_str());
    assert!(one.body.get("secret").is_none());
    assert!(!one.text.contains(&secret));
    let list = s
        .send(Method::GET, "/api/v1/webhooks", As::Conducteur, None)
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["webhooks"][0]["id"], id.as_str());
    assert!(!list.text.contains(&secret));

    // PATCH: changed fields only; the URL is checked again.
    let (status, patched) = s
        .call(
            Method::PATCH,
            &path,
            As::Conducteur,
            Some(json!({
                "url": "https://paie.example.com/in", "events": ["chantier.statut_changed"],
                "description": "", "retry_enabled": false, "max_retries": 10
            })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["url"], "https://paie.example.com/in");
    assert_eq!(patched["events"], json!(["chantier.statut_changed"]));
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["retry_enabled"], false);
    assert_eq!(patched["max_retries"], 10);

    // An empty PATCH changes nothing and publishes nothing.
    let before = s.events("webhook.").await.len();
    let (status, same) = s
        .call(Method::PATCH, &path, As::Conducteur, Some(json!({})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(same["updated_at"], patched["updated_at"]);
    assert_eq!(s.events("webhook.").await.len(), before);

    // Re-enabling an automatically deactivated webhook resets its counter.
    s.run_sql(
        "UPDATE webhooks SET is_active = false, consecutive_failures = 10, \
         disabled_reason = 'deactivated after 10 consecutive failed deliveries', version = version + 1",
    )
    .await;
    let (_, disabled) = s.call(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(disabled["is_active"], false);
    assert_eq!(
        disabled["disabled_reason"],
        "deactivated after 10 consecutive failed deliveries"
    );
    let (status, enabled) = s
        .call(
            Method::PATCH,
            &path,
            As::Conducteur,
            Some(json!({"is_active": true})),
        )
        .await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["is_active"], true);
    assert_eq!(enabled["consecutive_failures"], 0);
    assert_eq!(enabled["disabled_reason"], Value::Null);

    // Rotation: a new secret, shown once; the old one keeps signing for a day.
    let rotate = format!("/api/v1/webhooks/{id}/rotate-secret");
    let rotated = s.send(Method::POST, &rotate, As::Conducteur, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.headers["cache-control"], "no-store");
    let new_secret = assert_secret(&rotated.body["secret"]);
    assert_ne!(new_secret, secret);
    let expires = time::OffsetDateTime::parse(
        rotated.body["previous_secret_expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let in_a_day = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert!(
        (in_a_day - expires).abs() < time::Duration::minutes(1),
        "{expires}"
    );
    let (_, shown) = s.call(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(
        shown["previous_secret_expires_at"],
        rotated.body["previous_secret_expires_at"]
    );
    assert!(shown.get("secret").is_none());
    let (status, at_once) = s
        .call(
            Method::POST,
            &rotate,
            As::Conducteur,
            Some(json!({"grace_period_seconds": 0})),
        )
        .await;
    assert_eq!(status, 200, "{at_once}");
    assert_eq!(at_once["previous_secret_expires_at"], Value::Null);

    // Nothing stored or published holds a secret or the URL's token.
    let stored = everything_stored(&s).await;
    for secret in [
        secret.as_str(),
        new_secret.as_str(),
        at_once["secret"].as_str().unwrap(),
    ] {
        assert!(!stored.contains(secret));
        assert!(!stored.contains(&secret["whsec_".len()..]));
    }

    let (status, _) = s.call(Method::DELETE, &path, As::Conducteur, None).await;
    assert_eq!(status, 204);
    let gone = s
        .expect(404, Method::GET, &path, As::Conducteur, None)
        .await;
    assert_eq!(gone["code"], "webhook_not_found");

    let events = s.events("webhook.").await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "webhook.created",
            "webhook.updated",
            "webhook.updated",
            "webhook.secret_rotated",
            "webhook.secret_rotated",
            "webhook.deleted"
        ]
    );
    assert_eq!(
        events[0].1,
        json!({"webhook_id": id, "owner_id": conducteur_id, "events": ["chantier.*", "*.created"], "is_active": true,
               "chantier_ids": null, "filters": {}, "ordering": "none"})
    );
    assert_eq!(events[1].1["url_changed"], true);
    assert_eq!(
        events[1].1["changes"],
        json!({
            "description": {"old": "Synchronisation ERP", "new": null},
            "events": {"old": ["chantier.*", "*.created"], "new": ["chantier.statut_changed"]},
            "max_retries": {"old": 3, "new": 10},
            "retry_enabled": {"old": true, "new": false}
        })
    );
    assert_eq!(
        events[2].1["changes"]["consecutive_failures"],
        json!({"old": 10, "new": 0})
    );
    for (_, data) in &events {
        let text = data.to_string();
        assert!(
            !text.contains("example.com") && !text.contains("whsec"),
            "{text}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_require_a_token_the_right_role_and_ownership() {
    let mut s = hub(&[]).await;
    let other = s.new_user(Role::Conducteur).await;
    let mine = create(&s, As::Conducteur, json!(["chantier.*"])).await;
    let id = mine["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{id}");
    let rotate = format!("{path}/rotate-secret");
    let create = json!({"url": "https://erp.example.com/", "events": ["*"]});
    let routes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::POST, "/api/v1/webhooks", Some(create)),
        (Method::GET, "/api/v1/webhooks", None),
        (Method::GET, &path, None),
        (Method::PATCH, &path, Some(json!({"description": "x"}))),
        (Method::DELETE, &path, None),
        (Method::POST, &rotate, None),
    ];
    for (method, route, body) in &routes {
        let (status, problem) = s
            .call(method.clone(), route, As::Anonymous, body.clone())
            .await;
        assert_eq!(status, 401, "{method} {route}: {problem}");
        for token in [As::ChefChantier, As::Compagnon] {
            let (status, problem) = s.call(method.clone(), route, token, body.clone()).await;
            assert_eq!(status, 403, "{method} {route}: {problem}");
            assert_eq!(problem["code"], "forbidden");
        }
    }

    // Someone else's webhook does not exist for you — admins included.
    for token in [As::from(&other), As::Admin] {
        for (method, route, body) in &routes[2..] {
            let (status, problem) = s.call(method.clone(), route, token, body.clone()).await;
            assert_eq!(status, 404, "{method} {route}: {problem}");
            assert_eq!(problem["code"], "webhook_not_found");
        }
        let (_, list) = s.call(Method::GET, "/api/v1/webhooks", token, None).await;
        assert_eq!(list, json!({"total": 0, "webhooks": []}));
    }
    let unknown = format!("/api/v1/webhooks/{}", uuid::Uuid::now_v7());
    let (status, _) = s.call(Method::GET, &unknown, As::Admin, None).await;
    assert_eq!(status, 404);
    let problem = s
        .expect(
            400,
            Method::GET,
            "/api/v1/webhooks/not-a-uuid",
            As::Admin,
            None,
        )
        .await;
    assert_eq!(problem["code"], "invalid_path");

    // Untouched by all of that.
    let (status, still) = s.call(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(status, 200);
    assert_eq!(still["description"], Value::Null);
    assert_eq!(s.count("SELECT count(*) FROM webhooks").await, 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_refused_with_a_reason_and_writes_nothing() {
    let mut s = hub(&[]).await;
    let post = |body: Value| s.call(Method::POST, "/api/v1/webhooks", As::Admin, Some(body));
    let url = "https://erp.example.com/";

    let (status, problem) = post(json!({
        "url": url,
        "events": ["chantier.*", "Chantier.*", "devis.*", "webhook.test", "a..b"],
        "description": "x".repeat(501)
    }))
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("events[1]", "invalid_pattern"),
            ("events[2]", "unknown_event_type"),
            ("events[3]", "not_subscribable"),
            ("events[4]", "invalid_pattern"),
            ("description", "invalid")
        ]
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("pattern `devis.*` matches no event type"),
        "{detail}"
    );
    assert!(detail.contains("pattern `Chantier.*`"), "{detail}");

    for events in [json!([]), json!(vec!["*"; 51])] {
        let (status, problem) = post(json!({"url": url, "events": events})).await;
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["field"], "events");
    }

    for (bad_url, reason) in [
        (
            "http://erp.example.com/",
            "url must use https (got \"http\")",
        ),
        ("https://10.0.0.1/", "url host is a forbidden address"),
        ("https://127.0.0.1:8443/", "url host is a forbidden address"),
        ("https://0x7f.1/", "url host is a forbidden address"),
        (
            "https://169.254.169.254/latest/meta-data",
            "url host is a forbidden address",
        ),
        (
            "https://intranet.example.com/hook",
            "url resolves to a forbidden address",
        ),
        (
            "https://mixed.example.com/hook",
            "url resolves to a forbidden address",
        ),
        (
            "https://nowhere.example.com/",
            "url host not found (nowhere.example.com)",
        ),
        (
            "https://user:pw@erp.example.com/",
            "url must not contain credentials",
        ),
        ("erp.example.com", "url is not a valid URL"),
    ] {
        let (status, problem) = post(json!({"url": bad_url, "events": ["*"]})).await;
        assert_eq!(status, 422, "{bad_url}: {problem}");
        assert_eq!(problem["code"], "invalid_url", "{bad_url}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with(reason), "{bad_url}: {detail}");
    }
    let long = format!("https://erp.example.com/{}", "a".repeat(2048));
    let (status, problem) = post(json!({"url": long, "events": ["*"]})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_url"))
    );

    let (status, problem) = post(json!({"url": url, "events": ["*"], "secret": "mine"})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_body"))
    );
    assert_eq!(s.count("SELECT count(*) FROM webhooks").await, 0);
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs WHERE event_type LIKE 'webhook.%'")
            .await,
        0
    );

    // Updates and rotations are checked the same way.
    let created = create(&s, As::Admin, json!(["*"])).await;
    let path = format!("/api/v1/webhooks/{}", created["id"].as_str().unwrap());
    for (body, code) in [
        (json!({"max_retries": 11}), "validation_failed"),
        (json!({"max_retries": -1}), "invalid_body"),
        (json!({"events": ["nope.*"]}), "validation_failed"),
        (json!({"description": "\u{7}"}), "validation_failed"),
        (json!({"url": "http://erp.example.com/"}), "invalid_url"),
        (json!({"url": "https://192.168.0.1/"}), "invalid_url"),
        (json!({"owner_id": uuid::Uuid::now_v7()}), "invalid_body"),
        (json!({"secret": "whsec_x"}), "invalid_body"),
        (json!({"legacy_signature": "yes"}), "invalid_body"),
    ] {
        let (status, problem) = s
            .call(Method::PATCH, &path, As::Admin, Some(body.clone()))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(code)),
            "{body}"
        );
    }
    let rotate = format!("{path}/rotate-secret");
    let (status, problem) = s
        .call(
            Method::POST,
            &rotate,
            As::Admin,
            Some(json!({"grace_period_seconds": 604_801})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "grace_period_seconds");
    let problem = s
        .expect(
            422,
            Method::POST,
            &rotate,
            As::Admin,
            Some(json!({"grace": 1})),
        )
        .await;
    assert_eq!(problem["code"], "invalid_body");
    let malformed = s
        .request(Method::POST, &rotate, As::Admin)
        .await
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let (_, after) = s.call(Method::GET, &path, As::Admin, None).await;
    assert_eq!(after["updated_at"], created["updated_at"]);
    assert_eq!(after["previous_secret_expires_at"], Value::Null);
    assert_eq!(after["max_retries"], 3);

    for query in ["limit=0", "limit=101", "limit=abc"] {
        let (status, _) = s
            .call(
                Method::GET,
                &format!("/api/v1/webhooks?{query}"),
                As::Admin,
                None,
            )
            .await;
        assert_eq!(status, 400, "{query}");
    }
    s.stop().await;
}

/// A name resolving to an internal address is refused without saying which
/// address, nor what kind: otherwise anyone allowed to create webhooks could
/// map the internal DNS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_name_tells_nothing_about_where_it_points() {
    let mut s = hub(&[]).await;
    let created = create(&s, As::Conducteur, json!(["*"])).await;
    let path = format!("/api/v1/webhooks/{}", created["id"].as_str().unwrap());
    for (url, address) in [
        ("https://intranet.example.com/hook", "10.0.0.5"),
        ("https://mixed.example.com/hook", "192.168.1.20"),
    ] {
        for (method, path) in [
            (Method::POST, "/api/v1/webhooks"),
            (Method::PATCH, path.as_str()),
        ] {
            let body = json!({"url": url, "events": ["*"]});
            let answer = s
                .send(method.clone(), path, As::Conducteur, Some(body))
                .await;
            assert_eq!(answer.status, 422, "{method} {url}: {}", answer.text);
            assert_eq!(
                answer.headers["content-type"], "application/problem+json",
                "{method} {url}"
            );
            assert_eq!(answer.body["code"], "invalid_url");
            assert_eq!(
                answer.body["detail"], "url resolves to a forbidden address",
                "{method} {url}"
            );
            for leak in [address, "private", "10.0.0", "192.168"] {
                assert!(
                    !answer.text.contains(leak),
                    "{method} {url}: {leak:?} in {}",
                    answer.text
                );
            }
        }
    }
    // Nothing written: the one webhook, unchanged.
    assert_eq!(s.count("SELECT count(*) FROM webhooks").await, 1);
    let (_, still) = s.call(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(still["url"], "https://erp.example.com/hooks");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_body_over_the_body_limit_is_a_413_problem_and_rotates_nothing() {
    let mut s = hub(&[("HTTP_BODY_LIMIT", "1024")]).await;
    let created = create(&s, As::Admin, json!(["*"])).await;
    let id = created["id"].as_str().unwrap();
    let rotate = format!("/api/v1/webhooks/{id}/rotate-secret");
    let sealed_sql =
        format!("SELECT encode(secret_ciphertext, 'hex') AS text FROM webhooks WHERE id = '{id}'");
    let sealed = || s.texts(&sealed_sql);
    let before = sealed().await;
    assert_eq!(before.len(), 1, "one sealed secret");

    // Valid JSON padded past HTTP_BODY_LIMIT (it would rotate if read), and
    // a body past actix's own 256 KiB default (a plain-text 413 there).
    let padded = format!(r#"{{"grace_period_seconds": 0}}{}"#, " ".repeat(2048));
    let huge = format!(r#"{{"grace_period_seconds": 0}}{}"#, " ".repeat(300 * 1024));
    for body in [padded, huge] {
        let response = s
            .request(Method::POST, &rotate, As::Admin)
            .await
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].clone();
        let text = response.text().await.unwrap();
        assert_eq!(status, 413, "{} bytes: {text}", body.len());
        assert_eq!(content_type, "application/problem+json", "{text}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["code"], "payload_too_large");
        assert_eq!(problem["detail"], "the body is larger than 1024 bytes");
    }
    assert_eq!(sealed().await, before, "the secret is unchanged");
    let (_, after) = s
        .call(
            Method::GET,
            &format!("/api/v1/webhooks/{id}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(after["updated_at"], created["updated_at"]);
    assert_eq!(after["previous_secret_expires_at"], Value::Null);

    // Under the limit, the same route still works.
    let (status, rotated) = s
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            As::Admin,
            Some(json!({"grace_period_seconds": 60})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(sealed().await, before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_webhooks_per_user_active_or_not_and_deleting_frees_a_slot() {
    let mut s = hub(&[]).await;
    let other = s.new_user(Role::Conducteur).await;
    let conducteur_id = s.user(Role::Conducteur).await.id.clone();
    let mut ids = Vec::new();
    for n in 0..20 {
        let created = create(&s, As::Conducteur, json!(["chantier.*"])).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
        if n == 0 {
            let (status, _) = s
                .call(
                    Method::PATCH,
                    &format!("/api/v1/webhooks/{}", ids[0]),
                    As::Conducteur,
                    Some(json!({"is_active": false})),
                )
                .await;
            assert_eq!(status, 200);
        }
    }
    let body = json!({"url": "https://erp.example.com/", "events": ["*"]});
    let (status, problem) = s
        .call(
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "quota_exceeded");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("maximum of 20 webhooks"),
        "{problem}"
    );
    // Pages of the list.
    let (_, page) = s
        .call(
            Method::GET,
            "/api/v1/webhooks?skip=15&limit=10",
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(page["total"], 20);
    let listed: Vec<&str> = page["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ids[15..].iter().map(String::as_str).collect::<Vec<_>>()
    );

    // The quota is per user.
    create(&s, &other, json!(["*"])).await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{}", ids[3]),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(status, 204);
    create(&s, As::Conducteur, json!(["*"])).await;
    assert_eq!(
        s.count(&format!(
            "SELECT count(*) FROM webhooks WHERE owner_id = '{}'",
            conducteur_id
        ))
        .await,
        20
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after_per_user() {
    let mut s = hub(&[(
        "RATE_LIMITS",
        "webhooks.create=2/min,webhooks.read=3/min,webhooks.write=1/min",
    )])
    .await;
    let other = s.new_user(Role::Conducteur).await;
    let body = json!({"url": "https://erp.example.com/", "events": ["*"]});
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..3 {
        let answer = s
            .send(
                Method::POST,
                "/api/v1/webhooks",
                As::Conducteur,
                Some(body.clone()),
            )
            .await;
        statuses.push(answer.status);
        if answer.status == 429 {
            assert_eq!(answer.body["code"], "rate_limited");
            retry_after = answer
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(statuses, [201, 201, 429]);
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "{retry_after:?}"
    );
    assert_eq!(s.count("SELECT count(*) FROM webhooks").await, 2);
    // Another user has their own budget; reads have theirs.
    create(&s, &other, json!(["*"])).await;
    let reads: Vec<u16> = {
        let mut reads = Vec::new();
        for _ in 0..4 {
            reads.push(
                s.send(Method::GET, "/api/v1/webhooks", As::Conducteur, None)
                    .await
                    .status,
            );
        }
        reads
    };
    assert_eq!(reads, [200, 200, 200, 429]);
    let (_, list) = s.call(Method::GET, "/api/v1/webhooks", &other, None).await;
    let id = list["webhooks"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/webhooks/{id}");
    let first = s.send(Method::PATCH, &path, &other, Some(json!({}))).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["ratelimit-limit"], "1");
    let second = s.send(Method::DELETE, &path, &other, None).await;
    assert_eq!(second.status, 429, "PATCH and DELETE share webhooks.write");
    assert!(second.headers.contains_key("retry-after"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limits_apply_without_configuration() {
    let mut s = TestHub::builder().resolver(resolver()).start().await;
    let created = s
        .send(
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            json!({"url": "https://erp.example.com/", "events": ["*"]}),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.headers["ratelimit-limit"], "10");
    let id = created.body["id"].as_str().unwrap();
    let rotate = format!("/api/v1/webhooks/{id}/rotate-secret");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, _) = s.call(Method::POST, &rotate, As::Admin, None).await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429],
        "webhooks.rotate = 5/min"
    );
    let read = s
        .send(Method::GET, "/api/v1/webhooks", As::Admin, None)
        .await;
    assert_eq!(read.headers["ratelimit-limit"], "30");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_catalog_is_served_to_every_signed_in_user() {
    let mut s = hub(&[]).await;
    let (status, _) = s
        .call(Method::GET, "/api/v1/event-types", As::Anonymous, None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = s
        .call(Method::GET, "/api/v1/event-types", As::Compagnon, None)
        .await;
    assert_eq!(status, 200);
    let types = body["event_types"].as_array().unwrap();
    let names: Vec<&str> = types
        .iter()
        .map(|t| t["event_type"].as_str().unwrap())
        .collect();
    for expected in [
        "user.created",
        "user.updated",
        "user.deactivated",
        "chantier.created",
        "chantier.statut_changed",
        "webhook.test",
        "webhook.created",
        "webhook.secret_rotated",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for t in types {
        assert_eq!(t["schema_version"], 1);
        assert!(t["aggregate_type"].is_string() && t["description"].is_string());
        assert_eq!(t["data_schema"]["type"], "object", "{t}");
    }
    let chantier = types
        .iter()
        .find(|t| t["event_type"] == "chantier.created")
        .unwrap();
    assert!(chantier["data_schema"]["properties"]["chantier_id"].is_object());

    // One type alone: the same entry, with an example valid against its schema.
    for t in types {
        assert!(t["example_data"].is_object(), "{t}");
    }
    let (status, one) = s
        .call(
            Method::GET,
            "/api/v1/event-types/chantier.created",
            As::Compagnon,
            None,
        )
        .await;
    assert_eq!((status, &one), (200, chantier));
    let validator = jsonschema::validator_for(&one["data_schema"]).unwrap();
    assert!(validator.is_valid(&one["example_data"]), "{one}");
    for unknown in ["chantier.nope", "chantier.*", "*"] {
        let (status, problem) = s
            .call(
                Method::GET,
                &format!("/api/v1/event-types/{unknown}"),
                As::Compagnon,
                None,
            )
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("event_type_not_found")),
            "{unknown}"
        );
    }
    let (status, _) = s
        .call(
            Method::GET,
            "/api/v1/event-types/chantier.created",
            As::Anonymous,
            None,
        )
        .await;
    assert_eq!(status, 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_relay_keeps_the_scoping_read_models() {
    let mut s = hub(&[]).await;
    let conducteur_id = s.user(Role::Conducteur).await.id.clone();
    let (status, chantier) = s
        .call(
            Method::POST,
            "/api/v1/chantiers",
            As::Admin,
            Some(json!({
                "code": "SCOPE-1", "nom": "Tour Scope", "adresse": "1 quai",
                "conducteur_ids": [conducteur_id]
            })),
        )
        .await;
    assert_eq!(status, 201, "{chantier}");
    let chantier_id = chantier["id"].as_str().unwrap().to_owned();
    let scoped = format!(
        "SELECT count(*) FROM webhook_scope_chantiers WHERE chantier_id = '{chantier_id}' \
         AND '{}' = ANY(conducteur_ids) AND NOT deleted",
        conducteur_id
    );
    let owners = format!(
        "SELECT count(*) FROM webhook_owners WHERE user_id = '{}' AND role = 'conducteur' AND is_active",
        conducteur_id
    );
    eventually("the relay to update the read models", || async {
        s.count(&scoped).await + s.count(&owners).await >= 2
    })
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_routes_are_in_the_openapi_document() {
    let mut s = hub(&[]).await;
    let (status, document) = s
        .call(Method::GET, "/api/v1/openapi.json", As::Anonymous, None)
        .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/{id}/rotate-secret",
        "/api/v1/event-types",
    ] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
    assert!(document["paths"]["/api/v1/webhooks"]["post"].is_object());
    assert!(document["paths"]["/api/v1/webhooks/{id}"]["patch"].is_object());
    assert!(document["components"]["schemas"]["WebhookWithSecretResponse"].is_object());
    s.stop().await;
}
