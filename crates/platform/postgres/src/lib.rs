//! PostgreSQL platform shared by every infrastructure crate: the deadpool of
//! diesel-async connections ([`Database`]), the embedded migrations, and the
//! transactional outbox — [`outbox::append`] for repositories, the
//! [`OutboxRelay`] that publishes committed events on the bus, and the
//! [`DurableSubscriber`] hook for subscribers that write to the database.

mod database;
mod error;
pub mod migrations;
pub mod outbox;
mod relay;
pub mod retention;
pub mod schema;
mod write;

pub use database::{Database, PoolSettings};
pub use error::DbError;
pub use relay::{DurableError, DurableSubscriber, OutboxRelay, RelayConfig, RelayError};
pub use write::{WriteError, guarded, storage};

/// Re-exported so infrastructure crates name the same connection type.
pub use diesel_async::AsyncPgConnection;
