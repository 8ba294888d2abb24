//! The queue's SQL as the workers use it: claim due jobs, record outcomes
//! in batches, release leases. Each is one autocommit statement: no
//! transaction stays open while a request is in flight. Public for the
//! tests of the queue's guarantees; the app goes through [`super::DeliveryEngine`].

use std::sync::LazyLock;
use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Integer, Nullable, SmallInt, Text, Timestamptz,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_platform_postgres::statement::statement;
use hub_webhooks_domain::DeliveryStatus;
use time::OffsetDateTime;
use uuid::Uuid;

type SqlUuid = diesel::sql_types::Uuid;

/// A job leased to this worker, with what sending it needs from its webhook.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedJob {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Drawn anew by each claim: the outcome of this attempt is recorded
    /// only while the job still holds it.
    #[diesel(sql_type = SqlUuid)]
    pub lease_token: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub webhook_id: Uuid,
    /// The webhook's owner, and the destination (`host[:port]` of its URL,
    /// lower case): what the per-owner and per-host caps count.
    #[diesel(sql_type = SqlUuid)]
    pub owner_id: Uuid,
    #[diesel(sql_type = Text)]
    pub host: String,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    /// This attempt's number: counted when claimed, so that an attempt
    /// whose worker dies (a poison job) counts too.
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    /// Whether the owner may still receive the event now (access scoping
    /// re-judged at send: deactivated owner, role changed, no longer a
    /// conducteur of the event's chantier). Test events always may.
    #[diesel(sql_type = Bool)]
    pub allowed: bool,
    /// Also sign with the legacy `X-Hub-Chantier-Signature` header.
    #[diesel(sql_type = Bool)]
    pub legacy_signature: bool,
    /// The webhook delivers its aggregates' events in order and this job has
    /// a place in that order: its end may release the next one.
    #[diesel(sql_type = Bool)]
    pub ordered: bool,
    #[diesel(sql_type = Bytea)]
    pub secret_ciphertext: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    pub secret_nonce: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub secret_key_id: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub previous_secret_nonce: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret_key_id: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
}

/// What a claim may take.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Jobs wanted (free slots of the process).
    pub limit: usize,
    /// Webhooks already at their per-endpoint cap in this process: skipped.
    pub saturated: Vec<Uuid>,
    /// Other webhooks with requests in flight here, and how many (a slow
    /// webhook's count is raised so that fewer slots are left to it).
    pub busy: Vec<(Uuid, usize)>,
    pub per_endpoint: usize,
    /// Owners, then destination hosts, at their cap: skipped; and the
    /// others' requests in flight.
    pub saturated_owners: Vec<Uuid>,
    pub busy_owners: Vec<(Uuid, usize)>,
    pub per_owner: usize,
    pub saturated_hosts: Vec<String>,
    pub busy_hosts: Vec<(String, usize)>,
    pub per_host: usize,
    pub lease: Duration,
    pub worker: Uuid,
}

/// Whether the owner of webhook `w` (`o`: their `webhook_owners` row) may
/// receive the event of delivery `d` now — the access-scoping rule in SQL,
/// on the scoping read models: test events always; otherwise an active
/// owner who is an admin, or a conducteur of the event's (not deleted)
/// chantier, or anyone for a `webhook.disabled` about their own webhook.
/// Judged by the claim at every send, and by redelivery before queueing.
pub(crate) const MAY_RECEIVE: &str = "(d.event_type = 'webhook.test' OR (o.is_active IS TRUE AND ( \
       o.role = 'admin' \
       OR (d.event_type = 'webhook.disabled' \
           AND d.payload::jsonb #>> '{data,owner_id}' = w.owner_id::text) \
       OR (o.role = 'conducteur' AND EXISTS ( \
           SELECT 1 FROM webhook_scope_chantiers s \
           WHERE s.chantier_id::text = d.payload::jsonb #>> '{data,chantier_id}' \
             AND NOT s.deleted AND w.owner_id = ANY(s.conducteur_ids))))))";

/// For a webhook with `ordering = 'aggregate'`, whether delivery `d` must
/// wait: an earlier delivery (outbox order) of the same aggregate to the same
/// webhook is still pending or in flight. The order is released once the
/// earlier delivery is final (succeeded, failed or cancelled). One probe of
/// `webhook_deliveries_aggregate_order_idx`.
const HELD_BACK: &str = "(w.ordering = 'aggregate' AND d.event_seq IS NOT NULL AND EXISTS ( \
       SELECT 1 FROM webhook_deliveries e \
       WHERE e.webhook_id = d.webhook_id AND e.aggregate_type = d.aggregate_type \
         AND e.aggregate_id = d.aggregate_id AND e.event_seq < d.event_seq \
         AND e.status IN ('pending', 'in_flight') AND e.event_seq IS NOT NULL))";

/// The claim (see [`claim`]). `w.host` is the destination the per-host
/// cap counts, `host[:port]` of the URL in lower case, a generated column
/// (migration `2026-12-06-000004_webhook_host`).
static CLAIM_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH exhausted AS ( \
             UPDATE webhook_deliveries SET status = 'failed', lease_until = NULL, \
                 leased_by = NULL, lease_token = NULL, finished_at = now(), updated_at = now(), \
                 last_error = 'no outcome was recorded for its last attempt: ' \
                   || 'the worker stopped while sending it' \
             WHERE id IN ( \
                 SELECT id FROM webhook_deliveries \
                 WHERE status = 'in_flight' AND lease_until <= now() \
                   AND attempt >= max_attempts \
                 LIMIT 100 FOR UPDATE SKIP LOCKED) \
             RETURNING 1 \
         ), candidates AS ( \
             SELECT d.id, d.webhook_id, w.owner_id, w.host, \
                    COALESCE(d.lease_until, d.next_attempt_at) AS due \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status IN ('pending', 'in_flight') \
               AND COALESCE(d.lease_until, d.next_attempt_at) <= now() \
               AND (d.status = 'pending' OR d.attempt < d.max_attempts) \
               AND d.webhook_id::text <> ALL($1::text[]) \
               AND w.owner_id <> ALL($2) AND w.host <> ALL($3) \
               AND NOT {HELD_BACK} \
             ORDER BY COALESCE(d.lease_until, d.next_attempt_at) \
             LIMIT $4 \
         ), by_webhook AS ( \
             SELECT c.*, row_number() OVER (PARTITION BY c.webhook_id ORDER BY c.due) AS turn, \
                    COALESCE(b.in_flight, 0) AS busy \
             FROM candidates c \
             LEFT JOIN unnest($5::uuid[], $6::int4[]) AS b (webhook_id, in_flight) \
               ON b.webhook_id = c.webhook_id \
         ), allowed AS ( \
             SELECT * FROM by_webhook WHERE turn + busy <= $7 \
         ), shared AS ( \
             SELECT a.id, a.turn, a.due, \
                    row_number() OVER (PARTITION BY a.owner_id ORDER BY a.turn, a.due) \
                      + COALESCE(o.in_flight, 0) AS owner_slot, \
                    row_number() OVER (PARTITION BY a.host ORDER BY a.turn, a.due) \
                      + COALESCE(h.in_flight, 0) AS host_slot \
             FROM allowed a \
             LEFT JOIN unnest($8::uuid[], $9::int4[]) AS o (owner_id, in_flight) \
               ON o.owner_id = a.owner_id \
             LEFT JOIN unnest($10::text[], $11::int4[]) AS h (host, in_flight) ON h.host = a.host \
         ), picked AS ( \
             SELECT d.id FROM shared s JOIN webhook_deliveries d ON d.id = s.id \
             WHERE s.owner_slot <= $12 AND s.host_slot <= $13 \
               AND d.status IN ('pending', 'in_flight') \
               AND COALESCE(d.lease_until, d.next_attempt_at) <= now() \
               AND (d.status = 'pending' OR d.attempt < d.max_attempts) \
             ORDER BY s.turn, s.due LIMIT $14 \
             FOR UPDATE OF d SKIP LOCKED \
         ) \
         UPDATE webhook_deliveries d \
         SET status = 'in_flight', lease_until = now() + $15 * interval '1 millisecond', \
             leased_by = $16, lease_token = gen_random_uuid(), attempt = d.attempt + 1, \
             updated_at = now() \
         FROM picked, webhooks w LEFT JOIN webhook_owners o ON o.user_id = w.owner_id \
         WHERE d.id = picked.id AND w.id = d.webhook_id \
         RETURNING d.id, d.lease_token, d.webhook_id, w.owner_id, w.host, d.event_id, \
                   d.event_type, d.payload, d.attempt, \
                   d.max_attempts, w.url, w.is_active, {MAY_RECEIVE} AS allowed, \
                   w.legacy_signature, \
                   (w.ordering = 'aggregate' AND d.event_seq IS NOT NULL) AS ordered, \
                   w.secret_ciphertext, w.secret_nonce, \
                   w.secret_key_id, w.previous_secret_ciphertext, w.previous_secret_nonce, \
                   w.previous_secret_key_id, w.previous_secret_expires_at"
    )
});

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Leases up to `claim.limit` due jobs — pending ones whose time has come
/// and in-flight ones whose lease expired (their worker died) — oldest due
/// first, at most `per_endpoint` in flight per webhook, in one statement,
/// counting the attempt. A job of an ordered webhook waits while an earlier
/// job of its aggregate is queued (`HELD_BACK`). A job whose lease expired after its last allowed
/// attempt (every worker that took it died: a poison job) is not taken
/// again: the same statement ends it as `failed`.
/// The candidates are read without locks; the jobs are then locked in the
/// order they are picked, `FOR UPDATE SKIP LOCKED`, until the claim has
/// its count, their due condition checked again on the row as it is then:
/// concurrent claims (other workers, other processes) take disjoint sets
/// without waiting for each other, and a job another claim holds is passed
/// over for the next one the caps allow.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    claim: &Claim,
) -> Result<Vec<ClaimedJob>, diesel::result::Error> {
    if claim.limit == 0 {
        return Ok(Vec::new());
    }
    fn split<K: Clone>(busy: &[(K, usize)]) -> (Vec<K>, Vec<i32>) {
        busy.iter()
            .map(|(key, n)| (key.clone(), i32::try_from(*n).unwrap_or(i32::MAX)))
            .unzip()
    }
    let (busy_ids, busy_counts) = split(&claim.busy);
    let (owner_ids, owner_counts) = split(&claim.busy_owners);
    let (hosts, host_counts) = split(&claim.busy_hosts);
    // The candidates are read past the caps (a backlog of one webhook must
    // not hide the due jobs of others), then cut per webhook, then per
    // owner and per host taking each webhook's first job before anyone's
    // second (round-robin across webhooks), oldest due first within a turn.
    // Only the jobs taken are locked: locking every candidate wrote a lock
    // on up to 4 × `limit` rows to take the few the caps allowed (160 for
    // 5 with one busy webhook), a fifth of the claim's time in a
    // one-webhook burst (docs/PERFORMANCE.md).
    // The saturated webhooks are compared as text on purpose: the claim is
    // a prepared statement, and PostgreSQL soon runs it with a generic plan
    // (one for any parameters). Compared as uuids, the column's statistics
    // made that plan judge the exclusion very selective whenever the due
    // jobs belong to a few webhooks (one, say), and it then read and sorted
    // every due job at each claim (55 ms at 10,000) instead of walking the
    // due index for the first `scan` (1.8 ms). An expression has no
    // statistics, so its exclusion is judged mild and the walk is kept
    // (docs/decisions/generic-plans.md).
    let scan = claim.limit.saturating_mul(4).clamp(16, 1000);
    statement(CLAIM_SQL.as_str())
        .bind::<Array<SqlUuid>, _>(&claim.saturated)
        .bind::<Array<SqlUuid>, _>(&claim.saturated_owners)
        .bind::<Array<Text>, _>(&claim.saturated_hosts)
        .bind::<BigInt, _>(count(scan))
        .bind::<Array<SqlUuid>, _>(busy_ids)
        .bind::<Array<Integer>, _>(busy_counts)
        .bind::<BigInt, _>(count(claim.per_endpoint))
        .bind::<Array<SqlUuid>, _>(owner_ids)
        .bind::<Array<Integer>, _>(owner_counts)
        .bind::<Array<Text>, _>(hosts)
        .bind::<Array<Integer>, _>(host_counts)
        .bind::<BigInt, _>(count(claim.per_owner))
        .bind::<BigInt, _>(count(claim.per_host))
        .bind::<BigInt, _>(count(claim.limit))
        .bind::<BigInt, _>(i64::try_from(claim.lease.as_millis()).unwrap_or(i64::MAX))
        .bind::<SqlUuid, _>(claim.worker)
        .load(conn)
        .await
}

/// One attempt, as logged.
#[derive(Debug, Clone)]
pub struct AttemptLog {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub attempt: i32,
    pub success: bool,
    pub status_code: Option<i16>,
    pub response_body: Option<String>,
    pub error_kind: Option<&'static str>,
    pub error_message: Option<String>,
    pub duration_ms: i32,
    pub attempted_at: OffsetDateTime,
}

/// Where a leased job goes after its attempt (or after being skipped).
#[derive(Debug, Clone)]
pub struct JobUpdate {
    pub id: Uuid,
    /// The token of the claim that made the attempt ([`ClaimedJob::lease_token`]).
    pub lease_token: Uuid,
    pub status: DeliveryStatus,
    /// Attempts made, this one included.
    pub attempt: i32,
    /// For `pending`: when the next attempt is due.
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

#[derive(QueryableByName)]
struct UpdatedId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Records several outcomes in one statement: the jobs' new state (only
/// where the job still holds the lease of the claim that made the attempt:
/// an outcome that comes after its lease expired and the job was claimed
/// again — by another process or by this one — changes nothing), the
/// attempt rows (for jobs
/// that still exist: a webhook deleted meanwhile took its jobs along), and
/// the success bookkeeping of the webhooks in `delivered` (failure counter
/// reset, `last_triggered_at`: what `record_delivery_success` of the
/// webhook repository does, folded in to save a round trip per batch).
/// Returns the ids of the jobs updated.
///
/// Written for one plan that fits any batch, so that PostgreSQL plans it
/// once per connection instead of at every call (0.4-0.6 ms of planning
/// each, as much as its execution: docs/decisions/generic-plans.md):
/// - each `unnest` takes its first array through a sub-select, which hides
///   the batch's size from the planner: the plan it makes for any size is
///   then as cheap as one made for the size at hand, and is kept;
/// - a job is matched by its id and its lease token only. The token is
///   set exactly while the job is in flight (the `webhook_deliveries_lease`
///   constraint), so `status = 'in_flight'` would add nothing but a reason
///   for that plan to walk the in-flight jobs' index instead of probing
///   the primary key once per outcome, which cost a burst a third of its
///   throughput when tried.
pub async fn record(
    conn: &mut AsyncPgConnection,
    jobs: &[JobUpdate],
    attempts: &[AttemptLog],
    delivered: &[Uuid],
) -> Result<Vec<Uuid>, diesel::result::Error> {
    let rows: Vec<UpdatedId> = statement(
        "WITH outcome AS ( \
             SELECT * FROM unnest((SELECT $1::uuid[]), $2::text[], $3::int4[], $4::timestamptz[], $5::text[], \
                 $6::uuid[]) \
               AS o (id, status, attempt, next_attempt_at, last_error, lease_token) \
         ), updated AS ( \
             UPDATE webhook_deliveries d \
             SET status = o.status, attempt = o.attempt, \
                 next_attempt_at = COALESCE(o.next_attempt_at, d.next_attempt_at), \
                 lease_until = NULL, leased_by = NULL, lease_token = NULL, \
                 last_error = o.last_error, \
                 finished_at = CASE WHEN o.status IN ('succeeded', 'failed', 'cancelled') \
                               THEN now() END, \
                 updated_at = now() \
             FROM outcome o \
             WHERE d.id = o.id AND d.lease_token = o.lease_token \
             RETURNING d.id \
         ), logged AS ( \
             INSERT INTO webhook_delivery_attempts (id, delivery_id, webhook_id, event_id, \
                 event_type, attempt, success, status_code, response_body, error_kind, \
                 error_message, duration_ms, attempted_at) \
             SELECT a.* FROM unnest((SELECT $7::uuid[]), $8::uuid[], $9::uuid[], $10::uuid[], \
                 $11::text[], $12::int4[], $13::bool[], $14::int2[], $15::text[], $16::text[], \
                 $17::text[], $18::int4[], $19::timestamptz[]) \
               AS a (id, delivery_id, webhook_id, event_id, event_type, attempt, success, \
                     status_code, response_body, error_kind, error_message, duration_ms, \
                     attempted_at) \
             WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id) \
             RETURNING 1 \
         ), delivered AS ( \
             UPDATE webhooks SET consecutive_failures = 0, last_triggered_at = now() \
             WHERE id = ANY($20) \
             RETURNING 1 \
         ) \
         SELECT id FROM updated",
    )
    .bind::<Array<SqlUuid>, _>(jobs.iter().map(|j| j.id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(jobs.iter().map(|j| j.status.as_str()).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(jobs.iter().map(|j| j.attempt).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(
        jobs.iter().map(|j| j.next_attempt_at).collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        jobs.iter()
            .map(|j| j.last_error.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<SqlUuid>, _>(jobs.iter().map(|j| j.lease_token).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(attempts.iter().map(|a| a.id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(attempts.iter().map(|a| a.delivery_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(attempts.iter().map(|a| a.webhook_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(attempts.iter().map(|a| a.event_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        attempts
            .iter()
            .map(|a| a.event_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Integer>, _>(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(attempts.iter().map(|a| a.success).collect::<Vec<_>>())
    .bind::<Array<Nullable<SmallInt>>, _>(
        attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        attempts
            .iter()
            .map(|a| a.response_body.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(attempts.iter().map(|a| a.error_kind).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        attempts
            .iter()
            .map(|a| a.error_message.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Integer>, _>(attempts.iter().map(|a| a.duration_ms).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(attempts.iter().map(|a| a.attempted_at).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(delivered)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Gives back the jobs this worker still holds (shutdown): due again at
/// once, for any worker; the interrupted attempt, counted by the claim, is
/// taken back (a clean shutdown is not the job's fault).
pub async fn release(
    conn: &mut AsyncPgConnection,
    worker: Uuid,
) -> Result<usize, diesel::result::Error> {
    statement(
        "UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL, leased_by = NULL, \
         lease_token = NULL, attempt = GREATEST(attempt - 1, 0), updated_at = now() \
         WHERE status = 'in_flight' AND leased_by = $1",
    )
    .bind::<SqlUuid, _>(worker)
    .execute(conn)
    .await
}

/// Gives back jobs leased to this process and never sent (held too long
/// for a slot, or judged by recipients that have changed since): due
/// again at once, for any worker, their uncounted attempt taken back. Each
/// `(id, lease_token)` matches only while the job still holds that lease.
pub async fn give_back(
    conn: &mut AsyncPgConnection,
    leases: &[(Uuid, Uuid)],
) -> Result<usize, diesel::result::Error> {
    let (ids, tokens): (Vec<Uuid>, Vec<Uuid>) = leases.iter().copied().unzip();
    statement(
        "UPDATE webhook_deliveries d SET status = 'pending', lease_until = NULL, \
         leased_by = NULL, lease_token = NULL, attempt = GREATEST(d.attempt - 1, 0), \
         updated_at = now() \
         FROM unnest((SELECT $1::uuid[]), $2::uuid[]) AS g (id, lease_token) \
         WHERE d.id = g.id AND d.lease_token = g.lease_token AND d.status = 'in_flight'",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<SqlUuid>, _>(tokens)
    .execute(conn)
    .await
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct QueueDepth {
    /// Waiting for their first attempt or a retry.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Leased by a worker (of any process).
    #[diesel(sql_type = BigInt)]
    pub in_flight: i64,
}

/// How many jobs are queued, for the metrics.
pub async fn queue_depth(
    conn: &mut AsyncPgConnection,
) -> Result<QueueDepth, diesel::result::Error> {
    statement(
        "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, \
                count(*) FILTER (WHERE status = 'in_flight') AS in_flight \
         FROM webhook_deliveries WHERE status IN ('pending', 'in_flight')",
    )
    .get_result(conn)
    .await
}
