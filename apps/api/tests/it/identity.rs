//! Identity over HTTP: sign-in, tokens, user administration, roles, limits.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Role, TestHub, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_bearer_token_and_a_strict_cookie() {
    let mut app = TestHub::start().await;
    let response = http()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "ADMIN@hub-chantier.test", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "access_token=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=3600",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(cookie.contains(token));

    // Bearer header and cookie both authenticate.
    let me: Value = http()
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert!(me.get("password_hash").is_none() && !me.to_string().contains("argon2"));
    let by_cookie = http()
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    let logout = http()
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("access_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let mut app = TestHub::start().await;
    let attempt = |email: &'static str, password: &'static str| {
        let url = app.url("/api/v1/auth/login");
        async move {
            let response = http()
                .post(url)
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let wrong_password = attempt(ADMIN_EMAIL, "not-the-password").await;
    let unknown_email = attempt("nobody@hub-chantier.test", ADMIN_PASSWORD).await;
    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password.1["code"], "invalid_credentials");

    let me = http().get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), 401);
    let garbage = http()
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
    assert_eq!(garbage.headers()["www-authenticate"], "Bearer");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_address() {
    let mut app = TestHub::start_with(&[("RATE_LIMITS", "auth.login=3/min")]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = http()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": ADMIN_EMAIL, "password": "wrong-password-again" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry_after));
            assert_eq!(response.headers()["ratelimit-limit"], "3");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_users_and_each_change_is_an_event() {
    let mut app = TestHub::start().await;
    let admin = app.user(Role::Admin).await.token.clone();
    let client = http();

    let created = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({
            "email": "Chef@Example.fr", "password": "mot-de-passe-long-1", "nom": "Durand",
            "prenom": "Léa", "role": "chef_chantier", "type_utilisateur": "interimaire"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["email"], "chef@example.fr");
    assert_eq!(user["is_active"], true);
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/users/{id}"));

    // The same address in other letters is the same user.
    let duplicate = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({
            "email": "CHEF@example.FR", "password": "mot-de-passe-long-1", "nom": "X",
            "prenom": "Y", "role": "compagnon", "type_utilisateur": "employe"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    assert_eq!(
        duplicate.json::<Value>().await.unwrap()["code"],
        "email_taken"
    );

    let got: Value = client
        .get(app.url(&location))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["prenom"], "Léa");

    let list: Value = client
        .get(app.url("/api/v1/users?role=chef_chantier&is_active=true&limit=10"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["users"][0]["id"], id.as_str());
    let all: Value = client
        .get(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 2);

    let patched: Value = client
        .patch(app.url(&location))
        .bearer_auth(&admin)
        .json(&json!({ "role": "conducteur", "nom": "Durand-Martin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["role"], "conducteur");
    assert_eq!(patched["nom"], "Durand-Martin");

    // The user signs in, then is deactivated: the token stops working at once.
    let token = app.login("chef@example.fr", "mot-de-passe-long-1").await;
    let me = client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["role"], "conducteur");
    let deactivated = client
        .post(app.url(&format!("{location}/deactivate")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    assert_eq!(
        deactivated.json::<Value>().await.unwrap()["is_active"],
        false
    );
    let refused = client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("deactivated"));
    let login_again = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "chef@example.fr", "password": "mot-de-passe-long-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login_again.status(), 401);

    // Reactivation does not bring the old token back: deactivation revoked it.
    let reactivated = client
        .patch(app.url(&location))
        .bearer_auth(&admin)
        .json(&json!({ "is_active": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(reactivated.status(), 200);
    let still_refused = client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(still_refused.status(), 401);
    assert!(still_refused.text().await.unwrap().contains("revoked"));
    let new_token = app.login("chef@example.fr", "mot-de-passe-long-1").await;
    let me = client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // Every change went through the outbox, without password material.
    let logged = app.events("").await;
    let types: Vec<&str> = logged.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "user.created",
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.updated"
        ]
    );
    assert_eq!(
        logged[2].1["changes"],
        json!({"nom": {"old": "Durand", "new": "Durand-Martin"}, "role": {"old": "chef_chantier", "new": "conducteur"}})
    );
    for (_, data) in &logged {
        let text = data.to_string();
        assert!(
            !text.contains("argon2") && !text.contains("password"),
            "{text}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_manage_users() {
    let mut app = TestHub::start().await;
    let admin = app.user(Role::Admin).await.token.clone();
    let client = http();
    let conducteur = app.user(Role::Conducteur).await.token.clone();

    let body = json!({
        "email": "x@example.fr", "password": "mot-de-passe-long-1", "nom": "X",
        "prenom": "Y", "role": "admin", "type_utilisateur": "employe"
    });
    let forbidden = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&conducteur)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        forbidden.json::<Value>().await.unwrap()["code"],
        "forbidden"
    );
    for path in [
        "/api/v1/users",
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
    ] {
        assert_eq!(
            client
                .get(app.url(path))
                .bearer_auth(&conducteur)
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        assert_eq!(
            client.get(app.url(path)).send().await.unwrap().status(),
            401
        );
    }
    let anonymous = client
        .post(app.url("/api/v1/users"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // An admin cannot lock themselves out.
    let me: Value = client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let own = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let demote = client
        .patch(app.url(&own))
        .bearer_auth(&admin)
        .json(&json!({"role": "compagnon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demote.status(), 409);
    assert_eq!(
        demote.json::<Value>().await.unwrap()["code"],
        "self_lockout"
    );
    let deactivate = client
        .post(app.url(&format!("{own}/deactivate")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deactivate.status(), 409);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_and_writes_nothing() {
    let mut app = TestHub::start().await;
    let admin = app.user(Role::Admin).await.token.clone();
    let client = http();
    let users_before = app.count("SELECT count(*) AS count FROM users").await;
    let events_before = app.count("SELECT count(*) AS count FROM event_logs").await;

    let valid = json!({
        "email": "new@example.fr", "password": "mot-de-passe-long-1", "nom": "Nom",
        "prenom": "Prenom", "role": "compagnon", "type_utilisateur": "employe"
    });
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            client
                .post(app.url("/api/v1/users"))
                .body("{\"email\":")
                .header("content-type", "application/json"),
            400,
            "malformed_json",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("surprise", json!(1))),
            422,
            "invalid_body",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("role", json!("patron"))),
            422,
            "invalid_body",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("nom", json!(42))),
            422,
            "invalid_body",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("nom", json!("N".repeat(101)))),
            422,
            "validation_failed",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("password", json!("court"))),
            422,
            "validation_failed",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("email", json!("pas-une-adresse"))),
            422,
            "validation_failed",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .body(valid.to_string())
                .header("content-type", "text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            client
                .post(app.url("/api/v1/users"))
                .json(&with("nom", json!("x".repeat(70_000)))),
            413,
            "payload_too_large",
        ),
        (
            client.get(app.url("/api/v1/users/not-a-uuid")),
            400,
            "invalid_path",
        ),
        (
            client.get(app.url(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))),
            404,
            "user_not_found",
        ),
        (
            client.get(app.url("/api/v1/users?limit=1000")),
            400,
            "invalid_query",
        ),
        (
            client.get(app.url("/api/v1/users?role=patron")),
            400,
            "invalid_query",
        ),
        (
            client
                .patch(app.url(&format!("/api/v1/users/{}", uuid::Uuid::now_v7())))
                .json(&json!({"nom": "X"})),
            404,
            "user_not_found",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.bearer_auth(&admin).send().await.unwrap();
        let got = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (got, body["code"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
        if code == "validation_failed" {
            assert!(body["errors"][0]["field"].is_string(), "{body}");
        }
    }
    assert_eq!(
        app.count("SELECT count(*) AS count FROM users").await,
        users_before
    );
    assert_eq!(
        app.count("SELECT count(*) AS count FROM event_logs").await,
        events_before
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_command_bootstraps_once() {
    // A database without an administrator, and no server on it yet.
    let mut app = TestHub::builder().without_admin().prepare().await;
    let run = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
            .args([
                "create-admin",
                "--email",
                "Boss@Example.fr",
                "--password-stdin",
            ])
            .env_clear()
            .env("DATABASE_URL", app.database_url())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"un-mot-de-passe-solide\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let first = run();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        stderr.contains("administrator boss@example.fr created"),
        "{stderr}"
    );
    let second = run();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");

    app.serve(&[]).await;
    let token = app.login("boss@example.fr", "un-mot-de-passe-solide").await;
    let me: Value = http()
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    app.stop().await;

    // Too short a password is refused with a message and a failure status.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
        .args([
            "create-admin",
            "--email",
            "other@example.fr",
            "--password-stdin",
        ])
        .env_clear()
        .env("DATABASE_URL", app.database_url())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"court\n").unwrap();
    let refused = child.wait_with_output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_and_ui_are_served() {
    let mut app = TestHub::start().await;
    let document: Value = http()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/deactivate",
        "/health/ready",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(document["components"]["schemas"]["Problem"].is_object());
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let ui = http().get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    app.stop().await;
}

/// One sign-in attempt, optionally relayed by a proxy that reports `forwarded_for`.
async fn sign_in(
    app: &TestHub,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = http()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let mut app = TestHub::start_with(&[("RATE_LIMITS", "auth.login=2/min")]).await;
    let mut statuses = Vec::new();
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = sign_in(&app, ADMIN_EMAIL, "pas-le-bon-mot", Some(address)).await;
        statuses.push(response.status().as_u16());
    }
    // All three count against the TCP peer (127.0.0.1), whatever the header says.
    assert_eq!(statuses, [401, 401, 429]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    let mut app = TestHub::start_with(&[
        ("RATE_LIMITS", "auth.login=2/min"),
        ("TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8"),
    ])
    .await;
    let mut statuses = Vec::new();
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = sign_in(&app, ADMIN_EMAIL, "pas-le-bon-mot", Some(address)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401], "one bucket per client");

    // The right-most address that is not a trusted proxy is the client: a
    // left-most value the client wrote itself does not let it escape.
    let mut statuses = Vec::new();
    for spoofed in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let chain = format!("{spoofed}, 198.51.100.7, 10.1.2.3");
        let response = sign_in(&app, "x@example.fr", "pas-le-bon-mot", Some(&chain)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
    app.stop().await;
}

async fn status_and_body(response: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_failed_sign_in_locks_the_account_from_any_address_known_or_not() {
    // The test client is the trusted proxy: each attempt comes from another address.
    let mut app = TestHub::start_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    app.create_user("victime@example.fr", Role::Conducteur)
        .await;

    let mut locked = Vec::new();
    for email in ["Victime@Example.fr", "inconnu@example.fr"] {
        for attempt in 0..10 {
            let address = format!("203.0.113.{attempt}");
            let response = sign_in(&app, email, "pas-le-bon-mot", Some(&address)).await;
            assert_eq!(response.status(), 401, "{email} attempt {attempt}");
        }
        let refused =
            status_and_body(sign_in(&app, email, "pas-le-bon-mot", Some("198.51.100.99")).await)
                .await;
        assert_eq!(refused.0, 429, "{email}: {}", refused.2);
        let retry_after = refused.1.expect("Retry-After");
        assert!((840..=900).contains(&retry_after), "{retry_after}");
        locked.push(refused);
    }
    // A known and an unknown account get exactly the same answer.
    assert_eq!(locked[0].2, locked[1].2);
    assert_eq!(locked[0].2["code"], "login_throttled");
    assert_eq!(
        locked[0].2["status"], 429,
        "a problem document: {}",
        locked[0].2
    );

    // While locked, even the right password is refused (and not checked).
    let right = sign_in(
        &app,
        "victime@example.fr",
        "mot-de-passe-long-1",
        Some("192.0.2.1"),
    )
    .await;
    assert_eq!(right.status(), 429);
    // Other accounts are not affected.
    let other = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, Some("192.0.2.1")).await;
    assert_eq!(other.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_sign_in_clears_the_account_failures() {
    let mut app = TestHub::start().await;
    for _ in 0..9 {
        let response = sign_in(&app, ADMIN_EMAIL, "pas-le-bon-mot", None).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(
        sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .status(),
        200
    );
    // Ten more failures are allowed before the lock.
    for _ in 0..10 {
        let response = sign_in(&app, ADMIN_EMAIL, "pas-le-bon-mot", None).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(
        sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .status(),
        429
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_a_token_revokes_the_users_tokens() {
    let mut app = TestHub::start().await;
    let client = http();
    let me = |token: String| {
        let url = app.url("/api/v1/auth/me");
        async move { http().get(url).bearer_auth(token).send().await.unwrap() }
    };
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(me(first.clone()).await.status(), 200);

    let logout = client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for token in [first.clone(), second] {
        let refused = me(token).await;
        assert_eq!(refused.status(), 401);
        assert!(refused.text().await.unwrap().contains("revoked"));
    }

    // A new sign-in works; signing out without a token (or with a dead one)
    // only clears the cookie and revokes nothing.
    let fresh = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for logout in [
        client.post(app.url("/api/v1/auth/logout")),
        client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth(&first),
        client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth("not.a.jwt"),
    ] {
        assert_eq!(logout.send().await.unwrap().status(), 204);
    }
    assert_eq!(me(fresh.clone()).await.status(), 200);

    // The cookie alone is enough to sign out.
    let by_cookie = client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", format!("access_token={fresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 204);
    assert_eq!(me(fresh).await.status(), 401);
    app.stop().await;
}
