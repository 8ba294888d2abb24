//! Webhooks in PostgreSQL; every write appends its events to the outbox in
//! the same transaction.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, Page, Role, StorageError};
use hub_platform_postgres::{Database, WriteError, guarded, outbox, statement::statement, storage};
use hub_webhooks_application::{
    Access, OwnerStatus, RepositoryError, WebhookRepository, access_rule, chantier_of,
    is_own_notice,
};
use hub_webhooks_domain::{
    ChantierIds, DataFilters, DeliveryOptions, Description, EndpointUrl, EventPatterns, MaxRetries,
    PreviousSecret, SealedSecret, StoredWebhook, TEST_EVENT_TYPE, Webhook,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::{webhook_delivery_attempts, webhooks};
use crate::scope;

/// First key of the advisory lock that serialises the creations of one
/// owner (the second key is a hash of the owner id): "WH" + "QU".
const QUOTA_LOCK_CLASS: i32 = 0x5748_5155;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct WebhookRow {
    id: Uuid,
    owner_id: Uuid,
    url: String,
    events: Vec<String>,
    description: Option<String>,
    is_active: bool,
    consecutive_failures: i32,
    last_triggered_at: Option<OffsetDateTime>,
    retry_enabled: bool,
    max_retries: i16,
    disabled_reason: Option<String>,
    legacy_signature: bool,
    secret_ciphertext: Vec<u8>,
    secret_nonce: Vec<u8>,
    secret_key_id: String,
    previous_secret_ciphertext: Option<Vec<u8>>,
    previous_secret_nonce: Option<Vec<u8>>,
    previous_secret_key_id: Option<String>,
    previous_secret_expires_at: Option<OffsetDateTime>,
    last_error: Option<String>,
    last_error_at: Option<OffsetDateTime>,
    chantier_ids: Option<Vec<Uuid>>,
    filters: serde_json::Value,
    ordering: String,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// What an update may change (never the id, owner, creation time or
/// version, nor the delivery bookkeeping: `last_triggered_at` is never
/// written by an update, and `consecutive_failures` only reset by a
/// re-enabling — see [`DieselWebhookRepository::update`]).
#[derive(Debug, AsChangeset)]
#[diesel(table_name = webhooks)]
#[diesel(treat_none_as_null = true)]
struct WebhookChangeset {
    url: String,
    events: Vec<String>,
    description: Option<String>,
    is_active: bool,
    retry_enabled: bool,
    max_retries: i16,
    disabled_reason: Option<String>,
    legacy_signature: bool,
    secret_ciphertext: Vec<u8>,
    secret_nonce: Vec<u8>,
    secret_key_id: String,
    previous_secret_ciphertext: Option<Vec<u8>>,
    previous_secret_nonce: Option<Vec<u8>>,
    previous_secret_key_id: Option<String>,
    previous_secret_expires_at: Option<OffsetDateTime>,
    chantier_ids: Option<Vec<Uuid>>,
    filters: serde_json::Value,
    ordering: String,
    updated_at: OffsetDateTime,
}

impl From<&Webhook> for WebhookRow {
    fn from(webhook: &Webhook) -> Self {
        let s = webhook.state();
        let previous = s.previous_secret.as_ref();
        Self {
            id: s.id,
            owner_id: s.owner_id,
            url: s.url.as_str().to_owned(),
            events: s.events.to_strings(),
            description: s.description.as_ref().map(|d| d.as_str().to_owned()),
            is_active: s.is_active,
            consecutive_failures: i32::try_from(s.consecutive_failures).unwrap_or(i32::MAX),
            last_triggered_at: s.last_triggered_at,
            retry_enabled: s.retry_enabled,
            max_retries: i16::from(s.max_retries.get()),
            disabled_reason: s.disabled_reason.clone(),
            legacy_signature: s.legacy_signature,
            secret_ciphertext: s.secret.ciphertext.clone(),
            secret_nonce: s.secret.nonce.clone(),
            secret_key_id: s.secret.key_id.clone(),
            previous_secret_ciphertext: previous.map(|p| p.sealed.ciphertext.clone()),
            previous_secret_nonce: previous.map(|p| p.sealed.nonce.clone()),
            previous_secret_key_id: previous.map(|p| p.sealed.key_id.clone()),
            previous_secret_expires_at: previous.map(|p| p.expires_at),
            last_error: s.last_error.clone(),
            last_error_at: s.last_error_at,
            chantier_ids: s
                .options
                .chantier_ids
                .as_ref()
                .map(|ids| ids.ids().to_vec()),
            filters: s.options.filters.to_value(),
            ordering: s.options.ordering.as_str().to_owned(),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl From<WebhookRow> for WebhookChangeset {
    fn from(row: WebhookRow) -> Self {
        Self {
            url: row.url,
            events: row.events,
            description: row.description,
            is_active: row.is_active,
            retry_enabled: row.retry_enabled,
            max_retries: row.max_retries,
            disabled_reason: row.disabled_reason,
            legacy_signature: row.legacy_signature,
            secret_ciphertext: row.secret_ciphertext,
            secret_nonce: row.secret_nonce,
            secret_key_id: row.secret_key_id,
            previous_secret_ciphertext: row.previous_secret_ciphertext,
            previous_secret_nonce: row.previous_secret_nonce,
            previous_secret_key_id: row.previous_secret_key_id,
            previous_secret_expires_at: row.previous_secret_expires_at,
            chantier_ids: row.chantier_ids,
            filters: row.filters,
            ordering: row.ordering,
            updated_at: row.updated_at,
        }
    }
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = RepositoryError;

    fn try_from(row: WebhookRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "webhook {id} has an invalid {what}"
            )))
        };
        let previous_secret = match (
            row.previous_secret_ciphertext,
            row.previous_secret_nonce,
            row.previous_secret_key_id,
            row.previous_secret_expires_at,
        ) {
            (Some(ciphertext), Some(nonce), Some(key_id), Some(expires_at)) => {
                Some(PreviousSecret {
                    sealed: SealedSecret {
                        ciphertext,
                        nonce,
                        key_id,
                    },
                    expires_at,
                })
            }
            (None, None, None, None) => None,
            _ => return Err(corrupt("previous secret")),
        };
        let description = match row.description {
            None => None,
            Some(text) => Description::parse(&text).map_err(|_| corrupt("description"))?,
        };
        let options = DeliveryOptions {
            chantier_ids: row
                .chantier_ids
                .map(|ids| ChantierIds::parse(&ids).map_err(|_| corrupt("chantier_ids")))
                .transpose()?,
            filters: DataFilters::restore(row.filters).ok_or_else(|| corrupt("filters"))?,
            ordering: row.ordering.parse().map_err(|_| corrupt("ordering"))?,
        };
        Ok(Webhook::restore(StoredWebhook {
            id,
            owner_id: row.owner_id,
            url: EndpointUrl::from_checked(row.url).map_err(|_| corrupt("url"))?,
            events: EventPatterns::restore(&row.events).map_err(|_| corrupt("events"))?,
            description,
            is_active: row.is_active,
            consecutive_failures: u32::try_from(row.consecutive_failures)
                .map_err(|_| corrupt("consecutive_failures"))?,
            last_triggered_at: row.last_triggered_at,
            retry_enabled: row.retry_enabled,
            max_retries: u64::try_from(row.max_retries)
                .ok()
                .and_then(|n| MaxRetries::new(n).ok())
                .ok_or_else(|| corrupt("max_retries"))?,
            disabled_reason: row.disabled_reason,
            last_error: row.last_error,
            last_error_at: row.last_error_at,
            legacy_signature: row.legacy_signature,
            options,
            secret: SealedSecret {
                ciphertext: row.secret_ciphertext,
                nonce: row.secret_nonce,
                key_id: row.secret_key_id,
            },
            previous_secret,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }))
    }
}

/// [`WebhookRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselWebhookRepository {
    db: Database,
}

impl DieselWebhookRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The repository's answer to a failed write transaction.
fn refused(error: WriteError) -> RepositoryError {
    match error {
        WriteError::Missing => RepositoryError::NotFound,
        WriteError::Changed => RepositoryError::Conflict,
        error => RepositoryError::Storage(error.into()),
    }
}

#[async_trait]
impl WebhookRepository for DieselWebhookRepository {
    async fn insert(
        &self,
        webhook: &Webhook,
        owner_role: Role,
        events: &[EventEnvelope],
        quota: u32,
    ) -> Result<(), RepositoryError> {
        let row = WebhookRow::from(webhook);
        let events = events.to_vec();
        let inserted = self
            .db
            .write(|conn| {
                Box::pin(async move {
                    // Concurrent creations by one owner queue here, so the
                    // count below cannot be stale when we insert.
                    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                        .bind::<Integer, _>(QUOTA_LOCK_CLASS)
                        .bind::<Text, _>(row.owner_id.to_string())
                        .execute(conn)
                        .await?;
                    let count: i64 = webhooks::table
                        .filter(webhooks::owner_id.eq(row.owner_id))
                        .count()
                        .get_result(conn)
                        .await?;
                    if count >= i64::from(quota) {
                        // Nothing written: the transaction commits empty.
                        return Ok::<_, WriteError>(false);
                    }
                    diesel::insert_into(webhooks::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    scope::seed_owner(conn, row.owner_id, owner_role).await?;
                    outbox::append(conn, &events).await?;
                    Ok(true)
                })
            })
            .await
            .map_err(refused)?;
        if !inserted {
            return Err(RepositoryError::QuotaExceeded { limit: quota });
        }
        Ok(())
    }

    async fn update(
        &self,
        webhook: &Webhook,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let id = webhook.id();
        let expected = webhook.version();
        let row = WebhookRow::from(webhook);
        // The delivery bookkeeping moves without touching the version (so
        // that a busy webhook's deliveries never make its owner's writes
        // conflict); the webhook read may therefore hold a stale counter,
        // which is not written back. The only change made to it outside the
        // bookkeeping is the reset of a re-enabling, i.e. exactly when the
        // stored row (at the expected version) is inactive and the new one
        // active.
        let now_active = row.is_active;
        let changes = WebhookChangeset::from(row);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    let updated = diesel::update(
                        webhooks::table
                            .filter(webhooks::id.eq(id))
                            .filter(webhooks::version.eq(expected)),
                    )
                    .set((
                        &changes,
                        webhooks::consecutive_failures.eq(diesel::dsl::sql::<Integer>(
                            "CASE WHEN NOT is_active AND ",
                        )
                        .bind::<Bool, _>(now_active)
                        .sql(" THEN 0 ELSE consecutive_failures END")),
                        webhooks::version.eq(expected + 1),
                    ))
                    .execute(conn)
                    .await?;
                    guarded(conn, "webhooks", id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(refused)
    }

    async fn delete(
        &self,
        webhook: &Webhook,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let id = webhook.id();
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // Not guarded by the version: a deletion wins over any
                    // change made since the webhook was read.
                    let deleted = diesel::delete(webhooks::table.find(id))
                        .execute(conn)
                        .await?;
                    guarded(conn, "webhooks", id, deleted).await?;
                    // Its delivery jobs go by cascade; its delivery log (no
                    // foreign key, see the migration) goes here.
                    diesel::delete(
                        webhook_delivery_attempts::table
                            .filter(webhook_delivery_attempts::webhook_id.eq(id)),
                    )
                    .execute(conn)
                    .await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(refused)
    }

    async fn find(&self, id: Uuid) -> Result<Option<Webhook>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let row: Option<WebhookRow> = webhooks::table
            .find(id)
            .select(WebhookRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(storage)?;
        row.map(Webhook::try_from).transpose()
    }

    async fn list_by_owner(
        &self,
        owner_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Webhook>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let total: i64 = webhooks::table
            .filter(webhooks::owner_id.eq(owner_id))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(storage)?;
        let rows: Vec<WebhookRow> = webhooks::table
            .filter(webhooks::owner_id.eq(owner_id))
            .order((webhooks::created_at.asc(), webhooks::id.asc()))
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(WebhookRow::as_select())
            .load(&mut conn)
            .await
            .map_err(storage)?;
        let webhooks = rows
            .into_iter()
            .map(Webhook::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((webhooks, u64::try_from(total).unwrap_or_default()))
    }

    async fn list_active_matching(
        &self,
        event_type: &str,
    ) -> Result<Vec<Webhook>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        active_matching_on(&mut conn, event_type).await
    }

    async fn record_delivery_success(
        &self,
        id: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let updated = statement(
            "UPDATE webhooks SET consecutive_failures = 0, last_triggered_at = $1 WHERE id = $2",
        )
        .bind::<Timestamptz, _>(at)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut conn)
        .await
        .map_err(storage)?;
        if updated == 0 {
            return Err(RepositoryError::NotFound);
        }
        Ok(())
    }

    async fn record_delivery_failure(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        error: &str,
    ) -> Result<u32, RepositoryError> {
        #[derive(QueryableByName)]
        struct Failures {
            #[diesel(sql_type = Integer)]
            consecutive_failures: i32,
        }
        let mut conn = self.db.connection().await.map_err(storage)?;
        let row: Option<Failures> = statement(
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
             last_triggered_at = $1, last_error_at = $2, last_error = left($3, 1000) \
             WHERE id = $4 RETURNING consecutive_failures",
        )
        .bind::<Timestamptz, _>(at)
        .bind::<Timestamptz, _>(at)
        .bind::<Text, _>(error)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result(&mut conn)
        .await
        .optional()
        .map_err(storage)?;
        let row = row.ok_or(RepositoryError::NotFound)?;
        Ok(u32::try_from(row.consecutive_failures).unwrap_or_default())
    }
}

async fn active_matching_on(
    conn: &mut AsyncPgConnection,
    event_type: &str,
) -> Result<Vec<Webhook>, RepositoryError> {
    if event_type == TEST_EVENT_TYPE {
        return Ok(Vec::new());
    }
    // Patterns are matched here rather than in SQL; the active set is
    // bounded by the per-owner quota.
    let rows: Vec<WebhookRow> = webhooks::table
        .filter(webhooks::is_active.eq(true))
        .order((webhooks::created_at.asc(), webhooks::id.asc()))
        .select(WebhookRow::as_select())
        .load(conn)
        .await
        .map_err(storage)?;
    let mut matching = Vec::new();
    for row in rows {
        let webhook = Webhook::try_from(row)?;
        if webhook.wants(event_type) {
            matching.push(webhook);
        }
    }
    Ok(matching)
}

/// An active webhook with what the scoping rule needs to know of its owner,
/// read in one statement.
#[derive(QueryableByName)]
struct Candidate {
    #[diesel(embed)]
    webhook: WebhookRow,
    /// `NULL` when the read model has no row for the owner.
    #[diesel(sql_type = Nullable<Bool>)]
    owner_active: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    owner_role: Option<String>,
}

/// A chantier's current conducteurs, from the scoping read model.
#[derive(QueryableByName)]
struct ChantierScope {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    chantier_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    conducteur_ids: Vec<Uuid>,
}

/// The version of [`Candidates`] (`webhook_recipients_version`: a new
/// random value at every write that can change who receives what).
#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    version: Uuid,
}

/// The current version of the recipients, read on a shared borrow of
/// `conn` (so that it can be sent with another statement).
pub(crate) async fn recipients_version(conn: &AsyncPgConnection) -> QueryResult<Uuid> {
    let mut conn = conn;
    let row: Version = statement("SELECT version FROM webhook_recipients_version")
        .get_result(&mut conn)
        .await?;
    Ok(row.version)
}

/// The active webhooks with their owners' status, as of one version of
/// them: what the fan-out keeps between relay batches, checked against
/// [`recipients_version`] before it is trusted.
#[derive(Debug)]
pub(crate) struct Candidates {
    version: Uuid,
    webhooks: Vec<(Webhook, Option<OwnerStatus>)>,
    /// Some owner is a conducteur: a chantier's responsables matter.
    conducteur_owner: bool,
}

impl Candidates {
    /// Reads them on `conn`: the version first, then the webhooks, one
    /// after the other (sent together, their order would rest on how the
    /// driver prepares statements, and here it matters). The list is then at least as new as the version it is filed
    /// under: a change committed between the two makes the next check read
    /// them again instead of hiding it. Done once per change of them.
    pub(crate) async fn load(conn: &mut AsyncPgConnection) -> Result<Self, RepositoryError> {
        let version = recipients_version(conn).await.map_err(storage)?;
        // The active set is bounded by the per-owner quota.
        let rows: Vec<Candidate> = statement(
            "SELECT w.*, o.is_active AS owner_active, o.role AS owner_role \
             FROM webhooks w LEFT JOIN webhook_owners o ON o.user_id = w.owner_id \
             WHERE w.is_active ORDER BY w.created_at, w.id",
        )
        .load(conn)
        .await
        .map_err(storage)?;
        let mut webhooks = Vec::with_capacity(rows.len());
        for row in rows {
            let owner = row.owner_active.map(|is_active| OwnerStatus {
                // An unreadable role grants nothing.
                role: row.owner_role.and_then(|r| r.parse().ok()),
                is_active,
            });
            webhooks.push((Webhook::try_from(row.webhook)?, owner));
        }
        let conducteur_owner = webhooks
            .iter()
            .any(|(_, owner)| owner.is_some_and(|o| o.role == Some(Role::Conducteur)));
        Ok(Self {
            version,
            webhooks,
            conducteur_owner,
        })
    }

    pub(crate) fn version(&self) -> Uuid {
        self.version
    }

    /// The chantiers of `events` whose conducteurs the rule needs to know
    /// (none unless some webhook's owner is a conducteur).
    pub(crate) fn chantiers_to_scope(&self, events: &[&EventEnvelope]) -> Vec<Uuid> {
        if !self.conducteur_owner {
            return Vec::new();
        }
        events.iter().filter_map(|e| chantier_of(e)).collect()
    }
}

/// The current conducteurs of `chantiers`, from the scoping read model.
pub(crate) async fn conducteurs_of(
    conn: &AsyncPgConnection,
    chantiers: Vec<Uuid>,
) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    if chantiers.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = conn;
    let scopes: Vec<ChantierScope> = statement(
        "SELECT chantier_id, conducteur_ids FROM webhook_scope_chantiers \
         WHERE chantier_id = ANY($1) AND NOT deleted",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(chantiers)
    .load(&mut conn)
    .await?;
    Ok(scopes
        .into_iter()
        .map(|s| (s.chantier_id, s.conducteur_ids))
        .collect())
}

/// Who receives what, for a set of events: the active webhooks with their
/// owners' status ([`Candidates`]), and the conducteurs of the chantiers
/// the events name. The rule itself ([`access_rule`]) and the pattern
/// matching stay in Rust. A webhook's own filters (`chantier_ids`,
/// `filters`) are not applied here but by the fan-out's insert, in SQL.
pub(crate) struct Recipients {
    candidates: Arc<Candidates>,
    conducteurs: HashMap<Uuid, Vec<Uuid>>,
}

impl Recipients {
    pub(crate) fn new(candidates: Arc<Candidates>, conducteurs: HashMap<Uuid, Vec<Uuid>>) -> Self {
        Self {
            candidates,
            conducteurs,
        }
    }

    /// Reads, on `conn`, what judging `events` needs.
    pub(crate) async fn load(
        conn: &mut AsyncPgConnection,
        events: &[&EventEnvelope],
    ) -> Result<Self, RepositoryError> {
        let candidates = Candidates::load(conn).await?;
        let chantiers = candidates.chantiers_to_scope(events);
        let conducteurs = conducteurs_of(conn, chantiers).await.map_err(storage)?;
        Ok(Self::new(Arc::new(candidates), conducteurs))
    }

    /// The webhooks `event` must be delivered to: active, with a pattern
    /// selecting it, and whose owner may receive it. `webhook.test` is
    /// never fanned out.
    pub(crate) fn of(&self, event: &EventEnvelope) -> Vec<&Webhook> {
        let event_type = event.event_type.as_str();
        if event_type == TEST_EVENT_TYPE {
            return Vec::new();
        }
        self.candidates
            .webhooks
            .iter()
            .filter(|(webhook, owner)| {
                webhook.wants(event_type)
                    && (is_own_notice(webhook.owner_id(), *owner, event)
                        || match access_rule(*owner, event) {
                            Access::Allowed => true,
                            Access::Denied => false,
                            Access::IfConducteurOf(chantier_id) => self
                                .conducteurs
                                .get(&chantier_id)
                                .is_some_and(|ids| ids.contains(&webhook.owner_id())),
                        })
            })
            .map(|(webhook, _)| webhook)
            .collect()
    }
}

/// The webhooks `event` must be delivered to ([`Recipients::of`]), read on
/// `conn`.
pub async fn recipients_on(
    conn: &mut AsyncPgConnection,
    event: &EventEnvelope,
) -> Result<Vec<Webhook>, RepositoryError> {
    let recipients = Recipients::load(conn, &[event]).await?;
    Ok(recipients.of(event).into_iter().cloned().collect())
}
