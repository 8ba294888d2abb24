//! PostgreSQL platform shared by every infrastructure crate: the deadpool of
//! diesel-async connections ([`Database`]), the embedded migrations, and the
//! transactional outbox — [`outbox::append`] for repositories, the
//! [`OutboxRelay`] that publishes committed events on the bus, the
//! [`DurableSubscriber`] hook for subscribers that write to the database,
//! and [`Projection`]s: read models a context keeps from others' events —
//! plus what every repository's writes share ([`WriteError`], [`guarded`],
//! and the [`insert_with_events!`], [`update_with_events!`] and
//! [`delete_with_events!`] writes of an aggregate with its events) and raw
//! SQL kept prepared per connection ([`statement`]).

mod aggregate_writes;
mod database;
mod error;
pub mod jobs;
pub mod migrations;
pub mod outbox;
mod projection;
mod relay;
pub mod retention;
pub mod schema;
pub mod statement;
mod write;

pub use aggregate_writes::pipelined;
pub use database::{Database, PoolSettings};
pub use error::DbError;
pub use projection::{Projection, Projections, Projector};
pub use relay::{
    DurableError, DurableSubscriber, OutboxRelay, RelayConfig, RelayError, RelayedEvent,
};
pub use write::{WriteError, guarded, storage};

/// What the write macros name, so their callers need no direct dependency.
#[doc(hidden)]
pub mod __private {
    pub use diesel;
    pub use diesel_async;
}

/// Re-exported so infrastructure crates name the same connection type.
pub use diesel_async::AsyncPgConnection;
