//! Who is assigned to which chantier, from the planning context's
//! `affectation.*` events: what lets a compagnon (or a chef de chantier
//! planned there) see a site's data in another context.

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::TopicPattern;
use hub_platform_postgres::{DurableError, Projection, RelayedEvent};
use serde_json::Value;
use uuid::Uuid;

/// The affectations read model of one context (its table, the projection
/// that feeds it, the queries that read it):
///
/// - `created`, `updated` record (or move) an affectation;
/// - `deleted`, `cancelled` end it for good;
/// - `bulk_created` records each of `affectations[]` (`affectation_id`,
///   `utilisateur_id`), or each of `affectation_ids` for `utilisateur_id`;
/// - `bulk_deleted` ends each of `affectation_ids`.
///
/// Bulk events name many affectations at once, so besides the platform's
/// per-aggregate guard each row keeps the log position of the last event
/// applied to it: an older event never overwrites a newer one.
#[derive(Debug, Clone)]
pub struct AffectationsDirectory {
    name: &'static str,
    table: &'static str,
    pattern: TopicPattern,
}

fn uuid(value: Option<&Value>) -> Option<Uuid> {
    value
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
}

fn uuids(value: Option<&Value>) -> Option<Vec<Uuid>> {
    value?.as_array()?.iter().map(|id| uuid(Some(id))).collect()
}

impl AffectationsDirectory {
    /// The read model in `table` (a compile-time constant, never input),
    /// applied as the projection `name` (e.g. `signalements.affectations`).
    pub fn new(name: &'static str, table: &'static str) -> Self {
        Self {
            name,
            table,
            pattern: TopicPattern::parse("affectation.*").unwrap_or_else(|_| TopicPattern::all()),
        }
    }

    /// Whether `user_id` has a live affectation on the chantier.
    pub async fn is_assigned(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        chantier_id: Uuid,
    ) -> Result<bool, diesel::result::Error> {
        #[derive(QueryableByName)]
        struct Found {
            #[diesel(sql_type = Bool)]
            found: bool,
        }
        let row: Found = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE utilisateur_id = $1 AND chantier_id = $2 \
             AND active) AS found",
            self.table
        ))
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(chantier_id)
        .get_result(conn)
        .await?;
        Ok(row.found)
    }

    /// The chantiers `user_id` has a live affectation on.
    pub async fn chantiers_of(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
    ) -> Result<Vec<Uuid>, diesel::result::Error> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            chantier_id: Uuid,
        }
        let rows: Vec<Id> = diesel::sql_query(format!(
            "SELECT DISTINCT chantier_id FROM {} WHERE utilisateur_id = $1 AND active",
            self.table
        ))
        .bind::<SqlUuid, _>(user_id)
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(|row| row.chantier_id).collect())
    }

    /// Records `(affectation, utilisateur)` pairs on `chantier_id` as
    /// `active` (or ends them), unless a later event was applied already;
    /// an ended affectation stays ended.
    async fn upsert(
        &self,
        conn: &mut AsyncPgConnection,
        pairs: Vec<(Uuid, Uuid)>,
        chantier_id: Uuid,
        active: bool,
        seq: i64,
    ) -> Result<(), diesel::result::Error> {
        let (ids, users): (Vec<Uuid>, Vec<Uuid>) = pairs.into_iter().unzip();
        diesel::sql_query(format!(
            "INSERT INTO {0} (affectation_id, chantier_id, utilisateur_id, active, last_seq) \
             SELECT a.id, $3, a.utilisateur_id, $4, $5 \
             FROM unnest($1::uuid[], $2::uuid[]) AS a (id, utilisateur_id) \
             ON CONFLICT (affectation_id) DO UPDATE SET chantier_id = EXCLUDED.chantier_id, \
             utilisateur_id = EXCLUDED.utilisateur_id, active = EXCLUDED.active, \
             last_seq = EXCLUDED.last_seq \
             WHERE {0}.last_seq < EXCLUDED.last_seq AND {0}.active",
            self.table
        ))
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<SqlUuid>, _>(users)
        .bind::<SqlUuid, _>(chantier_id)
        .bind::<Bool, _>(active)
        .bind::<BigInt, _>(seq)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The `(affectation_id, utilisateur_id)` pairs of a bulk creation.
fn bulk_pairs(data: &Value) -> Option<Vec<(Uuid, Uuid)>> {
    if let Some(items) = data.get("affectations").and_then(Value::as_array) {
        return items
            .iter()
            .map(|item| {
                Some((
                    uuid(item.get("affectation_id"))?,
                    uuid(item.get("utilisateur_id"))?,
                ))
            })
            .collect();
    }
    let user = uuid(data.get("utilisateur_id"))?;
    Some(
        uuids(data.get("affectation_ids"))?
            .into_iter()
            .map(|id| (id, user))
            .collect(),
    )
}

#[async_trait]
impl Projection for AffectationsDirectory {
    fn name(&self) -> &'static str {
        self.name
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
                self.upsert(conn, vec![(id, user)], chantier_id, active, event.seq)
                    .await?;
            }
            "affectation.bulk_created" => {
                let (Some(pairs), Some(chantier_id)) = (bulk_pairs(data), chantier_id) else {
                    tracing::error!(event_id = %event.event_id, event_type, "bulk affectation event without readable affectations and chantier_id; ignored");
                    return Ok(());
                };
                self.upsert(conn, pairs, chantier_id, true, event.seq)
                    .await?;
            }
            "affectation.bulk_deleted" => {
                let Some(ids) = uuids(data.get("affectation_ids")) else {
                    tracing::error!(event_id = %event.event_id, event_type, "bulk deletion without valid affectation_ids; ignored");
                    return Ok(());
                };
                diesel::sql_query(format!(
                    "UPDATE {} SET active = false, last_seq = $2 \
                     WHERE affectation_id = ANY($1) AND last_seq < $2",
                    self.table
                ))
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
