//! The users this instance authenticates, kept briefly in memory so that an
//! authenticated request costs no database round trip, and forgotten the
//! moment a change of them commits, wherever it was made.
//!
//! Every committed `UPDATE` or `DELETE` of a user notifies `users_changed`
//! (a trigger: no write path can forget it); [`listen`] hears it on a
//! connection of its own and forgets that user. The repository also forgets
//! a user it has just written, so that this instance never answers from the
//! copy the write replaced, not even for the instant the notification takes.
//! While nobody listens (before the first `LISTEN`, after the connection
//! broke, until it is back), nothing is cached: every lookup reads the
//! database, as without a cache (`docs/decisions/user-cache.md`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hub_identity_domain::User;
use hub_platform_postgres::{AsyncPgConnection, Database, DbError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel the `users_changed` trigger notifies, the user's id as payload.
pub const USERS_CHANGED: &str = "users_changed";

/// The listening connection's `application_name`.
pub const LISTENER_NAME: &str = "hub identity user cache";

/// How often the listening connection is asked whether it is still there
/// (a connection cut without a word would otherwise go unnoticed).
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// How long that check may take before the connection is given up.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// First wait before listening again after a failure; doubles up to a minute.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Recently authenticated users, by id.
pub struct UserCache {
    entries: std::sync::Mutex<HashMap<Uuid, Entry>>,
    /// Raised by every forget: a lookup that read the database before it
    /// may have read the row the forget is about, so it stores nothing.
    generation: AtomicU64,
    /// Whether a listener hears `users_changed` now.
    live: AtomicBool,
    ttl: Duration,
    capacity: usize,
}

/// Counts only: the users themselves (emails, password hashes) stay out
/// of any log that prints a repository.
impl std::fmt::Debug for UserCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCache")
            .field("cached", &self.entries().len())
            .field("live", &self.is_live())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

struct Entry {
    user: User,
    stored: Instant,
}

impl UserCache {
    /// A cache whose entries live at most `ttl` and which holds at most
    /// `capacity` users (beyond, lookups go to the database uncached).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: std::sync::Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
            ttl,
            capacity,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether changes are being heard, hence whether anything is cached.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// The user `id` as cached, if it was cached less than `ttl` ago.
    pub fn get(&self, id: Uuid) -> Option<User> {
        if !self.is_live() {
            return None;
        }
        let entries = self.entries();
        entries
            .get(&id)
            .filter(|entry| entry.stored.elapsed() < self.ttl)
            .map(|entry| entry.user.clone())
    }

    /// Where forgetting stands; take it before reading the database and
    /// hand it to [`UserCache::store`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps `user`, read from the database after [`UserCache::generation`]
    /// answered `generation`, unless a change was heard since (the copy
    /// may predate it) or nobody listens.
    pub fn store(&self, user: &User, generation: u64) {
        let mut entries = self.entries();
        // Checked under the lock: a forget raises the generation before it
        // takes the lock, so either this sees the raise, or the forget
        // removes what this inserts.
        if !self.is_live() || self.generation() != generation {
            return;
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| entry.stored.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                return;
            }
        }
        entries.insert(
            user.id(),
            Entry {
                user: user.clone(),
                stored: Instant::now(),
            },
        );
    }

    /// Forgets the user `id` (it changed).
    pub fn forget(&self, id: Uuid) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries().remove(&id);
    }

    fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries().clear();
    }

    /// Starts or stops caching. Either way, what was cached goes: before
    /// listening began (or while it was down), changes went unheard.
    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        self.forget_all();
    }
}

/// Why listening stopped.
#[derive(Debug, thiserror::Error)]
enum ListenError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("the listening connection closed")]
    Closed,
    #[error("the listening connection did not answer its check")]
    Silent,
}

/// Listens to `users_changed` on a connection of its own and forgets each
/// user named, until `shutdown`; caches only while it listens, and listens
/// again after a failure, backing off.
pub async fn listen(cache: Arc<UserCache>, db: Database, shutdown: CancellationToken) {
    let mut retry = RETRY_FIRST;
    while !shutdown.is_cancelled() {
        let outcome = hear(&cache, &db, &shutdown).await;
        let was_live = cache.is_live();
        cache.set_live(false);
        match outcome {
            Ok(()) => break,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?retry, "user cache: not listening to user changes; every authentication reads the database meanwhile");
                if was_live {
                    retry = RETRY_FIRST;
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// One listening session: `Ok` on shutdown, the reason it ended otherwise.
async fn hear(
    cache: &UserCache,
    db: &Database,
    shutdown: &CancellationToken,
) -> Result<(), ListenError> {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = db.detached_connection().await?;
    // Named, so that an operator sees what holds it (`pg_stat_activity`).
    conn.batch_execute(&format!(
        "SET application_name = '{LISTENER_NAME}'; LISTEN {USERS_CHANGED}"
    ))
    .await?;
    cache.set_live(true);
    tracing::debug!("user cache: listening to user changes");
    loop {
        let heard = {
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                next = notifications.next() => Some(next),
                () = tokio::time::sleep(CHECK_EVERY) => None,
            }
        };
        match heard {
            Some(Some(Ok(notification))) => match notification.payload.parse::<Uuid>() {
                Ok(id) => cache.forget(id),
                // Not ours to read: forget everyone rather than guess.
                Err(_) => cache.forget_all(),
            },
            Some(Some(Err(error))) => return Err(error.into()),
            Some(None) => return Err(ListenError::Closed),
            None => check(&mut conn).await?,
        }
    }
}

async fn check(conn: &mut AsyncPgConnection) -> Result<(), ListenError> {
    use diesel_async::RunQueryDsl;
    match tokio::time::timeout(CHECK_TIMEOUT, diesel::sql_query("SELECT 1").execute(conn)).await {
        Ok(done) => done.map(drop).map_err(ListenError::from),
        Err(_) => Err(ListenError::Silent),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hub_identity_domain::{Email, NewUser, PasswordHash, PersonName, TypeUtilisateur};
    use hub_kernel::Role;
    use time::OffsetDateTime;

    use super::*;

    fn user(email: &str) -> User {
        User::register(
            NewUser {
                email: Email::parse(email).unwrap(),
                nom: PersonName::parse("Durand").unwrap(),
                prenom: PersonName::parse("Léa").unwrap(),
                role: Role::Conducteur,
                type_utilisateur: TypeUtilisateur::Employe,
                metier: None,
            },
            PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            OffsetDateTime::now_utc(),
        )
        .0
    }

    fn live(ttl: Duration, capacity: usize) -> UserCache {
        let cache = UserCache::new(ttl, capacity);
        cache.set_live(true);
        cache
    }

    #[test]
    fn nothing_is_kept_nor_answered_while_nobody_listens() {
        let cache = UserCache::new(Duration::from_secs(60), 10);
        let lea = user("lea@example.fr");
        cache.store(&lea, cache.generation());
        assert!(cache.get(lea.id()).is_none());

        let cache = live(Duration::from_secs(60), 10);
        cache.store(&lea, cache.generation());
        assert!(cache.get(lea.id()).is_some());
        // The listener lost its connection: what was kept is not trusted.
        cache.set_live(false);
        assert!(cache.get(lea.id()).is_none());
        cache.set_live(true);
        assert!(cache.get(lea.id()).is_none(), "emptied, not just hidden");
    }

    #[test]
    fn a_copy_read_before_a_forget_is_not_kept() {
        let cache = live(Duration::from_secs(60), 10);
        let lea = user("lea@example.fr");
        // A lookup reads the database, then a change of anyone is heard
        // before it stores what it read.
        let before = cache.generation();
        cache.forget(user("paul@example.fr").id());
        cache.store(&lea, before);
        assert!(cache.get(lea.id()).is_none());

        cache.store(&lea, cache.generation());
        assert_eq!(cache.get(lea.id()).unwrap(), lea);
        cache.forget(lea.id());
        assert!(cache.get(lea.id()).is_none());
    }

    #[test]
    fn a_full_cache_makes_room_only_from_expired_entries() {
        let cache = live(Duration::from_millis(50), 1);
        let (lea, paul) = (user("lea@example.fr"), user("paul@example.fr"));
        cache.store(&lea, cache.generation());
        cache.store(&paul, cache.generation());
        assert!(cache.get(paul.id()).is_none(), "full of a live entry");
        assert!(cache.get(lea.id()).is_some());

        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(lea.id()).is_none(), "expired");
        cache.store(&paul, cache.generation());
        assert!(
            cache.get(paul.id()).is_some(),
            "the expired entry made room"
        );
    }
}
