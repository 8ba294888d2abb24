//! The access-scoping read models of this context, built from other
//! contexts' events only (their JSON, never their crates or tables):
//!
//! - `webhook_scope_chantiers`: each chantier's current conducteurs, from
//!   `chantier.*` events ([`chantier_scope`]);
//! - `webhook_owners`: each user's role and active flag, from `user.*`
//!   events ([`OwnerProjector`]), seeded with the creator's role when a
//!   webhook is created.
//!
//! Both are platform [`Projection`]s: their writes commit with the relay's
//! dispatch mark, so the read models miss no event, apply none twice and
//! never an older event after a newer one of the same chantier or user.
//! Malformed payloads fail closed (access removed, never kept).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{Role, TopicPattern};
use hub_platform_directory::ChantiersDirectory;
use hub_platform_postgres::{
    Database, DurableError, Projection, RelayedEvent, statement::statement, storage,
};
use hub_webhooks_application::{OwnerStatus, RepositoryError, ScopeReadModel};
use serde_json::Value;
use uuid::Uuid;

use crate::schema::{webhook_owners, webhook_scope_chantiers};

type SqlUuid = diesel::sql_types::Uuid;

/// Records `role` for a webhook creator the read model does not know yet
/// (users created before this read model existed); never overrides what
/// events said.
pub(crate) async fn seed_owner(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
    role: Role,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "INSERT INTO webhook_owners (user_id, role, is_active, updated_at) VALUES ($1, $2, true, now()) \
         ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now() \
         WHERE webhook_owners.role IS NULL",
    )
    .bind::<SqlUuid, _>(owner_id)
    .bind::<Text, _>(role.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// What the read model knows about `owner_id`.
pub(crate) async fn owner_on(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
) -> Result<Option<OwnerStatus>, diesel::result::Error> {
    let row: Option<(Option<String>, bool)> = webhook_owners::table
        .find(owner_id)
        .select((webhook_owners::role, webhook_owners::is_active))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(role, is_active)| OwnerStatus {
        // An unreadable role grants nothing.
        role: role.and_then(|r| r.parse().ok()),
        is_active,
    }))
}

/// Whether `user_id` is currently a conducteur of the (not deleted) chantier.
pub(crate) async fn is_conducteur_of_on(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    chantier_id: Uuid,
) -> Result<bool, diesel::result::Error> {
    diesel::select(diesel::dsl::exists(
        webhook_scope_chantiers::table
            .filter(webhook_scope_chantiers::chantier_id.eq(chantier_id))
            .filter(webhook_scope_chantiers::deleted.eq(false))
            .filter(webhook_scope_chantiers::conducteur_ids.contains(vec![user_id])),
    ))
    .get_result(conn)
    .await
}

/// [`ScopeReadModel`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselScopeReadModel {
    db: Database,
}

impl DieselScopeReadModel {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ScopeReadModel for DieselScopeReadModel {
    async fn owner(&self, owner_id: Uuid) -> Result<Option<OwnerStatus>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        Ok(owner_on(&mut conn, owner_id).await.map_err(storage)?)
    }

    async fn is_conducteur_of(
        &self,
        user_id: Uuid,
        chantier_id: Uuid,
    ) -> Result<bool, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        Ok(is_conducteur_of_on(&mut conn, user_id, chantier_id)
            .await
            .map_err(storage)?)
    }
}

fn pattern(text: &str) -> TopicPattern {
    // The patterns below are literals that always parse; `handle` matches
    // exact event types anyway.
    TopicPattern::parse(text).unwrap_or_else(|_| TopicPattern::all())
}

/// Keeps `webhook_scope_chantiers` in step with `chantier.*` events: each
/// chantier's current conducteurs (and the rest of its snapshot), a deleted
/// chantier staying deleted — the platform's chantiers read model on this
/// context's table.
pub fn chantier_scope() -> ChantiersDirectory {
    ChantiersDirectory::new("webhooks.chantier-scope", "webhook_scope_chantiers")
}

/// Keeps `webhook_owners` in step with `user.*` events: `user.created`
/// records the role, `user.updated` applies `changes.role` and
/// `changes.is_active`, `user.deactivated` marks the user inactive (their
/// webhooks then receive nothing).
#[derive(Debug)]
pub struct OwnerProjector {
    pattern: TopicPattern,
}

impl OwnerProjector {
    pub fn new() -> Self {
        Self {
            pattern: pattern("user.*"),
        }
    }
}

impl Default for OwnerProjector {
    fn default() -> Self {
        Self::new()
    }
}

/// A role as an event spells it; unknown spellings grant nothing (`None`).
fn role(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .and_then(|r| r.parse::<Role>().ok())
        .map(|r| r.as_str().to_owned())
}

#[async_trait]
impl Projection for OwnerProjector {
    fn name(&self) -> &'static str {
        "webhooks.owners"
    }

    fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        let data = &event.data;
        // (role changed?, new role, new active flag)
        let (role_changed, new_role, active): (bool, Option<String>, Option<bool>) =
            match event.event_type.as_str() {
                "user.created" => (true, role(data.get("role")), Some(true)),
                "user.updated" => {
                    let changes = data.get("changes");
                    let role_change = changes.and_then(|c| c.get("role"));
                    let active = changes
                        .and_then(|c| c.get("is_active"))
                        .and_then(|c| c.get("new"))
                        .and_then(Value::as_bool);
                    match role_change {
                        Some(change) => (true, role(change.get("new")), active),
                        None if active.is_some() => (false, None, active),
                        None => return Ok(()),
                    }
                }
                "user.deactivated" => (false, None, Some(false)),
                _ => return Ok(()),
            };
        let Some(user_id) = event
            .data_str("user_id")
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            tracing::error!(event_id = %event.event_id, event_type = %event.event_type, "user event without a valid user_id; ignored");
            return Ok(());
        };
        // Prepared statements take each placeholder once, in order: the
        // values used twice are bound twice.
        statement(
            "INSERT INTO webhook_owners (user_id, role, is_active, updated_at) \
             VALUES ($1, CASE WHEN $2 THEN $3 END, COALESCE($4, true), now()) \
             ON CONFLICT (user_id) DO UPDATE SET \
             role = CASE WHEN $5 THEN $6 ELSE webhook_owners.role END, \
             is_active = COALESCE($7, webhook_owners.is_active), updated_at = now()",
        )
        .bind::<SqlUuid, _>(user_id)
        .bind::<Bool, _>(role_changed)
        .bind::<Nullable<Text>, _>(new_role.clone())
        .bind::<Nullable<Bool>, _>(active)
        .bind::<Bool, _>(role_changed)
        .bind::<Nullable<Text>, _>(new_role)
        .bind::<Nullable<Bool>, _>(active)
        .execute(conn)
        .await?;
        Ok(())
    }
}
