//! The webhooks use cases. Each is a small struct built from the
//! [`WebhookPorts`] bundle, with one `execute` method (or two, for delivery
//! bookkeeping); the HTTP adapter calls the subscription ones, the delivery
//! engine the others.

use std::collections::HashMap;
use std::sync::Arc;

use hub_kernel::{
    Actor, Clock, CommandContext, EnvelopeError, EventEnvelope, EventTypeInfo, Page,
    ValidationErrors,
};
use hub_webhooks_domain::{
    ChantierIds, DataFilters, DataFiltersError, DeliveryOptions, DeliveryOrdering, Description,
    EndpointUrl, EventPatterns, EventPatternsError, GracePeriod, MAX_WEBHOOKS_PER_OWNER,
    MaxRetries, NewWebhook, PatternListError, PlainSecret, RetrySchedule, TEST_EVENT_TYPE, Webhook,
    WebhookChanges, streak_deactivation,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ports::{
    DeliveryRepository, DestinationPolicy, EventCatalog, RepositoryError, ScopeReadModel,
    SecretVault, UrlRefused, VaultError, WebhookRepository,
};
use crate::scope::AccessScope;

/// How often a write that lost an optimistic-concurrency race is retried on
/// fresh state before giving up.
const WRITE_ATTEMPTS: usize = 3;

/// Longest `disabled_reason` stored.
const MAX_REASON_CHARS: usize = 500;

/// Failures of the webhooks use cases.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Unknown id, or a webhook of someone else (never told apart).
    #[error("no webhook with this id")]
    NotFound,
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error(transparent)]
    InvalidUrl(#[from] UrlRefused),
    #[error("you already have the maximum of {limit} webhooks; delete one to create another")]
    QuotaExceeded { limit: u32 },
    #[error("the webhook was changed by someone else meanwhile; try again")]
    Conflict,
    /// Unknown delivery id, or a delivery of another webhook.
    #[error("this webhook has no delivery with this id")]
    DeliveryNotFound,
    /// Redelivering to a deactivated webhook would only cancel it.
    #[error("the webhook is inactive; re-enable it first (POST /test works on inactive webhooks)")]
    Inactive,
    #[error("this delivery is being sent right now; try again in a moment")]
    DeliveryInProgress,
    /// The owner may no longer receive the event(s) to redeliver: their
    /// account is deactivated or lost its webhook role, or (one delivery)
    /// they are no longer a conducteur of the event's chantier.
    #[error("{0}")]
    AccessRevoked(&'static str),
    /// Storage or the secret vault failed, an event could not be built, or
    /// no actor was given: a 500, logged with its cause.
    #[error("webhooks are unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for WebhookError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::QuotaExceeded { limit } => Self::QuotaExceeded { limit },
            RepositoryError::Conflict => Self::Conflict,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for WebhookError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<VaultError> for WebhookError {
    fn from(error: VaultError) -> Self {
        Self::Unavailable(error.into())
    }
}

/// Now, at the precision the database keeps (so what a use case returns
/// equals what a later read gives back).
pub(crate) fn now(clock: &dyn Clock) -> time::OffsetDateTime {
    hub_kernel::to_storage_precision(clock.now())
}

/// The acting user, who owns what they create and may touch only their own.
pub(crate) fn owner(context: &CommandContext) -> Result<Actor, WebhookError> {
    context.actor.ok_or_else(|| {
        WebhookError::Unavailable("webhooks belong to a user; no actor given".into())
    })
}

/// The webhook `id` if `owner_id` owns it; [`WebhookError::NotFound`] otherwise.
pub(crate) async fn load_owned(
    webhooks: &dyn WebhookRepository,
    owner_id: Uuid,
    id: Uuid,
) -> Result<Webhook, WebhookError> {
    match webhooks.find(id).await? {
        Some(webhook) if webhook.owner_id() == owner_id => Ok(webhook),
        _ => Err(WebhookError::NotFound),
    }
}

/// Validates the patterns against the catalog, recording errors per field
/// (`events` for the list, `events[i]` for one pattern).
fn check_events(
    errors: &mut ValidationErrors,
    catalog: &dyn EventCatalog,
    raw: &[String],
) -> Option<EventPatterns> {
    let infos = catalog.event_types();
    let types: Vec<&str> = infos.iter().map(|info| info.event_type).collect();
    match EventPatterns::parse(raw, &types) {
        Ok(patterns) => Some(patterns),
        Err(EventPatternsError::List(error)) => {
            let code = match error {
                PatternListError::Empty => "required",
                PatternListError::TooMany(_) => "too_many",
            };
            errors.add("events", code, error.to_string());
            None
        }
        Err(EventPatternsError::Patterns(list)) => {
            for (index, error) in list {
                errors.add(format!("events[{index}]"), error.code(), error.to_string());
            }
            None
        }
    }
}

/// Validates the chantiers a webhook is limited to (`chantier_ids`).
fn check_chantiers(errors: &mut ValidationErrors, raw: &[Uuid]) -> Option<ChantierIds> {
    match ChantierIds::parse(raw) {
        Ok(ids) => Some(ids),
        Err(error) => {
            errors.add("chantier_ids", error.code(), error.to_string());
            None
        }
    }
}

/// Validates `data` conditions against the JSON Schema of every event type
/// of the catalog `patterns` select, recording errors per condition
/// (`filters.<field>`) or for the whole (`filters`).
fn check_filters(
    errors: &mut ValidationErrors,
    catalog: &dyn EventCatalog,
    patterns: &EventPatterns,
    raw: &Map<String, Value>,
) -> Option<DataFilters> {
    let infos = catalog.event_types();
    let schemas: Vec<(&str, &Value)> = infos
        .iter()
        .filter(|info| patterns.matches(info.event_type))
        .map(|info| (info.event_type, &info.data_schema))
        .collect();
    match DataFilters::parse(raw, &schemas) {
        Ok(filters) => Some(filters),
        Err(DataFiltersError::TooMany(max)) => {
            errors.add(
                "filters",
                "too_many",
                format!("must hold at most {max} conditions"),
            );
            None
        }
        Err(DataFiltersError::Conditions(list)) => {
            for (field, error) in list {
                errors.add(format!("filters.{field}"), error.code(), error.to_string());
            }
            None
        }
    }
}

async fn check_url(
    destinations: &dyn DestinationPolicy,
    raw: &str,
) -> Result<EndpointUrl, WebhookError> {
    let normalised = destinations.check(raw).await?;
    EndpointUrl::from_checked(normalised).map_err(|e| UrlRefused(e.to_string()).into())
}

/// Raw input of webhook creation; validated by the use case.
#[derive(Debug, Clone, Default)]
pub struct CreateWebhookInput {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Also send the legacy `X-Hub-Chantier-Signature` header (off by default).
    pub legacy_signature: bool,
    /// Only events of these chantiers (`None`: every chantier).
    pub chantier_ids: Option<Vec<Uuid>>,
    /// Equality conditions on `data` fields (`None`: none).
    pub filters: Option<Map<String, Value>>,
    pub ordering: DeliveryOrdering,
}

/// A created webhook and its signing secret, shown to the owner this once.
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: PlainSecret,
}

/// The ports every webhooks use case is built from.
#[derive(Clone)]
pub struct WebhookPorts {
    pub webhooks: Arc<dyn WebhookRepository>,
    pub deliveries: Arc<dyn DeliveryRepository>,
    pub catalog: Arc<dyn EventCatalog>,
    pub destinations: Arc<dyn DestinationPolicy>,
    pub vault: Arc<dyn SecretVault>,
    pub clock: Arc<dyn Clock>,
    /// The access-scoping read models (recipients are the owners who may
    /// receive the event; redelivery is refused to an owner who may no
    /// longer receive the events).
    pub scope: Arc<dyn ScopeReadModel>,
    /// The deployment's retry schedule (attempts of test and redeliveries).
    pub schedule: RetrySchedule,
}

hub_kernel::use_cases! {
    WebhookPorts;
    /// Creates a webhook for the acting user; publishes `webhook.created`.
    CreateWebhook,
    /// The acting user's webhooks.
    ListWebhooks,
    /// One of the acting user's webhooks.
    GetWebhook,
    /// Changes a webhook of the acting user; publishes `webhook.updated` when
    /// something changed, nothing otherwise.
    UpdateWebhook,
    /// Deletes a webhook of the acting user; publishes `webhook.deleted`.
    DeleteWebhook,
    /// Gives a webhook of the acting user a new signing secret; the previous one
    /// keeps signing during the grace period. Publishes `webhook.secret_rotated`.
    RotateSecret,
    /// The event catalog, as `GET /api/v1/event-types` shows it.
    ListEventTypes,
    /// For the delivery engine: the secrets that sign a delivery now, decrypted
    /// (the current one first, then the previous one during its grace period).
    SigningSecrets,
    /// For the delivery engine: the webhooks an event must be delivered to —
    /// active, with a pattern selecting it, and whose owner may receive it
    /// ([`AccessScope`]). `webhook.test` is never fanned out.
    ListRecipients,
    /// Deactivates a webhook for a reason its owner will see (delivery engine:
    /// `410 Gone`, too many failures). Publishes `webhook.updated` the first
    /// time; returns whether it was active until now.
    DisableWebhook,
    /// For the delivery engine: the bookkeeping after a delivery's last attempt
    /// (success resets the counter; the tenth consecutive failure deactivates,
    /// by the domain's [`streak_deactivation`]).
    RecordDelivery,
}

impl CreateWebhook {
    /// Fields are checked first (every invalid one reported), then the URL
    /// (which may need DNS), then the quota, atomically with the insert.
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: CreateWebhookInput,
    ) -> Result<CreatedWebhook, WebhookError> {
        let actor = owner(context)?;
        let mut errors = ValidationErrors::new();
        let events = check_events(&mut errors, self.ports.catalog.as_ref(), &input.events);
        let description = errors.check(
            "description",
            "invalid",
            Description::parse(input.description.as_deref().unwrap_or_default()),
        );
        let chantier_ids = match input.chantier_ids.as_deref() {
            None => Some(None),
            Some(raw) => check_chantiers(&mut errors, raw).map(Some),
        };
        // Conditions are judged against the types the patterns select: not
        // without valid patterns.
        let filters = match (&events, &input.filters) {
            (_, None) => Some(DataFilters::default()),
            (Some(patterns), Some(raw)) => {
                check_filters(&mut errors, self.ports.catalog.as_ref(), patterns, raw)
            }
            (None, Some(_)) => None,
        };
        let (Some(events), Some(description), Some(chantier_ids), Some(filters)) =
            (events, description, chantier_ids, filters)
        else {
            return Err(WebhookError::Invalid(errors));
        };
        let url = check_url(self.ports.destinations.as_ref(), &input.url).await?;

        let id = Uuid::now_v7();
        let secret = self.ports.vault.generate()?;
        let sealed = self.ports.vault.seal(id, &secret)?;
        let (webhook, created) = Webhook::create(
            NewWebhook {
                id,
                owner_id: actor.user_id,
                url,
                events,
                description,
                legacy_signature: input.legacy_signature,
                options: DeliveryOptions {
                    chantier_ids,
                    filters,
                    ordering: input.ordering,
                },
            },
            sealed,
            now(self.ports.clock.as_ref()),
        );
        let events = [context.wrap(&created, &*self.ports.clock)?];
        self.ports
            .webhooks
            .insert(&webhook, actor.role, &events, MAX_WEBHOOKS_PER_OWNER)
            .await?;
        Ok(CreatedWebhook { webhook, secret })
    }
}

impl ListWebhooks {
    pub async fn execute(
        &self,
        owner_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Webhook>, u64), WebhookError> {
        Ok(self.ports.webhooks.list_by_owner(owner_id, page).await?)
    }
}

impl GetWebhook {
    pub async fn execute(&self, owner_id: Uuid, id: Uuid) -> Result<Webhook, WebhookError> {
        load_owned(self.ports.webhooks.as_ref(), owner_id, id).await
    }
}

/// Raw input of a webhook update; absent fields are left unchanged, an
/// empty `description` clears it.
#[derive(Debug, Clone, Default)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub retry_enabled: Option<bool>,
    pub max_retries: Option<u64>,
    pub legacy_signature: Option<bool>,
    /// `Some(None)` lifts the limit to some chantiers.
    pub chantier_ids: Option<Option<Vec<Uuid>>>,
    /// Replaces every condition (`{}`: none).
    pub filters: Option<Map<String, Value>>,
    pub ordering: Option<DeliveryOrdering>,
}

impl UpdateWebhook {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateWebhookInput,
    ) -> Result<Webhook, WebhookError> {
        let actor = owner(context)?;
        let mut errors = ValidationErrors::new();
        let events = input
            .events
            .as_deref()
            .map(|raw| check_events(&mut errors, self.ports.catalog.as_ref(), raw));
        let description = input
            .description
            .as_deref()
            .map(|raw| errors.check("description", "invalid", Description::parse(raw)));
        let max_retries = input
            .max_retries
            .map(|n| errors.check("max_retries", "out_of_range", MaxRetries::new(n)));
        let chantier_ids = input
            .chantier_ids
            .as_ref()
            .map(|raw| raw.as_deref().map(|ids| check_chantiers(&mut errors, ids)));
        if !errors.is_empty() {
            return Err(WebhookError::Invalid(errors));
        }
        let events = events.flatten();
        let changes = WebhookChanges {
            url: None,
            events: events.clone(),
            description: description.flatten(),
            is_active: input.is_active,
            retry_enabled: input.retry_enabled,
            max_retries: max_retries.flatten(),
            legacy_signature: input.legacy_signature,
            // Errors were returned above: every list given is valid here.
            chantier_ids: chantier_ids.map(Option::flatten),
            filters: None,
            ordering: input.ordering,
        };

        let mut url = None;
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut webhook = load_owned(self.ports.webhooks.as_ref(), actor.user_id, id).await?;
            // Checked once the webhook is known to be the caller's.
            if let (Some(raw), None) = (&input.url, &url) {
                url = Some(check_url(self.ports.destinations.as_ref(), raw).await?);
            }
            // The conditions must suit the types the patterns select:
            // checked when either changes, against the webhook as it will be.
            let filters = if input.filters.is_some() || events.is_some() {
                let patterns = events.as_ref().unwrap_or(webhook.events());
                let raw = input
                    .filters
                    .clone()
                    .unwrap_or_else(|| webhook.filters().conditions().clone());
                let mut errors = ValidationErrors::new();
                match check_filters(&mut errors, self.ports.catalog.as_ref(), patterns, &raw) {
                    Some(filters) => input.filters.is_some().then_some(filters),
                    None => return Err(WebhookError::Invalid(errors)),
                }
            } else {
                None
            };
            let changes = WebhookChanges {
                url: url.clone(),
                filters,
                ..changes.clone()
            };
            let Some(updated) = webhook.update(changes, now(self.ports.clock.as_ref())) else {
                return Ok(webhook);
            };
            let events = [context.wrap(&updated, &*self.ports.clock)?];
            match self.ports.webhooks.update(&webhook, &events).await {
                Ok(()) => return Ok(webhook),
                Err(RepositoryError::Conflict) if attempt < WRITE_ATTEMPTS => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(WebhookError::Conflict)
    }
}

impl DeleteWebhook {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<(), WebhookError> {
        let actor = owner(context)?;
        let webhook = load_owned(self.ports.webhooks.as_ref(), actor.user_id, id).await?;
        let events = [context.wrap(&webhook.deleted(), &*self.ports.clock)?];
        Ok(self.ports.webhooks.delete(&webhook, &events).await?)
    }
}

/// A rotated webhook and its new signing secret, shown to the owner this once.
#[derive(Debug, Clone)]
pub struct RotatedSecret {
    pub webhook: Webhook,
    pub secret: PlainSecret,
}

impl RotateSecret {
    /// `grace_period_seconds`: 0 to 604 800, 86 400 when `None`.
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        grace_period_seconds: Option<u64>,
    ) -> Result<RotatedSecret, WebhookError> {
        let actor = owner(context)?;
        let grace = match grace_period_seconds {
            None => GracePeriod::default(),
            Some(seconds) => GracePeriod::from_seconds(seconds).map_err(|e| {
                WebhookError::Invalid(ValidationErrors::single(
                    "grace_period_seconds",
                    "out_of_range",
                    e.to_string(),
                ))
            })?,
        };
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut webhook = load_owned(self.ports.webhooks.as_ref(), actor.user_id, id).await?;
            let secret = self.ports.vault.generate()?;
            let sealed = self.ports.vault.seal(webhook.id(), &secret)?;
            let rotated = webhook.rotate_secret(sealed, grace, now(self.ports.clock.as_ref()));
            let events = [context.wrap(&rotated, &*self.ports.clock)?];
            match self.ports.webhooks.update(&webhook, &events).await {
                Ok(()) => return Ok(RotatedSecret { webhook, secret }),
                Err(RepositoryError::Conflict) if attempt < WRITE_ATTEMPTS => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(WebhookError::Conflict)
    }
}

impl ListEventTypes {
    pub fn execute(&self) -> Vec<EventTypeInfo> {
        self.ports.catalog.event_types()
    }
}

impl SigningSecrets {
    pub async fn execute(&self, webhook_id: Uuid) -> Result<Vec<PlainSecret>, WebhookError> {
        let webhook = self
            .ports
            .webhooks
            .find(webhook_id)
            .await?
            .ok_or(WebhookError::NotFound)?;
        Ok(open_signing_secrets(
            self.ports.vault.as_ref(),
            &webhook,
            self.ports.clock.now(),
        )?)
    }
}

/// Decrypts the secrets of `webhook` that sign at `now`.
pub fn open_signing_secrets(
    vault: &dyn SecretVault,
    webhook: &Webhook,
    now: time::OffsetDateTime,
) -> Result<Vec<PlainSecret>, VaultError> {
    webhook
        .signing_secrets(now)
        .into_iter()
        .map(|sealed| vault.open(webhook.id(), sealed))
        .collect()
}

impl ListRecipients {
    pub async fn execute(&self, event: &EventEnvelope) -> Result<Vec<Webhook>, WebhookError> {
        let event_type = event.event_type.as_str();
        if event_type == TEST_EVENT_TYPE {
            return Ok(Vec::new());
        }
        let candidates = self.ports.webhooks.list_active_matching(event_type).await?;
        let scope = AccessScope::new(self.ports.scope.clone());
        let mut verdicts: HashMap<Uuid, bool> = HashMap::new();
        let mut recipients = Vec::with_capacity(candidates.len());
        for webhook in candidates {
            if !webhook.wants(event_type) {
                continue;
            }
            let owner_id = webhook.owner_id();
            let allowed = match verdicts.get(&owner_id) {
                Some(allowed) => *allowed,
                None => {
                    let allowed = scope.may_receive(owner_id, event).await?;
                    verdicts.insert(owner_id, allowed);
                    allowed
                }
            };
            if allowed {
                recipients.push(webhook);
            }
        }
        Ok(recipients)
    }
}

impl DisableWebhook {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        reason: &str,
    ) -> Result<bool, WebhookError> {
        let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut webhook = self
                .ports
                .webhooks
                .find(id)
                .await?
                .ok_or(WebhookError::NotFound)?;
            let Some((updated, disabled)) =
                webhook.disable(&reason, now(self.ports.clock.as_ref()))
            else {
                return Ok(false);
            };
            // The settings change for those who follow them, and the
            // notice for the owner, in the same transaction.
            let events = [
                context.wrap(&updated, &*self.ports.clock)?,
                context.wrap(&disabled, &*self.ports.clock)?,
            ];
            match self.ports.webhooks.update(&webhook, &events).await {
                Ok(()) => return Ok(true),
                Err(RepositoryError::Conflict) if attempt < WRITE_ATTEMPTS => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(WebhookError::Conflict)
    }
}

/// What recording a failed delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    pub consecutive_failures: u32,
    /// The webhook was deactivated by this failure.
    pub disabled: bool,
}

impl RecordDelivery {
    pub async fn succeeded(&self, id: Uuid) -> Result<(), WebhookError> {
        Ok(self
            .ports
            .webhooks
            .record_delivery_success(id, now(self.ports.clock.as_ref()))
            .await?)
    }

    /// `reason` describes the last failure (no URL, no secret).
    pub async fn failed(&self, id: Uuid, reason: &str) -> Result<FailureOutcome, WebhookError> {
        let consecutive_failures = self
            .ports
            .webhooks
            .record_delivery_failure(id, now(self.ports.clock.as_ref()), reason)
            .await?;
        let mut disabled = false;
        if let Some(why) = streak_deactivation(consecutive_failures, reason) {
            disabled = DisableWebhook::new(self.ports.clone())
                .execute(&CommandContext::system(None), id, &why)
                .await?;
        }
        Ok(FailureOutcome {
            consecutive_failures,
            disabled,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
