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
    /// Create the first administrator (does nothing if the email exists).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (first line), so that it
        /// never appears in the shell history or the process list.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "Administrateur")]
        nom: String,
        #[arg(long, default_value = "Hub")]
        prenom: String,
    },
    /// Print the OpenAPI document (JSON) on standard output.
    Openapi,
    /// Print the event catalog page, `docs/EVENTS.md` (Markdown), on
    /// standard output: every event type, its data fields, an example.
    EventsDoc,
    /// Delete webhook delivery attempts older than N days (and the finished
    /// deliveries they belong to), as the daily retention job does. Prints
    /// JSON: `{"deleted": n, "cutoff": …, "dry_run": false}`, or with
    /// `--dry-run` `{"would_delete": n, …, "dry_run": true}`.
    CleanupDeliveries {
        /// Keep this many days of attempts (1 to 3650).
        #[arg(long, allow_negative_numbers = true)]
        retention_days: i64,
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Publish persisted events again: marks them undispatched so that the
    /// relays of the running servers re-publish them (same event ids;
    /// webhook fan-out does not deliver twice). Prints JSON.
    ReplayEvents {
        /// RFC 3339 instant: events that occurred at or after it.
        #[arg(long)]
        since: String,
        /// Topic pattern of the event types to replay, e.g. `chantier.*`.
        #[arg(long = "type")]
        event_type: Option<String>,
    },
}
