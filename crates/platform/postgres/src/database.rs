//! The connection pool and the write path that wakes the outbox relay.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{Hook, HookError};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use tokio::sync::Notify;

use crate::DbError;

/// Sizing and time limits of the pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a caller waits for a free connection before failing.
    pub wait_timeout: Duration,
    /// How long opening a new connection may take.
    pub connect_timeout: Duration,
    /// A connection left unused this long is checked with a query before
    /// it is handed out again; one in steady use is not (see
    /// [`Database::connect`]).
    pub verify_after_idle: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            verify_after_idle: Duration::from_secs(1),
        }
    }
}

/// A pool of PostgreSQL connections plus the signal that wakes the outbox
/// relay of this process when a transaction that wrote events commits.
/// Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool<AsyncPgConnection>,
    outbox_signal: Arc<Notify>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("Database")
            .field("size", &status.size)
            .field("available", &status.available)
            .finish()
    }
}

impl Database {
    /// Builds the pool. Connections are opened lazily, so this succeeds even
    /// while the server is down; [`Database::ping`] tells whether it is up.
    pub fn connect(url: &str, settings: &PoolSettings) -> Result<Self, DbError> {
        // A test query at every checkout (diesel-async's default) costs a
        // round trip per transaction: three and more per event on the
        // delivery path. A connection in steady use needs none: a failed
        // query marks it broken, and recycling drops broken ones. A
        // connection idle for a while may have died with the server
        // (restart, failover, idle timeout), so it is checked first, and
        // the first request after a restart does not get a dead one.
        let mut config = ManagerConfig::default();
        config.recycling_method = RecyclingMethod::Fast;
        // Each connection's I/O is driven by a task spawned where it was
        // opened. Opened by an HTTP worker (a runtime of one thread per
        // worker), its every round trip, whoever made it (the relay, the
        // delivery workers), woke that worker's thread, and waited while
        // that thread was busy with a request. Opened on the runtime that
        // built the pool, the background work's round trips stay on its
        // threads: 15 % fewer context switches per event at 200 events/s
        // on the delivery yardstick (docs/PERFORMANCE.md).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            config.custom_setup = Box::new(move |url: &str| {
                let url = url.to_owned();
                let opened = runtime.spawn(async move { AsyncPgConnection::establish(&url).await });
                Box::pin(async move {
                    opened.await.map_err(|e| {
                        diesel::ConnectionError::BadConnection(format!(
                            "the runtime that opens connections is gone: {e}"
                        ))
                    })?
                })
            });
        }
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let (idle, timeout) = (settings.verify_after_idle, settings.connect_timeout);
        let verify = Hook::async_fn(move |conn: &mut AsyncPgConnection, metrics| {
            Box::pin(async move {
                if metrics.last_used() < idle {
                    return Ok(());
                }
                let check = diesel::sql_query("SELECT 1").execute(conn);
                match tokio::time::timeout(timeout, check).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(HookError::message(error.to_string())),
                    Err(_) => Err(HookError::message("no answer to the idle check")),
                }
            })
        });
        let pool = Pool::builder(manager)
            .pre_recycle(verify)
            .max_size(settings.max_size)
            .wait_timeout(Some(settings.wait_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .recycle_timeout(Some(settings.connect_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Build(e.to_string()))?;
        Ok(Self {
            pool,
            outbox_signal: Arc::new(Notify::new()),
        })
    }

    /// A connection from the pool, returned to it when dropped.
    pub async fn connection(&self) -> Result<Object<AsyncPgConnection>, DbError> {
        Ok(self.pool.get().await?)
    }

    /// A connection of the caller's own, taken out of the pool for good (it
    /// no longer counts against the pool's size): for a session that must
    /// outlive a checkout, such as one that `LISTEN`s.
    pub async fn detached_connection(&self) -> Result<AsyncPgConnection, DbError> {
        Ok(Object::take(self.pool.get().await?))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.connection().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok(())
    }

    /// Runs `work` in one transaction and, once it has committed, wakes the
    /// outbox relay so the events it appended are published without waiting
    /// for the next poll. Repositories write their aggregate and call
    /// [`crate::outbox::append`] inside `work`.
    pub async fn write<R, E, F>(&self, work: F) -> Result<R, E>
    where
        F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, Result<R, E>> + Send,
        E: From<DbError> + From<diesel::result::Error> + Send,
        R: Send,
    {
        let mut conn = self.connection().await.map_err(E::from)?;
        let result = conn.transaction(async move |conn| work(conn).await).await;
        if result.is_ok() {
            self.outbox_signal.notify_one();
        }
        result
    }

    /// The signal [`Database::write`] raises after each commit.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox_signal)
    }

    /// Wakes the relay, for writers that manage their own transaction.
    pub fn notify_outbox(&self) {
        self.outbox_signal.notify_one();
    }

    /// Closes the pool: idle connections are dropped and no new ones are made.
    pub fn close(&self) {
        self.pool.close();
    }
}
