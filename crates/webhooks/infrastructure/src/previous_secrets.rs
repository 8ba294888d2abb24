//! Expired previous secrets: once the grace period of a rotation is over,
//! the old secret's ciphertext has no use left, so it is not kept.

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

/// Clears the `previous_secret_*` columns (all four together, as the
/// `webhooks_previous_secret_complete` constraint requires) of webhooks whose
/// previous secret expired before the cutoff. Run by the daily retention job
/// with a period of 0 days: the cutoff is the run's time.
///
/// The clear bumps the webhook's `version`: a write that loaded the webhook
/// before it then fails its optimistic check (and is retried on fresh state)
/// instead of writing the expired ciphertext back. `updated_at` is left
/// alone: nothing its owner set has changed.
#[derive(Debug, Clone, Copy)]
pub struct ExpiredPreviousSecrets;

#[async_trait]
impl RetentionTarget for ExpiredPreviousSecrets {
    fn name(&self) -> &'static str {
        "webhooks_previous_secret"
    }

    async fn purge_batch(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
        batch: i64,
    ) -> Result<usize, diesel::result::Error> {
        diesel::sql_query(
            "UPDATE webhooks SET previous_secret_ciphertext = NULL, previous_secret_nonce = NULL, \
             previous_secret_key_id = NULL, previous_secret_expires_at = NULL, \
             version = version + 1 \
             WHERE id IN (SELECT id FROM webhooks WHERE previous_secret_expires_at < $1 \
                          ORDER BY previous_secret_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
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
            "SELECT count(*) AS count FROM webhooks WHERE previous_secret_expires_at < $1",
        )
        .bind::<Timestamptz, _>(cutoff)
        .get_result(conn)
        .await?;
        Ok(row.count)
    }
}
