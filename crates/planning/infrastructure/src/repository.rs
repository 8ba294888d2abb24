//! Affectations in PostgreSQL: every write stores its rows and appends its
//! events to the outbox in one transaction. The one-per-day rule is the
//! partial unique index `affectations_one_per_day`, so concurrent requests
//! cannot both plan a user on the same day.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_planning_application::{AffectationRepository, PlanningFilter, RepositoryError};
use hub_planning_domain::{
    Affectation, Annulation, Heure, JoursRecurrence, Modele, Note, Plage, Raison, Restored,
    TypeAffectation,
};
use hub_platform_postgres::{
    Database, DbError, WriteError, guarded, outbox, storage, update_with_events,
};
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::schema::affectations;

/// The unique index that holds the one-per-day rule.
const ONE_PER_DAY: &str = "affectations_one_per_day";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = affectations)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct AffectationRow {
    id: Uuid,
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    date: Date,
    heure_debut: Option<Time>,
    heure_fin: Option<Time>,
    note: Option<String>,
    type_affectation: String,
    jours_recurrence: Option<Vec<i16>>,
    statut: String,
    annulation_raison: Option<String>,
    annulee_par: Option<Uuid>,
    annulee_le: Option<OffsetDateTime>,
    created_by: Option<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<&Affectation> for AffectationRow {
    fn from(a: &Affectation) -> Self {
        let annulation = a.annulation();
        Self {
            id: a.id(),
            utilisateur_id: a.utilisateur_id(),
            chantier_id: a.chantier_id(),
            date: a.date(),
            heure_debut: a.plage().debut().map(Heure::time),
            heure_fin: a.plage().fin().map(Heure::time),
            note: a.note().map(|note| note.as_str().to_owned()),
            type_affectation: a.type_affectation().as_str().to_owned(),
            jours_recurrence: a
                .jours_recurrence()
                .map(|jours| jours.jours().iter().map(|d| i16::from(*d)).collect()),
            statut: a.statut().as_str().to_owned(),
            annulation_raison: annulation.map(|x| x.raison.as_str().to_owned()),
            annulee_par: annulation.and_then(|x| x.par),
            annulee_le: annulation.map(|x| x.le),
            created_by: a.created_by(),
            version: a.version(),
            created_at: a.created_at(),
            updated_at: a.updated_at(),
        }
    }
}

impl TryFrom<AffectationRow> for Affectation {
    type Error = RepositoryError;

    fn try_from(row: AffectationRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "affectation {id} has an invalid {what}"
            )))
        };
        let plage = Plage::new(
            row.heure_debut.map(Heure::from_time),
            row.heure_fin.map(Heure::from_time),
        )
        .map_err(|_| corrupt("plage"))?;
        let jours_recurrence = row
            .jours_recurrence
            .map(|jours| {
                let jours: Vec<i64> = jours.into_iter().map(i64::from).collect();
                JoursRecurrence::new(&jours)
            })
            .transpose()
            .map_err(|_| corrupt("jours_recurrence"))?;
        let annulation = match (row.statut.as_str(), row.annulation_raison, row.annulee_le) {
            ("planifiee", _, _) => None,
            ("annulee", Some(raison), Some(le)) => Some(Annulation {
                raison: Raison::parse(&raison).map_err(|_| corrupt("annulation"))?,
                par: row.annulee_par,
                le,
            }),
            _ => return Err(corrupt("statut")),
        };
        Ok(Affectation::restore(Restored {
            id,
            modele: Modele {
                utilisateur_id: row.utilisateur_id,
                chantier_id: row.chantier_id,
                plage,
                note: Note::parse(row.note.as_deref()).map_err(|_| corrupt("note"))?,
                type_affectation: TypeAffectation::parse(&row.type_affectation)
                    .map_err(|_| corrupt("type_affectation"))?,
                jours_recurrence,
            },
            date: row.date,
            annulation,
            created_by: row.created_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }))
    }
}

/// Why a write transaction rolled back: the database's, or a day taken.
#[derive(Debug)]
enum TxError {
    Write(WriteError),
    Taken { utilisateur_id: Uuid, date: Date },
}

impl From<DbError> for TxError {
    fn from(error: DbError) -> Self {
        Self::Write(error.into())
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Write(error.into())
    }
}

impl From<WriteError> for TxError {
    fn from(error: WriteError) -> Self {
        Self::Write(error)
    }
}

/// The repository's answer to a failed write; `row` names the day a
/// unique violation is about.
fn refused(error: TxError, row: Option<(Uuid, Date)>) -> RepositoryError {
    match error {
        TxError::Taken {
            utilisateur_id,
            date,
        } => RepositoryError::Conflict {
            utilisateur_id,
            date,
        },
        TxError::Write(WriteError::Missing) => RepositoryError::NotFound,
        TxError::Write(WriteError::Changed) => RepositoryError::Changed,
        TxError::Write(error) if error.duplicate_of() == Some(ONE_PER_DAY) => match row {
            Some((utilisateur_id, date)) => RepositoryError::Conflict {
                utilisateur_id,
                date,
            },
            None => RepositoryError::Storage(error.into()),
        },
        TxError::Write(error) => RepositoryError::Storage(error.into()),
    }
}

fn read_error(error: impl Into<DbError>) -> RepositoryError {
    RepositoryError::Storage(storage(error))
}

/// [`AffectationRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselAffectationRepository {
    db: Database,
}

impl DieselAffectationRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AffectationRepository for DieselAffectationRepository {
    async fn insert(
        &self,
        affectations: &[Affectation],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let rows: Vec<AffectationRow> = affectations.iter().map(AffectationRow::from).collect();
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // A row whose day is taken (by a committed row, one
                    // committed meanwhile, or an earlier row of this batch)
                    // is skipped rather than aborting, so the answer can
                    // name the day; the whole batch then rolls back.
                    let inserted: Vec<Uuid> = diesel::insert_into(affectations::table)
                        .values(&rows)
                        .on_conflict_do_nothing()
                        .returning(affectations::id)
                        .get_results(conn)
                        .await?;
                    if let Some(taken) = rows.iter().find(|row| !inserted.contains(&row.id)) {
                        return Err(TxError::Taken {
                            utilisateur_id: taken.utilisateur_id,
                            date: taken.date,
                        });
                    }
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e| refused(e, None))
    }

    async fn update(
        &self,
        affectation: &Affectation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = AffectationRow::from(affectation);
        let day = (row.utilisateur_id, row.date);
        update_with_events!(self.db, affectations, row, events)
            .map_err(|e| refused(e.into(), Some(day)))
    }

    async fn delete(
        &self,
        affectations: &[Affectation],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let targets: Vec<(Uuid, i64)> =
            affectations.iter().map(|a| (a.id(), a.version())).collect();
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    for (id, version) in targets {
                        // Only the version the event describes may be deleted.
                        let deleted = diesel::delete(
                            affectations::table
                                .filter(affectations::id.eq(id))
                                .filter(affectations::version.eq(version)),
                        )
                        .execute(conn)
                        .await?;
                        guarded(conn, "affectations", id, deleted).await?;
                    }
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e: TxError| refused(e, None))
    }

    async fn find(&self, id: Uuid) -> Result<Option<Affectation>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let row: Option<AffectationRow> = affectations::table
            .find(id)
            .select(AffectationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(read_error)?;
        row.map(Affectation::try_from).transpose()
    }

    async fn find_many(&self, ids: &[Uuid]) -> Result<Vec<Affectation>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let rows: Vec<AffectationRow> = affectations::table
            .filter(affectations::id.eq_any(ids))
            .order((affectations::date.asc(), affectations::id.asc()))
            .select(AffectationRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        rows.into_iter().map(Affectation::try_from).collect()
    }

    async fn list(
        &self,
        filter: &PlanningFilter,
        page: Page,
    ) -> Result<(Vec<Affectation>, u64), RepositoryError> {
        let filtered = || {
            let mut query = affectations::table.into_boxed();
            if let Some(debut) = filter.date_debut {
                query = query.filter(affectations::date.ge(debut));
            }
            if let Some(fin) = filter.date_fin {
                query = query.filter(affectations::date.le(fin));
            }
            if !filter.utilisateur_ids.is_empty() {
                query = query.filter(affectations::utilisateur_id.eq_any(&filter.utilisateur_ids));
            }
            if !filter.chantier_ids.is_empty() {
                query = query.filter(affectations::chantier_id.eq_any(&filter.chantier_ids));
            }
            if filter.planned_only {
                query = query.filter(affectations::statut.eq("planifiee"));
            }
            if let Some(user) = filter.visible_user {
                query = query.filter(
                    affectations::utilisateur_id
                        .eq(user)
                        .or(affectations::chantier_id.eq_any(&filter.visible_chantiers)),
                );
            }
            query
        };
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let total: i64 = filtered()
            .count()
            .get_result(&mut conn)
            .await
            .map_err(read_error)?;
        let rows: Vec<AffectationRow> = filtered()
            .order((
                affectations::date.asc(),
                affectations::utilisateur_id.asc(),
                affectations::heure_debut.asc().nulls_first(),
                affectations::id.asc(),
            ))
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(AffectationRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        let found = rows
            .into_iter()
            .map(Affectation::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((found, u64::try_from(total).unwrap_or_default()))
    }

    async fn planned_users(&self, debut: Date, fin: Date) -> Result<Vec<Uuid>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        affectations::table
            .filter(affectations::date.ge(debut))
            .filter(affectations::date.le(fin))
            .filter(affectations::statut.eq("planifiee"))
            .select(affectations::utilisateur_id)
            .distinct()
            .load(&mut conn)
            .await
            .map_err(read_error)
    }
}
