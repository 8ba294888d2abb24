//! Test support: every test gets its own PostgreSQL database, cloned from a
//! template migrated once per set of migrations, so tests run in parallel
//! (nextest runs each in its own process) and never see each other's rows.
//!
//! The server comes from `DATABASE_URL` when it is set (`make test` sets it).
//! When it is not — plain `cargo test` on a fresh clone — the project-local
//! cluster that `make test` uses is provisioned (or reused) through
//! `apps/api/scripts/dev-db.sh`: once per test process, under a file lock so
//! that concurrent test binaries do not race to `initdb` or start it twice.
//! A test that can reach neither fails loudly: a database test that silently
//! passes without a database proves nothing.

#![allow(clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use hub_platform_postgres::{Database, PoolSettings, migrations};
use url::Url;
use uuid::Uuid;

/// Serialises template creation across test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x4855_425f_5445_5354; // "HUB_TEST"
const TEST_DB_PREFIX: &str = "hub_test_";
const TEMPLATE_PREFIX: &str = "hub_tpl_";
/// Templates of other migration sets kept besides the current one.
const TEMPLATES_KEPT: usize = 6;
/// Test databases left behind by killed runs are dropped after this long.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A private, migrated database, dropped when the value is dropped.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    database: Database,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish()
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

impl TestDatabase {
    /// Creates the database. Panics with an explanation when no server is
    /// configured or reachable.
    pub async fn new() -> Self {
        Self::with_pool(PoolSettings {
            max_size: 8,
            ..PoolSettings::default()
        })
        .await
    }

    /// Same as [`TestDatabase::new`] with a chosen pool configuration.
    pub async fn with_pool(settings: PoolSettings) -> Self {
        Self::on_server(server_url(), settings).await
    }

    /// A database on the server at `admin_url` (a URL whose user may create
    /// databases), rather than on [`server_url`].
    pub async fn on_server(admin_url: &str, settings: PoolSettings) -> Self {
        let admin_url = admin_url.to_owned();
        let template = format!("{TEMPLATE_PREFIX}{}", migrations::FINGERPRINT);
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server ({admin_url}): {e}"));
        ensure_template(&mut admin, &admin_url, &template).await;

        let name = format!("{TEST_DB_PREFIX}{}", Uuid::now_v7().simple());
        retry_while_busy(
            &mut admin,
            &format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#),
        )
        .await;
        let url = database_url(&admin_url, &name);
        let database = Database::connect(&url, &settings).expect("test pool");
        Self {
            name,
            url,
            admin_url,
            database,
        }
    }

    /// The pool of this test's database.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The URL of this test's database (e.g. to start a server on it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the server this database lives on (to create or drop
    /// databases beside it).
    pub fn server_url(&self) -> &str {
        &self.admin_url
    }

    /// Takes the schema back to what it was before migration `version`
    /// (e.g. `"20261206000002"`): that migration and every later one are
    /// reverted, as on a database of the release before it. Running the
    /// pending migrations then replays them on whatever the test wrote.
    pub async fn revert_through(&self, version: &'static str) {
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        use diesel_migrations::MigrationHarness as _;

        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                    .expect("migration connection");
            while conn
                .revert_last_migration(migrations::MIGRATIONS)
                .unwrap_or_else(|e| panic!("cannot revert back to {version}: {e}"))
                .to_string()
                != version
            {}
        })
        .await
        .expect("revert task");
    }

    /// A new, independent pool on the same database: another "process".
    pub fn second_pool(&self) -> Database {
        Database::connect(&self.url, &PoolSettings::default()).expect("second pool")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("HUB_KEEP_TEST_DB").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        self.database.close();
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop cannot await; a short-lived thread with its own runtime can.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                sql_query(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
                    .execute(&mut admin)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(error)) | Err(error) = dropped.map_err(|_| "panicked".to_string()) {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

/// The server every test database is created on: `DATABASE_URL` when it is
/// set, otherwise the project-local cluster (provisioned on first use in this
/// process, see [`provision_local_cluster`]). Panics with an explanation when
/// neither is available.
pub fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => provision_local_cluster().unwrap_or_else(|error| {
            panic!(
                "DATABASE_URL is not set, and the project-local PostgreSQL could not be \
                 provisioned instead: {error}\n\
                 Install the PostgreSQL server binaries (see README.md, Requirements) or set \
                 DATABASE_URL to a server where this user may create databases."
            )
        }),
    })
}

/// Why the project-local cluster could not be provisioned.
#[derive(Debug)]
pub struct ProvisionError(String);

impl std::fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProvisionError {}

/// The workspace root, found from this crate's location at build time.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Starts (initialising it on first use) the project-local cluster of
/// `apps/api/scripts/dev-db.sh` — the one `make test` and `make run` use,
/// under `<repo>/.data/`, on `127.0.0.1:${HUB_PG_PORT:-54329}` — and returns
/// its URL. `DATABASE_URL` is not passed to the script (which would
/// otherwise echo it back).
///
/// Concurrent test binaries (nextest runs many at once) take
/// `<repo>/.data/test-db.lock` in turn: the first one initialises and starts
/// the cluster, the next ones find it running (the script is idempotent and
/// answers in milliseconds then). The script takes its own lock too, but
/// only where `flock(1)` exists; this one holds everywhere.
///
/// # Errors
/// When the script is missing, fails (no PostgreSQL binaries, port taken…:
/// its messages are in the error) or prints no URL.
pub fn provision_local_cluster() -> Result<String, ProvisionError> {
    let root = workspace_root();
    let script = root.join("apps/api/scripts/dev-db.sh");
    if !script.is_file() {
        return Err(ProvisionError(format!("{} not found", script.display())));
    }
    let data = root.join(".data");
    std::fs::create_dir_all(&data)
        .map_err(|e| ProvisionError(format!("cannot create {}: {e}", data.display())))?;
    let lock_path = data.join("test-db.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ProvisionError(format!("cannot open {}: {e}", lock_path.display())))?;
    lock.lock()
        .map_err(|e| ProvisionError(format!("cannot lock {}: {e}", lock_path.display())))?;
    let output = Command::new("bash")
        .arg(&script)
        .arg("url")
        .env_remove("DATABASE_URL")
        .output();
    // Released as soon as the cluster is up: the next binary only checks it.
    drop(lock);
    let output =
        output.map_err(|e| ProvisionError(format!("cannot run {}: {e}", script.display())))?;
    let messages = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(ProvisionError(format!(
            "{} url failed ({}):\n{}",
            script.display(),
            output.status,
            messages.trim_end()
        )));
    }
    if !messages.trim().is_empty() {
        // What the script did (e.g. "initialising a PostgreSQL 16 cluster"):
        // shown with the test's output when it fails.
        eprintln!("{}", messages.trim_end());
    }
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !url.starts_with("postgres://") {
        return Err(ProvisionError(format!(
            "{} url printed no PostgreSQL URL (got {url:?}):\n{}",
            script.display(),
            messages.trim_end()
        )));
    }
    Ok(url)
}

async fn ensure_template(admin: &mut AsyncPgConnection, admin_url: &str, template: &str) {
    sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})"))
        .execute(admin)
        .await
        .expect("template lock");
    // Newest first (oids grow), so that only old templates are dropped.
    let existing: Vec<Name> = sql_query(
        "SELECT datname::text AS datname FROM pg_database \
         WHERE datname LIKE 'hub\\_tpl\\_%' OR datname LIKE 'hub\\_test\\_%' \
         ORDER BY oid DESC",
    )
    .load(admin)
    .await
    .expect("list databases");

    // Other migration sets' templates are kept while they are among the
    // newest few: checkouts of several branches (or a branch switch and
    // back) on one server would otherwise drop each other's templates,
    // and with them the tests running on them.
    let mut templates_kept = 0;
    for old in &existing {
        let is_other_template = old.datname.starts_with(TEMPLATE_PREFIX)
            && old.datname != template
            && !old.datname.ends_with("_building");
        let is_old_template = is_other_template && {
            templates_kept += 1;
            templates_kept > TEMPLATES_KEPT
        };
        if is_old_template || is_stale_test_database(&old.datname) {
            drop_database(admin, &old.datname).await;
        }
    }

    if !existing.iter().any(|d| d.datname == template) {
        // Built under another name and renamed when complete, so a run that
        // dies half-way never leaves a half-migrated template behind.
        let building = format!("{template}_building");
        drop_database(admin, &building).await;
        sql_query(format!(r#"CREATE DATABASE "{building}""#))
            .execute(admin)
            .await
            .expect("create template database");
        migrations::run_pending(&database_url(admin_url, &building))
            .await
            .unwrap_or_else(|e| panic!("migrating the test template failed: {e}"));
        retry_while_busy(
            admin,
            &format!(r#"ALTER DATABASE "{building}" RENAME TO "{template}""#),
        )
        .await;
        sql_query(format!(
            r#"ALTER DATABASE "{template}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"#
        ))
        .execute(admin)
        .await
        .expect("mark template");
    }

    sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})"))
        .execute(admin)
        .await
        .expect("template unlock");
}

async fn drop_database(admin: &mut AsyncPgConnection, name: &str) {
    let exists: Count = sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result(admin)
        .await
        .expect("look up database");
    if exists.count == 0 {
        return;
    }
    // A template cannot be dropped until it is an ordinary database again.
    sql_query(format!(r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE false"#))
        .execute(admin)
        .await
        .expect("unmark template");
    sql_query(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .execute(admin)
        .await
        .unwrap_or_else(|e| panic!("drop database {name}: {e}"));
}

/// `CREATE DATABASE … TEMPLATE` and `RENAME` fail while a backend is still
/// leaving the source database; it leaves within moments.
async fn retry_while_busy(admin: &mut AsyncPgConnection, statement: &str) {
    let mut attempts = 0;
    loop {
        match sql_query(statement).execute(admin).await {
            Ok(_) => return,
            Err(error)
                if attempts < 50 && error.to_string().contains("being accessed by other users") =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("`{statement}` failed: {error}"),
        }
    }
}

fn is_stale_test_database(name: &str) -> bool {
    let Some(id) = name
        .strip_prefix(TEST_DB_PREFIX)
        .and_then(|hex| Uuid::try_parse(hex).ok())
    else {
        return false;
    };
    let Some((seconds, _)) = id.get_timestamp().map(|ts| ts.to_unix()) else {
        return false;
    };
    let created = std::time::UNIX_EPOCH + Duration::from_secs(seconds);
    created
        .elapsed()
        .map(|age| age > STALE_AFTER)
        .unwrap_or(false)
}

/// `base` with its database name replaced by `name`.
fn database_url(base: &str, name: &str) -> String {
    let mut url = Url::parse(base).unwrap_or_else(|e| panic!("DATABASE_URL is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_swaps_only_the_database_name() {
        assert_eq!(
            database_url(
                "postgres://postgres@127.0.0.1:54329/hub_chantier?sslmode=disable",
                "t1"
            ),
            "postgres://postgres@127.0.0.1:54329/t1?sslmode=disable"
        );
    }

    #[test]
    fn concurrent_provisioning_shares_one_local_cluster() {
        // Four "test binaries" at once, each with its own lock file handle:
        // one initialises or starts the cluster, the others find it running.
        let urls: Vec<String> = (0..4)
            .map(|_| std::thread::spawn(provision_local_cluster))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().expect("thread").expect("provisioned"))
            .collect();
        assert!(
            urls[0].starts_with("postgres://postgres@127.0.0.1:"),
            "{}",
            urls[0]
        );
        assert!(urls[0].ends_with("/hub_chantier"), "{}", urls[0]);
        assert!(urls.iter().all(|url| *url == urls[0]), "{urls:?}");
    }

    #[test]
    fn a_test_database_is_created_on_the_provisioned_cluster() {
        let server = provision_local_cluster().expect("provisioned");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let test_db = TestDatabase::on_server(&server, PoolSettings::default()).await;
            assert_eq!(test_db.server_url(), server);
            let mut conn = AsyncPgConnection::establish(test_db.url())
                .await
                .expect("connect to the test database");
            // Migrated: the template carries the schema.
            let tables: Count =
                sql_query("SELECT count(*) AS count FROM pg_tables WHERE tablename = 'event_logs'")
                    .get_result(&mut conn)
                    .await
                    .expect("query");
            assert_eq!(tables.count, 1);
        });
    }

    #[test]
    fn only_old_test_databases_are_stale() {
        assert!(!is_stale_test_database(&format!(
            "{TEST_DB_PREFIX}{}",
            Uuid::now_v7().simple()
        )));
        let old = Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_000_000, 0));
        assert!(is_stale_test_database(&format!(
            "{TEST_DB_PREFIX}{}",
            old.simple()
        )));
        assert!(!is_stale_test_database("hub_chantier"));
    }
}
