//! Failed sign-ins per account, in process memory, bounded in size.
//!
//! Each account (the normalised email, known or not) has a window that
//! opens with its first counted attempt; the attempts in it are counted,
//! a successful sign-in forgets them, and once `max_failures` are counted
//! the account is locked until the window closes. Accounts are stored by a
//! SHA-256 of the email, so that an entry costs the same whatever was typed.
//!
//! Per process: N instances allow N times the limit (docs/decisions/
//! auth-tokens-and-limits.md says why that is accepted).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hub_identity_application::{AttemptOutcome, SignInLocked, SignInThrottle};

/// The per-account limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimit {
    /// Failed attempts allowed in a window; the next one is refused.
    pub max_failures: u32,
    /// How long a window lasts from its first counted attempt.
    pub window: Duration,
    /// Accounts tracked at most; beyond it the least useful entries are
    /// dropped (see [`InMemorySignInThrottle`]).
    pub capacity: usize,
}

impl Default for SignInLimit {
    /// 10 failures per 15 minutes: a person who mistypes a few times is
    /// never bothered, a password-guessing run gets ~1000 guesses a day at
    /// most. 100 000 accounts take about 8 MB.
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(15 * 60),
            capacity: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    attempts: u32,
    window_start: Instant,
}

type Key = [u8; 32];

/// [`SignInThrottle`] in process memory. When `capacity` accounts are
/// tracked (a flood of random emails), room is made for a tenth of it by
/// dropping, in this order, expired windows, accounts with a single
/// attempt, accounts that are not locked, and finally the locks closest to
/// their end — so a lock survives a flood unless the flood itself locks
/// `capacity` accounts.
#[derive(Debug)]
pub struct InMemorySignInThrottle {
    limit: SignInLimit,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl InMemorySignInThrottle {
    pub fn new(limit: SignInLimit) -> Self {
        Self {
            limit: SignInLimit {
                // At least one attempt, or nobody could ever sign in.
                max_failures: limit.max_failures.max(1),
                capacity: limit.capacity.max(1),
                ..limit
            },
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Accounts currently tracked.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // The map stays consistent even if a holder panicked: every update
        // is a single assignment.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin_at(&self, account: &str, now: Instant) -> Result<(), SignInLocked> {
        let key = key(account);
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&key) {
            let elapsed = now.saturating_duration_since(entry.window_start);
            if elapsed >= self.limit.window {
                *entry = Entry {
                    attempts: 1,
                    window_start: now,
                };
                return Ok(());
            }
            if entry.attempts >= self.limit.max_failures {
                return Err(SignInLocked {
                    retry_after: self.limit.window - elapsed,
                });
            }
            entry.attempts += 1;
            return Ok(());
        }
        if entries.len() >= self.limit.capacity {
            self.make_room(&mut entries, now);
        }
        entries.insert(
            key,
            Entry {
                attempts: 1,
                window_start: now,
            },
        );
        Ok(())
    }

    fn finish_at(&self, account: &str, outcome: AttemptOutcome) {
        let key = key(account);
        let mut entries = self.lock();
        match outcome {
            AttemptOutcome::Failed => {}
            AttemptOutcome::Succeeded => {
                entries.remove(&key);
            }
            AttemptOutcome::NotChecked => {
                if let Some(entry) = entries.get_mut(&key) {
                    entry.attempts = entry.attempts.saturating_sub(1);
                    if entry.attempts == 0 {
                        entries.remove(&key);
                    }
                }
            }
        }
    }

    /// Frees a tenth of the capacity at once, so that a steady flood pays
    /// for this scan once per `capacity / 10` new accounts, not on each.
    fn make_room(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        let target = self.limit.capacity - self.limit.capacity.div_ceil(10);
        let (window, max) = (self.limit.window, self.limit.max_failures);
        entries.retain(|_, e| now.saturating_duration_since(e.window_start) < window);
        if entries.len() > target {
            entries.retain(|_, e| e.attempts > 1);
        }
        if entries.len() > target {
            entries.retain(|_, e| e.attempts >= max);
        }
        if entries.len() > target {
            let mut starts: Vec<Instant> = entries.values().map(|e| e.window_start).collect();
            starts.sort_unstable();
            let cut = starts[entries.len() - target - 1];
            entries.retain(|_, e| e.window_start > cut);
        }
        tracing::warn!(
            tracked = entries.len(),
            capacity = self.limit.capacity,
            "sign-in throttle full (a flood of sign-ins on many accounts?): dropped the least useful entries"
        );
    }
}

impl SignInThrottle for InMemorySignInThrottle {
    fn begin(&self, account: &str) -> Result<(), SignInLocked> {
        self.begin_at(account, Instant::now())
    }

    fn finish(&self, account: &str, outcome: AttemptOutcome) {
        self.finish_at(account, outcome);
    }
}

fn key(account: &str) -> Key {
    let digest = ring::digest::digest(&ring::digest::SHA256, account.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn throttle(capacity: usize) -> InMemorySignInThrottle {
        InMemorySignInThrottle::new(SignInLimit {
            max_failures: 3,
            window: 15 * MINUTE,
            capacity,
        })
    }

    fn fail(t: &InMemorySignInThrottle, account: &str, now: Instant) -> Result<(), SignInLocked> {
        t.begin_at(account, now)?;
        t.finish_at(account, AttemptOutcome::Failed);
        Ok(())
    }

    #[test]
    fn the_attempt_after_max_failures_is_refused_until_the_window_ends() {
        let t = throttle(100);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(fail(&t, "a@example.fr", t0 + i * MINUTE), Ok(()));
        }
        assert_eq!(
            t.begin_at("a@example.fr", t0 + 5 * MINUTE),
            Err(SignInLocked {
                retry_after: 10 * MINUTE
            })
        );
        // Refusals do not extend the lock, and other accounts are free.
        assert_eq!(
            t.begin_at("a@example.fr", t0 + 14 * MINUTE),
            Err(SignInLocked {
                retry_after: MINUTE
            })
        );
        assert_eq!(fail(&t, "b@example.fr", t0 + 5 * MINUTE), Ok(()));
        // A new window opens when the old one ends.
        assert_eq!(t.begin_at("a@example.fr", t0 + 15 * MINUTE), Ok(()));
    }

    #[test]
    fn a_success_clears_the_failures_and_unchecked_attempts_do_not_count() {
        let t = throttle(100);
        let t0 = Instant::now();
        fail(&t, "a@example.fr", t0).unwrap();
        fail(&t, "a@example.fr", t0).unwrap();
        t.begin_at("a@example.fr", t0).unwrap();
        t.finish_at("a@example.fr", AttemptOutcome::Succeeded);
        assert_eq!(t.tracked(), 0);
        for _ in 0..3 {
            fail(&t, "a@example.fr", t0).unwrap();
        }
        assert!(t.begin_at("a@example.fr", t0).is_err());

        // Busy answers (nothing checked) give the attempt back.
        for _ in 0..10 {
            t.begin_at("c@example.fr", t0).unwrap();
            t.finish_at("c@example.fr", AttemptOutcome::NotChecked);
        }
        assert_eq!(fail(&t, "c@example.fr", t0), Ok(()));
    }

    #[test]
    fn concurrent_attempts_are_counted_when_they_begin() {
        let t = throttle(100);
        let t0 = Instant::now();
        // Three attempts in flight at once: the fourth is refused before any ends.
        for _ in 0..3 {
            t.begin_at("a@example.fr", t0).unwrap();
        }
        assert!(t.begin_at("a@example.fr", t0).is_err());
    }

    #[test]
    fn a_flood_of_new_accounts_stays_bounded_and_keeps_the_locks() {
        let t = throttle(100);
        let t0 = Instant::now();
        for _ in 0..3 {
            fail(&t, "victime@example.fr", t0).unwrap();
        }
        for i in 0..10_000 {
            fail(&t, &format!("random-{i}@example.fr"), t0).unwrap();
            assert!(t.tracked() <= 100);
        }
        assert!(
            t.begin_at("victime@example.fr", t0).is_err(),
            "the flood did not unlock the account"
        );

        // Even a table full of locks stays bounded: the oldest locks go first.
        let t = throttle(10);
        for i in 0..50u32 {
            let account = format!("locked-{i}@example.fr");
            for _ in 0..3 {
                fail(&t, &account, t0 + i * Duration::from_secs(1)).unwrap();
            }
            assert!(t.tracked() <= 10);
        }
        assert!(t.begin_at("locked-49@example.fr", t0).is_err());
        assert_eq!(t.begin_at("locked-0@example.fr", t0), Ok(()));
    }

    #[test]
    fn expired_windows_are_dropped_first() {
        let t = throttle(10);
        let t0 = Instant::now();
        for i in 0..10 {
            fail(&t, &format!("old-{i}@example.fr"), t0).unwrap();
        }
        fail(&t, "new@example.fr", t0 + 20 * MINUTE).unwrap();
        assert_eq!(t.tracked(), 1, "only the live window is left");
    }
}
