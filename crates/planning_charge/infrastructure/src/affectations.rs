//! Planned hours, from the planning context's `affectation.*` events: this
//! context's own reading of their JSON (no dependency on the planning
//! crates), kept in `planning_charge_affectations` with each affectation's
//! chantier, user, day and planned minutes.
//!
//! - `created`, `updated` record (or move) an affectation;
//! - `deleted`, `cancelled` end it for good;
//! - `bulk_created` records each of `affectations[]`;
//! - `bulk_deleted` ends each of `affectation_ids`.
//!
//! Bulk events name many affectations at once, so besides the platform's
//! per-aggregate guard each row keeps the log position of the last event
//! applied to it: an older event never overwrites a newer one. A payload
//! that cannot be read is logged and skipped (fail closed: it plans nothing).

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Bool, Date as SqlDate, Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{StorageError, TopicPattern};
use hub_planning_charge_application::{Affectations, ParMetier, Quantite};
use hub_planning_charge_domain::Semaine;
use hub_planning_charge_domain::charge::minutes_affectation;
use hub_platform_postgres::{Database, DurableError, Projection, RelayedEvent, storage};
use serde_json::Value;
use time::Date;
use time::macros::format_description;
use uuid::Uuid;

use crate::directory::ROLES_EFFECTIF;
use crate::repository::{ParMetierRow, QuantiteRow};

/// The ISO week of a date column as `annee × 100 + numero` (`Semaine::cle`).
const SEMAINE_SQL: &str = "(extract(isoyear FROM date) * 100 + extract(week FROM date))::int";

/// One affectation as an event describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ligne {
    affectation_id: Uuid,
    chantier_id: Uuid,
    utilisateur_id: Uuid,
    date: Date,
    minutes: i32,
}

fn uuid(value: Option<&Value>) -> Option<Uuid> {
    value
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
}

fn date(value: Option<&Value>) -> Option<Date> {
    Date::parse(
        value?.as_str()?,
        format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// `HH:MM` as minutes since midnight; `None` when absent or unreadable
/// (the affectation then counts a working day).
fn heure(value: Option<&Value>) -> Option<u16> {
    let (h, m) = value?.as_str()?.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// An affectation of `item`, on `chantier_id` (the bulk event's) or its own.
fn ligne(item: &Value, chantier_id: Option<Uuid>) -> Option<Ligne> {
    let minutes = minutes_affectation(heure(item.get("heure_debut")), heure(item.get("heure_fin")));
    Some(Ligne {
        affectation_id: uuid(item.get("affectation_id"))?,
        chantier_id: chantier_id.or_else(|| uuid(item.get("chantier_id")))?,
        utilisateur_id: uuid(item.get("utilisateur_id"))?,
        date: date(item.get("date"))?,
        minutes: i32::try_from(minutes).unwrap_or(0),
    })
}

/// The affectations read model and its projection.
#[derive(Debug, Clone)]
pub struct AffectationsProjection {
    pattern: TopicPattern,
}

impl AffectationsProjection {
    pub fn new() -> Self {
        Self {
            pattern: TopicPattern::parse("affectation.*").unwrap_or_else(|_| TopicPattern::all()),
        }
    }

    /// Records `lignes` as `active` (or ends them), unless a later event
    /// was applied already; an ended affectation stays ended.
    async fn upsert(
        &self,
        conn: &mut AsyncPgConnection,
        lignes: &[Ligne],
        active: bool,
        seq: i64,
    ) -> Result<(), diesel::result::Error> {
        diesel::sql_query(
            "INSERT INTO planning_charge_affectations \
               (affectation_id, chantier_id, utilisateur_id, date, minutes, active, last_seq) \
             SELECT a.id, a.chantier_id, a.utilisateur_id, a.date, a.minutes, $6, $7 \
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::date[], $5::int[]) \
               AS a (id, chantier_id, utilisateur_id, date, minutes) \
             ON CONFLICT (affectation_id) DO UPDATE SET chantier_id = EXCLUDED.chantier_id, \
               utilisateur_id = EXCLUDED.utilisateur_id, date = EXCLUDED.date, \
               minutes = EXCLUDED.minutes, active = EXCLUDED.active, last_seq = EXCLUDED.last_seq \
             WHERE planning_charge_affectations.last_seq < EXCLUDED.last_seq \
               AND planning_charge_affectations.active",
        )
        .bind::<Array<SqlUuid>, _>(lignes.iter().map(|l| l.affectation_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(lignes.iter().map(|l| l.chantier_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(lignes.iter().map(|l| l.utilisateur_id).collect::<Vec<_>>())
        .bind::<Array<SqlDate>, _>(lignes.iter().map(|l| l.date).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(lignes.iter().map(|l| l.minutes).collect::<Vec<_>>())
        .bind::<Bool, _>(active)
        .bind::<BigInt, _>(seq)
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl Default for AffectationsProjection {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Projection for AffectationsProjection {
    fn name(&self) -> &'static str {
        "planning_charge.affectations"
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
        match event_type {
            "affectation.created"
            | "affectation.updated"
            | "affectation.deleted"
            | "affectation.cancelled" => {
                let active = matches!(event_type, "affectation.created" | "affectation.updated");
                let Some(ligne) = ligne(data, None) else {
                    tracing::error!(event_id = %event.event_id, event_type, "affectation event without valid affectation_id, chantier_id, utilisateur_id and date; ignored");
                    return Ok(());
                };
                self.upsert(conn, &[ligne], active, event.seq).await?;
            }
            "affectation.bulk_created" => {
                let chantier_id = uuid(data.get("chantier_id"));
                let lignes: Option<Vec<Ligne>> = chantier_id.and_then(|chantier_id| {
                    data.get("affectations")?
                        .as_array()?
                        .iter()
                        .map(|item| ligne(item, Some(chantier_id)))
                        .collect()
                });
                let Some(lignes) = lignes else {
                    tracing::error!(event_id = %event.event_id, event_type, "bulk affectation event without readable affectations[] and chantier_id; ignored");
                    return Ok(());
                };
                self.upsert(conn, &lignes, true, event.seq).await?;
            }
            "affectation.bulk_deleted" => {
                let ids: Option<Vec<Uuid>> = data
                    .get("affectation_ids")
                    .and_then(Value::as_array)
                    .and_then(|ids| ids.iter().map(|id| uuid(Some(id))).collect());
                let Some(ids) = ids else {
                    tracing::error!(event_id = %event.event_id, event_type, "bulk deletion without valid affectation_ids; ignored");
                    return Ok(());
                };
                diesel::sql_query(
                    "UPDATE planning_charge_affectations SET active = false, last_seq = $2 \
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

#[derive(diesel::QueryableByName)]
struct Occupes {
    #[diesel(sql_type = Integer)]
    semaine: i32,
    #[diesel(sql_type = BigInt)]
    occupes: i64,
}

/// [`Affectations`] on `planning_charge_affectations`.
#[derive(Debug, Clone)]
pub struct DieselAffectations {
    db: Database,
}

impl DieselAffectations {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Affectations for DieselAffectations {
    async fn planifie(
        &self,
        chantier_ids: &[Uuid],
        debut: Semaine,
        fin: Semaine,
    ) -> Result<Vec<Quantite>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let rows: Vec<QuantiteRow> = diesel::sql_query(format!(
            "SELECT chantier_id, {SEMAINE_SQL} AS semaine, sum(minutes)::bigint AS minutes \
             FROM planning_charge_affectations \
             WHERE active AND chantier_id = ANY($1) AND date BETWEEN $2 AND $3 \
             GROUP BY 1, 2"
        ))
        .bind::<Array<SqlUuid>, _>(chantier_ids)
        .bind::<SqlDate, _>(debut.lundi())
        .bind::<SqlDate, _>(fin.dimanche())
        .load(&mut conn)
        .await
        .map_err(storage)?;
        rows.into_iter().map(QuantiteRow::quantite).collect()
    }

    async fn occupes(
        &self,
        debut: Semaine,
        fin: Semaine,
    ) -> Result<Vec<(Semaine, u64)>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let rows: Vec<Occupes> = diesel::sql_query(format!(
            "SELECT {SEMAINE_SQL} AS semaine, count(DISTINCT a.utilisateur_id) AS occupes \
             FROM planning_charge_affectations a \
             JOIN planning_charge_users u ON u.user_id = a.utilisateur_id \
               AND u.is_active AND u.role IN {ROLES_EFFECTIF} \
             WHERE a.active AND a.date BETWEEN $1 AND $2 \
             GROUP BY 1"
        ))
        .bind::<SqlDate, _>(debut.lundi())
        .bind::<SqlDate, _>(fin.dimanche())
        .load(&mut conn)
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|row| {
                let semaine = Semaine::from_cle(row.semaine).map_err(|_| {
                    StorageError::corrupt(format!("week {} is not an ISO week", row.semaine))
                })?;
                Ok((semaine, u64::try_from(row.occupes).unwrap_or_default()))
            })
            .collect()
    }

    async fn planifie_par_metier(
        &self,
        chantier_ids: &[Uuid],
        semaine: Semaine,
    ) -> Result<Vec<ParMetier>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        // Every affectation counts, as in the grid; a person the users read
        // model does not know (yet) counts under no métier.
        let rows: Vec<ParMetierRow> = diesel::sql_query(
            "SELECT u.metier, sum(a.minutes)::bigint AS valeur \
             FROM planning_charge_affectations a \
             LEFT JOIN planning_charge_users u ON u.user_id = a.utilisateur_id \
             WHERE a.active AND a.chantier_id = ANY($1) AND a.date BETWEEN $2 AND $3 \
             GROUP BY u.metier",
        )
        .bind::<Array<SqlUuid>, _>(chantier_ids)
        .bind::<SqlDate, _>(semaine.lundi())
        .bind::<SqlDate, _>(semaine.dimanche())
        .load(&mut conn)
        .await
        .map_err(storage)?;
        Ok(rows.into_iter().map(ParMetier::from).collect())
    }

    async fn occupes_par_metier(&self, semaine: Semaine) -> Result<Vec<ParMetier>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let rows: Vec<ParMetierRow> = diesel::sql_query(format!(
            "SELECT u.metier, count(DISTINCT a.utilisateur_id) AS valeur \
             FROM planning_charge_affectations a \
             JOIN planning_charge_users u ON u.user_id = a.utilisateur_id \
               AND u.is_active AND u.role IN {ROLES_EFFECTIF} \
             WHERE a.active AND a.date BETWEEN $1 AND $2 \
             GROUP BY u.metier"
        ))
        .bind::<SqlDate, _>(semaine.lundi())
        .bind::<SqlDate, _>(semaine.dimanche())
        .load(&mut conn)
        .await
        .map_err(storage)?;
        Ok(rows.into_iter().map(ParMetier::from).collect())
    }
}
