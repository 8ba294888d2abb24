//! The end-to-end harness. A [`TestHub`] is the real server (port 0) on a
//! private database (cloned from the migrated template), with an
//! administrator bootstrapped, a signed-in user per role, one HTTP client,
//! SQL helpers for what the API does not show (the outbox, row counts), and
//! real local webhook receivers ([`Receiver`]).
//!
//! A new context's end-to-end test starts from its first line with it:
//!
//! ```ignore
//! use crate::support::{As, TestHub};
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn a_devis_is_created_and_published() {
//!     let mut hub = TestHub::start().await;
//!     let (status, devis) = hub
//!         .call(Method::POST, "/api/v1/devis", As::Conducteur, json!({"numero": "D-1"}))
//!         .await;
//!     assert_eq!(status, 201, "{devis}");
//!     let problem = hub.expect(403, Method::POST, "/api/v1/devis", As::Compagnon, None).await;
//!     assert_eq!(problem["code"], "forbidden");
//!     assert_eq!(hub.events("devis.").await[0].0, "devis.created");
//!     assert_eq!(hub.count("SELECT count(*) FROM devis").await, 1);
//!     hub.stop().await;
//! }
//! ```
//!
//! - `call`/`send`/`expect` take who acts ([`As`]: a role of the hub, a
//!   [`User`] made with [`TestHub::new_user`], a raw token, or nobody) and an
//!   optional JSON body (`None` sends none); `expect` also checks the status.
//!   The role users are created through the API the first time a test acts
//!   as them, so a test that never acts as a compagnon has none (and spends
//!   no sign-in on it: rate limits count).
//! - The database: `events(prefix)`, `count`, `texts`, `run_sql`, and
//!   `command` for the CLI on the hub's database.
//! - Configuration: the production defaults plus a free port, test secrets
//!   and a short shutdown; [`TestHub::start_with`] or [`TestHub::builder`]
//!   add variables (`("RATE_LIMITS", "off")` for tests that make many calls),
//!   a fixture DNS resolver, loopback webhook destinations.
//! - Webhook deliveries: [`Builder::local_receivers`] lets webhooks point at
//!   `127.0.0.1`; [`TestHub::receiver`] (answers 200) or [`Receiver::start`]
//!   (answers what the test says) records what arrives.
//! - Waiting: [`eventually`] polls a condition; never sleep to "let things
//!   happen": wait for the state that proves they did (an event's
//!   `dispatched_at`, a delivery job's final status).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Jsonb, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use hub_chantier::config::Config;
use hub_chantier::server::{Application, Overrides};
use hub_platform_outbound::NameResolver;
use hub_platform_test_db::TestDatabase;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub use hub_platform_test_receiver::{Receiver, Recorded, Reply, test_pki};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// base64 of 32 bytes.
pub const WEBHOOK_SECRETS_KEY: &str = "dGVzdC13ZWJob29rLXNlY3JldHMta2V5LTMyLWJ5dGU=";
pub const ADMIN_EMAIL: &str = "admin@hub-chantier.test";
pub const ADMIN_PASSWORD: &str = "mot-de-passe-admin-1";
/// The password of every user the hub creates.
pub const PASSWORD: &str = "mot-de-passe-long-1";

/// How long [`eventually`] waits: generous, for a busy 2-core machine.
const EVENTUALLY: Duration = Duration::from_secs(30);

/// An HTTP client for the tests (no proxy from the environment).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls until `check` holds; fails the test after 30 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < EVENTUALLY,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A port nothing listens on now (for a server started as a process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of one series (`name{labels}`) in a Prometheus text scrape.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// A role of the identity context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Conducteur,
    ChefChantier,
    Compagnon,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Conducteur => "conducteur",
            Self::ChefChantier => "chef_chantier",
            Self::Compagnon => "compagnon",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Who makes a request.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    /// No credentials.
    Anonymous,
    /// The hub's user of that role.
    Admin,
    Conducteur,
    ChefChantier,
    Compagnon,
    /// A bearer token (another user's, a revoked or a forged one).
    Token(&'a str),
}

impl<'a> From<&'a User> for As<'a> {
    fn from(user: &'a User) -> Self {
        Self::Token(&user.token)
    }
}

impl From<Role> for As<'_> {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Conducteur => Self::Conducteur,
            Role::ChefChantier => Self::ChefChantier,
            Role::Compagnon => Self::Compagnon,
        }
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
}

/// An answer, whole: status, headers, raw text and the text as JSON
/// (`Value::Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

/// How a hub starts: [`TestHub::builder`].
#[must_use]
pub struct Builder {
    env: Vec<(String, String)>,
    resolver: Option<Arc<dyn NameResolver>>,
    clock: Option<Arc<dyn hub_kernel::Clock>>,
    admin: bool,
}

impl Builder {
    /// Configuration variables on top of the tests' (later ones win).
    pub fn env(mut self, vars: &[(&str, &str)]) -> Self {
        self.env.extend(
            vars.iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        self
    }

    /// Webhook destinations on loopback over plain HTTP: where [`Receiver`]s listen.
    pub fn local_receivers(self) -> Self {
        self.env(&[
            ("WEBHOOKS_ALLOW_HTTP", "true"),
            ("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8"),
        ])
    }

    /// Webhook destinations are resolved by `resolver` (a `FixtureResolver`)
    /// instead of the system's DNS.
    pub fn resolver(mut self, resolver: Arc<dyn NameResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The time every context of the hub's servers sees (a clock the test
    /// moves, e.g. to run scheduled jobs at chosen instants).
    pub fn clock(mut self, clock: Arc<dyn hub_kernel::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// No administrator is bootstrapped (e.g. to test `create-admin`).
    pub fn without_admin(mut self) -> Self {
        self.admin = false;
        self
    }

    /// The database (and administrator) only; [`TestHub::serve`] starts the
    /// server, e.g. after a test ran a CLI command or another process on it.
    pub async fn prepare(self) -> TestHub {
        let db = TestDatabase::new().await;
        let admin_id = if self.admin {
            Some(bootstrap_admin(db.url()).await)
        } else {
            None
        };
        TestHub {
            db,
            env: self.env,
            resolver: self.resolver,
            clock: self.clock,
            server: None,
            admin_id,
            users: Default::default(),
            next_user: AtomicUsize::new(1),
        }
    }

    /// Database, administrator and a running server.
    pub async fn start(self) -> TestHub {
        let mut hub = self.prepare().await;
        hub.serve(&[]).await;
        hub
    }
}

/// A running server of its own.
struct Server {
    base: String,
    metrics: Option<String>,
    retention: Vec<hub_platform_postgres::retention::Retained>,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// See the module documentation.
pub struct TestHub {
    db: TestDatabase,
    env: Vec<(String, String)>,
    resolver: Option<Arc<dyn NameResolver>>,
    clock: Option<Arc<dyn hub_kernel::Clock>>,
    server: Option<Server>,
    admin_id: Option<String>,
    /// The hub's user of each role, by [`Role::index`], made on first use.
    users: [OnceCell<User>; 4],
    next_user: AtomicUsize,
}

impl TestHub {
    /// A private database, an administrator, a server on a free port.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// [`TestHub::start`] with more configuration variables.
    pub async fn start_with(vars: &[(&str, &str)]) -> Self {
        Self::builder().env(vars).start().await
    }

    pub fn builder() -> Builder {
        Builder {
            env: Vec::new(),
            resolver: None,
            clock: None,
            admin: true,
        }
    }

    // -- server -------------------------------------------------------------

    /// The configuration the server runs with, plus `extra`.
    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        let vars = self.vars(extra);
        Config::from_lookup(move |name| vars.get(name).cloned()).unwrap()
    }

    /// The variables of [`TestHub::config`], for a `hub-chantier serve`
    /// process of its own on the same database and store.
    pub fn vars(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars = HashMap::from(
            [
                ("DATABASE_URL", self.db.url()),
                ("JWT_SECRET", JWT_SECRET),
                ("WEBHOOK_SECRETS_KEY", WEBHOOK_SECRETS_KEY),
                ("HTTP_ADDR", "127.0.0.1:0"),
                // Tests run in parallel: each metrics listener on a free port.
                ("METRICS_ADDR", "127.0.0.1:0"),
                ("SHUTDOWN_TIMEOUT", "5s"),
                ("LOG_FORMAT", "pretty"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        );
        vars.insert(
            "DOCUMENTS_STORAGE_DIR".to_owned(),
            self.documents_dir().display().to_string(),
        );
        vars.extend(self.env.iter().cloned());
        vars.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        vars
    }

    /// Documents' bytes: a private directory per hub, outside the work tree.
    pub fn documents_dir(&self) -> std::path::PathBuf {
        let database = self.db.url().rsplit('/').next().unwrap_or("hub");
        std::env::temp_dir()
            .join("hub-chantier-tests")
            .join(database)
    }

    /// Starts a server on the hub's database (stopping the running one),
    /// with `extra` variables for this server only. Tokens stay valid.
    pub async fn serve(&mut self, extra: &[(&str, &str)]) {
        self.stop().await;
        let overrides = Overrides {
            resolver: self.resolver.clone(),
            clock: self.clock.clone(),
        };
        let app = Application::build_with(self.config(extra), overrides)
            .await
            .unwrap();
        self.server = Some(Server {
            base: format!("http://{}", app.local_addr()),
            metrics: app.metrics_addr().map(|addr| format!("http://{addr}")),
            retention: app.retention_targets().to_vec(),
            handle: app.handle(),
            task: tokio::spawn(app.run()),
        });
    }

    /// Stops the server gracefully and checks it ended without error; the
    /// database stays for more checks.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.handle.stop(true).await;
            server.task.await.unwrap().unwrap();
        }
    }

    fn server(&self) -> &Server {
        self.server
            .as_ref()
            .expect("the hub's server is stopped (TestHub::serve starts one)")
    }

    /// What the running server's daily retention job cleans.
    pub fn retention_targets(&self) -> &[hub_platform_postgres::retention::Retained] {
        &self.server().retention
    }

    /// `http://…` of the API.
    pub fn base(&self) -> &str {
        &self.server().base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// `http://…` of the metrics listener, unless `METRICS_ADDR=off`.
    pub fn metrics_base(&self) -> Option<&str> {
        self.server().metrics.as_deref()
    }

    /// `path` on the metrics listener.
    pub fn metrics_url(&self, path: &str) -> String {
        let base = self.metrics_base().expect("the metrics listener is on");
        format!("{base}{path}")
    }

    // -- users and HTTP -----------------------------------------------------

    /// The hub's user of `role`, created (and signed in) on first use.
    pub async fn user(&self, role: Role) -> &User {
        self.users[role.index()]
            .get_or_init(|| async {
                if role == Role::Admin {
                    let id = self
                        .admin_id
                        .clone()
                        .expect("this hub was built without an administrator");
                    let token = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
                    User { id, token }
                } else {
                    let email = format!("{}@hub-chantier.test", role.as_str());
                    self.create_user(&email, role).await
                }
            })
            .await
    }

    /// Another user of `role` (a new address each time), signed in.
    pub async fn new_user(&self, role: Role) -> User {
        let n = self.next_user.fetch_add(1, Ordering::Relaxed);
        let email = format!("{}-{n}@hub-chantier.test", role.as_str());
        self.create_user(&email, role).await
    }

    /// Creates a user through the API, as the administrator, with
    /// [`PASSWORD`], and signs them in.
    pub async fn create_user(&self, email: &str, role: Role) -> User {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/users",
                As::Admin,
                json!({
                    "email": email, "password": PASSWORD, "nom": "Durand",
                    "prenom": "Lea", "role": role.as_str(), "type_utilisateur": "employe"
                }),
            )
            .await;
        assert_eq!(status, 201, "create {email}: {body}");
        User {
            id: body["id"].as_str().unwrap().to_owned(),
            token: self.login(email, PASSWORD).await,
        }
    }

    /// Signs in and returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                As::Anonymous,
                json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, 200, "login of {email}: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// The bearer token `who` sends, if any.
    pub async fn token(&self, who: impl Into<As<'_>>) -> Option<String> {
        let role = match who.into() {
            As::Anonymous => return None,
            As::Token(token) => return Some(token.to_owned()),
            As::Admin => Role::Admin,
            As::Conducteur => Role::Conducteur,
            As::ChefChantier => Role::ChefChantier,
            As::Compagnon => Role::Compagnon,
        };
        // Boxed: making a role user calls the API as the administrator,
        // which comes back here (an async fn cannot recurse unboxed).
        Some(Box::pin(self.user(role)).await.token.clone())
    }

    /// A request to `path` with `who`'s token, for what `call` cannot say
    /// (other headers, raw bodies).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        who: impl Into<As<'_>>,
    ) -> RequestBuilder {
        let request = http().request(method, self.url(path));
        match self.token(who).await {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `body` as JSON (`None`: no body) and returns the whole answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        who: impl Into<As<'_>>,
        body: impl Into<Option<Value>>,
    ) -> Answer {
        let mut request = self.request(method, path, who).await;
        if let Some(body) = body.into() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            body,
        }
    }

    /// [`TestHub::send`], status and JSON body only.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: impl Into<As<'_>>,
        body: impl Into<Option<Value>>,
    ) -> (u16, Value) {
        let answer = self.send(method, path, who, body).await;
        (answer.status, answer.body)
    }

    /// [`TestHub::call`] that must answer `status`; returns the JSON body.
    pub async fn expect(
        &self,
        status: u16,
        method: Method,
        path: &str,
        who: impl Into<As<'_>>,
        body: impl Into<Option<Value>>,
    ) -> Value {
        let (got, answer) = self.call(method.clone(), path, who, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }

    // -- database -----------------------------------------------------------

    pub fn database_url(&self) -> &str {
        self.db.url()
    }

    /// A connection of its own to the hub's database.
    pub async fn connection(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(self.db.url()).await.unwrap()
    }

    /// Runs a statement (e.g. to age rows); returns the rows affected.
    pub async fn run_sql(&self, sql: &str) -> usize {
        use diesel_async::RunQueryDsl as _;
        sql_query(sql)
            .execute(&mut self.connection().await)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The `text` column of every row (`SELECT status AS text FROM …`).
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            text: String,
        }
        use diesel_async::RunQueryDsl as _;
        sql_query(sql)
            .load::<Row>(&mut self.connection().await)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|row| row.text)
            .collect()
    }

    /// The `count` column of a one-row query (`SELECT count(*) FROM …`).
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        use diesel_async::RunQueryDsl as _;
        sql_query(sql)
            .get_result::<Count>(&mut self.connection().await)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .count
    }

    /// The outbox's events whose type starts with `prefix` (`""`: all), in
    /// log order, as `(event_type, data)`.
    pub async fn events(&self, prefix: &str) -> Vec<(String, Value)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            event_type: String,
            #[diesel(sql_type = Jsonb)]
            data: Value,
        }
        use diesel_async::RunQueryDsl as _;
        sql_query(
            "SELECT event_type, data FROM event_logs WHERE starts_with(event_type, $1) ORDER BY seq",
        )
        .bind::<Text, _>(prefix)
        .load::<Row>(&mut self.connection().await)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.event_type, row.data))
        .collect()
    }

    /// Waits until the relay has dispatched every event logged so far. The
    /// durable subscribers of an event (the webhook fan-out, which writes the
    /// delivery jobs) commit with its `dispatched_at`: after this, whatever
    /// an event will ever be sent to has its job.
    pub async fn wait_for_dispatch(&self) {
        eventually("the relay to dispatch every event", || async {
            self.count("SELECT count(*) FROM event_logs WHERE dispatched_at IS NULL")
                .await
                == 0
        })
        .await;
    }

    /// The `hub-chantier` binary with only `DATABASE_URL` (the hub's) in its
    /// environment, for the CLI commands.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hub-chantier"));
        command
            .args(args)
            .env_clear()
            .env("DATABASE_URL", self.db.url());
        command
    }

    // -- receivers ----------------------------------------------------------

    /// A local receiver answering 200 "ok" to everything; webhooks may
    /// point at it when the hub was built with [`Builder::local_receivers`].
    pub async fn receiver(&self) -> Receiver {
        Receiver::ok().await
    }
}

/// Creates the first administrator the way `create-admin` does; returns its id.
async fn bootstrap_admin(database_url: &str) -> String {
    use hub_identity_application::{CreateAdmin, CreateAdminOutcome, IdentityPorts};
    use hub_identity_infrastructure::{
        Argon2Hasher, DieselUserRepository, InMemorySignInThrottle, NoTokens, SignInLimit,
    };
    use hub_platform_postgres::{Database, PoolSettings};

    let database = Database::connect(database_url, &PoolSettings::default()).unwrap();
    let outcome = CreateAdmin::new(IdentityPorts {
        users: Arc::new(DieselUserRepository::new(database.clone())),
        hasher: Arc::new(Argon2Hasher::new().unwrap()),
        tokens: Arc::new(NoTokens),
        throttle: Arc::new(InMemorySignInThrottle::new(SignInLimit::default())),
        clock: Arc::new(hub_kernel::SystemClock),
    })
    .execute(
        ADMIN_EMAIL.into(),
        ADMIN_PASSWORD.into(),
        "Admin".into(),
        "Hub".into(),
    )
    .await
    .unwrap();
    database.close();
    match outcome {
        CreateAdminOutcome::Created(user) => user.id().to_string(),
        CreateAdminOutcome::AlreadyExists => panic!("a fresh database already had an admin"),
    }
}
