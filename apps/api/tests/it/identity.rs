//! Identity over HTTP: sign-in, tokens, user administration, roles, limits.

use std::io::Write;
use std::process::Stdio;

use diesel_async::SimpleAsyncConnection;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, As, Role, TestHub, eventually, http};

const LOGIN: &str = "/api/v1/auth/login";
const LOGOUT: &str = "/api/v1/auth/logout";
const ME: &str = "/api/v1/auth/me";
const USERS: &str = "/api/v1/users";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_bearer_token_and_a_strict_cookie() {
    let mut hub = TestHub::start().await;
    let login = hub
        .send(
            Method::POST,
            LOGIN,
            As::Anonymous,
            json!({ "email": "ADMIN@hub-chantier.test", "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200);
    let cookie = login.headers["set-cookie"].to_str().unwrap();
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
    let body = &login.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(cookie.contains(token));

    // Bearer header and cookie both authenticate.
    let (_, me) = hub.call(Method::GET, ME, As::Token(token), None).await;
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert!(me.get("password_hash").is_none() && !me.to_string().contains("argon2"));
    let by_cookie = hub
        .request(Method::GET, ME, As::Anonymous)
        .await
        .header("cookie", format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    let logout = hub.send(Method::POST, LOGOUT, As::Anonymous, None).await;
    assert_eq!(logout.status, 204);
    let cleared = logout.headers["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("access_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let mut hub = TestHub::start().await;
    let attempt = |email: &'static str, password: &'static str| {
        let body = json!({ "email": email, "password": password });
        hub.call(Method::POST, LOGIN, As::Anonymous, body)
    };
    let wrong_password = attempt(ADMIN_EMAIL, "not-the-password").await;
    let unknown_email = attempt("nobody@hub-chantier.test", ADMIN_PASSWORD).await;
    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password.1["code"], "invalid_credentials");

    let (status, _) = hub.call(Method::GET, ME, As::Anonymous, None).await;
    assert_eq!(status, 401);
    let garbage = hub
        .send(Method::GET, ME, As::Token("not.a.jwt"), None)
        .await;
    assert_eq!(garbage.status, 401);
    assert_eq!(garbage.headers["www-authenticate"], "Bearer");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_address() {
    let mut hub = TestHub::start_with(&[("RATE_LIMITS", "auth.login=3/min")]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let body = json!({ "email": ADMIN_EMAIL, "password": "wrong-password-again" });
        let answer = hub.send(Method::POST, LOGIN, As::Anonymous, body).await;
        statuses.push(answer.status);
        if answer.status == 429 {
            let retry_after: u64 = answer.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry_after));
            assert_eq!(answer.headers["ratelimit-limit"], "3");
            assert_eq!(answer.body["code"], "rate_limited");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_users_and_each_change_is_an_event() {
    let mut hub = TestHub::start().await;
    let created = hub
        .send(
            Method::POST,
            USERS,
            As::Admin,
            json!({
                "email": "Chef@Example.fr", "password": "mot-de-passe-long-1", "nom": "Durand",
                "prenom": "Léa", "role": "chef_chantier", "type_utilisateur": "interimaire"
            }),
        )
        .await;
    assert_eq!(created.status, 201);
    let location = created.headers["location"].to_str().unwrap();
    let user = &created.body;
    assert_eq!(user["email"], "chef@example.fr");
    assert_eq!(user["is_active"], true);
    let id = user["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/users/{id}"));

    // The same address in other letters is the same user.
    let (status, duplicate) = hub
        .call(
            Method::POST,
            USERS,
            As::Admin,
            json!({
                "email": "CHEF@example.FR", "password": "mot-de-passe-long-1", "nom": "X",
                "prenom": "Y", "role": "compagnon", "type_utilisateur": "employe"
            }),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(duplicate["code"], "email_taken");

    let (_, got) = hub.call(Method::GET, location, As::Admin, None).await;
    assert_eq!(got["prenom"], "Léa");

    let (_, list) = hub
        .call(
            Method::GET,
            "/api/v1/users?role=chef_chantier&is_active=true&limit=10",
            As::Admin,
            None,
        )
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["users"][0]["id"], id);
    let (_, all) = hub.call(Method::GET, USERS, As::Admin, None).await;
    assert_eq!(all["total"], 2);

    let (_, patched) = hub
        .call(
            Method::PATCH,
            location,
            As::Admin,
            json!({ "role": "conducteur", "nom": "Durand-Martin" }),
        )
        .await;
    assert_eq!(patched["role"], "conducteur");
    assert_eq!(patched["nom"], "Durand-Martin");

    // The user signs in, then is deactivated: the token stops working at once.
    let token = hub.login("chef@example.fr", "mot-de-passe-long-1").await;
    let (_, me) = hub.call(Method::GET, ME, As::Token(&token), None).await;
    assert_eq!(me["role"], "conducteur");
    let deactivate = format!("{location}/deactivate");
    let (status, deactivated) = hub.call(Method::POST, &deactivate, As::Admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(deactivated["is_active"], false);
    let refused = hub.send(Method::GET, ME, As::Token(&token), None).await;
    assert_eq!(refused.status, 401);
    assert!(refused.text.contains("deactivated"));
    let body = json!({ "email": "chef@example.fr", "password": "mot-de-passe-long-1" });
    let (status, _) = hub.call(Method::POST, LOGIN, As::Anonymous, body).await;
    assert_eq!(status, 401);

    // Reactivation does not bring the old token back: deactivation revoked it.
    let body = json!({ "is_active": true });
    let (status, _) = hub.call(Method::PATCH, location, As::Admin, body).await;
    assert_eq!(status, 200);
    let still_refused = hub.send(Method::GET, ME, As::Token(&token), None).await;
    assert_eq!(still_refused.status, 401);
    assert!(still_refused.text.contains("revoked"));
    let new_token = hub.login("chef@example.fr", "mot-de-passe-long-1").await;
    let (status, _) = hub.call(Method::GET, ME, As::Token(&new_token), None).await;
    assert_eq!(status, 200);

    // Every change went through the outbox, without password material.
    let logged = hub.events("").await;
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
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_manage_users() {
    let mut hub = TestHub::start().await;
    let body = json!({
        "email": "x@example.fr", "password": "mot-de-passe-long-1", "nom": "X",
        "prenom": "Y", "role": "admin", "type_utilisateur": "employe"
    });
    let (status, forbidden) = hub
        .call(Method::POST, USERS, As::Conducteur, body.clone())
        .await;
    assert_eq!(status, 403);
    assert_eq!(forbidden["code"], "forbidden");
    for path in [USERS, &format!("/api/v1/users/{}", uuid::Uuid::now_v7())] {
        let (status, _) = hub.call(Method::GET, path, As::Conducteur, None).await;
        assert_eq!(status, 403);
        let (status, _) = hub.call(Method::GET, path, As::Anonymous, None).await;
        assert_eq!(status, 401);
    }
    let (status, _) = hub.call(Method::POST, USERS, As::Anonymous, body).await;
    assert_eq!(status, 401);

    // An admin cannot lock themselves out.
    let (_, me) = hub.call(Method::GET, ME, As::Admin, None).await;
    let own = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let demote = json!({"role": "compagnon"});
    let (status, problem) = hub.call(Method::PATCH, &own, As::Admin, demote).await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "self_lockout");
    let deactivate = format!("{own}/deactivate");
    let (status, _) = hub.call(Method::POST, &deactivate, As::Admin, None).await;
    assert_eq!(status, 409);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_and_writes_nothing() {
    let mut hub = TestHub::start().await;
    let admin = hub.user(Role::Admin).await.token.clone();
    let client = http();
    let users_before = hub.count("SELECT count(*) AS count FROM users").await;
    let events_before = hub.count("SELECT count(*) AS count FROM event_logs").await;

    let valid = json!({
        "email": "new@example.fr", "password": "mot-de-passe-long-1", "nom": "Nom",
        "prenom": "Prenom", "role": "compagnon", "type_utilisateur": "employe"
    });
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let users = hub.url(USERS);
    let unknown = hub.url(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()));
    let post = |body: Value| client.post(&users).json(&body);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            client
                .post(&users)
                .body("{\"email\":")
                .header("content-type", "application/json"),
            400,
            "malformed_json",
        ),
        (post(with("surprise", json!(1))), 422, "invalid_body"),
        (post(with("role", json!("patron"))), 422, "invalid_body"),
        (post(with("nom", json!(42))), 422, "invalid_body"),
        (
            post(with("nom", json!("N".repeat(101)))),
            422,
            "validation_failed",
        ),
        (
            post(with("password", json!("court"))),
            422,
            "validation_failed",
        ),
        (
            post(with("email", json!("pas-une-adresse"))),
            422,
            "validation_failed",
        ),
        (
            client
                .post(&users)
                .body(valid.to_string())
                .header("content-type", "text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            post(with("nom", json!("x".repeat(70_000)))),
            413,
            "payload_too_large",
        ),
        (
            client.get(format!("{users}/not-a-uuid")),
            400,
            "invalid_path",
        ),
        (client.get(&unknown), 404, "user_not_found"),
        (
            client.get(format!("{users}?limit=1000")),
            400,
            "invalid_query",
        ),
        (
            client.get(format!("{users}?role=patron")),
            400,
            "invalid_query",
        ),
        (
            client.patch(&unknown).json(&json!({"nom": "X"})),
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
        hub.count("SELECT count(*) AS count FROM users").await,
        users_before
    );
    assert_eq!(
        hub.count("SELECT count(*) AS count FROM event_logs").await,
        events_before
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_command_bootstraps_once() {
    // A database without an administrator, and no server on it yet.
    let mut hub = TestHub::builder().without_admin().prepare().await;
    // The first time with --password-stdin, the second without: when
    // standard input is not a terminal its first line is the password.
    let run = |flags: &[&str]| {
        let mut child = hub
            .command(&[&["create-admin", "--email", "Boss@Example.fr"][..], flags].concat())
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
    let first = run(&["--password-stdin"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        stderr.contains("administrator boss@example.fr created"),
        "{stderr}"
    );
    let second = run(&[]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");

    hub.serve(&[]).await;
    let token = hub.login("boss@example.fr", "un-mot-de-passe-solide").await;
    let (_, me) = hub.call(Method::GET, ME, As::Token(&token), None).await;
    assert_eq!(me["role"], "admin");
    hub.stop().await;

    // Too short a password is refused with a message and a failure status.
    let mut child = hub
        .command(&[
            "create-admin",
            "--email",
            "other@example.fr",
            "--password-stdin",
        ])
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
    let mut hub = TestHub::start().await;
    let (_, document) = hub
        .call(Method::GET, "/api/v1/openapi.json", As::Anonymous, None)
        .await;
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
    let ui = hub.send(Method::GET, "/docs/", As::Anonymous, None).await;
    assert_eq!(ui.status, 200);
    assert!(ui.text.contains("swagger"));
    hub.stop().await;
}

/// One sign-in attempt, optionally relayed by a proxy that reports `forwarded_for`.
async fn sign_in(
    hub: &TestHub,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = hub
        .request(Method::POST, LOGIN, As::Anonymous)
        .await
        .json(&json!({ "email": email, "password": password }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let mut hub = TestHub::start_with(&[("RATE_LIMITS", "auth.login=2/min")]).await;
    let mut statuses = Vec::new();
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = sign_in(&hub, ADMIN_EMAIL, "pas-le-bon-mot", Some(address)).await;
        statuses.push(response.status().as_u16());
    }
    // All three count against the TCP peer (127.0.0.1), whatever the header says.
    assert_eq!(statuses, [401, 401, 429]);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    let mut hub = TestHub::start_with(&[
        ("RATE_LIMITS", "auth.login=2/min"),
        ("TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8"),
    ])
    .await;
    let mut statuses = Vec::new();
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = sign_in(&hub, ADMIN_EMAIL, "pas-le-bon-mot", Some(address)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401], "one bucket per client");

    // The right-most address that is not a trusted proxy is the client: a
    // left-most value the client wrote itself does not let it escape.
    let mut statuses = Vec::new();
    for spoofed in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let chain = format!("{spoofed}, 198.51.100.7, 10.1.2.3");
        let response = sign_in(&hub, "x@example.fr", "pas-le-bon-mot", Some(&chain)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
    hub.stop().await;
}

async fn status_and_body(response: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, response.json().await.unwrap())
}

/// The server wires its password hashing through the bounded hasher: with
/// one hash at a time and no patience, a burst of sign-ins is partly
/// refused with 503 `server_busy` (and `Retry-After`) instead of holding an
/// argon2 buffer (19 MiB) per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_beyond_the_hashing_limit_is_refused_as_busy() {
    let mut hub = TestHub::start_with(&[
        ("RATE_LIMITS", "off"),
        ("PASSWORD_HASHING_CONCURRENCY", "1"),
        ("PASSWORD_HASHING_MAX_WAIT", "1ms"),
    ])
    .await;
    let burst = (0..8).map(|_| async {
        status_and_body(sign_in(&hub, ADMIN_EMAIL, ADMIN_PASSWORD, None).await).await
    });
    let answers = futures::future::join_all(burst).await;
    let busy: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == 503)
        .collect();
    assert!(
        answers.iter().any(|(status, ..)| *status == 200),
        "one at a time still signs in: {answers:?}"
    );
    assert!(!busy.is_empty(), "no sign-in was refused: {answers:?}");
    for (_, retry_after, body) in busy {
        assert_eq!(body["code"], "server_busy");
        assert_eq!(*retry_after, Some(1));
    }
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_failed_sign_in_locks_the_account_from_any_address_known_or_not() {
    // The test client is the trusted proxy: each attempt comes from another address.
    let mut hub = TestHub::start_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    hub.create_user("victime@example.fr", Role::Conducteur)
        .await;

    let mut locked = Vec::new();
    for email in ["Victime@Example.fr", "inconnu@example.fr"] {
        for attempt in 0..10 {
            let address = format!("203.0.113.{attempt}");
            let response = sign_in(&hub, email, "pas-le-bon-mot", Some(&address)).await;
            assert_eq!(response.status(), 401, "{email} attempt {attempt}");
        }
        let refused =
            status_and_body(sign_in(&hub, email, "pas-le-bon-mot", Some("198.51.100.99")).await)
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
        &hub,
        "victime@example.fr",
        "mot-de-passe-long-1",
        Some("192.0.2.1"),
    )
    .await;
    assert_eq!(right.status(), 429);
    // Other accounts are not affected.
    let other = sign_in(&hub, ADMIN_EMAIL, ADMIN_PASSWORD, Some("192.0.2.1")).await;
    assert_eq!(other.status(), 200);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_sign_in_clears_the_account_failures() {
    let mut hub = TestHub::start().await;
    for _ in 0..9 {
        let response = sign_in(&hub, ADMIN_EMAIL, "pas-le-bon-mot", None).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(
        sign_in(&hub, ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .status(),
        200
    );
    // Ten more failures are allowed before the lock.
    for _ in 0..10 {
        let response = sign_in(&hub, ADMIN_EMAIL, "pas-le-bon-mot", None).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(
        sign_in(&hub, ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .status(),
        429
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_a_token_revokes_the_users_tokens() {
    let mut hub = TestHub::start().await;
    let me = |token: String| {
        let hub = &hub;
        async move { hub.send(Method::GET, ME, As::Token(&token), None).await }
    };
    let first = hub.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = hub.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(me(first.clone()).await.status, 200);

    let logout = hub
        .send(Method::POST, LOGOUT, As::Token(&first), None)
        .await;
    assert_eq!(logout.status, 204);
    assert!(
        logout.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for token in [first.clone(), second] {
        let refused = me(token).await;
        assert_eq!(refused.status, 401);
        assert!(refused.text.contains("revoked"));
    }

    // A new sign-in works; signing out without a token (or with a dead one)
    // only clears the cookie and revokes nothing.
    let fresh = hub.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for who in [As::Anonymous, As::Token(&first), As::Token("not.a.jwt")] {
        let (status, _) = hub.call(Method::POST, LOGOUT, who, None).await;
        assert_eq!(status, 204);
    }
    assert_eq!(me(fresh.clone()).await.status, 200);

    // A browser session signs out with its cookie and its CSRF proof (the
    // CSRF cookie echoed in X-CSRF-Token). The cookie alone, as a forged
    // cross-site request would carry it, only clears the cookie.
    let by_cookie = |csrf: bool| {
        let hub = &hub;
        let fresh = fresh.clone();
        async move {
            let mut request = hub.request(Method::POST, LOGOUT, As::Anonymous).await;
            if csrf {
                request = request
                    .header(
                        "cookie",
                        format!("access_token={fresh}; __Host-csrf_token=jeton"),
                    )
                    .header("x-csrf-token", "jeton");
            } else {
                request = request.header("cookie", format!("access_token={fresh}"));
            }
            request.send().await.unwrap().status()
        }
    };
    assert_eq!(by_cookie(false).await, 204);
    assert_eq!(me(fresh.clone()).await.status, 200, "nothing revoked");
    assert_eq!(by_cookie(true).await, 204);
    assert_eq!(me(fresh).await.status, 401);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_lost_to_a_concurrent_one_is_a_409_and_writes_nothing() {
    let mut hub = TestHub::start().await;
    let user = hub.new_user(Role::Compagnon).await;
    let path = format!("{USERS}/{}", user.id);
    let loaded = hub.expect(200, Method::GET, &path, As::Admin, None).await;
    let events = "SELECT count(*) AS count FROM event_logs";
    let events_before = hub.count(events).await;

    // Another writer has changed the user and not committed yet: the PATCH
    // reads the committed version, then waits for the row…
    let mut other = hub.connection().await;
    other
        .batch_execute(&format!(
            "BEGIN; UPDATE users SET nom = 'Autre', version = version + 1 WHERE id = '{}'",
            user.id
        ))
        .await
        .unwrap();
    let patch = hub.call(
        Method::PATCH,
        &path,
        As::Admin,
        json!({ "role": "chef_chantier" }),
    );
    let commit = async {
        eventually("the PATCH waiting for the row", || async {
            let waiting = "SELECT count(*) AS count FROM pg_stat_activity \
                           WHERE datname = current_database() AND wait_event_type = 'Lock'";
            hub.count(waiting).await == 1
        })
        .await;
        // …which the other writer then commits.
        other.batch_execute("COMMIT").await.unwrap();
    };
    let ((status, problem), ()) = tokio::join!(patch, commit);
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "concurrent_modification");
    assert_eq!(hub.count(events).await, events_before, "nothing published");

    // The other writer's change stands; the user's version shows it.
    let now = hub.expect(200, Method::GET, &path, As::Admin, None).await;
    assert_eq!(loaded["version"], 1);
    assert_eq!(
        (&now["nom"], &now["role"], &now["version"]),
        (&json!("Autre"), &json!("compagnon"), &json!(2))
    );
    // Reloaded, the edit goes through, at the next version.
    let body = json!({ "role": "chef_chantier" });
    let edited = hub.expect(200, Method::PATCH, &path, As::Admin, body).await;
    assert_eq!(edited["version"], 3);
    // Signing out is no change of the profile: no new version.
    let logout = hub.send(Method::POST, LOGOUT, &user, None).await;
    assert_eq!(logout.status, 204);
    let after = hub.expect(200, Method::GET, &path, As::Admin, None).await;
    assert_eq!(after["version"], 3);
    hub.stop().await;
}
