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
    /// The password is asked on the terminal, without echo, twice; when
    /// standard input is not a terminal (or with `--password-stdin`) it is
    /// its first line. It never appears in the shell history or the
    /// process list.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (first line) even on a
        /// terminal.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "Administrateur")]
        nom: String,
        #[arg(long, default_value = "Hub")]
        prenom: String,
    },
    /// A local webhook receiver for development: prints each delivery
    /// (event type, webhook-id, timestamp, pretty JSON body), verifies its
    /// signature when given the webhook's secret and says why it fails,
    /// and answers with a chosen status to watch retries.
    Listen {
        /// Port on 127.0.0.1 (0 picks a free one, printed at start-up).
        #[arg(long, default_value_t = 9000)]
        port: u16,
        /// The webhook's signing secret (`whsec_…`, shown when it was
        /// created): each delivery's signature is then verified.
        #[arg(long, env = "HUB_LISTEN_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Status of the answers (e.g. 500 to make every delivery fail
        /// and watch the retries).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(200..=599))]
        status: u16,
        /// Answer 500 to every N-th request (the N-th, the 2N-th…), the
        /// chosen status to the others.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        fail_every: Option<u64>,
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
