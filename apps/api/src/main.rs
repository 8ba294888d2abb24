//! The `hub-chantier` binary.

use anyhow::Context;
use clap::Parser;
use hub_chantier::cli::{Cli, Command};
use hub_chantier::config::Config;
use hub_chantier::{server, telemetry};

// A multi-threaded runtime: actix's server runs under it, and Diesel's
// migration harness must not run on a current-thread runtime.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env().context("invalid configuration")?;
    telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(config).await,
        Command::Migrate => {
            let applied = hub_platform_postgres::migrations::run_pending(&config.database_url)
                .await
                .context("migrations failed")?;
            tracing::info!(count = applied.len(), ?applied, "migrations applied");
            Ok(())
        }
    }
}
