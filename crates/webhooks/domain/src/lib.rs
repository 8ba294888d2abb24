//! Webhooks domain: the [`Webhook`] aggregate (one user's subscription to
//! events, delivered to one URL and signed with a secret), the value objects
//! that make it valid by construction ([`EventPatterns`], [`Description`],
//! [`MaxRetries`], [`GracePeriod`], [`EndpointUrl`]), the sealed and plain
//! forms of signing secrets, and the webhooks events of the catalog. No I/O:
//! URL checks, encryption and storage are ports of the application.

mod events;
mod values;
mod webhook;

pub use events::{
    WebhookCreated, WebhookDeleted, WebhookSecretRotated, WebhookTest, WebhookUpdated,
    event_catalog,
};
pub use values::{
    Description, EndpointUrl, EventPatterns, EventPatternsError, GracePeriod, MaxRetries,
    PatternError, PatternListError, PlainSecret, PreviousSecret, SealedSecret, TEST_EVENT_TYPE,
    ValueError,
};
pub use webhook::{
    AUTO_DISABLE_AFTER, MAX_WEBHOOKS_PER_OWNER, NewWebhook, StoredWebhook, Webhook, WebhookChanges,
};
