//! Retention of the delivery log (GDPR art. 5(1)(e),
//! `WEBHOOK_DELIVERY_RETENTION_DAYS`).

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_platform_postgres::retention::RetentionTarget;
use time::OffsetDateTime;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Delivery attempts (the log `GET /webhooks/{id}/deliveries` shows) older
/// than the cutoff.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryAttemptsRetention;

#[async_trait]
impl RetentionTarget for DeliveryAttemptsRetention {
    fn name(&self) -> &'static str {
        "webhook_delivery_attempts"
    }

    async fn purge_batch(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
        batch: i64,
    ) -> Result<usize, diesel::result::Error> {
        diesel::sql_query(
            "DELETE FROM webhook_delivery_attempts WHERE id IN (SELECT id FROM \
             webhook_delivery_attempts WHERE attempted_at < $1 ORDER BY attempted_at LIMIT $2)",
        )
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(batch)
        .execute(conn)
        .await
    }

    async fn count(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
    ) -> Result<i64, diesel::result::Error> {
        let row: Count = diesel::sql_query(
            "SELECT count(*) AS count FROM webhook_delivery_attempts WHERE attempted_at < $1",
        )
        .bind::<Timestamptz, _>(cutoff)
        .get_result(conn)
        .await?;
        Ok(row.count)
    }
}

/// Delivery jobs that finished (succeeded, failed for good, cancelled)
/// before the cutoff, with their payloads. Jobs still queued are kept
/// whatever their age. Once a job is gone, the same event published again
/// (a replay) would be delivered again: keep this period at least as long
/// as `EVENT_LOG_RETENTION_DAYS` to rule that out.
#[derive(Debug, Clone, Copy)]
pub struct FinishedDeliveriesRetention;

#[async_trait]
impl RetentionTarget for FinishedDeliveriesRetention {
    fn name(&self) -> &'static str {
        "webhook_deliveries"
    }

    async fn purge_batch(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
        batch: i64,
    ) -> Result<usize, diesel::result::Error> {
        diesel::sql_query(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
             WHERE finished_at < $1 ORDER BY finished_at LIMIT $2)",
        )
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(batch)
        .execute(conn)
        .await
    }

    async fn count(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
    ) -> Result<i64, diesel::result::Error> {
        let row: Count = diesel::sql_query(
            "SELECT count(*) AS count FROM webhook_deliveries WHERE finished_at < $1",
        )
        .bind::<Timestamptz, _>(cutoff)
        .get_result(conn)
        .await?;
        Ok(row.count)
    }
}
