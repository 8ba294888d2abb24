//! Command line of the `hub-chantier` binary.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "hub-chantier", version, about = "Hub Chantier backend")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and its background workers (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
}
