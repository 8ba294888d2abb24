//! The webhook aggregate: one subscription of one owner.

use hub_kernel::Changes;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    ChantierIds, DataFilters, DeliveryOptions, DeliveryOrdering, Description, EndpointUrl,
    EventPatterns, GracePeriod, MaxRetries, PreviousSecret, SealedSecret, WebhookCreated,
    WebhookDeleted, WebhookDisabled, WebhookSecretRotated, WebhookUpdated,
};

/// At most this many webhooks per owner, active or not (deleting frees a slot).
pub const MAX_WEBHOOKS_PER_OWNER: u32 = 20;

/// A webhook is deactivated after this many consecutive failed deliveries.
pub const AUTO_DISABLE_AFTER: u32 = 10;

/// Everything needed to create a webhook (already validated).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Chosen by the caller: the secret is sealed with the id as associated data.
    pub id: Uuid,
    pub owner_id: Uuid,
    pub url: EndpointUrl,
    pub events: EventPatterns,
    pub description: Option<Description>,
    /// Also sign with the legacy `X-Hub-Chantier-Signature` header (body
    /// only, no timestamp: replayable), for receivers written for the
    /// original product. Off unless asked for.
    pub legacy_signature: bool,
    /// Chantiers, `data` conditions and ordering (none by default).
    pub options: DeliveryOptions,
}

/// A partial update by the owner; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<EndpointUrl>,
    pub events: Option<EventPatterns>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<Description>>,
    pub is_active: Option<bool>,
    pub retry_enabled: Option<bool>,
    pub max_retries: Option<MaxRetries>,
    pub legacy_signature: Option<bool>,
    /// `Some(None)` lifts the limit to some chantiers.
    pub chantier_ids: Option<Option<ChantierIds>>,
    /// Replaces every condition (empty: none).
    pub filters: Option<DataFilters>,
    pub ordering: Option<DeliveryOrdering>,
}

impl WebhookChanges {
    pub fn is_empty(&self) -> bool {
        self.url.is_none()
            && self.events.is_none()
            && self.description.is_none()
            && self.is_active.is_none()
            && self.retry_enabled.is_none()
            && self.max_retries.is_none()
            && self.legacy_signature.is_none()
            && self.chantier_ids.is_none()
            && self.filters.is_none()
            && self.ordering.is_none()
    }
}

/// Every field of a stored webhook, for repositories.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWebhook {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub url: EndpointUrl,
    pub events: EventPatterns,
    pub description: Option<Description>,
    pub is_active: bool,
    pub consecutive_failures: u32,
    pub last_triggered_at: Option<OffsetDateTime>,
    pub retry_enabled: bool,
    pub max_retries: MaxRetries,
    pub disabled_reason: Option<String>,
    /// The last failed delivery's error and when it happened: delivery
    /// bookkeeping, written by the engine only (never by an update).
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
    /// Deliveries carry the legacy `X-Hub-Chantier-Signature` header too.
    pub legacy_signature: bool,
    pub options: DeliveryOptions,
    pub secret: SealedSecret,
    pub previous_secret: Option<PreviousSecret>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Optimistic concurrency: bumped by the repository on every write.
    pub version: i64,
}

/// A subscription of one user to events, delivered to one URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    state: StoredWebhook,
}

impl Webhook {
    /// A new, active webhook signing with `secret`.
    pub fn create(
        new: NewWebhook,
        secret: SealedSecret,
        now: OffsetDateTime,
    ) -> (Self, WebhookCreated) {
        let webhook = Self {
            state: StoredWebhook {
                id: new.id,
                owner_id: new.owner_id,
                url: new.url,
                events: new.events,
                description: new.description,
                is_active: true,
                consecutive_failures: 0,
                last_triggered_at: None,
                retry_enabled: true,
                max_retries: MaxRetries::DEFAULT,
                disabled_reason: None,
                last_error: None,
                last_error_at: None,
                legacy_signature: new.legacy_signature,
                options: new.options,
                secret,
                previous_secret: None,
                created_at: now,
                updated_at: now,
                version: 0,
            },
        };
        let options = &webhook.state.options;
        let event = WebhookCreated {
            webhook_id: webhook.id(),
            owner_id: webhook.owner_id(),
            events: webhook.events().to_strings(),
            is_active: true,
            chantier_ids: chantier_list(options.chantier_ids.as_ref()),
            filters: options.filters.conditions().clone(),
            ordering: options.ordering,
        };
        (webhook, event)
    }

    /// Rebuilds a stored webhook (repositories only).
    pub fn restore(state: StoredWebhook) -> Self {
        Self { state }
    }

    /// Applies the owner's `changes`. Re-enabling (`is_active` false → true)
    /// resets the failure counter and clears the reason of the deactivation.
    /// A previous secret past its grace period is dropped with the change.
    /// Returns `None` when nothing changed.
    pub fn update(
        &mut self,
        changes: WebhookChanges,
        now: OffsetDateTime,
    ) -> Option<WebhookUpdated> {
        let s = &mut self.state;
        let mut recorded = Changes::new();
        let mut url_changed = false;
        if let Some(url) = changes.url
            && url != s.url
        {
            s.url = url;
            url_changed = true;
        }
        if let Some(events) = changes.events {
            recorded.record("events", &s.events.to_strings(), &events.to_strings());
            s.events = events;
        }
        if let Some(description) = changes.description {
            let text = |d: &Option<Description>| d.as_ref().map(|d| d.as_str().to_owned());
            recorded.record("description", &text(&s.description), &text(&description));
            s.description = description;
        }
        if let Some(active) = changes.is_active
            && active != s.is_active
        {
            recorded.record("is_active", &s.is_active, &active);
            if active {
                recorded.record("consecutive_failures", &s.consecutive_failures, &0);
                recorded.record("disabled_reason", &s.disabled_reason, &None);
                s.consecutive_failures = 0;
                s.disabled_reason = None;
            }
            s.is_active = active;
        }
        if let Some(retry_enabled) = changes.retry_enabled {
            recorded.record("retry_enabled", &s.retry_enabled, &retry_enabled);
            s.retry_enabled = retry_enabled;
        }
        if let Some(max_retries) = changes.max_retries {
            recorded.record("max_retries", &s.max_retries.get(), &max_retries.get());
            s.max_retries = max_retries;
        }
        if let Some(legacy_signature) = changes.legacy_signature {
            recorded.record("legacy_signature", &s.legacy_signature, &legacy_signature);
            s.legacy_signature = legacy_signature;
        }
        if let Some(chantier_ids) = changes.chantier_ids {
            recorded.record(
                "chantier_ids",
                &chantier_list(s.options.chantier_ids.as_ref()),
                &chantier_list(chantier_ids.as_ref()),
            );
            s.options.chantier_ids = chantier_ids;
        }
        if let Some(filters) = changes.filters {
            recorded.record(
                "filters",
                s.options.filters.conditions(),
                filters.conditions(),
            );
            s.options.filters = filters;
        }
        if let Some(ordering) = changes.ordering {
            recorded.record("ordering", &s.options.ordering, &ordering);
            s.options.ordering = ordering;
        }
        if recorded.is_empty() && !url_changed {
            return None;
        }
        drop_expired(&mut s.previous_secret, now);
        s.updated_at = now;
        Some(self.updated_event(url_changed, recorded))
    }

    /// Deactivates the webhook for a reason its owner will see (a `410 Gone`
    /// answer, too many consecutive failures): the settings change, and the
    /// `webhook.disabled` that tells the owner. `None` when already inactive.
    pub fn disable(
        &mut self,
        reason: &str,
        now: OffsetDateTime,
    ) -> Option<(WebhookUpdated, WebhookDisabled)> {
        let s = &mut self.state;
        if !s.is_active {
            return None;
        }
        let mut recorded = Changes::new();
        recorded.record("is_active", &true, &false);
        let reason = Some(reason.to_owned());
        recorded.record("disabled_reason", &s.disabled_reason, &reason);
        s.is_active = false;
        s.disabled_reason = reason;
        drop_expired(&mut s.previous_secret, now);
        s.updated_at = now;
        let disabled = WebhookDisabled {
            webhook_id: s.id,
            owner_id: s.owner_id,
            reason: s.disabled_reason.clone().unwrap_or_default(),
            consecutive_failures: s.consecutive_failures,
        };
        Some((self.updated_event(false, recorded), disabled))
    }

    /// Replaces the signing secret by `new`. The current one becomes the
    /// previous secret, signing too until `now + grace` (a zero grace drops
    /// it at once); a previous secret still in its grace period is dropped.
    pub fn rotate_secret(
        &mut self,
        new: SealedSecret,
        grace: GracePeriod,
        now: OffsetDateTime,
    ) -> WebhookSecretRotated {
        let s = &mut self.state;
        let old = std::mem::replace(&mut s.secret, new);
        s.previous_secret = (grace.seconds() > 0).then(|| PreviousSecret {
            sealed: old,
            expires_at: now + grace.duration(),
        });
        s.updated_at = now;
        WebhookSecretRotated {
            webhook_id: s.id,
            owner_id: s.owner_id,
            events: s.events.to_strings(),
            is_active: s.is_active,
        }
    }

    /// The event announcing this webhook's deletion.
    pub fn deleted(&self) -> WebhookDeleted {
        WebhookDeleted {
            webhook_id: self.id(),
            owner_id: self.owner_id(),
            events: self.events().to_strings(),
            is_active: self.is_active(),
        }
    }

    /// The secrets that sign deliveries at `now`: the current one first,
    /// then the previous one while its grace period lasts.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> Vec<&SealedSecret> {
        let mut secrets = vec![&self.state.secret];
        if let Some(previous) = &self.state.previous_secret
            && previous.expires_at > now
        {
            secrets.push(&previous.sealed);
        }
        secrets
    }

    /// Whether a delivery of `event_type` is due to this webhook by its
    /// state and patterns (access scoping is decided elsewhere).
    pub fn wants(&self, event_type: &str) -> bool {
        self.state.is_active && self.state.events.matches(event_type)
    }

    fn updated_event(&self, url_changed: bool, changes: Changes) -> WebhookUpdated {
        let options = &self.state.options;
        WebhookUpdated {
            webhook_id: self.id(),
            owner_id: self.owner_id(),
            events: self.events().to_strings(),
            is_active: self.is_active(),
            chantier_ids: chantier_list(options.chantier_ids.as_ref()),
            filters: options.filters.conditions().clone(),
            ordering: options.ordering,
            url_changed,
            changes,
        }
    }

    pub fn id(&self) -> Uuid {
        self.state.id
    }
    pub fn owner_id(&self) -> Uuid {
        self.state.owner_id
    }
    pub fn url(&self) -> &EndpointUrl {
        &self.state.url
    }
    pub fn events(&self) -> &EventPatterns {
        &self.state.events
    }
    pub fn description(&self) -> Option<&Description> {
        self.state.description.as_ref()
    }
    pub fn is_active(&self) -> bool {
        self.state.is_active
    }
    pub fn consecutive_failures(&self) -> u32 {
        self.state.consecutive_failures
    }
    pub fn last_triggered_at(&self) -> Option<OffsetDateTime> {
        self.state.last_triggered_at
    }
    pub fn retry_enabled(&self) -> bool {
        self.state.retry_enabled
    }
    pub fn max_retries(&self) -> MaxRetries {
        self.state.max_retries
    }
    pub fn disabled_reason(&self) -> Option<&str> {
        self.state.disabled_reason.as_deref()
    }
    /// The last failed delivery's error (no URL, no secret), if any.
    pub fn last_error(&self) -> Option<&str> {
        self.state.last_error.as_deref()
    }
    pub fn last_error_at(&self) -> Option<OffsetDateTime> {
        self.state.last_error_at
    }
    /// Whether deliveries also carry the legacy `X-Hub-Chantier-Signature`.
    pub fn legacy_signature(&self) -> bool {
        self.state.legacy_signature
    }
    /// The chantiers it is limited to, `None` for every chantier.
    pub fn chantier_ids(&self) -> Option<&ChantierIds> {
        self.state.options.chantier_ids.as_ref()
    }
    /// Conditions on `data` every event it receives meets.
    pub fn filters(&self) -> &DataFilters {
        &self.state.options.filters
    }
    pub fn ordering(&self) -> DeliveryOrdering {
        self.state.options.ordering
    }
    pub fn secret(&self) -> &SealedSecret {
        &self.state.secret
    }
    pub fn previous_secret(&self) -> Option<&PreviousSecret> {
        self.state.previous_secret.as_ref()
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.state.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.state.updated_at
    }
    pub fn version(&self) -> i64 {
        self.state.version
    }
    /// Every field, for repositories.
    pub fn state(&self) -> &StoredWebhook {
        &self.state
    }
}

/// The chantiers of `ids` as the events spell them.
fn chantier_list(ids: Option<&ChantierIds>) -> Option<Vec<Uuid>> {
    ids.map(|ids| ids.ids().to_vec())
}

/// A previous secret whose grace period is over signs nothing any more: a
/// write does not store its ciphertext again (the retention job clears the
/// ones no write comes to).
fn drop_expired(previous: &mut Option<PreviousSecret>, now: OffsetDateTime) {
    if previous.as_ref().is_some_and(|p| p.expires_at <= now) {
        *previous = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-26 08:00 UTC);
    const T1: OffsetDateTime = datetime!(2026-11-26 09:00 UTC);
    const CATALOG: &[&str] = &["chantier.created", "chantier.updated", "user.created"];

    fn patterns(list: &[&str]) -> EventPatterns {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        EventPatterns::parse(&list, CATALOG).unwrap()
    }

    fn sealed(tag: u8) -> SealedSecret {
        SealedSecret {
            ciphertext: vec![tag; 48],
            nonce: vec![tag; 12],
            key_id: "k1".into(),
        }
    }

    fn url(u: &str) -> EndpointUrl {
        EndpointUrl::from_checked(u.into()).unwrap()
    }

    fn webhook() -> Webhook {
        Webhook::create(
            NewWebhook {
                id: Uuid::now_v7(),
                owner_id: Uuid::now_v7(),
                url: url("https://erp.example.com/hooks"),
                events: patterns(&["chantier.*"]),
                description: Description::parse("ERP").unwrap(),
                legacy_signature: false,
                options: DeliveryOptions::default(),
            },
            sealed(1),
            T0,
        )
        .0
    }

    /// A webhook deactivated after failures, as the repository would load it.
    fn auto_disabled() -> Webhook {
        let mut state = webhook().state().clone();
        state.is_active = false;
        state.consecutive_failures = 10;
        state.disabled_reason = Some("10 consecutive failed deliveries".into());
        Webhook::restore(state)
    }

    #[test]
    fn creation_is_active_with_defaults_and_no_url_in_the_event() {
        let id = Uuid::now_v7();
        let owner = Uuid::now_v7();
        let (webhook, event) = Webhook::create(
            NewWebhook {
                id,
                owner_id: owner,
                url: url("https://erp.example.com/hooks?token=abc"),
                events: patterns(&["chantier.*", "user.created"]),
                description: None,
                legacy_signature: false,
                options: DeliveryOptions::default(),
            },
            sealed(1),
            T0,
        );
        assert!(webhook.is_active());
        assert!(!webhook.legacy_signature());
        assert!(webhook.retry_enabled());
        assert_eq!(webhook.max_retries().get(), 3);
        assert_eq!(webhook.consecutive_failures(), 0);
        assert_eq!(webhook.disabled_reason(), None);
        assert_eq!(webhook.previous_secret(), None);
        assert_eq!(webhook.created_at(), T0);
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({
                "webhook_id": id, "owner_id": owner,
                "events": ["chantier.*", "user.created"], "is_active": true,
                "chantier_ids": null, "filters": {}, "ordering": "none"
            })
        );
    }

    #[test]
    fn update_records_changed_fields_and_flags_a_new_url_without_its_value() {
        let mut w = webhook();
        let event = w
            .update(
                WebhookChanges {
                    url: Some(url("https://erp.example.com/v2?token=secret-path")),
                    events: Some(patterns(&["chantier.*", "user.created"])),
                    description: Some(None),
                    is_active: Some(true),
                    retry_enabled: Some(false),
                    max_retries: Some(MaxRetries::new(5).unwrap()),
                    legacy_signature: None,
                    ..WebhookChanges::default()
                },
                T1,
            )
            .unwrap();
        assert!(event.url_changed);
        let json = serde_json::to_value(&event).unwrap();
        assert!(!json.to_string().contains("erp.example.com"), "{json}");
        assert_eq!(
            json["changes"],
            serde_json::json!({
                "description": {"old": "ERP", "new": null},
                "events": {"old": ["chantier.*"], "new": ["chantier.*", "user.created"]},
                "max_retries": {"old": 3, "new": 5},
                "retry_enabled": {"old": true, "new": false}
            })
        );
        assert_eq!(
            w.url().as_str(),
            "https://erp.example.com/v2?token=secret-path"
        );
        assert_eq!(w.updated_at(), T1);
    }

    #[test]
    fn an_update_that_changes_nothing_raises_nothing() {
        let mut w = webhook();
        let same = WebhookChanges {
            url: Some(url("https://erp.example.com/hooks")),
            events: Some(patterns(&["chantier.*"])),
            description: Some(Description::parse("ERP").unwrap()),
            is_active: Some(true),
            retry_enabled: Some(true),
            max_retries: Some(MaxRetries::DEFAULT),
            legacy_signature: Some(false),
            chantier_ids: Some(None),
            filters: Some(DataFilters::default()),
            ordering: Some(DeliveryOrdering::Unordered),
        };
        assert_eq!(w.update(same, T1), None);
        assert_eq!(w.update(WebhookChanges::default(), T1), None);
        assert!(WebhookChanges::default().is_empty());
        assert_eq!(w.updated_at(), T0);
    }

    #[test]
    fn the_legacy_signature_is_chosen_at_creation_and_switched_by_update() {
        let (mut w, _) = Webhook::create(
            NewWebhook {
                id: Uuid::now_v7(),
                owner_id: Uuid::now_v7(),
                url: url("https://erp.example.com/hooks"),
                events: patterns(&["chantier.*"]),
                description: None,
                legacy_signature: true,
                options: DeliveryOptions::default(),
            },
            sealed(1),
            T0,
        );
        assert!(w.legacy_signature());
        let event = w
            .update(
                WebhookChanges {
                    legacy_signature: Some(false),
                    ..WebhookChanges::default()
                },
                T1,
            )
            .unwrap();
        assert!(!w.legacy_signature());
        assert_eq!(w.updated_at(), T1);
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            serde_json::json!({"legacy_signature": {"old": true, "new": false}})
        );
        assert!(
            !WebhookChanges {
                legacy_signature: Some(true),
                ..WebhookChanges::default()
            }
            .is_empty()
        );
    }

    #[test]
    fn chantiers_filters_and_ordering_are_set_at_creation_changed_and_told() {
        let site = Uuid::now_v7();
        let schema = serde_json::json!({"properties": {"statut": {"type": "string"}}});
        let raw = serde_json::json!({"statut": "valide"});
        let filters =
            DataFilters::parse(raw.as_object().unwrap(), &[("chantier.created", &schema)]).unwrap();
        let (mut w, created) = Webhook::create(
            NewWebhook {
                id: Uuid::now_v7(),
                owner_id: Uuid::now_v7(),
                url: url("https://erp.example.com/hooks"),
                events: patterns(&["chantier.*"]),
                description: None,
                legacy_signature: false,
                options: DeliveryOptions {
                    chantier_ids: Some(ChantierIds::parse(&[site]).unwrap()),
                    filters: filters.clone(),
                    ordering: DeliveryOrdering::Aggregate,
                },
            },
            sealed(1),
            T0,
        );
        assert_eq!(w.chantier_ids().unwrap().ids(), [site]);
        assert_eq!(w.filters(), &filters);
        assert_eq!(w.ordering(), DeliveryOrdering::Aggregate);
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["chantier_ids"], serde_json::json!([site]));
        assert_eq!(json["filters"], raw);
        assert_eq!(json["ordering"], "aggregate");

        let updated = w
            .update(
                WebhookChanges {
                    chantier_ids: Some(None),
                    filters: Some(DataFilters::default()),
                    ordering: Some(DeliveryOrdering::Unordered),
                    ..WebhookChanges::default()
                },
                T1,
            )
            .unwrap();
        assert_eq!(w.chantier_ids(), None);
        assert!(w.filters().is_empty());
        let json = serde_json::to_value(&updated).unwrap();
        assert_eq!(json["chantier_ids"], serde_json::Value::Null);
        assert_eq!(json["filters"], serde_json::json!({}));
        assert_eq!(json["ordering"], "none");
        assert_eq!(
            json["changes"],
            serde_json::json!({
                "chantier_ids": {"old": [site], "new": null},
                "filters": {"old": raw, "new": {}},
                "ordering": {"old": "aggregate", "new": "none"}
            })
        );
    }

    #[test]
    fn re_enabling_resets_the_failure_counter_and_the_reason() {
        let mut w = auto_disabled();
        let event = w
            .update(
                WebhookChanges {
                    is_active: Some(true),
                    ..WebhookChanges::default()
                },
                T1,
            )
            .unwrap();
        assert!(w.is_active());
        assert_eq!(w.consecutive_failures(), 0);
        assert_eq!(w.disabled_reason(), None);
        assert!(event.is_active);
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            serde_json::json!({
                "consecutive_failures": {"old": 10, "new": 0},
                "disabled_reason": {"old": "10 consecutive failed deliveries", "new": null},
                "is_active": {"old": false, "new": true}
            })
        );
    }

    #[test]
    fn deactivating_by_hand_keeps_the_counter_and_gives_no_reason() {
        let mut w = webhook();
        let event = w
            .update(
                WebhookChanges {
                    is_active: Some(false),
                    ..WebhookChanges::default()
                },
                T1,
            )
            .unwrap();
        assert!(!w.is_active());
        assert!(!event.is_active);
        assert_eq!(w.disabled_reason(), None);
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            serde_json::json!({"is_active": {"old": true, "new": false}})
        );
        // An inactive webhook matches nothing.
        assert!(!w.wants("chantier.created"));
    }

    #[test]
    fn disable_records_the_reason_once() {
        let mut w = webhook();
        let (event, disabled) = w.disable("the receiver answered 410 Gone", T1).unwrap();
        assert_eq!(
            disabled,
            WebhookDisabled {
                webhook_id: w.id(),
                owner_id: w.owner_id(),
                reason: "the receiver answered 410 Gone".into(),
                consecutive_failures: 0,
            }
        );
        assert!(!w.is_active());
        assert_eq!(w.disabled_reason(), Some("the receiver answered 410 Gone"));
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            serde_json::json!({
                "disabled_reason": {"old": null, "new": "the receiver answered 410 Gone"},
                "is_active": {"old": true, "new": false}
            })
        );
        assert_eq!(w.disable("again", T1), None);
        assert_eq!(w.disabled_reason(), Some("the receiver answered 410 Gone"));
    }

    #[test]
    fn rotation_keeps_the_previous_secret_for_the_grace_period() {
        let mut w = webhook();
        let event = w.rotate_secret(sealed(2), GracePeriod::default(), T0);
        assert_eq!(event.webhook_id, w.id());
        assert_eq!(w.secret(), &sealed(2));
        let previous = w.previous_secret().unwrap();
        assert_eq!(previous.sealed, sealed(1));
        assert_eq!(previous.expires_at, T0 + time::Duration::hours(24));
        assert_eq!(w.signing_secrets(T0), [&sealed(2), &sealed(1)]);
        assert_eq!(
            w.signing_secrets(T0 + time::Duration::hours(24)),
            [&sealed(2)],
            "expired at the end of the grace period"
        );

        // A second rotation drops the oldest secret.
        w.rotate_secret(sealed(3), GracePeriod::from_seconds(60).unwrap(), T1);
        assert_eq!(w.previous_secret().unwrap().sealed, sealed(2));
        assert_eq!(w.signing_secrets(T1), [&sealed(3), &sealed(2)]);

        // No grace: the old secret stops signing at once.
        w.rotate_secret(sealed(4), GracePeriod::from_seconds(0).unwrap(), T1);
        assert_eq!(w.previous_secret(), None);
        assert_eq!(w.signing_secrets(T1), [&sealed(4)]);
    }

    #[test]
    fn a_write_after_the_grace_period_drops_the_previous_secret() {
        let grace = GracePeriod::from_seconds(60).unwrap();
        let describe = |w: &mut Webhook, at| {
            w.update(
                WebhookChanges {
                    description: Some(Description::parse("Paie").unwrap()),
                    ..WebhookChanges::default()
                },
                at,
            )
        };
        let mut w = webhook();
        w.rotate_secret(sealed(2), grace, T0);
        // Still in its grace period: kept.
        describe(&mut w, T0 + time::Duration::seconds(30)).unwrap();
        assert_eq!(w.previous_secret().unwrap().sealed, sealed(1));
        // Expired: the next write drops it…
        w.update(
            WebhookChanges {
                retry_enabled: Some(false),
                ..WebhookChanges::default()
            },
            T0 + time::Duration::seconds(60),
        )
        .unwrap();
        assert_eq!(w.previous_secret(), None);
        assert_eq!(w.secret(), &sealed(2));

        // …a deactivation too, but not an update that changes nothing.
        let mut w = webhook();
        w.rotate_secret(sealed(2), grace, T0);
        assert_eq!(w.update(WebhookChanges::default(), T1), None);
        assert!(w.previous_secret().is_some());
        w.disable("the receiver answered 410 Gone", T1).unwrap();
        assert_eq!(w.previous_secret(), None);
    }

    #[test]
    fn deletion_event_describes_the_webhook() {
        let w = webhook();
        let event = w.deleted();
        assert_eq!(event.webhook_id, w.id());
        assert_eq!(event.owner_id, w.owner_id());
        assert_eq!(event.events, ["chantier.*"]);
        assert!(event.is_active);
    }

    #[test]
    fn wants_follows_patterns_and_active_flag() {
        let w = webhook();
        assert!(w.wants("chantier.created"));
        assert!(!w.wants("user.created"));
        assert!(!w.wants("webhook.test"));
    }
}
