//! Access scoping: which events a webhook's owner may receive.
//!
//! - An active admin's webhooks may receive every event.
//! - An active conducteur's webhooks receive only events whose
//!   `data.chantier_id` is a chantier on which that user is *currently* a
//!   conducteur (the read model built from `chantier.*` events).
//! - Events without a `chantier_id` go to admin webhooks only, except
//!   `webhook.disabled`, which also goes to the webhooks of the disabled
//!   webhook's owner, whatever their role: it is about their own endpoint.
//! - Webhooks of deactivated owners, of owners whose role is now
//!   `chef_chantier` or `compagnon`, or of owners the read model does not
//!   know, receive nothing: the rule fails closed.

use std::sync::Arc;

use hub_kernel::{EventEnvelope, Role};
use uuid::Uuid;

use crate::ports::{OwnerStatus, RepositoryError, ScopeReadModel};

/// The verdict of [`access_rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Denied,
    /// Allowed only if the owner is a conducteur of this chantier.
    IfConducteurOf(Uuid),
}

/// The scoping rule, without I/O: what an owner in `owner` state may
/// receive of `event`.
pub fn access_rule(owner: Option<OwnerStatus>, event: &EventEnvelope) -> Access {
    let Some(owner) = owner else {
        return Access::Denied;
    };
    if !owner.is_active {
        return Access::Denied;
    }
    match owner.role {
        Some(Role::Admin) => Access::Allowed,
        Some(Role::Conducteur) => match chantier_of(event) {
            Some(chantier_id) => Access::IfConducteurOf(chantier_id),
            None => Access::Denied,
        },
        Some(Role::ChefChantier | Role::Compagnon) | None => Access::Denied,
    }
}

/// Whether an owner in `owner` state may receive events at all (active,
/// admin or conducteur): what redelivering to their webhook needs first.
pub fn may_receive_events(owner: Option<OwnerStatus>) -> bool {
    owner.is_some_and(|o| o.is_active && matches!(o.role, Some(Role::Admin | Role::Conducteur)))
}

/// Whether `event` is a `webhook.disabled` about a webhook of `owner_id`,
/// who is active: such a notice reaches its owner whatever their role.
pub fn is_own_notice(owner_id: Uuid, owner: Option<OwnerStatus>, event: &EventEnvelope) -> bool {
    event.event_type.as_str() == "webhook.disabled"
        && owner.is_some_and(|o| o.is_active)
        && event
            .data_str("owner_id")
            .and_then(|id| Uuid::parse_str(id).ok())
            == Some(owner_id)
}

/// The chantier an event is about: `data.chantier_id`, when it is a UUID.
pub fn chantier_of(event: &EventEnvelope) -> Option<Uuid> {
    event
        .data_str("chantier_id")
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// [`access_rule`] completed by the read models.
#[derive(Clone)]
pub struct AccessScope {
    read_model: Arc<dyn ScopeReadModel>,
}

impl std::fmt::Debug for AccessScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessScope")
    }
}

impl AccessScope {
    pub fn new(read_model: Arc<dyn ScopeReadModel>) -> Self {
        Self { read_model }
    }

    /// Whether a webhook owned by `owner_id` may receive `event`.
    pub async fn may_receive(
        &self,
        owner_id: Uuid,
        event: &EventEnvelope,
    ) -> Result<bool, RepositoryError> {
        let owner = self.read_model.owner(owner_id).await?;
        if is_own_notice(owner_id, owner, event) {
            return Ok(true);
        }
        match access_rule(owner, event) {
            Access::Allowed => Ok(true),
            Access::Denied => Ok(false),
            Access::IfConducteurOf(chantier_id) => {
                self.read_model
                    .is_conducteur_of(owner_id, chantier_id)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockScopeReadModel;
    use hub_kernel::{EventMetadata, EventType, StorageError};
    use mockall::predicate::eq;
    use time::OffsetDateTime;

    fn event(event_type: &'static str, data: serde_json::Value) -> EventEnvelope {
        EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: EventType::from_static(event_type).unwrap(),
            aggregate_type: event_type.split('.').next().unwrap().into(),
            aggregate_id: "x".into(),
            occurred_at: OffsetDateTime::now_utc(),
            actor_id: EventMetadata::default().actor_id,
            correlation_id: None,
            causation_id: None,
            schema_version: 1,
            data,
        }
    }

    fn owner(role: Role, is_active: bool) -> Option<OwnerStatus> {
        Some(OwnerStatus {
            role: Some(role),
            is_active,
        })
    }

    #[test]
    fn a_disabled_notice_reaches_its_owner_whatever_the_role_while_active() {
        let me = Uuid::now_v7();
        let notice = |owner_id: Uuid| {
            event(
                "webhook.disabled",
                serde_json::json!({"webhook_id": Uuid::now_v7(), "owner_id": owner_id}),
            )
        };
        for role in [Role::Conducteur, Role::ChefChantier, Role::Compagnon] {
            assert!(is_own_notice(me, owner(role, true), &notice(me)));
            assert!(!is_own_notice(me, owner(role, false), &notice(me)));
            assert!(!is_own_notice(
                me,
                owner(role, true),
                &notice(Uuid::now_v7())
            ));
            assert_eq!(access_rule(owner(role, true), &notice(me)), Access::Denied);
        }
        assert!(!is_own_notice(me, None, &notice(me)));
        let updated = event(
            "webhook.updated",
            serde_json::json!({"webhook_id": Uuid::now_v7(), "owner_id": me}),
        );
        assert!(!is_own_notice(me, owner(Role::Conducteur, true), &updated));
    }

    #[test]
    fn only_active_admins_and_conducteurs_may_receive_events_at_all() {
        assert!(may_receive_events(owner(Role::Admin, true)));
        assert!(may_receive_events(owner(Role::Conducteur, true)));
        assert!(!may_receive_events(owner(Role::Conducteur, false)));
        assert!(!may_receive_events(owner(Role::ChefChantier, true)));
        assert!(!may_receive_events(owner(Role::Compagnon, true)));
        assert!(!may_receive_events(None));
        assert!(!may_receive_events(Some(OwnerStatus {
            role: None,
            is_active: true
        })));
    }

    #[test]
    fn admins_receive_everything_while_active() {
        let site = Uuid::now_v7();
        for e in [
            event("chantier.created", serde_json::json!({"chantier_id": site})),
            event(
                "user.created",
                serde_json::json!({"user_id": Uuid::now_v7()}),
            ),
        ] {
            assert_eq!(access_rule(owner(Role::Admin, true), &e), Access::Allowed);
            assert_eq!(access_rule(owner(Role::Admin, false), &e), Access::Denied);
        }
    }

    #[test]
    fn conducteurs_depend_on_the_chantier_and_never_get_events_without_one() {
        let site = Uuid::now_v7();
        let on_site = event(
            "affectation.created",
            serde_json::json!({"chantier_id": site}),
        );
        assert_eq!(
            access_rule(owner(Role::Conducteur, true), &on_site),
            Access::IfConducteurOf(site)
        );
        for no_site in [
            event(
                "user.created",
                serde_json::json!({"user_id": Uuid::now_v7()}),
            ),
            event(
                "feuille_heures.exported",
                serde_json::json!({"chantier_id": null}),
            ),
            event(
                "heures.created",
                serde_json::json!({"chantier_id": "not-a-uuid"}),
            ),
            event("webhook.created", serde_json::json!({"webhook_id": site})),
        ] {
            assert_eq!(
                access_rule(owner(Role::Conducteur, true), &no_site),
                Access::Denied,
                "{}",
                no_site.event_type
            );
        }
        assert_eq!(
            access_rule(owner(Role::Conducteur, false), &on_site),
            Access::Denied
        );
    }

    #[test]
    fn other_roles_and_unknown_owners_receive_nothing() {
        let e = event(
            "chantier.created",
            serde_json::json!({"chantier_id": Uuid::now_v7()}),
        );
        assert_eq!(
            access_rule(owner(Role::ChefChantier, true), &e),
            Access::Denied
        );
        assert_eq!(
            access_rule(owner(Role::Compagnon, true), &e),
            Access::Denied
        );
        assert_eq!(access_rule(None, &e), Access::Denied);
        assert_eq!(
            access_rule(
                Some(OwnerStatus {
                    role: None,
                    is_active: true
                }),
                &e
            ),
            Access::Denied
        );
    }

    #[tokio::test]
    async fn a_conducteur_receives_their_sites_events_and_never_another_sites() {
        let conducteur = Uuid::now_v7();
        let mine = Uuid::now_v7();
        let theirs = Uuid::now_v7();
        let mut read_model = MockScopeReadModel::new();
        read_model
            .expect_owner()
            .with(eq(conducteur))
            .returning(|_| {
                Ok(Some(OwnerStatus {
                    role: Some(Role::Conducteur),
                    is_active: true,
                }))
            });
        read_model
            .expect_is_conducteur_of()
            .returning(move |user, site| Ok(user == conducteur && site == mine));
        let scope = AccessScope::new(Arc::new(read_model));

        let about = |site: Uuid| {
            event(
                "chantier.updated",
                serde_json::json!({"chantier_id": site, "conducteur_ids": []}),
            )
        };
        assert!(scope.may_receive(conducteur, &about(mine)).await.unwrap());
        assert!(!scope.may_receive(conducteur, &about(theirs)).await.unwrap());
        assert!(
            !scope
                .may_receive(
                    conducteur,
                    &event("user.created", serde_json::json!({"user_id": conducteur}))
                )
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn admins_and_unknown_owners_need_no_chantier_lookup() {
        let admin = Uuid::now_v7();
        let mut read_model = MockScopeReadModel::new();
        read_model.expect_owner().returning(move |id| {
            Ok((id == admin).then_some(OwnerStatus {
                role: Some(Role::Admin),
                is_active: true,
            }))
        });
        read_model.expect_is_conducteur_of().never();
        let scope = AccessScope::new(Arc::new(read_model));
        let e = event(
            "chantier.created",
            serde_json::json!({"chantier_id": Uuid::now_v7()}),
        );
        assert!(scope.may_receive(admin, &e).await.unwrap());
        assert!(!scope.may_receive(Uuid::now_v7(), &e).await.unwrap());
    }

    #[tokio::test]
    async fn read_model_failures_are_reported_not_guessed() {
        let mut read_model = MockScopeReadModel::new();
        read_model.expect_owner().returning(|_| {
            Err(RepositoryError::Storage(StorageError::new(
                std::io::Error::other("down"),
            )))
        });
        let scope = AccessScope::new(Arc::new(read_model));
        let e = event("user.created", serde_json::json!({}));
        assert!(scope.may_receive(Uuid::now_v7(), &e).await.is_err());
    }
}
