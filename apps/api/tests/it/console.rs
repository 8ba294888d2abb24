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
            .execute(
                "return document.documentElement.scrollHeight",
                Vec::new(),
            )
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
    let mut hub = TestHub::builder().local_receivers().start().await;
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
    click(browser, "#journal tr[data-resultat='succes'] button.renvoyer").await;
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
    // Its details show what the receiver answered.
    click(browser, "#journal tr[data-resultat='echec'] button[aria-controls]").await;
    let detail = find(browser, "#journal tr.detail:not([hidden])").await;
    assert!(
        detail
            .text()
            .await
            .unwrap()
            .contains("panne du récepteur")
    );
    snap(browser, "webhook").await;

    // The event history (administrators) lists the test event.
    click(browser, "#lien-evenements").await;
    page_titled(browser, "Historique des événements").await;
    let event = find(browser, "#evenements tr[data-evenement]").await;
    assert!(event.text().await.unwrap().contains("webhook.test"));
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
