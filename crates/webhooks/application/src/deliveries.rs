//! The owner's side of delivery: the delivery log, the test event, and
//! redelivering one event or every failed one of a period. The workers that
//! send are adapters (they need HTTP and the queue's own SQL); what they
//! decide is the domain's ([`hub_webhooks_domain::NextStep`]).

use hub_kernel::{CommandContext, Page, ValidationErrors};
use hub_webhooks_domain::{
    DeliveryAttempt, NewDelivery, RetrySchedule, TEST_EVENT_TYPE, Webhook, WebhookTest,
    delivery_payload,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ports::{
    AttemptFilter, DeliveryDetail, EventDelivery, Recovered, Redelivery, ScopeReadModel,
    WebhookRepository,
};
use crate::scope::may_receive_events;
use crate::use_cases::{WebhookError, WebhookPorts, load_owned, owner};

/// Why a redelivery is refused when the owner may receive nothing now.
const OWNER_REVOKED: &str = "your account may no longer receive webhook events (deactivated, or no longer an admin or conducteur): nothing was queued";
/// Why the redelivery of one event is refused.
const EVENT_REVOKED: &str = "you may no longer receive this event (you are no longer a conducteur of its chantier, or your account may no longer receive webhook events): nothing was queued";

/// The `message` of every `webhook.test` event.
pub const TEST_MESSAGE: &str =
    "Test event sent from Hub Chantier: your endpoint receives webhooks.";

/// How many attempts a (re)delivery to `webhook` gets now.
fn attempts(schedule: &RetrySchedule, webhook: &Webhook) -> u32 {
    schedule.attempts_for(webhook.retry_enabled(), webhook.max_retries())
}

/// The acting user's webhook, which must be active to be redelivered to,
/// and whose owner must still be able to receive events (as the scoping
/// read model says: the send would only cancel the deliveries otherwise).
async fn load_active(
    webhooks: &dyn WebhookRepository,
    scope: &dyn ScopeReadModel,
    context: &CommandContext,
    id: Uuid,
) -> Result<Webhook, WebhookError> {
    let actor = owner(context)?;
    let webhook = load_owned(webhooks, actor.user_id, id).await?;
    if !webhook.is_active() {
        return Err(WebhookError::Inactive);
    }
    if !may_receive_events(scope.owner(webhook.owner_id()).await?) {
        return Err(WebhookError::AccessRevoked(OWNER_REVOKED));
    }
    Ok(webhook)
}

hub_kernel::use_cases! {
    WebhookPorts;
    /// The delivery log of one of the acting user's webhooks: every attempt,
    /// newest first.
    ListDeliveries,
    /// One delivery of one of the acting user's webhooks, with the exact body
    /// its attempts send.
    GetDelivery,
    /// Where one event went: its deliveries to every webhook, whoever owns
    /// them. For the administrators' event history: the route admits only them.
    EventDeliveries,
    /// Sends a `webhook.test` event to one of the acting user's webhooks — and
    /// to it only, even when it is inactive — through the normal pipeline: the
    /// event goes to the outbox and its delivery to the queue in one
    /// transaction.
    SendTestEvent,
    /// Sends one delivery of an active webhook again, now. A finished delivery
    /// gets the webhook's full number of attempts again; a pending one is only
    /// brought forward.
    RetryDelivery,
    /// Sends again every delivery of an active webhook, created in a period,
    /// that did not succeed (after an outage of the receiver), except those
    /// whose event the owner may no longer receive.
    RecoverDeliveries,
}

impl ListDeliveries {
    pub async fn execute(
        &self,
        owner_id: Uuid,
        webhook_id: Uuid,
        filter: &AttemptFilter,
        page: Page,
    ) -> Result<(Vec<DeliveryAttempt>, u64), WebhookError> {
        load_owned(self.ports.webhooks.as_ref(), owner_id, webhook_id).await?;
        Ok(self
            .ports
            .deliveries
            .list_attempts(webhook_id, filter, page)
            .await?)
    }
}

impl GetDelivery {
    pub async fn execute(
        &self,
        owner_id: Uuid,
        webhook_id: Uuid,
        id: Uuid,
    ) -> Result<DeliveryDetail, WebhookError> {
        load_owned(self.ports.webhooks.as_ref(), owner_id, webhook_id).await?;
        self.ports
            .deliveries
            .get_delivery(webhook_id, id)
            .await?
            .ok_or(WebhookError::DeliveryNotFound)
    }
}

impl EventDeliveries {
    pub async fn execute(&self, event_id: Uuid) -> Result<Vec<EventDelivery>, WebhookError> {
        Ok(self.ports.deliveries.deliveries_of_event(event_id).await?)
    }
}

/// A queued test delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestEnqueued {
    pub event_id: Uuid,
    pub delivery_id: Uuid,
}

impl SendTestEvent {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<TestEnqueued, WebhookError> {
        let actor = owner(context)?;
        let webhook = load_owned(self.ports.webhooks.as_ref(), actor.user_id, id).await?;
        let event = context.wrap(
            &WebhookTest {
                webhook_id: webhook.id(),
                message: TEST_MESSAGE.to_owned(),
            },
            &*self.ports.clock,
        )?;
        let payload = delivery_payload(&event).map_err(|e| WebhookError::Unavailable(e.into()))?;
        let delivery = NewDelivery {
            id: Uuid::now_v7(),
            webhook_id: webhook.id(),
            event_id: event.event_id,
            event_type: TEST_EVENT_TYPE.to_owned(),
            payload,
            max_attempts: attempts(&self.ports.schedule, &webhook),
        };
        self.ports
            .deliveries
            .enqueue_test(&event, &delivery)
            .await?;
        Ok(TestEnqueued {
            event_id: event.event_id,
            delivery_id: delivery.id,
        })
    }
}

impl RetryDelivery {
    /// `delivery_id`: a delivery's id, or the id of one of its attempts.
    /// Returns the delivery's id.
    pub async fn execute(
        &self,
        context: &CommandContext,
        webhook_id: Uuid,
        delivery_id: Uuid,
    ) -> Result<Uuid, WebhookError> {
        let webhook = load_active(
            self.ports.webhooks.as_ref(),
            self.ports.scope.as_ref(),
            context,
            webhook_id,
        )
        .await?;
        match self
            .ports
            .deliveries
            .redeliver(
                webhook_id,
                delivery_id,
                attempts(&self.ports.schedule, &webhook),
            )
            .await?
        {
            Redelivery::Queued { delivery_id } => Ok(delivery_id),
            Redelivery::InFlight => Err(WebhookError::DeliveryInProgress),
            Redelivery::NotAllowed => Err(WebhookError::AccessRevoked(EVENT_REVOKED)),
            Redelivery::NotFound => Err(WebhookError::DeliveryNotFound),
        }
    }
}

impl RecoverDeliveries {
    /// Deliveries created at or after `since` and before `until` (when
    /// given). Returns how many were queued again, and how many skipped.
    pub async fn execute(
        &self,
        context: &CommandContext,
        webhook_id: Uuid,
        since: OffsetDateTime,
        until: Option<OffsetDateTime>,
    ) -> Result<Recovered, WebhookError> {
        if until.is_some_and(|until| until <= since) {
            return Err(WebhookError::Invalid(ValidationErrors::single(
                "until",
                "before_since",
                "must be later than since",
            )));
        }
        let webhook = load_active(
            self.ports.webhooks.as_ref(),
            self.ports.scope.as_ref(),
            context,
            webhook_id,
        )
        .await?;
        Ok(self
            .ports
            .deliveries
            .redeliver_unsent(
                webhook_id,
                since,
                until,
                attempts(&self.ports.schedule, &webhook),
            )
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ports::{
        DeliveryRepository, MockDeliveryRepository, MockScopeReadModel, MockWebhookRepository,
        OwnerStatus, RepositoryError,
    };
    use hub_kernel::{Actor, Role, StorageError};
    use hub_webhooks_domain::{
        DeliveryOptions, EndpointUrl, EventPatterns, MaxRetries, SealedSecret, StoredWebhook,
    };
    use mockall::predicate::{always, eq};

    use crate::use_cases::tests::{NOW, ports};

    fn context(user_id: Uuid) -> CommandContext {
        CommandContext::user(
            Actor {
                user_id,
                role: Role::Conducteur,
            },
            Some("req-7".to_owned()),
        )
    }

    fn webhook(owner_id: Uuid, is_active: bool, retry_enabled: bool, retries: u64) -> Webhook {
        Webhook::restore(StoredWebhook {
            id: Uuid::now_v7(),
            owner_id,
            url: EndpointUrl::from_checked("https://erp.example.com/hooks".into()).unwrap(),
            events: EventPatterns::restore(&["chantier.*".to_owned()]).unwrap(),
            description: None,
            is_active,
            consecutive_failures: 0,
            last_triggered_at: None,
            retry_enabled,
            max_retries: MaxRetries::new(retries).unwrap(),
            disabled_reason: None,
            last_error: None,
            last_error_at: None,
            legacy_signature: false,
            options: DeliveryOptions::default(),
            secret: SealedSecret {
                ciphertext: vec![1; 48],
                nonce: vec![1; 12],
                key_id: "k".into(),
            },
            previous_secret: None,
            created_at: NOW,
            updated_at: NOW,
            version: 0,
        })
    }

    fn finding(webhook: Webhook) -> Arc<MockWebhookRepository> {
        let mut webhooks = MockWebhookRepository::new();
        let id = webhook.id();
        webhooks
            .expect_find()
            .with(eq(id))
            .returning(move |_| Ok(Some(webhook.clone())));
        Arc::new(webhooks)
    }

    /// The scoping read model seeing every owner as `role`, active or not.
    fn owners(role: Role, is_active: bool) -> Arc<MockScopeReadModel> {
        let mut scope = MockScopeReadModel::new();
        scope.expect_owner().returning(move |_| {
            Ok(Some(OwnerStatus {
                role: Some(role),
                is_active,
            }))
        });
        Arc::new(scope)
    }

    fn allowed() -> Arc<MockScopeReadModel> {
        owners(Role::Conducteur, true)
    }

    fn untouched() -> MockDeliveryRepository {
        let mut deliveries = MockDeliveryRepository::new();
        deliveries.expect_list_attempts().never();
        deliveries.expect_enqueue_test().never();
        deliveries.expect_redeliver().never();
        deliveries.expect_redeliver_unsent().never();
        deliveries.expect_get_delivery().never();
        deliveries
    }

    #[tokio::test]
    async fn the_test_event_goes_to_the_outbox_with_its_only_delivery_even_when_inactive() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, false, true, 2);
        let hook_id = hook.id();
        let mut deliveries = MockDeliveryRepository::new();
        deliveries
            .expect_enqueue_test()
            .times(1)
            .withf(move |event, delivery| {
                let body: serde_json::Value = serde_json::from_str(&delivery.payload).unwrap();
                event.event_type.as_str() == "webhook.test"
                    && event.aggregate_id == hook_id.to_string()
                    && event.actor_id == Some(owner_id)
                    && event.correlation_id.as_deref() == Some("req-7")
                    && event.occurred_at == NOW
                    && event.data
                        == serde_json::json!({"webhook_id": hook_id, "message": TEST_MESSAGE})
                    && delivery.webhook_id == hook_id
                    && delivery.event_id == event.event_id
                    && delivery.event_type == "webhook.test"
                    && delivery.max_attempts == 3
                    && body["event_id"] == event.event_id.to_string()
                    && body["data"]["webhook_id"] == hook_id.to_string()
                    && body["timestamp"] == "2026-11-26T10:00:00Z"
            })
            .returning(|_, _| Ok(()));
        let send = SendTestEvent::new(WebhookPorts {
            webhooks: finding(hook),
            deliveries: Arc::new(deliveries),
            ..ports()
        });
        let queued = send.execute(&context(owner_id), hook_id).await.unwrap();
        assert_ne!(queued.event_id, queued.delivery_id);
    }

    #[tokio::test]
    async fn someone_elses_webhook_is_not_found_for_every_delivery_route() {
        let hook = webhook(Uuid::now_v7(), true, true, 3);
        let id = hook.id();
        let stranger = context(Uuid::now_v7());
        let deliveries: Arc<dyn DeliveryRepository> = Arc::new(untouched());
        let webhooks = finding(hook);
        let schedule = RetrySchedule::default();
        let list = ListDeliveries::new(WebhookPorts {
            webhooks: webhooks.clone(),
            deliveries: deliveries.clone(),
            ..ports()
        });
        assert!(matches!(
            list.execute(
                Uuid::now_v7(),
                id,
                &AttemptFilter::default(),
                Page::new(None, None)
            )
            .await,
            Err(WebhookError::NotFound)
        ));
        let test = SendTestEvent::new(WebhookPorts {
            webhooks: webhooks.clone(),
            deliveries: deliveries.clone(),
            schedule: schedule.clone(),
            ..ports()
        });
        assert!(matches!(
            test.execute(&stranger, id).await,
            Err(WebhookError::NotFound)
        ));
        let retry = RetryDelivery::new(WebhookPorts {
            webhooks: webhooks.clone(),
            deliveries: deliveries.clone(),
            scope: allowed(),
            schedule: schedule.clone(),
            ..ports()
        });
        assert!(matches!(
            retry.execute(&stranger, id, Uuid::now_v7()).await,
            Err(WebhookError::NotFound)
        ));
        let get = GetDelivery::new(WebhookPorts {
            webhooks: webhooks.clone(),
            deliveries: deliveries.clone(),
            ..ports()
        });
        assert!(matches!(
            get.execute(Uuid::now_v7(), id, Uuid::now_v7()).await,
            Err(WebhookError::NotFound)
        ));
        let recover = RecoverDeliveries::new(WebhookPorts {
            webhooks,
            deliveries,
            scope: allowed(),
            schedule,
            ..ports()
        });
        assert!(matches!(
            recover.execute(&stranger, id, NOW, None).await,
            Err(WebhookError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_delivery_the_webhook_does_not_have_is_delivery_not_found() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, true, true, 3);
        let id = hook.id();
        let asked = Uuid::now_v7();
        let mut deliveries = MockDeliveryRepository::new();
        deliveries
            .expect_get_delivery()
            .with(eq(id), eq(asked))
            .times(1)
            .returning(|_, _| Ok(None));
        let get = GetDelivery::new(WebhookPorts {
            webhooks: finding(hook),
            deliveries: Arc::new(deliveries),
            ..ports()
        });
        assert!(matches!(
            get.execute(owner_id, id, asked).await,
            Err(WebhookError::DeliveryNotFound)
        ));
    }

    #[tokio::test]
    async fn the_log_is_listed_with_the_filter_and_page_given() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, true, true, 3);
        let id = hook.id();
        let filter = AttemptFilter {
            success: Some(false),
            event_type: Some("chantier.created".into()),
            since: Some(NOW),
            until: None,
        };
        let mut deliveries = MockDeliveryRepository::new();
        deliveries
            .expect_list_attempts()
            .with(eq(id), eq(filter.clone()), eq(Page::new(Some(10), Some(5))))
            .times(1)
            .returning(|_, _, _| Ok((Vec::new(), 12)));
        let list = ListDeliveries::new(WebhookPorts {
            webhooks: finding(hook),
            deliveries: Arc::new(deliveries),
            ..ports()
        });
        let (attempts, total) = list
            .execute(owner_id, id, &filter, Page::new(Some(10), Some(5)))
            .await
            .unwrap();
        assert!(attempts.is_empty());
        assert_eq!(total, 12);
    }

    #[tokio::test]
    async fn a_retry_gets_the_webhooks_attempts_and_reports_each_outcome() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, true, false, 3);
        let id = hook.id();
        let asked = Uuid::now_v7();
        let outcomes = [
            Redelivery::Queued { delivery_id: asked },
            Redelivery::InFlight,
            Redelivery::NotFound,
            Redelivery::NotAllowed,
        ];
        let mut deliveries = MockDeliveryRepository::new();
        let mut calls = outcomes.into_iter();
        deliveries
            .expect_redeliver()
            // retry_enabled is false: one attempt.
            .with(eq(id), eq(asked), eq(1))
            .times(4)
            .returning(move |_, _, _| Ok(calls.next().unwrap()));
        let retry = RetryDelivery::new(WebhookPorts {
            webhooks: finding(hook),
            deliveries: Arc::new(deliveries),
            scope: allowed(),
            ..ports()
        });
        let ctx = context(owner_id);
        assert_eq!(retry.execute(&ctx, id, asked).await.unwrap(), asked);
        assert!(matches!(
            retry.execute(&ctx, id, asked).await,
            Err(WebhookError::DeliveryInProgress)
        ));
        assert!(matches!(
            retry.execute(&ctx, id, asked).await,
            Err(WebhookError::DeliveryNotFound)
        ));
        assert!(matches!(
            retry.execute(&ctx, id, asked).await,
            Err(WebhookError::AccessRevoked(_))
        ));
    }

    #[tokio::test]
    async fn an_owner_who_may_no_longer_receive_events_is_refused_up_front() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, true, true, 3);
        let id = hook.id();
        let deliveries: Arc<dyn DeliveryRepository> = Arc::new(untouched());
        let webhooks = finding(hook);
        let schedule = RetrySchedule::default();
        for scope in [
            owners(Role::Conducteur, false),
            owners(Role::ChefChantier, true),
            Arc::new({
                let mut unknown = MockScopeReadModel::new();
                unknown.expect_owner().returning(|_| Ok(None));
                unknown
            }),
        ] {
            let retry = RetryDelivery::new(WebhookPorts {
                webhooks: webhooks.clone(),
                deliveries: deliveries.clone(),
                scope: scope.clone(),
                schedule: schedule.clone(),
                ..ports()
            });
            assert!(matches!(
                retry.execute(&context(owner_id), id, Uuid::now_v7()).await,
                Err(WebhookError::AccessRevoked(_))
            ));
            let recover = RecoverDeliveries::new(WebhookPorts {
                webhooks: webhooks.clone(),
                deliveries: deliveries.clone(),
                scope,
                schedule: schedule.clone(),
                ..ports()
            });
            assert!(matches!(
                recover.execute(&context(owner_id), id, NOW, None).await,
                Err(WebhookError::AccessRevoked(_))
            ));
        }
    }

    #[tokio::test]
    async fn redelivering_to_an_inactive_webhook_is_refused() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, false, true, 3);
        let id = hook.id();
        let deliveries: Arc<dyn DeliveryRepository> = Arc::new(untouched());
        let webhooks = finding(hook);
        let schedule = RetrySchedule::default();
        let retry = RetryDelivery::new(WebhookPorts {
            webhooks: webhooks.clone(),
            deliveries: deliveries.clone(),
            scope: allowed(),
            schedule: schedule.clone(),
            ..ports()
        });
        assert!(matches!(
            retry.execute(&context(owner_id), id, Uuid::now_v7()).await,
            Err(WebhookError::Inactive)
        ));
        let recover = RecoverDeliveries::new(WebhookPorts {
            webhooks,
            deliveries,
            scope: allowed(),
            schedule,
            ..ports()
        });
        assert!(matches!(
            recover.execute(&context(owner_id), id, NOW, None).await,
            Err(WebhookError::Inactive)
        ));
    }

    #[tokio::test]
    async fn recover_checks_the_window_then_requeues_it() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, true, true, 1);
        let id = hook.id();
        let until = NOW + time::Duration::hours(1);
        let mut deliveries = MockDeliveryRepository::new();
        deliveries
            .expect_redeliver_unsent()
            .with(eq(id), eq(NOW), eq(Some(until)), eq(2))
            .times(1)
            .returning(|_, _, _, _| {
                Ok(Recovered {
                    requeued: 7,
                    skipped: 2,
                })
            });
        let recover = RecoverDeliveries::new(WebhookPorts {
            webhooks: finding(hook),
            deliveries: Arc::new(deliveries),
            scope: allowed(),
            ..ports()
        });
        let ctx = context(owner_id);
        assert_eq!(
            recover.execute(&ctx, id, NOW, Some(until)).await.unwrap(),
            Recovered {
                requeued: 7,
                skipped: 2
            }
        );
        let Err(WebhookError::Invalid(errors)) = recover.execute(&ctx, id, NOW, Some(NOW)).await
        else {
            panic!("an empty window is invalid");
        };
        assert_eq!(errors.errors()[0].field, "until");
    }

    #[tokio::test]
    async fn storage_failures_are_reported() {
        let owner_id = Uuid::now_v7();
        let hook = webhook(owner_id, true, true, 3);
        let id = hook.id();
        let mut deliveries = MockDeliveryRepository::new();
        deliveries
            .expect_redeliver_unsent()
            .with(eq(id), always(), always(), always())
            .returning(|_, _, _, _| {
                Err(RepositoryError::Storage(StorageError::new(
                    std::io::Error::other("down"),
                )))
            });
        let recover = RecoverDeliveries::new(WebhookPorts {
            webhooks: finding(hook),
            deliveries: Arc::new(deliveries),
            scope: allowed(),
            ..ports()
        });
        let error = recover
            .execute(&context(owner_id), id, NOW, None)
            .await
            .unwrap_err();
        assert!(matches!(error, WebhookError::Unavailable(_)), "{error}");
        // The storage failure and its own cause stay below, for the log.
        let storage = std::error::Error::source(&error)
            .and_then(|e| e.downcast_ref::<StorageError>())
            .expect("the storage failure is the source");
        assert_eq!(
            std::error::Error::source(storage).map(ToString::to_string),
            Some("down".to_owned())
        );
    }
}
