//! argon2id password hashing, off the async threads, with a bound on how
//! many hashes run at once.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{
    self, Decimal, Ident, Output, ParamsString, PasswordHash as Phc, PasswordHasher as _,
    PasswordVerifier as _, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use hub_identity_application::{HashError, PasswordHasher};
use hub_identity_domain::{PasswordHash, PlainPassword};
use tokio::sync::Semaphore;

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's
/// recommended minimum), its working memory handed back to the system after
/// each hash ([`LeanArgon2`]). Hashing takes tens of milliseconds, so it runs
/// on tokio's blocking pool. Unbounded on its own: wrap it in a
/// [`BoundedHasher`] wherever requests can reach it.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    /// Checked against when the account does not exist, so that an unknown
    /// email costs as much as a wrong password.
    dummy: String,
}

/// Why argon2id could not hash.
#[derive(Debug, thiserror::Error)]
pub enum Argon2Error {
    #[error("no randomness available for a salt")]
    NoRandomness,
    /// argon2's own error (it implements `std::error::Error` only with a
    /// feature this workspace does not enable, hence no `#[source]`).
    #[error("argon2id failed: {0}")]
    Argon2(argon2::password_hash::Error),
}

impl From<Argon2Error> for HashError {
    fn from(error: Argon2Error) -> Self {
        HashError::Failed(error.to_string())
    }
}

impl Argon2Hasher {
    /// Prepares the hasher (hashes one random value for the dummy check).
    pub fn new() -> Result<Self, Argon2Error> {
        let salt = fresh_salt()?;
        let dummy = LeanArgon2
            .hash_password(salt.as_str().as_bytes(), &salt)
            .map_err(Argon2Error::Argon2)?
            .to_string();
        Ok(Self { dummy })
    }
}

/// 16 random bytes from the operating system (ring's `SystemRandom`).
fn fresh_salt() -> Result<SaltString, Argon2Error> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Argon2Error::NoRandomness)?;
    SaltString::encode_b64(&bytes).map_err(Argon2Error::Argon2)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = fresh_salt()?;
            LeanArgon2
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| PasswordHash::from_phc(hash.to_string()))
                .map_err(|e| Argon2Error::Argon2(e).into())
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }

    async fn verify(&self, password: &str, hash: Option<PasswordHash>) -> Result<bool, HashError> {
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.clone(), |h| h.as_phc().to_owned());
        let password = password.to_owned();
        // A stored hash that does not parse, or a panicked check, is "no
        // match": the user cannot sign in, and the answer reveals nothing.
        let matches = tokio::task::spawn_blocking(move || {
            Phc::new(&phc)
                .map(|parsed| {
                    LeanArgon2
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        Ok(known && matches)
    }
}

/// argon2 as the `argon2` crate computes it, with its working memory (one
/// [`Block`] of 1 KiB per KiB of `m_cost`: 19 MiB by default) reserved so that
/// freeing it gives it back to the system.
///
/// The crate's own `hash_password` allocates exactly that memory, and glibc's
/// malloc learns from freeing it: a mapped block between 128 KiB and 32 MiB,
/// once freed, raises the size from which malloc maps to that block's and
/// the heap's trim threshold to twice as much. Every later hash then takes
/// its 19 MiB from the arena of the thread it runs on, and the arena keeps
/// them when it is freed: 19 MiB more resident for each thread of tokio's
/// blocking pool that ever checked a password, and buffers of a few hundred
/// KiB elsewhere no longer given back either (docs/PERFORMANCE.md, "Peak
/// RSS"). Reserved above 32 MiB, the block is always mapped and unmapped on
/// free, and malloc's thresholds stay put; only the pages argon2 writes
/// (`m_cost` KiB) ever become resident.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeanArgon2;

/// Blocks reserved for argon2's working memory, at least: 33 MiB, above
/// glibc's ceiling for the dynamic mmap threshold (32 MiB on 64-bit).
const RESERVED_BLOCKS: usize = 33 * 1024;

impl password_hash::PasswordHasher for LeanArgon2 {
    type Params = Params;

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        algorithm: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<Phc<'a>> {
        // As `Argon2`'s own implementation does, but for the memory.
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = salt.into();
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let mut memory = Vec::with_capacity(params.block_count().max(RESERVED_BLOCKS));
        memory.resize(params.block_count(), Block::new());
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let hash = Output::init_with(output_len, |out| {
            Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, &mut memory)?)
        })?;
        Ok(Phc {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(hash),
        })
    }
}

/// How much password hashing may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimit {
    /// Hashes (or checks) running at the same time.
    pub max_concurrent: usize,
    /// How long a request waits for its turn before it is refused as busy.
    pub max_wait: Duration,
}

impl HashingLimit {
    /// One hash per CPU: argon2id is CPU-bound, so more at once would not
    /// finish sooner, it would only hold more memory (19 MiB each; a burst
    /// of 60 unbounded sign-ins held about 1.1 GiB). A request waits at most
    /// two seconds — a few dozen hashes' worth of queue — then gets a 503
    /// that tells the client to come back, instead of piling up.
    pub fn for_this_machine() -> Self {
        Self {
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_wait: Duration::from_secs(2),
        }
    }
}

/// A [`PasswordHasher`] that lets at most `max_concurrent` hashes run at
/// once; the others wait up to `max_wait` for a turn, then fail with
/// [`HashError::Busy`] without hashing anything.
pub struct BoundedHasher {
    inner: Arc<dyn PasswordHasher>,
    permits: Semaphore,
    max_wait: Duration,
}

impl std::fmt::Debug for BoundedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedHasher")
            .field("available", &self.permits.available_permits())
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl BoundedHasher {
    pub fn new(inner: Arc<dyn PasswordHasher>, limit: HashingLimit) -> Self {
        Self {
            inner,
            // Zero permits would refuse every sign-in: at least one.
            permits: Semaphore::new(limit.max_concurrent.max(1)),
            max_wait: limit.max_wait,
        }
    }

    async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        match tokio::time::timeout(self.max_wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was closed (never done here).
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(
                    max_wait = ?self.max_wait,
                    "password hashing saturated: request refused as busy"
                );
                Err(HashError::Busy)
            }
        }
    }
}

#[async_trait]
impl PasswordHasher for BoundedHasher {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let _permit = self.turn().await?;
        self.inner.hash(password).await
    }

    async fn verify(&self, password: &str, hash: Option<PasswordHash>) -> Result<bool, HashError> {
        let _permit = self.turn().await?;
        self.inner.verify(password, hash).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let hasher = Argon2Hasher::new().unwrap();
        let password = PlainPassword::parse("correct horse battery").unwrap();
        let first = hasher.hash(&password).await.unwrap();
        let second = hasher.hash(&password).await.unwrap();
        assert!(first.as_phc().starts_with("$argon2id$"));
        assert_ne!(first, second, "a fresh salt each time");
        assert!(
            hasher
                .verify("correct horse battery", Some(first.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("correct horse batterY", Some(first.clone()))
                .await
                .unwrap()
        );
        // Unknown account: never a match, even with the dummy's own input.
        assert!(!hasher.verify("anything at all", None).await.unwrap());
        assert!(
            !hasher
                .verify("x", Some(PasswordHash::from_phc("not a phc".into())))
                .await
                .unwrap()
        );
    }

    #[test]
    fn lean_argon2_computes_what_the_argon2_crate_computes_both_ways() {
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let ours = LeanArgon2.hash_password(b"mot de passe", &salt).unwrap();
        let theirs = Argon2::default()
            .hash_password(b"mot de passe", &salt)
            .unwrap();
        assert_eq!(ours.to_string(), theirs.to_string());
        // A stored hash with other parameters and another variant, as
        // earlier settings could have written: checked with its own.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(4096, 3, 2, Some(24)).unwrap(),
        )
        .hash_password(b"ancien", &salt)
        .unwrap()
        .to_string();
        let other = Phc::new(&other).unwrap();
        assert!(LeanArgon2.verify_password(b"ancien", &other).is_ok());
        assert!(LeanArgon2.verify_password(b"ancieN", &other).is_err());
        assert!(
            Argon2::default()
                .verify_password(b"mot de passe", &ours)
                .is_ok()
        );
    }

    /// The reason [`LeanArgon2`] exists: with the crate's own allocation,
    /// the second hash's 19 MiB stay resident in the arena of the thread
    /// that ran it.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_working_memory_goes_back_to_the_system_after_each_hash() {
        fn resident_kib() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .unwrap()
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap()
        }
        let hash_on_a_thread = || {
            std::thread::spawn(|| {
                let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
                LeanArgon2.hash_password(b"mot de passe", &salt).unwrap();
            })
            .join()
            .unwrap();
        };
        // The first one maps, unmaps, and (with the crate's allocation)
        // teaches malloc to keep the next one.
        hash_on_a_thread();
        let before = resident_kib();
        hash_on_a_thread();
        hash_on_a_thread();
        let kept = resident_kib().saturating_sub(before);
        assert!(
            kept < 4 * 1024,
            "{kept} KiB still resident after two hashes (19 MiB each)"
        );
    }

    /// A slow hasher that records how many calls run at once, and holds
    /// each call until released (when `gate` is set).
    #[derive(Default)]
    struct SlowHasher {
        running: AtomicUsize,
        most: AtomicUsize,
        calls: AtomicUsize,
        gate: Option<Arc<Notify>>,
        entered: Notify,
    }

    impl SlowHasher {
        async fn work(&self) {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.entered.notify_one();
            match &self.gate {
                Some(gate) => gate.notified().await,
                None => tokio::time::sleep(Duration::from_millis(30)).await,
            }
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl PasswordHasher for SlowHasher {
        async fn hash(&self, _: &PlainPassword) -> Result<PasswordHash, HashError> {
            self.work().await;
            Ok(PasswordHash::from_phc("$argon2id$fake".into()))
        }

        async fn verify(&self, _: &str, _: Option<PasswordHash>) -> Result<bool, HashError> {
            self.work().await;
            Ok(true)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_n_hashes_run_at_once_and_the_others_wait_their_turn() {
        let slow = Arc::new(SlowHasher::default());
        let bounded = Arc::new(BoundedHasher::new(
            slow.clone(),
            HashingLimit {
                max_concurrent: 2,
                max_wait: Duration::from_secs(10),
            },
        ));
        let password = PlainPassword::parse("un mot de passe long").unwrap();
        let calls: Vec<_> = (0..6)
            .map(|i| {
                let bounded = bounded.clone();
                let password = password.clone();
                tokio::spawn(async move {
                    if i % 2 == 0 {
                        bounded.verify("x", None).await.map(|_| ())
                    } else {
                        bounded.hash(&password).await.map(|_| ())
                    }
                })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap(), Ok(()), "every call got its turn");
        }
        assert_eq!(slow.calls.load(Ordering::SeqCst), 6);
        assert_eq!(
            slow.most.load(Ordering::SeqCst),
            2,
            "never more than 2 at once"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_one_too_many_is_refused_as_busy_after_its_wait_without_hashing() {
        let gate = Arc::new(Notify::new());
        let slow = Arc::new(SlowHasher {
            gate: Some(gate.clone()),
            ..SlowHasher::default()
        });
        let bounded = Arc::new(BoundedHasher::new(
            slow.clone(),
            HashingLimit {
                max_concurrent: 1,
                max_wait: Duration::from_millis(100),
            },
        ));
        let holder = tokio::spawn({
            let bounded = bounded.clone();
            async move { bounded.verify("x", None).await }
        });
        slow.entered.notified().await;

        let started = std::time::Instant::now();
        assert_eq!(bounded.verify("y", None).await, Err(HashError::Busy));
        assert!(started.elapsed() >= Duration::from_millis(100), "it waited");
        let password = PlainPassword::parse("un mot de passe long").unwrap();
        assert_eq!(bounded.hash(&password).await, Err(HashError::Busy));
        assert_eq!(slow.calls.load(Ordering::SeqCst), 1, "nothing more hashed");

        gate.notify_one();
        assert_eq!(holder.await.unwrap(), Ok(true));
        // The turn is free again.
        let next = tokio::spawn({
            let bounded = bounded.clone();
            async move { bounded.verify("z", None).await }
        });
        slow.entered.notified().await;
        gate.notify_one();
        assert_eq!(next.await.unwrap(), Ok(true));
    }
}
