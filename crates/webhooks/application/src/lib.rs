//! Webhooks use cases — managing subscriptions and their secrets, listing
//! the event catalog, what the delivery engine needs (recipients of an
//! event with access scoping, signing secrets, failure bookkeeping), and the
//! owner's side of delivery (the delivery log, test events, redelivery) —
//! and the ports they need ([`WebhookRepository`], [`EventCatalog`],
//! [`DestinationPolicy`], [`SecretVault`], [`ScopeReadModel`],
//! [`DeliveryRepository`]). Adapters live in the infrastructure crate; tests
//! mock the ports.

mod deliveries;
mod ports;
pub mod scope;
mod use_cases;

pub use deliveries::{
    EventDeliveries, GetDelivery, ListDeliveries, RecoverDeliveries, RetryDelivery, SendTestEvent,
    TEST_MESSAGE, TestEnqueued,
};
pub use ports::{
    AttemptFilter, DeliveryDetail, DeliveryRepository, DestinationPolicy, EventCatalog,
    EventDelivery, OwnerStatus, Recovered, Redelivery, RepositoryError, ScopeReadModel,
    SecretVault, UrlRefused, VaultError, WebhookRepository,
};
pub use scope::{Access, AccessScope, access_rule, chantier_of, is_own_notice, may_receive_events};
pub use use_cases::{
    CreateWebhook, CreateWebhookInput, CreatedWebhook, DeleteWebhook, DisableWebhook,
    FailureOutcome, GetWebhook, ListEventTypes, ListRecipients, ListWebhooks, RecordDelivery,
    RotateSecret, RotatedSecret, SigningSecrets, UpdateWebhook, UpdateWebhookInput, WebhookError,
    WebhookPorts, open_signing_secrets,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{
    MockDeliveryRepository, MockDestinationPolicy, MockEventCatalog, MockScopeReadModel,
    MockSecretVault, MockWebhookRepository,
};
