//! Pointages and their variables de paie in PostgreSQL: every write stores
//! its row and appends its events to the outbox in one transaction. One pointage per user, chantier
//! and day is the unique constraint `pointages_one_per_day`, so concurrent
//! requests cannot both create it.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_platform_postgres::{Database, DbError, WriteError, guarded, outbox, storage};
use hub_pointages_application::{
    FeuilleFilter, PointageFilter, PointageRepository, RepositoryError,
};
use hub_pointages_domain::{
    Commentaire, HeuresMinutes, Motif, Pointage, Restored, Signature, SignatureTexte, Statut,
    TypeVariable, Valeur, Validation, VariablePaie,
};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::schema::{pointages, variables_paie};

/// The unique constraint of one pointage per user, chantier and day.
const ONE_PER_DAY: &str = "pointages_one_per_day";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = pointages)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct PointageRow {
    pub(crate) id: Uuid,
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    date_pointage: Date,
    heures_normales_minutes: i32,
    heures_supplementaires_minutes: i32,
    statut: String,
    commentaire: Option<String>,
    signature_utilisateur: Option<String>,
    signature_date: Option<OffsetDateTime>,
    validateur_id: Option<Uuid>,
    validation_date: Option<OffsetDateTime>,
    motif_rejet: Option<String>,
    affectation_id: Option<Uuid>,
    created_by: Option<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// Minutes fit an `INTEGER`: the domain caps a duration at 999:59.
fn minutes(duree: HeuresMinutes) -> i32 {
    i32::try_from(duree.minutes()).unwrap_or(i32::MAX)
}

impl From<&Pointage> for PointageRow {
    fn from(p: &Pointage) -> Self {
        Self {
            id: p.id(),
            utilisateur_id: p.utilisateur_id(),
            chantier_id: p.chantier_id(),
            date_pointage: p.date(),
            heures_normales_minutes: minutes(p.heures_normales()),
            heures_supplementaires_minutes: minutes(p.heures_supplementaires()),
            statut: p.statut().as_str().to_owned(),
            commentaire: p.commentaire().map(|c| c.as_str().to_owned()),
            signature_utilisateur: p.signature().map(|s| s.texte.as_str().to_owned()),
            signature_date: p.signature().map(|s| s.le),
            validateur_id: p.validation().map(|v| v.par),
            validation_date: p.validation().map(|v| v.le),
            motif_rejet: p.motif_rejet().map(|m| m.as_str().to_owned()),
            affectation_id: p.affectation_id(),
            created_by: p.created_by(),
            version: p.version(),
            created_at: p.created_at(),
            updated_at: p.updated_at(),
        }
    }
}

impl TryFrom<PointageRow> for Pointage {
    type Error = RepositoryError;

    fn try_from(row: PointageRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "pointage {id} has an invalid {what}"
            )))
        };
        let duree = |value: i32, what: &str| {
            HeuresMinutes::from_minutes(i64::from(value)).map_err(|_| corrupt(what))
        };
        let signature = match (row.signature_utilisateur, row.signature_date) {
            (Some(texte), Some(le)) => Some(Signature {
                texte: SignatureTexte::parse(&texte).map_err(|_| corrupt("signature"))?,
                le,
            }),
            (None, None) => None,
            _ => return Err(corrupt("signature")),
        };
        let validation = match (row.validateur_id, row.validation_date) {
            (Some(par), Some(le)) => Some(Validation { par, le }),
            (None, None) => None,
            _ => return Err(corrupt("validation")),
        };
        Ok(Pointage::restore(Restored {
            id,
            utilisateur_id: row.utilisateur_id,
            chantier_id: row.chantier_id,
            date: row.date_pointage,
            heures_normales: duree(row.heures_normales_minutes, "heures_normales")?,
            heures_supplementaires: duree(
                row.heures_supplementaires_minutes,
                "heures_supplementaires",
            )?,
            statut: Statut::parse(&row.statut).ok_or_else(|| corrupt("statut"))?,
            commentaire: Commentaire::parse(row.commentaire.as_deref())
                .map_err(|_| corrupt("commentaire"))?,
            signature,
            validation,
            motif_rejet: row
                .motif_rejet
                .as_deref()
                .map(Motif::parse)
                .transpose()
                .map_err(|_| corrupt("motif_rejet"))?,
            affectation_id: row.affectation_id,
            created_by: row.created_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }))
    }
}

/// A variable de paie as stored: its value in hundredths.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = variables_paie)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct VariableRow {
    id: Uuid,
    pointage_id: Uuid,
    type_variable: String,
    valeur_centiemes: i64,
    date_application: Date,
    commentaire: Option<String>,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
}

impl From<&VariablePaie> for VariableRow {
    fn from(v: &VariablePaie) -> Self {
        Self {
            id: v.id,
            pointage_id: v.pointage_id,
            type_variable: v.type_variable.as_str().to_owned(),
            // At most 9 999 999 999 hundredths: always an i64.
            valeur_centiemes: i64::try_from(v.valeur.centiemes()).unwrap_or(i64::MAX),
            date_application: v.date_application,
            commentaire: v.commentaire.as_ref().map(|c| c.as_str().to_owned()),
            created_by: v.created_by,
            created_at: v.created_at,
        }
    }
}

impl TryFrom<VariableRow> for VariablePaie {
    type Error = RepositoryError;

    fn try_from(row: VariableRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "variable de paie {id} has an invalid {what}"
            )))
        };
        Ok(VariablePaie {
            id,
            pointage_id: row.pointage_id,
            type_variable: TypeVariable::parse(&row.type_variable)
                .ok_or_else(|| corrupt("type_variable"))?,
            valeur: u64::try_from(row.valeur_centiemes)
                .ok()
                .and_then(|c| Valeur::from_centiemes(c).ok())
                .ok_or_else(|| corrupt("valeur"))?,
            date_application: row.date_application,
            commentaire: Commentaire::parse(row.commentaire.as_deref())
                .map_err(|_| corrupt("commentaire"))?,
            created_by: row.created_by,
            created_at: row.created_at,
        })
    }
}

/// Why a write transaction rolled back.
#[derive(Debug)]
struct TxError(WriteError);

impl From<DbError> for TxError {
    fn from(error: DbError) -> Self {
        Self(error.into())
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(error: diesel::result::Error) -> Self {
        Self(error.into())
    }
}

impl From<WriteError> for TxError {
    fn from(error: WriteError) -> Self {
        Self(error)
    }
}

/// The repository's answer to a failed write of `row`.
fn refused(TxError(error): TxError, row: &PointageRow) -> RepositoryError {
    match error {
        WriteError::Missing => RepositoryError::NotFound,
        WriteError::Changed => RepositoryError::Changed,
        error if error.duplicate_of() == Some(ONE_PER_DAY) => RepositoryError::Conflict {
            utilisateur_id: row.utilisateur_id,
            chantier_id: row.chantier_id,
            date: row.date_pointage,
        },
        error => RepositoryError::Storage(error.into()),
    }
}

fn read_error(error: impl Into<DbError>) -> RepositoryError {
    RepositoryError::Storage(storage(error))
}

/// [`PointageRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselPointageRepository {
    db: Database,
}

impl DieselPointageRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl PointageRepository for DieselPointageRepository {
    async fn insert(
        &self,
        pointage: &Pointage,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = PointageRow::from(pointage);
        let (insert, events) = (row.clone(), events.to_vec());
        self.db
            .write(|conn| {
                Box::pin(async move {
                    diesel::insert_into(pointages::table)
                        .values(&insert)
                        .execute(conn)
                        .await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e: TxError| refused(e, &row))
    }

    async fn update(
        &self,
        pointage: &Pointage,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = PointageRow::from(pointage);
        let (update, events) = (row.clone(), events.to_vec());
        self.db
            .write(|conn| {
                Box::pin(async move {
                    let updated = diesel::update(
                        pointages::table
                            .filter(pointages::id.eq(update.id))
                            .filter(pointages::version.eq(update.version - 1)),
                    )
                    .set(&update)
                    .execute(conn)
                    .await?;
                    guarded(conn, "pointages", update.id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e: TxError| refused(e, &row))
    }

    async fn delete(
        &self,
        pointage: &Pointage,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = PointageRow::from(pointage);
        let (id, version, events) = (row.id, row.version, events.to_vec());
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // Only the version the event describes may be deleted.
                    let deleted = diesel::delete(
                        pointages::table
                            .filter(pointages::id.eq(id))
                            .filter(pointages::version.eq(version)),
                    )
                    .execute(conn)
                    .await?;
                    guarded(conn, "pointages", id, deleted).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e: TxError| refused(e, &row))
    }

    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), RepositoryError> {
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|TxError(error): TxError| RepositoryError::Storage(error.into()))
    }

    async fn insert_variable(
        &self,
        variable: &VariablePaie,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = VariableRow::from(variable);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // Locks the pointage against a concurrent change of
                    // statut (a submission waits for this transaction, or
                    // this one sees its result): a variable is only ever
                    // added to a pointage still editable.
                    let statut: Option<String> = pointages::table
                        .find(row.pointage_id)
                        .select(pointages::statut)
                        .for_share()
                        .first(conn)
                        .await
                        .optional()?;
                    match statut.as_deref().map(Statut::parse) {
                        None => return Err(TxError(WriteError::Missing)),
                        Some(Some(statut)) if statut.is_editable() => {}
                        Some(_) => return Err(TxError(WriteError::Changed)),
                    }
                    diesel::insert_into(variables_paie::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|TxError(error): TxError| match error {
                WriteError::Missing => RepositoryError::NotFound,
                WriteError::Changed => RepositoryError::Changed,
                error => RepositoryError::Storage(error.into()),
            })
    }

    async fn variables(&self, pointage_ids: &[Uuid]) -> Result<Vec<VariablePaie>, RepositoryError> {
        if pointage_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let rows: Vec<VariableRow> = variables_paie::table
            .filter(variables_paie::pointage_id.eq_any(pointage_ids))
            .order((
                variables_paie::pointage_id.asc(),
                variables_paie::created_at.asc(),
                variables_paie::id.asc(),
            ))
            .select(VariableRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        rows.into_iter().map(VariablePaie::try_from).collect()
    }

    async fn find(&self, id: Uuid) -> Result<Option<Pointage>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let row: Option<PointageRow> = pointages::table
            .find(id)
            .select(PointageRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(read_error)?;
        row.map(Pointage::try_from).transpose()
    }

    async fn utilisateurs(&self, filter: &PointageFilter) -> Result<Vec<Uuid>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        filtered(filter)
            .select(pointages::utilisateur_id)
            .distinct()
            .order(pointages::utilisateur_id.asc())
            .load(&mut conn)
            .await
            .map_err(read_error)
    }

    async fn feuilles(
        &self,
        filter: &FeuilleFilter,
        page: Page,
    ) -> Result<(Vec<(Uuid, Date)>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let total: Total = feuilles_query(
            filter,
            "SELECT count(*) AS total FROM feuilles WHERE ($6::text IS NULL OR statut_global = $6)",
        )
        .get_result(&mut conn)
        .await
        .map_err(read_error)?;
        let keys: Vec<FeuilleKey> = feuilles_query(
            filter,
            "SELECT utilisateur_id, lundi FROM feuilles \
             WHERE ($6::text IS NULL OR statut_global = $6) \
             ORDER BY lundi DESC, utilisateur_id OFFSET $7 LIMIT $8",
        )
        .bind::<diesel::sql_types::BigInt, _>(i64::try_from(page.skip).unwrap_or(i64::MAX))
        .bind::<diesel::sql_types::BigInt, _>(i64::try_from(page.limit).unwrap_or(i64::MAX))
        .load(&mut conn)
        .await
        .map_err(read_error)?;
        Ok((
            keys.into_iter()
                .map(|key| (key.utilisateur_id, key.lundi))
                .collect(),
            u64::try_from(total.total).unwrap_or_default(),
        ))
    }

    async fn list(
        &self,
        filter: &PointageFilter,
        page: Page,
    ) -> Result<(Vec<Pointage>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let total: i64 = filtered(filter)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(read_error)?;
        let rows: Vec<PointageRow> = filtered(filter)
            .order((
                pointages::date_pointage.desc(),
                pointages::utilisateur_id.asc(),
                pointages::id.asc(),
            ))
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(PointageRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        let found = rows
            .into_iter()
            .map(Pointage::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((found, u64::try_from(total).unwrap_or_default()))
    }
}

/// The feuilles d'heures (user, Monday of the ISO week) with their global
/// statut as the domain computes it (`statut_global`): all valide → valide,
/// else any rejete → rejete, else any soumis → soumis, else brouillon.
/// Binds: `$1` user, `$2` ISO year, `$3` ISO week, `$4`/`$5` scope (user,
/// chantiers), `$6` statut.
const FEUILLES: &str = "WITH feuilles AS ( \
    SELECT utilisateur_id, \
           (date_pointage - (extract(isodow FROM date_pointage)::int - 1)) AS lundi, \
           CASE WHEN bool_and(statut = 'valide') THEN 'valide' \
                WHEN bool_or(statut = 'rejete') THEN 'rejete' \
                WHEN bool_or(statut = 'soumis') THEN 'soumis' \
                ELSE 'brouillon' END AS statut_global \
    FROM pointages \
    WHERE ($1::uuid IS NULL OR utilisateur_id = $1) \
      AND ($2::int IS NULL OR extract(isoyear FROM date_pointage)::int = $2) \
      AND ($3::int IS NULL OR extract(week FROM date_pointage)::int = $3) \
      AND ($4::uuid IS NULL OR utilisateur_id = $4 OR chantier_id = ANY($5)) \
    GROUP BY 1, 2 \
) ";

#[derive(QueryableByName)]
struct FeuilleKey {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    utilisateur_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Date)]
    lundi: Date,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// [`FEUILLES`] followed by `select`, with the filter's binds.
fn feuilles_query(
    filter: &FeuilleFilter,
    select: &str,
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>
{
    use diesel::sql_types::{Array, Integer, Nullable, Text, Uuid as SqlUuid};
    diesel::sql_query(format!("{FEUILLES}{select}"))
        .into_boxed()
        .bind::<Nullable<SqlUuid>, _>(filter.utilisateur_id)
        .bind::<Nullable<Integer>, _>(filter.annee)
        .bind::<Nullable<Integer>, _>(filter.numero_semaine.map(i32::from))
        .bind::<Nullable<SqlUuid>, _>(filter.visible_user)
        .bind::<Array<SqlUuid>, _>(filter.visible_chantiers.clone())
        .bind::<Nullable<Text>, _>(filter.statut.map(|statut| statut.as_str().to_owned()))
}

/// The pointages `filter` selects.
fn filtered(filter: &PointageFilter) -> pointages::BoxedQuery<'_, diesel::pg::Pg> {
    let mut query = pointages::table.into_boxed();
    if let Some(user) = filter.utilisateur_id {
        query = query.filter(pointages::utilisateur_id.eq(user));
    }
    if !filter.utilisateur_ids.is_empty() {
        query = query.filter(pointages::utilisateur_id.eq_any(&filter.utilisateur_ids));
    }
    if let Some(chantier) = filter.chantier_id {
        query = query.filter(pointages::chantier_id.eq(chantier));
    }
    if let Some(debut) = filter.date_debut {
        query = query.filter(pointages::date_pointage.ge(debut));
    }
    if let Some(fin) = filter.date_fin {
        query = query.filter(pointages::date_pointage.le(fin));
    }
    if let Some(statut) = filter.statut {
        query = query.filter(pointages::statut.eq(statut.as_str()));
    }
    if let Some(user) = filter.visible_user {
        query = query.filter(
            pointages::utilisateur_id
                .eq(user)
                .or(pointages::chantier_id.eq_any(&filter.visible_chantiers)),
        );
    }
    query
}
