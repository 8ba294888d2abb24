//! Webhooks domain: the [`Webhook`] aggregate (one user's subscription to
//! events, delivered to one URL and signed with a secret), the value objects
//! that make it valid by construction ([`EventPatterns`], [`Description`],
//! [`MaxRetries`], [`GracePeriod`], [`EndpointUrl`]), the sealed and plain
//! forms of signing secrets, the webhooks events of the catalog, and the
//! rules of delivery ([`RetrySchedule`], [`NextStep`], [`DeliveryStatus`],
//! the exact request body of [`delivery_payload`]) and the outcome policy
//! that turns an attempt into a job's verdict and a webhook's bookkeeping
//! ([`JobFacts`], [`Verdict`], [`WebhookEffect`]). No I/O: URL checks,
//! encryption, storage and HTTP are ports of the application or adapters.

mod delivery;
mod events;
mod options;
mod outcome;
mod values;
mod webhook;

pub use delivery::{
    AttemptResult, DeliveryAttempt, DeliveryStatus, FailureKind, JITTER, NewDelivery, NextStep,
    PayloadError, RESPONSE_EXCERPT_BYTES, RetrySchedule, ScheduleError, UnknownFailureKind,
    UnknownStatus, delivery_payload, parse_retry_after, response_excerpt,
};
pub use events::{
    WebhookCreated, WebhookDeleted, WebhookDisabled, WebhookSecretRotated, WebhookTest,
    WebhookUpdated, event_catalog,
};
pub use options::{
    ChantierIds, ChantierIdsError, DataFilters, DataFiltersError, DeliveryOptions,
    DeliveryOrdering, FilterError, UnknownOrdering,
};
pub use outcome::{
    CANCELLED_REASON, GONE_REASON, JobFacts, Verdict, WebhookEffect, streak_deactivation,
};
pub use values::{
    Description, EndpointUrl, EventPatterns, EventPatternsError, GracePeriod, MaxRetries,
    PatternError, PatternListError, PlainSecret, PreviousSecret, SealedSecret, TEST_EVENT_TYPE,
    ValueError,
};
pub use webhook::{
    AUTO_DISABLE_AFTER, MAX_WEBHOOKS_PER_OWNER, NewWebhook, StoredWebhook, Webhook, WebhookChanges,
};
