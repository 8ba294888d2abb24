//! What the webhooks use cases need from the outside world.

use async_trait::async_trait;
use hub_kernel::{EventEnvelope, EventTypeInfo, Page, Role, StorageError};
use hub_webhooks_domain::{
    DeliveryAttempt, DeliveryStatus, NewDelivery, PlainSecret, SealedSecret, Webhook,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why a repository or read model refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("the owner already has the maximum of {limit} webhooks")]
    QuotaExceeded { limit: u32 },
    #[error("the webhook disappeared meanwhile")]
    NotFound,
    /// Someone else wrote the webhook since it was read (optimistic concurrency).
    #[error("the webhook changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Webhooks and their events, stored together: each write stores the
/// webhook and appends `events` to the outbox in one transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Inserts `webhook` unless its owner already has `quota` webhooks: the
    /// count is taken under a per-owner lock inside the insert transaction,
    /// so concurrent creations cannot exceed it. Also records `owner_role`
    /// in the scoping read model when the owner is not known there yet.
    async fn insert(
        &self,
        webhook: &Webhook,
        owner_role: Role,
        events: &[EventEnvelope],
        quota: u32,
    ) -> Result<(), RepositoryError>;

    /// Stores `webhook` if it has not changed since it was read
    /// ([`Webhook::version`]); [`RepositoryError::Conflict`] otherwise,
    /// [`RepositoryError::NotFound`] when it is gone.
    async fn update(
        &self,
        webhook: &Webhook,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;

    /// Deletes `webhook`; [`RepositoryError::NotFound`] when it is gone.
    async fn delete(
        &self,
        webhook: &Webhook,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;

    async fn find(&self, id: Uuid) -> Result<Option<Webhook>, RepositoryError>;

    /// A page of the owner's webhooks, oldest first, and their total.
    async fn list_by_owner(
        &self,
        owner_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Webhook>, u64), RepositoryError>;

    /// Every active webhook with a pattern selecting `event_type` (access
    /// scoping not applied).
    async fn list_active_matching(&self, event_type: &str)
    -> Result<Vec<Webhook>, RepositoryError>;

    /// A delivery succeeded: resets the failure counter and sets
    /// `last_triggered_at`. Delivery bookkeeping raises no event (an event
    /// per delivery would itself be delivered, endlessly).
    async fn record_delivery_success(
        &self,
        id: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), RepositoryError>;

    /// A delivery failed for good: increments the failure counter atomically,
    /// records `error` (no URL, no secret) as the webhook's last error, and
    /// returns the counter's new value.
    async fn record_delivery_failure(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        error: &str,
    ) -> Result<u32, RepositoryError>;
}

/// The event catalog (every context's event types with their JSON Schema).
/// The app merges the contexts' catalogs; this context only reads it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait EventCatalog: Send + Sync {
    fn event_types(&self) -> Vec<EventTypeInfo>;
}

/// A receiver URL the outbound policy refuses; the message completes "url …"
/// and names the rule, e.g. "resolves to a private address (10.0.0.5)".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("url {0}")]
pub struct UrlRefused(pub String);

/// The SSRF policy, as seen when a webhook is created or its URL changed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DestinationPolicy: Send + Sync {
    /// Checks `url` (scheme, credentials, length, then every address its
    /// host resolves to) and returns it normalised.
    async fn check(&self, url: &str) -> Result<String, UrlRefused>;
}

/// Why the vault failed. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("no configured key has the id `{0}` (is it missing from WEBHOOK_SECRETS_OLD_KEYS?)")]
    UnknownKey(String),
    #[error("the secret cannot be decrypted: wrong key or altered data")]
    Corrupt,
    #[error("the random number generator failed")]
    Random,
}

/// Generates signing secrets and encrypts them at rest. The webhook id is
/// bound to each sealed secret: it cannot be opened as another webhook's.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretVault: Send + Sync {
    /// A new random signing secret (`whsec_` + base64 of 32 bytes).
    fn generate(&self) -> Result<PlainSecret, VaultError>;
    /// Encrypts `secret` with the current key.
    fn seal(&self, webhook_id: Uuid, secret: &PlainSecret) -> Result<SealedSecret, VaultError>;
    /// Decrypts a secret sealed by the current key or an older one still configured.
    fn open(&self, webhook_id: Uuid, sealed: &SealedSecret) -> Result<PlainSecret, VaultError>;
}

/// What the scoping read model knows about a webhook owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerStatus {
    /// `None` when only a deactivation was seen so far.
    pub role: Option<Role>,
    pub is_active: bool,
}

/// The read models this context builds from other contexts' events, used
/// to decide who may receive what.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ScopeReadModel: Send + Sync {
    /// The owner's current role and active flag, `None` when unknown.
    async fn owner(&self, owner_id: Uuid) -> Result<Option<OwnerStatus>, RepositoryError>;
    /// Whether `user_id` is currently a conducteur of the (not deleted) chantier.
    async fn is_conducteur_of(
        &self,
        user_id: Uuid,
        chantier_id: Uuid,
    ) -> Result<bool, RepositoryError>;
}

/// Which attempts a delivery log query returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptFilter {
    /// Only successful (`true`) or failed (`false`) attempts.
    pub success: Option<bool>,
    /// Only attempts of this event type.
    pub event_type: Option<String>,
    /// Only attempts made at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Only attempts made before this instant.
    pub until: Option<OffsetDateTime>,
}

/// One delivery as its webhook's owner reads it: the exact body every
/// attempt sends, and where the job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// The request body, byte for byte.
    pub payload: String,
    pub status: DeliveryStatus,
    /// Attempts made so far, and how many are allowed.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// One delivery of an event, as the event history shows where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDelivery {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub webhook_url: String,
    pub owner_id: Uuid,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// What the last failed attempt met, if any.
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    /// When it succeeded, failed for good or was cancelled.
    pub finished_at: Option<OffsetDateTime>,
}

/// What asking for a redelivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    /// The delivery is due now.
    Queued { delivery_id: Uuid },
    /// A worker is sending it right now.
    InFlight,
    /// The owner may no longer receive its event (no longer a conducteur of
    /// its chantier, deactivated, role changed): nothing was queued.
    NotAllowed,
    /// No such delivery of this webhook.
    NotFound,
}

/// What recovering a period did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Deliveries due again now.
    pub requeued: u64,
    /// Deliveries left as they were: their owner may no longer receive
    /// their event.
    pub skipped: u64,
}

/// The delivery queue and log, as the owner's requests see them (the
/// workers' claim and outcome recording are the infrastructure's own).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DeliveryRepository: Send + Sync {
    /// A page of the webhook's attempts, newest first, and their total.
    async fn list_attempts(
        &self,
        webhook_id: Uuid,
        filter: &AttemptFilter,
        page: Page,
    ) -> Result<(Vec<DeliveryAttempt>, u64), RepositoryError>;

    /// One delivery of the webhook — `id` is the delivery's id or the id
    /// of one of its attempts; `None` when the webhook has no such one.
    async fn get_delivery(
        &self,
        webhook_id: Uuid,
        id: Uuid,
    ) -> Result<Option<DeliveryDetail>, RepositoryError>;

    /// Every delivery of the event `event_id`, to any webhook, oldest
    /// first (those whose job the retention has not removed yet).
    async fn deliveries_of_event(
        &self,
        event_id: Uuid,
    ) -> Result<Vec<EventDelivery>, RepositoryError>;

    /// Appends `event` to the outbox and queues `delivery` (its only
    /// delivery) in one transaction.
    async fn enqueue_test(
        &self,
        event: &EventEnvelope,
        delivery: &NewDelivery,
    ) -> Result<(), RepositoryError>;

    /// Makes one delivery of the webhook due now — `id` is the delivery's id
    /// or the id of one of its attempts — unless its owner may no longer
    /// receive its event (access scoping, as the claim judges it). A
    /// finished delivery gets `attempts` more attempts.
    async fn redeliver(
        &self,
        webhook_id: Uuid,
        id: Uuid,
        attempts: u32,
    ) -> Result<Redelivery, RepositoryError>;

    /// Makes every delivery of the webhook created in `[since, until)` that
    /// did not succeed (failed or cancelled) due now, each with `attempts`
    /// more attempts — except those whose event the owner may no longer
    /// receive, which are skipped and counted.
    async fn redeliver_unsent(
        &self,
        webhook_id: Uuid,
        since: OffsetDateTime,
        until: Option<OffsetDateTime>,
        attempts: u32,
    ) -> Result<Recovered, RepositoryError>;
}
