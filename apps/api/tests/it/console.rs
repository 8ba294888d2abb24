//! The webhook console in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, started here on a free port) against the real
//! server on a fresh database and a real local receiver.
//!
//! Chromium is required, never optional: without it the test fails and
//! says how to install it. With `HUB_CONSOLE_SCREENSHOTS=<dir>` the same
//! flow also saves screenshots of the main pages there (`make
//! console-screenshots` refreshes `docs/console/`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use reqwest::Method;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, As, Receiver, Reply, TestHub, eventually};

const INSTALL: &str = "apt-get install -y chromium chromium-driver \
     (as root; or run apps/api/scripts/browser-deps.sh, which `make test` runs)";

/// How long the page may take to show what an action caused: a delivery
/// goes through the outbox, the relay and a worker on a busy 2-core machine.
const SHOWS_WITHIN: Duration = Duration::from_secs(60);

/// The browser and its driver, found where Debian's packages put them
/// (`CHROMIUM`, `CHROMEDRIVER` override).
fn browser_paths() -> (PathBuf, PathBuf) {
    let path = |variable: &str, default: &str| {
        let path = PathBuf::from(std::env::var(variable).unwrap_or_else(|_| default.to_owned()));
        assert!(
            path.is_file(),
            "{} not found: the console's browser test needs Chromium and its WebDriver: {INSTALL}",
            path.display()
        );
        path
    };
    (
        path("CHROMIUM", "/usr/bin/chromium"),
        path("CHROMEDRIVER", "/usr/bin/chromedriver"),
    )
}

/// chromedriver, stopped when dropped (the browser it started goes with
/// the session, which the test closes first).
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    async fn start(chromedriver: &Path) -> Self {
        let port = crate::support::free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromedriver.display()));
        let profile = std::env::temp_dir().join(format!("hub-console-chromium-{port}"));
        eventually("chromedriver listening", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        }
    }

    async fn browser(&self, chromium: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", "--lang=fr-FR", "--no-first-run",
                    format!("--user-data-dir={}", self.profile.display()),
                ],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("chromedriver could not start Chromium: {error}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Where screenshots go, when asked for.
fn screenshots() -> Option<PathBuf> {
    std::env::var_os("HUB_CONSOLE_SCREENSHOTS").map(PathBuf::from)
}

async fn snap(browser: &Client, name: &str) {
    if let Some(dir) = screenshots() {
        std::fs::create_dir_all(&dir).unwrap();
        // Full pages: the window grows to the document's height first.
        let height = browser
            .execute("return document.documentElement.scrollHeight", Vec::new())
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(1000);
        let (width, _) = browser.get_window_size().await.unwrap();
        let width = u32::try_from(width).unwrap();
        browser
            .set_window_size(width, u32::try_from(height.clamp(600, 4000)).unwrap() + 120)
            .await
            .unwrap();
        let png = browser.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        browser.set_window_size(width, 1000).await.unwrap();
    }
}

async fn find(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(SHOWS_WITHIN)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no `{css}` on the page: {error}"))
}

/// Waits until the page's main title reads `title`.
async fn page_titled(browser: &Client, title: &str) {
    let xpath = format!("//main//h1[normalize-space()='{title}']");
    browser
        .wait()
        .at_most(SHOWS_WITHIN)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|error| panic!("the page never showed the title `{title}`: {error}"));
}

/// Waits until the element `css` shows `text`.
async fn find_text(browser: &Client, css: &str, text: &str) {
    let mut seen = String::new();
    for _ in 0..240 {
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            seen = element.text().await.unwrap_or_default();
            if seen.contains(text) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("`{css}` shows {seen:?}, not {text:?}");
}

/// Waits until the rows `css` have these `data-resultat`, in order.
async fn shows_rows(browser: &Client, css: &str, expected: &[&str]) {
    let mut seen = Vec::new();
    for _ in 0..240 {
        seen.clear();
        for row in browser.find_all(Locator::Css(css)).await.unwrap() {
            // A row replaced while being read is read again next round.
            if let Ok(Some(result)) = row.attr("data-resultat").await {
                seen.push(result);
            }
        }
        if seen == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the log shows {seen:?}, not {expected:?}");
}

async fn type_into(browser: &Client, css: &str, text: &str) {
    let input = find(browser, css).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn click(browser: &Client, css: &str) {
    find(browser, css).await.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_sign_in_create_a_webhook_test_it_see_the_log_retry_and_sign_out() {
    let (chromium, chromedriver) = browser_paths();
    // A failed attempt's automatic retry waits an hour: the log shows
    // exactly the attempts the test caused.
    let mut hub = TestHub::builder()
        .local_receivers()
        .env(&[
            ("WEBHOOKS_RETRY_SCHEDULE", "1h"),
            // One person clicking through every page in well under a
            // minute reads more than the default 30/min allows.
            ("RATE_LIMITS", "webhooks.read=300/min"),
        ])
        .start()
        .await;
    let failing = Arc::new(AtomicBool::new(false));
    let receiver = Receiver::start({
        let failing = failing.clone();
        move |_| {
            if failing.load(Ordering::SeqCst) {
                Reply::status(500).body("panne du récepteur")
            } else {
                Reply::status(200).body("bien reçu")
            }
        }
    })
    .await;
    let driver = Driver::start(&chromedriver).await;
    let browser = driver.browser(&chromium).await;

    let flow = std::panic::AssertUnwindSafe(flow(&browser, &hub, &receiver, &failing));
    let outcome = flow.catch_unwind().await;
    // The browser goes whatever happened; then the test's verdict.
    let _ = browser.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    hub.stop().await;
}

async fn flow(browser: &Client, hub: &TestHub, receiver: &Receiver, failing: &AtomicBool) {
    // `/` leads a visitor to the console, which asks to sign in.
    browser.goto(&hub.url("/")).await.unwrap();
    page_titled(browser, "Connexion").await;
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/console/",
        "`/` redirects to the console"
    );
    snap(browser, "connexion").await;

    // A wrong password is refused, in French, and nothing else happens.
    type_into(browser, "#email", ADMIN_EMAIL).await;
    type_into(browser, "#mot-de-passe", "pas-le-bon-mot-de-passe").await;
    click(browser, "#se-connecter").await;
    let refused = find(browser, "#formulaire-connexion .message.erreur").await;
    assert!(
        refused.text().await.unwrap().contains("incorrect"),
        "{}",
        refused.text().await.unwrap()
    );

    type_into(browser, "#mot-de-passe", ADMIN_PASSWORD).await;
    click(browser, "#se-connecter").await;
    page_titled(browser, "Webhooks").await;
    // An administrator also sees the event history.
    assert!(
        find(browser, "#lien-evenements")
            .await
            .is_displayed()
            .await
            .unwrap()
    );

    // Create a webhook on chantier events, pointed at the local receiver.
    click(browser, "#nouveau-webhook").await;
    page_titled(browser, "Nouveau webhook").await;
    type_into(browser, "#url", &receiver.url("/crochets/hub")).await;
    type_into(browser, "#description", "Récepteur <b>de test</b>").await;
    click(browser, "#tous-chantier").await;
    snap(browser, "nouveau-webhook").await;
    click(browser, "#enregistrer").await;
    page_titled(browser, "Webhook créé").await;
    let secret = find(browser, "#secret").await.text().await.unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    snap(browser, "secret").await;
    let (status, list) = hub
        .call(Method::GET, "/api/v1/webhooks", As::Admin, None)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["webhooks"][0]["events"], json!(["chantier.*"]));
    assert_eq!(
        list["webhooks"][0]["description"], "Récepteur <b>de test</b>",
        "stored as typed"
    );

    // The list shows it, its description as text (never as markup).
    click(browser, "#lien-webhooks").await;
    page_titled(browser, "Webhooks").await;
    let row = find(browser, "#liste-webhooks tr[data-webhook]").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("Récepteur <b>de test</b>"), "{text}");
    assert!(text.contains("Actif"), "{text}");
    assert!(
        browser
            .find_all(Locator::Css("#liste-webhooks b"))
            .await
            .unwrap()
            .is_empty(),
        "a value became markup"
    );
    snap(browser, "webhooks").await;

    // Its page: send a test event; the successful attempt shows in the log.
    click(browser, "#liste-webhooks tr[data-webhook] a").await;
    page_titled(browser, "Webhook").await;
    click(browser, "#envoyer-test").await;
    let success = find(browser, "#journal tr[data-resultat='succes']").await;
    let text = success.text().await.unwrap();
    assert!(text.contains("webhook.test"), "{text}");
    assert!(text.contains("200"), "{text}");
    let first = receiver.wait_for(1).await;
    assert_eq!(first[0].path, "/crochets/hub");

    // A cookie session's write without the CSRF header is refused, even
    // from the console's own origin.
    let forged = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], {method: 'POST', credentials: 'same-origin'})
               .then(async r => done([r.status, (await r.json()).code]));",
            vec![json!(format!(
                "/api/v1/webhooks/{}/test",
                list["webhooks"][0]["id"].as_str().unwrap()
            ))],
        )
        .await
        .unwrap();
    assert_eq!(forged, json!([403, "csrf_failed"]));

    // The receiver breaks; sending the delivery again gives a second,
    // failed attempt, shown above the first.
    failing.store(true, Ordering::SeqCst);
    click(
        browser,
        "#journal tr[data-resultat='succes'] button.renvoyer",
    )
    .await;
    let failure = find(browser, "#journal tr[data-resultat='echec']").await;
    let text = failure.text().await.unwrap();
    assert!(text.contains("500"), "{text}");
    assert!(text.contains("Échec"), "{text}");
    let rows = browser
        .find_all(Locator::Css("#journal tr[data-resultat]"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "two attempts in the log");
    assert_eq!(
        rows[0].attr("data-resultat").await.unwrap().as_deref(),
        Some("echec"),
        "newest first"
    );
    let both = receiver.wait_for(2).await;
    assert_eq!(
        both[0].header("webhook-id"),
        both[1].header("webhook-id"),
        "the same delivery, sent again"
    );
    // The filters: successful attempts only, then every attempt again.
    assert_eq!(
        find(browser, "#filtre-periode")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(""),
        "the whole period by default"
    );
    find(browser, "#filtre-resultat")
        .await
        .select_by_value("true")
        .await
        .unwrap();
    click(browser, "#filtres-journal button[type='submit']").await;
    shows_rows(browser, "#journal tr[data-resultat]", &["succes"]).await;
    find(browser, "#filtre-resultat")
        .await
        .select_by_value("")
        .await
        .unwrap();
    click(browser, "#filtres-journal button[type='submit']").await;
    shows_rows(browser, "#journal tr[data-resultat]", &["echec", "succes"]).await;
    // Its details show what the receiver answered.
    click(
        browser,
        "#journal tr[data-resultat='echec'] button[aria-controls]",
    )
    .await;
    let detail = find(browser, "#journal tr.detail:not([hidden])").await;
    assert!(detail.text().await.unwrap().contains("panne du récepteur"));
    // …and exactly what was sent: the body, and the headers with the
    // event's id as webhook-id.
    let body = find(browser, "#journal tr.detail:not([hidden]) pre.corps").await;
    assert_eq!(
        body.text().await.unwrap().as_bytes(),
        both[1].body.as_slice(),
        "the body, byte for byte"
    );
    let headers = find(browser, "#journal tr.detail:not([hidden]) table.en-tetes")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        headers.contains(both[1].header("webhook-id").unwrap()),
        "{headers}"
    );
    snap(browser, "webhook").await;

    // The event history (administrators) lists the test event.
    click(browser, "#lien-evenements").await;
    page_titled(browser, "Historique des événements").await;
    let event = find(browser, "#evenements tr[data-evenement]").await;
    assert!(event.text().await.unwrap().contains("webhook.test"));
    // Opened, it shows its payload and where it went: our receiver.
    click(
        browser,
        "#evenements tr[data-evenement] button[aria-controls]",
    )
    .await;
    let went = find(
        browser,
        "#evenements tr.detail:not([hidden]) tr[data-livraison]",
    )
    .await;
    let text = went.text().await.unwrap();
    assert!(text.contains(&receiver.url("/crochets/hub")), "{text}");
    snap(browser, "evenements").await;

    // On a phone the log reads as cards.
    if screenshots().is_some() {
        browser.set_window_size(390, 844).await.unwrap();
        click(browser, "#lien-webhooks").await;
        page_titled(browser, "Webhooks").await;
        click(browser, "#liste-webhooks tr[data-webhook] a").await;
        page_titled(browser, "Webhook").await;
        find(browser, "#journal tr[data-resultat]").await;
        snap(browser, "telephone").await;
        browser.set_window_size(1280, 1000).await.unwrap();
    }

    // Edit, disable and enable, rotate the secret, delete: each through
    // the page, each checked through the API.
    click(browser, "#lien-webhooks").await;
    page_titled(browser, "Webhooks").await;
    click(browser, "#liste-webhooks tr[data-webhook] a").await;
    page_titled(browser, "Webhook").await;
    click(browser, "#modifier").await;
    page_titled(browser, "Modifier le webhook").await;
    type_into(browser, "#description", "Récepteur modifié").await;
    click(browser, "#enregistrer").await;
    page_titled(browser, "Webhook").await;
    let webhook_path = format!(
        "/api/v1/webhooks/{}",
        list["webhooks"][0]["id"].as_str().unwrap()
    );
    let stored = || async {
        hub.call(Method::GET, &webhook_path, As::Admin, None)
            .await
            .1
    };
    assert_eq!(stored().await["description"], "Récepteur modifié");
    assert_eq!(stored().await["events"], json!(["chantier.*"]), "kept");

    click(browser, "#basculer-etat").await;
    find_text(browser, "#etat-webhook", "Désactivé").await;
    assert_eq!(stored().await["is_active"], false);
    click(browser, "#basculer-etat").await;
    find_text(browser, "#etat-webhook", "Actif").await;
    assert_eq!(stored().await["is_active"], true);

    click(browser, "#renouveler-secret").await;
    click(browser, "dialog #confirmer").await;
    let rotated = find(browser, "#secret").await.text().await.unwrap();
    assert!(
        rotated.starts_with("whsec_") && rotated != secret,
        "{rotated}"
    );
    assert!(stored().await["previous_secret_expires_at"].is_string());

    // Deleting asks first; cancelling keeps the webhook.
    click(browser, "#supprimer").await;
    click(browser, "dialog #annuler").await;
    assert_eq!(
        hub.call(Method::GET, &webhook_path, As::Admin, None)
            .await
            .0,
        200
    );
    click(browser, "#supprimer").await;
    click(browser, "dialog #confirmer").await;
    page_titled(browser, "Webhooks").await;
    find_text(browser, "#liste-webhooks td.vide", "Aucun webhook").await;
    assert_eq!(
        hub.call(Method::GET, &webhook_path, As::Admin, None)
            .await
            .0,
        404
    );

    // Signing out ends the session: the console asks to sign in again.
    click(browser, "#deconnexion").await;
    page_titled(browser, "Connexion").await;
    browser.refresh().await.unwrap();
    page_titled(browser, "Connexion").await;
    assert!(
        !find(browser, "#navigation")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
}

/// The delivery log of `webhook` with the query `query` (as the admin).
async fn delivery_log(hub: &TestHub, webhook: &str, query: &str) -> (u16, serde_json::Value) {
    hub.call(
        Method::GET,
        &format!("/api/v1/webhooks/{webhook}/deliveries{query}"),
        As::Admin,
        None,
    )
    .await
}

/// The API routes the console's period filter, chart and event history
/// rest on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_filters_by_period_and_admins_see_where_an_event_went() {
    let mut hub = TestHub::builder().local_receivers().start().await;
    let receiver = Receiver::ok().await;
    let (status, created) = hub
        .call(
            Method::POST,
            "/api/v1/webhooks",
            As::Admin,
            json!({"url": receiver.url("/crochet"), "events": ["chantier.*"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let webhook = created["id"].as_str().unwrap();
    let (status, sent) = hub
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{webhook}/test"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    eventually("the attempt in the log", || async {
        delivery_log(&hub, webhook, "").await.1["total"] == 1
    })
    .await;

    // The period: `since` inclusive, `until` exclusive, around the attempt.
    let (_, log) = delivery_log(&hub, webhook, "").await;
    let attempted_at = time::OffsetDateTime::parse(
        log["deliveries"][0]["attempted_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let at = |offset: time::Duration| {
        (attempted_at + offset)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
            .replace('+', "%2B")
    };
    let zero = time::Duration::ZERO;
    let micro = time::Duration::microseconds(1);
    for (query, total) in [
        (format!("?since={}", at(zero)), 1),
        (format!("?since={}", at(micro)), 0),
        (format!("?until={}", at(zero)), 0),
        (format!("?until={}", at(micro)), 1),
        (format!("?since={}&until={}", at(-micro), at(micro)), 1),
        (format!("?since={}&success=false", at(-micro)), 0),
    ] {
        let (status, body) = delivery_log(&hub, webhook, &query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["total"], total, "{query}: {body}");
    }
    for query in [
        "?since=hier".to_owned(),
        format!("?since={}&until={}", at(micro), at(zero)),
        format!("?since={}&until={}", at(zero), at(zero)),
    ] {
        let (status, body) = delivery_log(&hub, webhook, &query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], "invalid_query", "{query}: {body}");
    }

    // The exact body and the headers its attempts send, found by the
    // delivery's id or by one of its attempts' ids.
    let received = receiver.wait_for(1).await;
    let body_sent = String::from_utf8(received[0].body.clone()).unwrap();
    for id in [&sent["delivery_id"], &log["deliveries"][0]["id"]] {
        let id = id.as_str().unwrap();
        let (status, detail) = hub
            .call(
                Method::GET,
                &format!("/api/v1/webhooks/{webhook}/deliveries/{id}"),
                As::Admin,
                None,
            )
            .await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["delivery_id"], sent["delivery_id"]);
        assert_eq!(detail["payload"], body_sent.as_str(), "byte for byte");
        let names: Vec<&str> = detail["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = received[0]
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !["host", "content-length", "accept", "accept-encoding"].contains(n))
            .collect();
        expected.sort_unstable();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected, "the headers the receiver got");
        assert_eq!(
            detail["headers"][2]["value"].as_str(),
            received[0].header("webhook-id")
        );
    }
    let missing = hub
        .expect(
            404,
            Method::GET,
            &format!("/api/v1/webhooks/{webhook}/deliveries/{}", uuid_nil()),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(missing["code"], "delivery_not_found");

    // Where the test event went: this webhook, delivered once.
    let path = format!(
        "/api/v1/events/{}/deliveries",
        sent["event_id"].as_str().unwrap()
    );
    eventually("the delivery finished", || async {
        hub.call(Method::GET, &path, As::Admin, None).await.1["deliveries"][0]["status"]
            == "succeeded"
    })
    .await;
    let (status, body) = hub.call(Method::GET, &path, As::Admin, None).await;
    assert_eq!(status, 200, "{body}");
    let deliveries = body["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{body}");
    assert_eq!(deliveries[0]["delivery_id"], sent["delivery_id"]);
    assert_eq!(deliveries[0]["webhook_id"], webhook);
    assert_eq!(deliveries[0]["webhook_url"], receiver.url("/crochet"));
    assert_eq!(deliveries[0]["attempts"], 1);
    assert!(deliveries[0]["finished_at"].is_string(), "{body}");
    // An event without deliveries has none; the route is the admins'.
    let (status, body) = hub
        .call(
            Method::GET,
            &format!("/api/v1/events/{}/deliveries", uuid_nil()),
            As::Admin,
            None,
        )
        .await;
    assert_eq!((status, body["deliveries"].clone()), (200, json!([])));
    let refused = hub
        .expect(403, Method::GET, &path, As::Conducteur, None)
        .await;
    assert_eq!(refused["code"], "forbidden");
    hub.stop().await;
}

fn uuid_nil() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}
