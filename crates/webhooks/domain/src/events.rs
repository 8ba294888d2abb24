//! Events of the webhooks context (catalog: `docs/EVENTS.md`, section webhooks).
//! They never carry the receiver's URL (it may hold a token) nor any secret.

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::DeliveryOrdering;

/// `webhook.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::webhook_created())]
pub struct WebhookCreated {
    /// The webhook.
    pub webhook_id: Uuid,
    /// The user who owns the webhook (and whose access decides what it
    /// receives).
    pub owner_id: Uuid,
    /// The topic patterns subscribed to.
    pub events: Vec<String>,
    /// Whether the webhook receives events.
    pub is_active: bool,
    /// The chantiers it is limited to (events whose `chantier_id` is
    /// listed), or `null` for every chantier.
    pub chantier_ids: Option<Vec<Uuid>>,
    /// Equality conditions on top-level `data` fields every event it
    /// receives meets (`{}`: none).
    pub filters: serde_json::Map<String, serde_json::Value>,
    /// `aggregate`: one event of an aggregate at a time, in the order they
    /// occurred; `none`: each as soon as it is due.
    pub ordering: DeliveryOrdering,
}

/// `webhook.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::webhook_updated())]
pub struct WebhookUpdated {
    /// The webhook.
    pub webhook_id: Uuid,
    /// The user who owns the webhook.
    pub owner_id: Uuid,
    /// The topic patterns subscribed to, after the change.
    pub events: Vec<String>,
    /// Whether the webhook receives events, after the change.
    pub is_active: bool,
    /// The chantiers it is limited to after the change, or `null` for
    /// every chantier.
    pub chantier_ids: Option<Vec<Uuid>>,
    /// Its conditions on `data` after the change (`{}`: none).
    pub filters: serde_json::Map<String, serde_json::Value>,
    /// Its ordering after the change: `none` or `aggregate`.
    pub ordering: DeliveryOrdering,
    /// Whether the receiver's URL changed (the URL itself is never in events).
    pub url_changed: bool,
    /// What changed, among `events`, `description`, `is_active`,
    /// `retry_enabled`, `max_retries`, `legacy_signature`, `chantier_ids`,
    /// `filters`, `ordering`, and on a
    /// re-enabling or an automatic deactivation `consecutive_failures` and
    /// `disabled_reason`. Never the URL nor a secret.
    pub changes: Changes,
}

/// `webhook.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::webhook_deleted())]
pub struct WebhookDeleted {
    /// The webhook.
    pub webhook_id: Uuid,
    /// The user who owned the webhook.
    pub owner_id: Uuid,
    /// The topic patterns it was subscribed to.
    pub events: Vec<String>,
    /// Whether it was active when deleted.
    pub is_active: bool,
}

/// `webhook.secret_rotated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::webhook_secret_rotated())]
pub struct WebhookSecretRotated {
    /// The webhook whose signing secret was replaced (neither secret is in
    /// the event).
    pub webhook_id: Uuid,
    /// The user who owns the webhook.
    pub owner_id: Uuid,
    /// The topic patterns subscribed to.
    pub events: Vec<String>,
    /// Whether the webhook receives events.
    pub is_active: bool,
}

/// `webhook.disabled`: the delivery engine deactivated an endpoint (a
/// `410 Gone` answer, or a run of failed deliveries). Raised with the
/// `webhook.updated` of the same change, for integrators who want to be
/// told without following every settings change.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::webhook_disabled())]
pub struct WebhookDisabled {
    /// The deactivated webhook.
    pub webhook_id: Uuid,
    /// The user who owns it: their other webhooks subscribed to
    /// `webhook.disabled` receive this event, whatever their role.
    pub owner_id: Uuid,
    /// Why, as shown in the webhook's `disabled_reason` (never the URL).
    pub reason: String,
    /// Failed deliveries in a row when it was deactivated.
    pub consecutive_failures: u32,
}

/// `webhook.test`: sent on demand to one endpoint, never fanned out.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::webhook_test())]
pub struct WebhookTest {
    /// The webhook being tested: the only one that receives this event.
    pub webhook_id: Uuid,
    /// A fixed human-readable text.
    pub message: String,
}

/// The examples of the catalog (`docs/EVENTS.md`, `GET /api/v1/event-types`):
/// an administrator's webhook feeding an ERP.
mod examples {
    use super::*;

    /// The administrator who acts in every example of the catalog.
    const ADMIN: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7a10_8b2d_4e6f_8a9b_0c1d);
    const WEBHOOK: Uuid = Uuid::from_u128(0x0193_c2d5_8e1f_7a92_b3c4_5d6e_7f8a_9b0c);

    fn patterns() -> Vec<String> {
        vec!["chantier.*".into(), "*.created".into()]
    }

    pub(super) fn webhook_created() -> WebhookCreated {
        WebhookCreated {
            webhook_id: WEBHOOK,
            owner_id: ADMIN,
            events: patterns(),
            is_active: true,
            chantier_ids: None,
            filters: serde_json::Map::new(),
            ordering: DeliveryOrdering::Aggregate,
        }
    }

    /// The automatic deactivation after too many failed deliveries.
    pub(super) fn webhook_updated() -> WebhookUpdated {
        let mut changes = Changes::new();
        changes.record("is_active", &true, &false);
        changes.record(
            "disabled_reason",
            &None,
            &Some(
                "deactivated after 10 consecutive failed deliveries \
                 (last: the receiver answered HTTP 503)",
            ),
        );
        WebhookUpdated {
            webhook_id: WEBHOOK,
            owner_id: ADMIN,
            events: patterns(),
            is_active: false,
            chantier_ids: None,
            filters: serde_json::Map::new(),
            ordering: DeliveryOrdering::Aggregate,
            url_changed: false,
            changes,
        }
    }

    pub(super) fn webhook_disabled() -> WebhookDisabled {
        WebhookDisabled {
            webhook_id: WEBHOOK,
            owner_id: ADMIN,
            reason: "deactivated after 10 consecutive failed deliveries \
                     (last: the receiver answered HTTP 503)"
                .into(),
            consecutive_failures: 10,
        }
    }

    pub(super) fn webhook_deleted() -> WebhookDeleted {
        WebhookDeleted {
            webhook_id: WEBHOOK,
            owner_id: ADMIN,
            events: patterns(),
            is_active: false,
        }
    }

    pub(super) fn webhook_secret_rotated() -> WebhookSecretRotated {
        WebhookSecretRotated {
            webhook_id: WEBHOOK,
            owner_id: ADMIN,
            events: patterns(),
            is_active: true,
        }
    }

    pub(super) fn webhook_test() -> WebhookTest {
        WebhookTest {
            webhook_id: WEBHOOK,
            message: "Test event sent from Hub Chantier: your endpoint receives webhooks.".into(),
        }
    }
}

macro_rules! webhook_event {
    ($event:ty, $name:literal) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                "webhook"
            }
            fn aggregate_id(&self) -> String {
                self.webhook_id.to_string()
            }
        }
    };
}

webhook_event!(WebhookCreated, "webhook.created");
webhook_event!(WebhookUpdated, "webhook.updated");
webhook_event!(WebhookDeleted, "webhook.deleted");
webhook_event!(WebhookDisabled, "webhook.disabled");
webhook_event!(WebhookSecretRotated, "webhook.secret_rotated");
webhook_event!(WebhookTest, "webhook.test");

/// The webhooks events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<WebhookTest>(
            "webhook.test",
            "webhook",
            "A test event, sent on demand to one endpoint only; it cannot be subscribed to.",
        ),
        EventTypeInfo::of::<WebhookCreated>(
            "webhook.created",
            "webhook",
            "A webhook subscription was created.",
        ),
        EventTypeInfo::of::<WebhookUpdated>(
            "webhook.updated",
            "webhook",
            "A webhook's settings changed (URL, patterns, description, active flag, retries), by its owner or by an automatic deactivation.",
        ),
        EventTypeInfo::of::<WebhookDisabled>(
            "webhook.disabled",
            "webhook",
            "The delivery engine deactivated a webhook (410 Gone, or too many consecutive failed deliveries); its owner's webhooks subscribed to it receive it.",
        ),
        EventTypeInfo::of::<WebhookDeleted>(
            "webhook.deleted",
            "webhook",
            "A webhook subscription was deleted.",
        ),
        EventTypeInfo::of::<WebhookSecretRotated>(
            "webhook.secret_rotated",
            "webhook",
            "A webhook's signing secret was replaced; the previous one signs too during a grace period.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_kernel::{EventEnvelope, EventMetadata};

    #[test]
    fn catalog_lists_each_event_once_with_a_schema() {
        let catalog = event_catalog();
        let types: Vec<&str> = catalog.iter().map(|e| e.event_type).collect();
        assert_eq!(
            types,
            [
                "webhook.test",
                "webhook.created",
                "webhook.updated",
                "webhook.disabled",
                "webhook.deleted",
                "webhook.secret_rotated"
            ]
        );
        for info in &catalog {
            let properties = info.data_schema["properties"].as_object().unwrap();
            assert!(properties.contains_key("webhook_id"), "{}", info.event_type);
            assert!(!properties.contains_key("url"), "{}", info.event_type);
            assert!(!properties.contains_key("secret"), "{}", info.event_type);
        }
        assert!(catalog[2].data_schema["properties"]["changes"].is_object());
    }

    #[test]
    fn every_event_wraps_into_a_valid_envelope() {
        let id = Uuid::now_v7();
        let owner = Uuid::now_v7();
        let at = time::OffsetDateTime::now_utc();
        let meta = EventMetadata::default();
        let envelopes = [
            EventEnvelope::wrap(
                &WebhookCreated {
                    webhook_id: id,
                    owner_id: owner,
                    events: vec!["*".into()],
                    is_active: true,
                    chantier_ids: None,
                    filters: serde_json::Map::new(),
                    ordering: DeliveryOrdering::Unordered,
                },
                &meta,
                at,
            ),
            EventEnvelope::wrap(
                &WebhookTest {
                    webhook_id: id,
                    message: "hello".into(),
                },
                &meta,
                at,
            ),
        ];
        for envelope in envelopes {
            let envelope = envelope.unwrap();
            assert_eq!(envelope.aggregate_type, "webhook");
            assert_eq!(envelope.aggregate_id, id.to_string());
        }
    }
}
