//! The chantiers context's view of the planning context: which user is
//! assigned to which chantier, kept in `chantier_affectations` from the
//! `affectation.*` events (their JSON only) by a platform [`Projection`],
//! so it misses no event and applies none twice.

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Bool, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{TopicError, TopicPattern};
use hub_platform_postgres::{DurableError, Projection, RelayedEvent};
use serde_json::Value;
use uuid::Uuid;

/// Keeps `chantier_affectations` in step with `affectation.*` events:
/// `created` and `updated` record (or move) an affectation, `deleted` and
/// `cancelled` end it for good, `bulk_created` records each id of
/// `affectation_ids` for `utilisateur_id`, `bulk_deleted` ends each id.
/// Bulk events name many affectations at once, so besides the platform's
/// per-aggregate guard each row keeps the log position of the last event
/// applied to it: an older event never overwrites a newer one, and an
/// ended affectation stays ended.
#[derive(Debug)]
pub struct AffectationsProjector {
    pattern: TopicPattern,
}

impl AffectationsProjector {
    pub fn new() -> Result<Self, TopicError> {
        Ok(Self {
            pattern: TopicPattern::parse("affectation.*")?,
        })
    }
}

fn uuid(value: Option<&Value>) -> Option<Uuid> {
    value
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
}

fn uuids(value: Option<&Value>) -> Option<Vec<Uuid>> {
    value?.as_array()?.iter().map(|id| uuid(Some(id))).collect()
}

/// Records the affectations `ids` of `utilisateur_id` on `chantier_id` as
/// `active` (or ends them), unless a later event was applied already; an
/// ended affectation stays ended.
async fn upsert(
    conn: &mut AsyncPgConnection,
    ids: Vec<Uuid>,
    chantier_id: Uuid,
    utilisateur_id: Uuid,
    active: bool,
    seq: i64,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "INSERT INTO chantier_affectations (affectation_id, chantier_id, utilisateur_id, active, last_seq) \
         SELECT id, $2, $3, $4, $5 FROM unnest($1::uuid[]) AS id \
         ON CONFLICT (affectation_id) DO UPDATE SET chantier_id = EXCLUDED.chantier_id, \
         utilisateur_id = EXCLUDED.utilisateur_id, active = EXCLUDED.active, \
         last_seq = EXCLUDED.last_seq \
         WHERE chantier_affectations.last_seq < EXCLUDED.last_seq \
         AND chantier_affectations.active",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<SqlUuid, _>(chantier_id)
    .bind::<SqlUuid, _>(utilisateur_id)
    .bind::<Bool, _>(active)
    .bind::<BigInt, _>(seq)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Projection for AffectationsProjector {
    fn name(&self) -> &'static str {
        "chantiers.affectations"
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
        let event_type = event.event_type.as_str();
        let chantier_id = uuid(data.get("chantier_id"));
        match event_type {
            "affectation.created"
            | "affectation.updated"
            | "affectation.deleted"
            | "affectation.cancelled" => {
                let active = matches!(event_type, "affectation.created" | "affectation.updated");
                let (Some(id), Some(chantier_id), Some(user)) = (
                    uuid(data.get("affectation_id")),
                    chantier_id,
                    uuid(data.get("utilisateur_id")),
                ) else {
                    tracing::error!(event_id = %event.event_id, event_type, "affectation event without valid affectation_id, chantier_id and utilisateur_id; ignored");
                    return Ok(());
                };
                upsert(conn, vec![id], chantier_id, user, active, event.seq).await?;
            }
            "affectation.bulk_created" => {
                let (Some(ids), Some(chantier_id), Some(user)) = (
                    uuids(data.get("affectation_ids")),
                    chantier_id,
                    uuid(data.get("utilisateur_id")),
                ) else {
                    tracing::error!(event_id = %event.event_id, event_type, "bulk affectation event without valid affectation_ids, chantier_id and utilisateur_id; ignored");
                    return Ok(());
                };
                upsert(conn, ids, chantier_id, user, true, event.seq).await?;
            }
            "affectation.bulk_deleted" => {
                let Some(ids) = uuids(data.get("affectation_ids")) else {
                    tracing::error!(event_id = %event.event_id, event_type, "bulk deletion without valid affectation_ids; ignored");
                    return Ok(());
                };
                diesel::sql_query(
                    "UPDATE chantier_affectations SET active = false, last_seq = $2 \
                     WHERE affectation_id = ANY($1) AND last_seq < $2",
                )
                .bind::<Array<SqlUuid>, _>(ids)
                .bind::<BigInt, _>(event.seq)
                .execute(conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
