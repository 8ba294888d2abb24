//! What the identity use cases need from the outside world.

use std::sync::Arc;

use async_trait::async_trait;
use hub_identity_domain::{Email, PasswordHash, PlainPassword, User};
use hub_kernel::{Clock, EventEnvelope, Page, Role, StorageError};
use time::OffsetDateTime;
use uuid::Uuid;

/// The ports every identity use case is built from.
#[derive(Clone)]
pub struct IdentityPorts {
    pub users: Arc<dyn UserRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenService>,
    pub throttle: Arc<dyn SignInThrottle>,
    pub clock: Arc<dyn Clock>,
}

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("a user with this email already exists")]
    DuplicateEmail,
    #[error("the user does not exist")]
    NotFound,
    /// Another request changed the user since it was read.
    #[error("the user was changed by someone else meanwhile")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Filters of the user list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// Whether a write also revokes every token issued to the user so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    Keep,
    /// Raise the user's token version, in the same transaction.
    Revoke,
}

/// Users and their events, stored together: `insert`/`update` write the
/// user and append `events` to the outbox in one transaction.
///
/// The token version is never written from a loaded [`User`] (a stale copy
/// would lower it again): it is only ever raised by one atomic increment,
/// which does not change the user's `version` (a sign-out is no edit).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn insert(&self, user: &User, events: &[EventEnvelope]) -> Result<(), RepositoryError>;
    /// Stores `user` if the stored one is still at `user.version() - 1`;
    /// [`RepositoryError::Conflict`] otherwise (someone else changed it
    /// since it was read), writing nothing.
    async fn update(
        &self,
        user: &User,
        tokens: Tokens,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Revokes every token issued to user `id` so far (sign-out);
    /// [`RepositoryError::NotFound`] when there is no such user.
    async fn revoke_tokens(&self, id: Uuid) -> Result<(), RepositoryError>;
    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepositoryError>;
    /// The user `id` for authenticating a request: as [`UserRepository::find_by_id`]
    /// would give it, possibly from a cache that every committed change of
    /// the user clears before it can be read again through this call
    /// (never for commands: they read with `find_by_id`).
    async fn find_for_authentication(&self, id: Uuid) -> Result<Option<User>, RepositoryError>;
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;
    /// A page of users, ordered by creation, and the total matching `filter`.
    async fn list(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> Result<(Vec<User>, u64), RepositoryError>;
}

/// Why a password could not be hashed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Too many hashes are running already (each costs tens of MiB and a
    /// core); the caller should answer "busy, retry shortly".
    #[error("too many password checks are in progress; retry shortly")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Password hashing (argon2id in production). Slow on purpose.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError>;
    /// Whether `password` matches `hash`; `hash` is `None` for an unknown
    /// account, and the check then costs the same as a real one so that
    /// timing does not reveal which emails exist.
    async fn verify(&self, password: &str, hash: Option<PasswordHash>) -> Result<bool, HashError>;
}

/// The account is locked: too many failed sign-ins lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLocked {
    /// When the account may try again.
    pub retry_after: std::time::Duration,
}

/// How a sign-in attempt that [`SignInThrottle::begin`] let through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The right password of an active account: the account's failures are
    /// forgotten.
    Succeeded,
    /// The attempt counts against the account.
    Failed,
    /// Nothing was checked (hashing busy, storage down): the attempt does
    /// not count.
    NotChecked,
}

/// Counts sign-in attempts per account — the normalised email, whether or
/// not a user has it, so that locking reveals nothing — and locks an
/// account after too many failures.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SignInThrottle: Send + Sync {
    /// Counts an attempt on `account` *before* it is checked (so that
    /// concurrent attempts cannot all slip under the limit), or refuses it
    /// while the account is locked.
    fn begin(&self, account: &str) -> Result<(), SignInLocked>;
    /// Reports how the attempt ended.
    fn finish(&self, account: &str, outcome: AttemptOutcome);
}

/// Claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub user_id: Uuid,
    pub role: Role,
    /// The user's token version when the token was issued.
    pub token_version: i32,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A freshly issued access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: time::Duration,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token could not be issued: {0}")]
    Issue(String),
}

/// Access tokens (JWT HS256 in production).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    fn issue(
        &self,
        user_id: Uuid,
        role: Role,
        token_version: i32,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError>;
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<TokenClaims, TokenError>;
}
