//! [`DeliveryRepository`] on PostgreSQL: the delivery log, test events and
//! redeliveries, as the owner's requests need them.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_platform_postgres::{Database, DbError, outbox, storage};
use hub_webhooks_application::{
    AttemptFilter, DeliveryDetail, DeliveryRepository, EventDelivery, Recovered, Redelivery,
    RepositoryError,
};
use hub_webhooks_domain::{DeliveryAttempt, DeliveryStatus, NewDelivery};
use time::OffsetDateTime;
use uuid::Uuid;

use super::fanout::DeliveryWaker;
use super::queue::MAY_RECEIVE;
use crate::schema::{webhook_deliveries, webhook_delivery_attempts};

type SqlUuid = diesel::sql_types::Uuid;

/// [`DeliveryRepository`] on PostgreSQL; wakes this process's workers when
/// it makes a delivery due.
#[derive(Debug, Clone)]
pub struct DieselDeliveryRepository {
    db: Database,
    waker: DeliveryWaker,
}

impl DieselDeliveryRepository {
    pub fn new(db: Database, waker: DeliveryWaker) -> Self {
        Self { db, waker }
    }
}

type AttemptRow = (
    Uuid,
    Uuid,
    Uuid,
    Uuid,
    String,
    i32,
    bool,
    Option<i16>,
    Option<String>,
    Option<String>,
    Option<String>,
    i32,
    OffsetDateTime,
    String,
);

fn attempt_from(row: AttemptRow) -> Result<DeliveryAttempt, RepositoryError> {
    let (
        id,
        delivery_id,
        webhook_id,
        event_id,
        event_type,
        attempt,
        success,
        status_code,
        response_body,
        error_kind,
        error_message,
        duration_ms,
        attempted_at,
        delivery_status,
    ) = row;
    let corrupt = |what: &str| {
        RepositoryError::Storage(StorageError::corrupt(format!(
            "attempt {id} has an invalid {what}"
        )))
    };
    Ok(DeliveryAttempt {
        id,
        delivery_id,
        webhook_id,
        event_id,
        event_type,
        attempt: u32::try_from(attempt).map_err(|_| corrupt("attempt"))?,
        success,
        status_code: status_code.and_then(|c| u16::try_from(c).ok()),
        response_body,
        error_kind: error_kind
            .map(|k| k.parse())
            .transpose()
            .map_err(|_| corrupt("error_kind"))?,
        error_message,
        duration_ms: u32::try_from(duration_ms).unwrap_or_default(),
        attempted_at,
        delivery_status: delivery_status
            .parse::<DeliveryStatus>()
            .map_err(|_| corrupt("delivery status"))?,
    })
}

/// The attempts of `webhook_id` matching `filter` (boxed so that the count
/// and the page share it).
fn filtered(
    webhook_id: Uuid,
    filter: &AttemptFilter,
) -> webhook_delivery_attempts::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = webhook_delivery_attempts::table
        .filter(webhook_delivery_attempts::webhook_id.eq(webhook_id))
        .into_boxed();
    if let Some(success) = filter.success {
        query = query.filter(webhook_delivery_attempts::success.eq(success));
    }
    if let Some(event_type) = &filter.event_type {
        query = query.filter(webhook_delivery_attempts::event_type.eq(event_type.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(webhook_delivery_attempts::attempted_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(webhook_delivery_attempts::attempted_at.lt(until));
    }
    query
}

#[derive(QueryableByName)]
struct DeliveryDetailRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
    #[diesel(sql_type = Integer)]
    max_attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    next_attempt_at: OffsetDateTime,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<OffsetDateTime>,
}

#[derive(QueryableByName)]
struct EventDeliveryRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    webhook_id: Uuid,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<OffsetDateTime>,
}

/// The delivery a retry names, and what the retry did to it.
#[derive(QueryableByName)]
struct Retried {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    /// Whether the owner may still receive its event.
    #[diesel(sql_type = Bool)]
    allowed: bool,
    #[diesel(sql_type = Bool)]
    requeued: bool,
}

#[derive(QueryableByName)]
struct RecoveredRow {
    #[diesel(sql_type = BigInt)]
    requeued: i64,
    #[diesel(sql_type = BigInt)]
    skipped: i64,
}

/// The retry of one delivery: the delivery (by its id or one of its
/// attempts'), judged by the access rule the claim applies, made due now
/// only if its owner may still receive it and no worker holds it.
static RETRY_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH target AS ( \
             SELECT d.id, {MAY_RECEIVE} AS allowed \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             LEFT JOIN webhook_owners o ON o.user_id = w.owner_id \
             WHERE d.webhook_id = $1 AND (d.id = $2 OR d.id = \
                 (SELECT delivery_id FROM webhook_delivery_attempts \
                  WHERE id = $2 AND webhook_id = $1)) \
         ), requeued AS ( \
             UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), \
                 max_attempts = CASE WHEN d.status = 'pending' THEN d.max_attempts \
                                ELSE d.attempt + $3 END, \
                 finished_at = NULL, updated_at = now() \
             FROM target t \
             WHERE d.id = t.id AND t.allowed AND d.status <> 'in_flight' \
             RETURNING d.id \
         ) \
         SELECT t.id, t.allowed, EXISTS (SELECT 1 FROM requeued) AS requeued \
         FROM target t"
    )
});

/// The recovery of a period: its deliveries that did not succeed, made due
/// again when their owner may still receive their event, counted otherwise.
static RECOVER_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH span AS ( \
             SELECT d.id, {MAY_RECEIVE} AS allowed \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             LEFT JOIN webhook_owners o ON o.user_id = w.owner_id \
             WHERE d.webhook_id = $1 AND d.status IN ('failed', 'cancelled') \
               AND d.created_at >= $2 AND ($3::timestamptz IS NULL OR d.created_at < $3) \
         ), requeued AS ( \
             UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), \
                 max_attempts = d.attempt + $4, finished_at = NULL, updated_at = now() \
             FROM span \
             WHERE d.id = span.id AND span.allowed AND d.status IN ('failed', 'cancelled') \
             RETURNING 1 \
         ) \
         SELECT (SELECT count(*) FROM requeued) AS requeued, \
                (SELECT count(*) FROM span WHERE NOT allowed) AS skipped"
    )
});

async fn insert_job(
    conn: &mut AsyncPgConnection,
    delivery: &NewDelivery,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "INSERT INTO webhook_deliveries \
         (id, webhook_id, event_id, event_type, payload, max_attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now())",
    )
    .bind::<SqlUuid, _>(delivery.id)
    .bind::<SqlUuid, _>(delivery.webhook_id)
    .bind::<SqlUuid, _>(delivery.event_id)
    .bind::<Text, _>(&delivery.event_type)
    .bind::<Text, _>(&delivery.payload)
    .bind::<Integer, _>(i32::try_from(delivery.max_attempts).unwrap_or(1))
    .execute(conn)
    .await?;
    Ok(())
}

fn attempts(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX).max(1)
}

#[async_trait]
impl DeliveryRepository for DieselDeliveryRepository {
    async fn list_attempts(
        &self,
        webhook_id: Uuid,
        filter: &AttemptFilter,
        page: Page,
    ) -> Result<(Vec<DeliveryAttempt>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let total: i64 = filtered(webhook_id, filter)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(storage)?;
        let ids: Vec<Uuid> = filtered(webhook_id, filter)
            .order((
                webhook_delivery_attempts::attempted_at.desc(),
                webhook_delivery_attempts::id.desc(),
            ))
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(webhook_delivery_attempts::id)
            .load(&mut conn)
            .await
            .map_err(storage)?;
        let rows: Vec<AttemptRow> = webhook_delivery_attempts::table
            .inner_join(webhook_deliveries::table)
            .filter(webhook_delivery_attempts::id.eq_any(&ids))
            .order((
                webhook_delivery_attempts::attempted_at.desc(),
                webhook_delivery_attempts::id.desc(),
            ))
            .select((
                webhook_delivery_attempts::id,
                webhook_delivery_attempts::delivery_id,
                webhook_delivery_attempts::webhook_id,
                webhook_delivery_attempts::event_id,
                webhook_delivery_attempts::event_type,
                webhook_delivery_attempts::attempt,
                webhook_delivery_attempts::success,
                webhook_delivery_attempts::status_code,
                webhook_delivery_attempts::response_body,
                webhook_delivery_attempts::error_kind,
                webhook_delivery_attempts::error_message,
                webhook_delivery_attempts::duration_ms,
                webhook_delivery_attempts::attempted_at,
                webhook_deliveries::status,
            ))
            .load(&mut conn)
            .await
            .map_err(storage)?;
        let attempts = rows
            .into_iter()
            .map(attempt_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((attempts, u64::try_from(total).unwrap_or_default()))
    }

    async fn get_delivery(
        &self,
        webhook_id: Uuid,
        id: Uuid,
    ) -> Result<Option<DeliveryDetail>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        // The delivery's id, or one of its attempts' (as the retry route).
        let row: Option<DeliveryDetailRow> = diesel::sql_query(
            "SELECT d.id, d.event_id, d.event_type, d.payload, d.status, d.attempt, \
                    d.max_attempts, d.next_attempt_at, d.created_at, d.finished_at \
             FROM webhook_deliveries d \
             WHERE d.webhook_id = $1 AND d.id = COALESCE( \
                 (SELECT a.delivery_id FROM webhook_delivery_attempts a \
                  WHERE a.id = $2 AND a.webhook_id = $1), $2)",
        )
        .bind::<SqlUuid, _>(webhook_id)
        .bind::<SqlUuid, _>(id)
        .get_result(&mut conn)
        .await
        .optional()
        .map_err(storage)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "delivery {} has an invalid {what}",
                row.id
            )))
        };
        let status = row
            .status
            .parse::<DeliveryStatus>()
            .map_err(|_| corrupt("status"))?;
        Ok(Some(DeliveryDetail {
            delivery_id: row.id,
            event_id: row.event_id,
            event_type: row.event_type.clone(),
            payload: row.payload.clone(),
            status,
            attempts: u32::try_from(row.attempt).map_err(|_| corrupt("attempt"))?,
            max_attempts: u32::try_from(row.max_attempts).map_err(|_| corrupt("max_attempts"))?,
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(row.next_attempt_at),
            created_at: row.created_at,
            finished_at: row.finished_at,
        }))
    }

    async fn deliveries_of_event(
        &self,
        event_id: Uuid,
    ) -> Result<Vec<EventDelivery>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        // webhook_deliveries_event_idx finds them.
        let rows: Vec<EventDeliveryRow> = diesel::sql_query(
            "SELECT d.id, d.webhook_id, w.url, w.owner_id, d.status, d.attempt, d.last_error, \
                    d.created_at, d.finished_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.event_id = $1 ORDER BY d.created_at, d.id",
        )
        .bind::<SqlUuid, _>(event_id)
        .load(&mut conn)
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|row| {
                let corrupt = |what: &str| {
                    RepositoryError::Storage(StorageError::corrupt(format!(
                        "delivery {} has an invalid {what}",
                        row.id
                    )))
                };
                Ok(EventDelivery {
                    delivery_id: row.id,
                    webhook_id: row.webhook_id,
                    webhook_url: row.url,
                    owner_id: row.owner_id,
                    status: row
                        .status
                        .parse::<DeliveryStatus>()
                        .map_err(|_| corrupt("delivery status"))?,
                    attempts: u32::try_from(row.attempt).map_err(|_| corrupt("attempt"))?,
                    last_error: row.last_error,
                    created_at: row.created_at,
                    finished_at: row.finished_at,
                })
            })
            .collect()
    }

    async fn enqueue_test(
        &self,
        event: &EventEnvelope,
        delivery: &NewDelivery,
    ) -> Result<(), RepositoryError> {
        let events = [event.clone()];
        let delivery = delivery.clone();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    outbox::append(conn, &events).await?;
                    insert_job(conn, &delivery).await?;
                    Ok::<_, DbError>(())
                })
            })
            .await
            .map_err(storage)?;
        self.waker.wake();
        Ok(())
    }

    async fn redeliver(
        &self,
        webhook_id: Uuid,
        id: Uuid,
        budget: u32,
    ) -> Result<Redelivery, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        // A pending delivery is only brought forward; a finished one starts
        // a new series of attempts. One in flight is left alone, and so is
        // one whose event its owner may no longer receive.
        let retried: Option<Retried> = diesel::sql_query(RETRY_SQL.as_str())
            .bind::<SqlUuid, _>(webhook_id)
            .bind::<SqlUuid, _>(id)
            .bind::<Integer, _>(attempts(budget))
            .get_result(&mut conn)
            .await
            .optional()
            .map_err(storage)?;
        Ok(match retried {
            None => Redelivery::NotFound,
            Some(row) if row.requeued => {
                self.waker.wake();
                Redelivery::Queued {
                    delivery_id: row.id,
                }
            }
            Some(row) if !row.allowed => Redelivery::NotAllowed,
            // In flight when read, or taken by a worker meanwhile.
            Some(_) => Redelivery::InFlight,
        })
    }

    async fn redeliver_unsent(
        &self,
        webhook_id: Uuid,
        since: OffsetDateTime,
        until: Option<OffsetDateTime>,
        budget: u32,
    ) -> Result<Recovered, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let row: RecoveredRow = diesel::sql_query(RECOVER_SQL.as_str())
            .bind::<SqlUuid, _>(webhook_id)
            .bind::<Timestamptz, _>(since)
            .bind::<Nullable<Timestamptz>, _>(until)
            .bind::<Integer, _>(attempts(budget))
            .get_result(&mut conn)
            .await
            .map_err(storage)?;
        if row.requeued > 0 {
            self.waker.wake();
        }
        Ok(Recovered {
            requeued: u64::try_from(row.requeued).unwrap_or_default(),
            skipped: u64::try_from(row.skipped).unwrap_or_default(),
        })
    }
}
