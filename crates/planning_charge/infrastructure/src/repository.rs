//! Besoins in PostgreSQL: every write stores its row and appends its events
//! to the outbox in one transaction. One live besoin per (chantier, week,
//! trade) is the partial unique index `besoins_charge_cellule`, so
//! concurrent requests cannot both fill a cell.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_planning_charge_application::{BesoinRepository, ParMetier, Quantite, RepositoryError};
use hub_planning_charge_domain::{Besoin, BesoinRecord, Heures, Note, Semaine, TypeMetier};
use hub_platform_postgres::{
    Database, DbError, WriteError, guarded, insert_with_events, outbox, storage,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::besoins_charge;

/// The unique index that holds one live besoin per cell.
const CELLULE: &str = "besoins_charge_cellule";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = besoins_charge)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct BesoinRow {
    id: Uuid,
    chantier_id: Uuid,
    semaine: i32,
    type_metier: String,
    besoin_minutes: i32,
    note: Option<String>,
    created_by: Option<Uuid>,
    deleted_at: Option<OffsetDateTime>,
    deleted_by: Option<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<&Besoin> for BesoinRow {
    fn from(b: &Besoin) -> Self {
        Self {
            id: b.id(),
            chantier_id: b.chantier_id(),
            semaine: b.semaine().cle(),
            type_metier: b.type_metier().as_str().to_owned(),
            // Heures caps minutes at 60 000 000, within i32.
            besoin_minutes: i32::try_from(b.heures().minutes()).unwrap_or(i32::MAX),
            note: b.note().map(|note| note.as_str().to_owned()),
            created_by: b.created_by(),
            deleted_at: b.deleted_at(),
            deleted_by: b.deleted_by(),
            version: b.version(),
            created_at: b.created_at(),
            updated_at: b.updated_at(),
        }
    }
}

impl TryFrom<BesoinRow> for Besoin {
    type Error = RepositoryError;

    fn try_from(row: BesoinRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "besoin {id} has an invalid {what}"
            )))
        };
        let heures = u32::try_from(row.besoin_minutes)
            .ok()
            .and_then(|minutes| Heures::from_minutes(minutes).ok())
            .ok_or_else(|| corrupt("besoin_minutes"))?;
        Ok(Besoin::restore(BesoinRecord {
            id,
            chantier_id: row.chantier_id,
            semaine: Semaine::from_cle(row.semaine).map_err(|_| corrupt("semaine"))?,
            type_metier: TypeMetier::parse(&row.type_metier).map_err(|_| corrupt("type_metier"))?,
            heures,
            note: Note::parse(row.note.as_deref()).map_err(|_| corrupt("note"))?,
            created_by: row.created_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            deleted_by: row.deleted_by,
        }))
    }
}

/// The repository's answer to a failed write.
fn refused(error: WriteError) -> RepositoryError {
    match error {
        WriteError::Missing => RepositoryError::NotFound,
        WriteError::Changed => RepositoryError::Conflict,
        error if error.duplicate_of() == Some(CELLULE) => RepositoryError::Duplicate,
        error => RepositoryError::Storage(error.into()),
    }
}

fn read_error(error: impl Into<DbError>) -> RepositoryError {
    RepositoryError::Storage(storage(error))
}

/// Minutes of one (chantier, week).
#[derive(QueryableByName)]
pub(crate) struct QuantiteRow {
    #[diesel(sql_type = SqlUuid)]
    pub chantier_id: Uuid,
    #[diesel(sql_type = Integer)]
    pub semaine: i32,
    #[diesel(sql_type = BigInt)]
    pub minutes: i64,
}

impl QuantiteRow {
    /// The quantity, or a corrupt-storage error naming the bad week.
    pub(crate) fn quantite(self) -> Result<Quantite, StorageError> {
        Ok(Quantite {
            chantier_id: self.chantier_id,
            semaine: Semaine::from_cle(self.semaine).map_err(|_| {
                StorageError::corrupt(format!("week {} is not an ISO week", self.semaine))
            })?,
            minutes: u64::try_from(self.minutes).unwrap_or_default(),
        })
    }
}

/// A figure per métier text (a trade's name, or a person's métier).
#[derive(QueryableByName)]
pub(crate) struct ParMetierRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub metier: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub valeur: i64,
}

impl From<ParMetierRow> for ParMetier {
    fn from(row: ParMetierRow) -> Self {
        ParMetier {
            metier: row.metier,
            valeur: u64::try_from(row.valeur).unwrap_or_default(),
        }
    }
}

/// [`BesoinRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselBesoinRepository {
    db: Database,
}

impl DieselBesoinRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl BesoinRepository for DieselBesoinRepository {
    async fn insert(
        &self,
        besoin: &Besoin,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        insert_with_events!(self.db, besoins_charge, BesoinRow::from(besoin), events)
            .map_err(refused)
    }

    async fn update(
        &self,
        besoin: &Besoin,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = BesoinRow::from(besoin);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // Only the version this change was made from, and a
                    // live row: a deleted besoin never changes again.
                    let updated = diesel::update(
                        besoins_charge::table
                            .filter(besoins_charge::id.eq(row.id))
                            .filter(besoins_charge::version.eq(row.version - 1))
                            .filter(besoins_charge::deleted_at.is_null()),
                    )
                    .set(&row)
                    .execute(conn)
                    .await?;
                    guarded(conn, "besoins_charge", row.id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok::<_, WriteError>(())
                })
            })
            .await
            .map_err(refused)
    }

    async fn find(&self, id: Uuid) -> Result<Option<Besoin>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let row: Option<BesoinRow> = besoins_charge::table
            .find(id)
            .filter(besoins_charge::deleted_at.is_null())
            .select(BesoinRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(read_error)?;
        row.map(Besoin::try_from).transpose()
    }

    async fn list(
        &self,
        chantier_id: Uuid,
        debut: Semaine,
        fin: Semaine,
        page: Page,
    ) -> Result<(Vec<Besoin>, u64), RepositoryError> {
        let filtered = || {
            besoins_charge::table
                .filter(besoins_charge::chantier_id.eq(chantier_id))
                .filter(besoins_charge::deleted_at.is_null())
                .filter(besoins_charge::semaine.between(debut.cle(), fin.cle()))
        };
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let total: i64 = filtered()
            .count()
            .get_result(&mut conn)
            .await
            .map_err(read_error)?;
        let rows: Vec<BesoinRow> = filtered()
            .order((
                besoins_charge::semaine.asc(),
                besoins_charge::type_metier.asc(),
                besoins_charge::id.asc(),
            ))
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(BesoinRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        let found = rows
            .into_iter()
            .map(Besoin::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((found, u64::try_from(total).unwrap_or_default()))
    }

    async fn totaux(
        &self,
        chantier_ids: &[Uuid],
        debut: Semaine,
        fin: Semaine,
    ) -> Result<Vec<Quantite>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let rows: Vec<QuantiteRow> = diesel::sql_query(
            "SELECT chantier_id, semaine, sum(besoin_minutes)::bigint AS minutes \
             FROM besoins_charge \
             WHERE deleted_at IS NULL AND chantier_id = ANY($1) AND semaine BETWEEN $2 AND $3 \
             GROUP BY chantier_id, semaine",
        )
        .bind::<Array<SqlUuid>, _>(chantier_ids)
        .bind::<Integer, _>(debut.cle())
        .bind::<Integer, _>(fin.cle())
        .load(&mut conn)
        .await
        .map_err(read_error)?;
        rows.into_iter()
            .map(|row| row.quantite().map_err(RepositoryError::Storage))
            .collect()
    }

    async fn par_metier(
        &self,
        chantier_ids: &[Uuid],
        semaine: Semaine,
    ) -> Result<Vec<(TypeMetier, u64)>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let rows: Vec<ParMetierRow> = diesel::sql_query(
            "SELECT type_metier AS metier, sum(besoin_minutes)::bigint AS valeur \
             FROM besoins_charge \
             WHERE deleted_at IS NULL AND chantier_id = ANY($1) AND semaine = $2 \
             GROUP BY type_metier",
        )
        .bind::<Array<SqlUuid>, _>(chantier_ids)
        .bind::<Integer, _>(semaine.cle())
        .load(&mut conn)
        .await
        .map_err(read_error)?;
        rows.into_iter()
            .map(|row| {
                let metier = row.metier.unwrap_or_default();
                let type_metier = TypeMetier::parse(&metier).map_err(|_| {
                    RepositoryError::Storage(StorageError::corrupt(format!(
                        "besoin trade {metier:?} is not a type de métier"
                    )))
                })?;
                Ok((type_metier, u64::try_from(row.valeur).unwrap_or_default()))
            })
            .collect()
    }
}
