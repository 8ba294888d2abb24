//! The `hub-chantier` binary.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use hub_chantier::cli::{Cli, Command};
use hub_chantier::config::{Config, LogFormat, database_url_from_env};
use hub_chantier::{events_doc, listen, openapi, server, telemetry};
use hub_identity_application::{CreateAdmin, CreateAdminOutcome, CreateUserError, IdentityPorts};
use hub_identity_infrastructure::{
    Argon2Hasher, DieselUserRepository, InMemorySignInThrottle, NoTokens, SignInLimit,
};
use hub_kernel::SystemClock;
use hub_platform_postgres::{Database, PoolSettings, migrations};

// A multi-threaded runtime: actix's server runs under it, and Diesel's
// migration harness must not run on a current-thread runtime.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = Config::from_env().context("invalid configuration")?;
            telemetry::init(config.log_format);
            server::serve(config).await
        }
        Command::Migrate => {
            telemetry::init(LogFormat::Json);
            let url = database_url_from_env()?;
            let applied = migrations::run_pending(&url)
                .await
                .context("migrations failed")?;
            tracing::info!(count = applied.len(), ?applied, "migrations applied");
            Ok(())
        }
        Command::CreateAdmin {
            email,
            password_stdin,
            nom,
            prenom,
        } => {
            telemetry::init(LogFormat::Json);
            let password = read_password(&email, password_stdin)?;
            create_admin(email, password, nom, prenom).await
        }
        Command::Listen {
            port,
            secret,
            status,
            fail_every,
        } => {
            let secret = secret
                .map(|raw| {
                    hub_webhook_signature::WebhookSecret::parse(raw.trim())
                        .map_err(|e| anyhow::anyhow!("--secret is not a webhook secret: {e}"))
                })
                .transpose()?;
            let status = actix_web::http::StatusCode::from_u16(status)
                .with_context(|| format!("--status {status} is not an HTTP status"))?;
            listen::run(listen::ListenOptions {
                port,
                secret,
                status,
                fail_every,
            })
            .await
        }
        Command::ReplayEvents { since, event_type } => {
            telemetry::init(LogFormat::Json);
            replay_events(&since, event_type.as_deref()).await
        }
        Command::CleanupDeliveries {
            retention_days,
            dry_run,
        } => {
            telemetry::init(LogFormat::Json);
            cleanup_deliveries(retention_days, dry_run).await
        }
        Command::Openapi => {
            let document = openapi::document()
                .to_pretty_json()
                .context("cannot serialise the OpenAPI document")?;
            #[allow(clippy::print_stdout)]
            {
                println!("{document}");
            }
            Ok(())
        }
        Command::EventsDoc => {
            let page = events_doc::document().context("cannot generate the event catalog page")?;
            #[allow(clippy::print_stdout)]
            {
                print!("{page}");
            }
            Ok(())
        }
    }
}

/// The administrator's password: typed twice on the terminal without echo
/// (`rpassword`), or the first line of standard input when it is not a
/// terminal (a pipe, a script) or `--password-stdin` is given.
fn read_password(email: &str, from_stdin: bool) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut password = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut password)
            .context("cannot read the password from standard input")?;
        return Ok(password.trim_end_matches(['\r', '\n']).to_owned());
    }
    let password = rpassword::prompt_password(format!("Password for {email}: "))
        .context("cannot read the password from the terminal")?;
    let again = rpassword::prompt_password("Same password again: ")
        .context("cannot read the password from the terminal")?;
    if password != again {
        bail!("the two passwords differ: nothing was created");
    }
    Ok(password)
}

async fn create_admin(
    email: String,
    password: String,
    nom: String,
    prenom: String,
) -> anyhow::Result<()> {
    let url = database_url_from_env()?;
    migrations::run_pending(&url)
        .await
        .context("migrations failed")?;
    let database = Database::connect(&url, &PoolSettings::default())?;
    let hasher = Argon2Hasher::new()?;
    let bootstrap = CreateAdmin::new(IdentityPorts {
        users: Arc::new(DieselUserRepository::new(database.clone())),
        hasher: Arc::new(hasher),
        // Nobody signs in here.
        tokens: Arc::new(NoTokens),
        throttle: Arc::new(InMemorySignInThrottle::new(SignInLimit::default())),
        clock: Arc::new(SystemClock),
    });
    let outcome = bootstrap
        .execute(email.clone(), password, nom, prenom)
        .await;
    database.close();
    match outcome {
        Ok(CreateAdminOutcome::Created(user)) => {
            eprintln!("administrator {} created (id {})", user.email(), user.id());
            Ok(())
        }
        Ok(CreateAdminOutcome::AlreadyExists) => {
            eprintln!("a user with the email {email} already exists: nothing to do");
            Ok(())
        }
        Err(CreateUserError::Invalid(errors)) => bail!("invalid administrator: {errors}"),
        Err(error) => Err(error.into()),
    }
}

async fn replay_events(since: &str, event_type: Option<&str>) -> anyhow::Result<()> {
    let since_at =
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
            .with_context(|| {
                format!("--since `{since}` is not an RFC 3339 instant such as 2026-11-26T00:00:00Z")
            })?;
    let pattern = event_type
        .map(|raw| {
            hub_kernel::TopicPattern::parse(raw).map_err(|e| anyhow::anyhow!("--type `{raw}` {e}"))
        })
        .transpose()?;
    let url = database_url_from_env()?;
    let database = Database::connect(&url, &PoolSettings::default())?;
    let mut conn = database.connection().await?;
    let marked =
        hub_platform_postgres::outbox::mark_for_replay(&mut conn, since_at, pattern.as_ref())
            .await
            .context("cannot mark events for replay")?;
    drop(conn);
    database.close();
    let report = serde_json::json!({
        "marked": marked,
        "since": since,
        "type": event_type.unwrap_or("*"),
    });
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }
    Ok(())
}

async fn cleanup_deliveries(retention_days: i64, dry_run: bool) -> anyhow::Result<()> {
    let days = u32::try_from(retention_days)
        .ok()
        .filter(|days| (1..=3650).contains(days))
        .with_context(|| {
            format!("--retention-days must be a number of days between 1 and 3650 (got {retention_days})")
        })?;
    let url = database_url_from_env()?;
    let database = Database::connect(&url, &PoolSettings::default())?;
    let now = time::OffsetDateTime::now_utc();
    let report = hub_chantier::ops::retention::cleanup_deliveries(&database, days, now, dry_run)
        .await
        .context("cannot clean up webhook deliveries");
    database.close();
    #[allow(clippy::print_stdout)]
    {
        println!("{}", report?);
    }
    Ok(())
}
