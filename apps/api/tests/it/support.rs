//! Shared harness: a real server on a private database, and an HTTP client.

use std::collections::HashMap;
use std::time::Duration;

use hub_chantier::config::Config;
use hub_chantier::server::Application;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// base64 of 32 bytes.
pub const WEBHOOK_SECRETS_KEY: &str = "dGVzdC13ZWJob29rLXNlY3JldHMta2V5LTMyLWJ5dGU=";

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn config(database_url: &str) -> Config {
    config_with(database_url, &[])
}

/// The test configuration plus `extra` variables.
pub fn config_with(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars = HashMap::from([
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
        (
            "WEBHOOK_SECRETS_KEY".to_owned(),
            WEBHOOK_SECRETS_KEY.to_owned(),
        ),
        ("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        // Tests run in parallel: each metrics listener on a free port.
        ("METRICS_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("SHUTDOWN_TIMEOUT".to_owned(), "5s".to_owned()),
        ("LOG_FORMAT".to_owned(), "pretty".to_owned()),
    ]);
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Config::from_lookup(move |name| vars.get(name).cloned()).unwrap()
}

pub struct Running {
    pub base: String,
    /// `http://…` of the metrics listener, unless `METRICS_ADDR=off`.
    pub metrics: Option<String>,
    /// What the daily retention job of this server cleans.
    pub retention: Vec<hub_platform_postgres::retention::Retained>,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn start(database_url: &str) -> Running {
    let app = Application::build(config(database_url)).await.unwrap();
    run(app)
}

fn run(app: Application) -> Running {
    let base = format!("http://{}", app.local_addr());
    let metrics = app.metrics_addr().map(|addr| format!("http://{addr}"));
    let retention = app.retention_targets().to_vec();
    let handle = app.handle();
    let task = tokio::spawn(app.run());
    Running {
        base,
        metrics,
        retention,
        handle,
        task,
    }
}

impl Running {
    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.task.await.unwrap().unwrap();
    }
}

/// Starts the application with `extra` configuration variables.
pub async fn start_with(database_url: &str, extra: &[(&str, &str)]) -> Running {
    let app = Application::build(config_with(database_url, extra))
        .await
        .unwrap();
    run(app)
}

/// Starts the application with `extra` configuration variables and test
/// seams (e.g. a fixture DNS resolver for webhook destinations).
pub async fn start_with_overrides(
    database_url: &str,
    extra: &[(&str, &str)],
    overrides: hub_chantier::server::Overrides,
) -> Running {
    let app = Application::build_with(config_with(database_url, extra), overrides)
        .await
        .unwrap();
    run(app)
}

pub const ADMIN_EMAIL: &str = "admin@hub-chantier.test";
pub const ADMIN_PASSWORD: &str = "mot-de-passe-admin-1";

/// Creates the first administrator the way `create-admin` does.
pub async fn bootstrap_admin(database_url: &str) {
    use hub_identity_application::{CreateAdmin, CreateAdminOutcome};
    use hub_identity_infrastructure::{Argon2Hasher, DieselUserRepository};
    use hub_platform_postgres::{Database, PoolSettings};
    use std::sync::Arc;

    let database = Database::connect(database_url, &PoolSettings::default()).unwrap();
    let outcome = CreateAdmin::new(
        Arc::new(DieselUserRepository::new(database.clone())),
        Arc::new(Argon2Hasher::new().unwrap()),
        Arc::new(hub_kernel::SystemClock),
    )
    .execute(
        ADMIN_EMAIL.into(),
        ADMIN_PASSWORD.into(),
        "Admin".into(),
        "Hub".into(),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, CreateAdminOutcome::Created(_)));
    database.close();
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `path` on the metrics listener.
    pub fn metrics_url(&self, path: &str) -> String {
        let base = self.metrics.as_deref().expect("the metrics listener is on");
        format!("{base}{path}")
    }

    /// Signs in and returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = http()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login of {email}");
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user through the API (as `admin_token`) and returns its id.
    pub async fn create_user(&self, admin_token: &str, email: &str, role: &str) -> String {
        let response = http()
            .post(self.url("/api/v1/users"))
            .bearer_auth(admin_token)
            .json(&serde_json::json!({
                "email": email, "password": "mot-de-passe-long-1", "nom": "Durand",
                "prenom": "Lea", "role": role, "type_utilisateur": "employe"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create {email}");
        let body: serde_json::Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }
}
