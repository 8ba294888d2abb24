//! Ressources and réservations in PostgreSQL: every write stores its row
//! and appends its events to the outbox in one transaction. Two rules are
//! the database's, so concurrent requests cannot break them: a code is
//! unique among non-deleted ressources (`ressources_code_key`), and two
//! active bookings of one ressource never overlap (the exclusion
//! constraint `reservations_sans_chevauchement`).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_logistique_application::{
    RepositoryError, ReservationFilter, ReservationOrder, ReservationRepository, RessourceFilter,
    RessourceRepository,
};
use hub_logistique_domain::{
    CategorieRessource, CodeRessource, Commentaire, Couleur, Creneau, DescriptionRessource, Heure,
    MotifRefus, NomRessource, PhotoUrl, PlageHoraire, Reservation, Ressource, StatutReservation,
    StoredReservation, StoredRessource,
};
use hub_platform_postgres::{
    Database, DbError, WriteError, guarded, insert_with_events, outbox, storage,
};
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::schema::{reservations, ressources};

/// The partial unique index on the codes of non-deleted ressources.
const CODE_KEY: &str = "ressources_code_key";
/// The exclusion constraint that holds the overlap rule.
const SANS_CHEVAUCHEMENT: &str = "reservations_sans_chevauchement";
/// The statuts that hold their slot, as stored.
const ACTIVE: [&str; 2] = ["en_attente", "validee"];

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ressources)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct RessourceRow {
    id: Uuid,
    code: String,
    nom: String,
    categorie: String,
    photo_url: Option<String>,
    couleur: String,
    heure_debut_defaut: Time,
    heure_fin_defaut: Time,
    validation_requise: bool,
    actif: bool,
    description: Option<String>,
    created_by: Uuid,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    deleted_at: Option<OffsetDateTime>,
    deleted_by: Option<Uuid>,
}

impl From<&Ressource> for RessourceRow {
    fn from(ressource: &Ressource) -> Self {
        let r = ressource.stored();
        Self {
            id: r.id,
            code: r.code.as_str().to_owned(),
            nom: r.nom.as_str().to_owned(),
            categorie: r.categorie.as_str().to_owned(),
            photo_url: r.photo_url.as_ref().map(|p| p.as_str().to_owned()),
            couleur: r.couleur.as_str().to_owned(),
            heure_debut_defaut: r.plage_defaut.debut().time(),
            heure_fin_defaut: r.plage_defaut.fin().time(),
            validation_requise: r.validation_requise,
            actif: r.actif,
            description: r.description.as_ref().map(|d| d.as_str().to_owned()),
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            deleted_by: r.deleted_by,
        }
    }
}

fn corrupt(table: &str, id: Uuid, what: &str) -> RepositoryError {
    RepositoryError::Storage(StorageError::corrupt(format!(
        "{table} {id} has an invalid {what}"
    )))
}

impl TryFrom<RessourceRow> for Ressource {
    type Error = RepositoryError;

    fn try_from(row: RessourceRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let bad = |what: &str| corrupt("ressource", id, what);
        Ok(Ressource::restore(StoredRessource {
            id,
            code: CodeRessource::parse(&row.code).map_err(|_| bad("code"))?,
            nom: NomRessource::parse(&row.nom).map_err(|_| bad("nom"))?,
            categorie: row
                .categorie
                .parse::<CategorieRessource>()
                .map_err(|_| bad("categorie"))?,
            photo_url: row
                .photo_url
                .as_deref()
                .map(PhotoUrl::parse)
                .transpose()
                .map_err(|_| bad("photo_url"))?,
            couleur: Couleur::parse(&row.couleur).map_err(|_| bad("couleur"))?,
            plage_defaut: PlageHoraire::new(
                Heure::from_time(row.heure_debut_defaut),
                Heure::from_time(row.heure_fin_defaut),
            )
            .map_err(|_| bad("plage_defaut"))?,
            validation_requise: row.validation_requise,
            actif: row.actif,
            description: row
                .description
                .as_deref()
                .map(DescriptionRessource::parse)
                .transpose()
                .map_err(|_| bad("description"))?,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            deleted_by: row.deleted_by,
        }))
    }
}

/// A réservation's row, without `rappel_envoye_at`: that column is the
/// reminder job's alone, so writing the aggregate never resets it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reservations)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ReservationRow {
    id: Uuid,
    ressource_id: Uuid,
    chantier_id: Uuid,
    demandeur_id: Uuid,
    date_reservation: Date,
    heure_debut: Time,
    heure_fin: Time,
    statut: String,
    commentaire: Option<String>,
    motif_refus: Option<String>,
    valideur_id: Option<Uuid>,
    validated_at: Option<OffsetDateTime>,
    cancelled_by: Option<Uuid>,
    cancelled_at: Option<OffsetDateTime>,
    motif_annulation: Option<String>,
    pub(crate) version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<&Reservation> for ReservationRow {
    fn from(reservation: &Reservation) -> Self {
        let r = reservation.stored();
        Self {
            id: r.id,
            ressource_id: r.ressource_id,
            chantier_id: r.chantier_id,
            demandeur_id: r.demandeur_id,
            date_reservation: r.creneau.date,
            heure_debut: r.creneau.plage.debut().time(),
            heure_fin: r.creneau.plage.fin().time(),
            statut: r.statut.as_str().to_owned(),
            commentaire: r.commentaire.as_ref().map(|c| c.as_str().to_owned()),
            motif_refus: r.motif_refus.as_ref().map(|m| m.as_str().to_owned()),
            valideur_id: r.valideur_id,
            validated_at: r.validated_at,
            cancelled_by: r.cancelled_by,
            cancelled_at: r.cancelled_at,
            motif_annulation: r.motif_annulation.clone(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl TryFrom<ReservationRow> for Reservation {
    type Error = RepositoryError;

    fn try_from(row: ReservationRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let bad = |what: &str| corrupt("reservation", id, what);
        Ok(Reservation::restore(StoredReservation {
            id,
            ressource_id: row.ressource_id,
            chantier_id: row.chantier_id,
            demandeur_id: row.demandeur_id,
            creneau: Creneau {
                date: row.date_reservation,
                plage: PlageHoraire::new(
                    Heure::from_time(row.heure_debut),
                    Heure::from_time(row.heure_fin),
                )
                .map_err(|_| bad("plage"))?,
            },
            statut: row
                .statut
                .parse::<StatutReservation>()
                .map_err(|_| bad("statut"))?,
            commentaire: row
                .commentaire
                .as_deref()
                .map(Commentaire::parse)
                .transpose()
                .map_err(|_| bad("commentaire"))?,
            motif_refus: row
                .motif_refus
                .as_deref()
                .map(MotifRefus::parse)
                .transpose()
                .map_err(|_| bad("motif_refus"))?,
            valideur_id: row.valideur_id,
            validated_at: row.validated_at,
            cancelled_by: row.cancelled_by,
            cancelled_at: row.cancelled_at,
            motif_annulation: row.motif_annulation,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }))
    }
}

/// Why a write transaction rolled back: the database's, or an overlap
/// (with the booking it overlaps, when it could still be read).
#[derive(Debug)]
enum TxError {
    Write(WriteError),
    Overlap(Option<Uuid>),
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

fn refused(error: TxError) -> RepositoryError {
    match error {
        TxError::Overlap(Some(other)) => RepositoryError::Overlap { other },
        // The booking in the way was cancelled between the refusal and the
        // look-up: the caller may simply retry.
        TxError::Overlap(None) => RepositoryError::Conflict,
        TxError::Write(WriteError::Missing) => RepositoryError::NotFound,
        TxError::Write(WriteError::Changed) => RepositoryError::Conflict,
        TxError::Write(error) if error.duplicate_of() == Some(CODE_KEY) => {
            RepositoryError::CodeTaken
        }
        TxError::Write(error) => RepositoryError::Storage(error.into()),
    }
}

fn read_error(error: impl Into<DbError>) -> RepositoryError {
    RepositoryError::Storage(storage(error))
}

fn page_bounds(page: Page) -> (i64, i64) {
    (
        i64::try_from(page.skip).unwrap_or(i64::MAX),
        i64::try_from(page.limit).unwrap_or(i64::MAX),
    )
}

/// [`RessourceRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselRessourceRepository {
    db: Database,
}

impl DieselRessourceRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl RessourceRepository for DieselRessourceRepository {
    async fn insert(
        &self,
        ressource: &Ressource,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        insert_with_events!(self.db, ressources, RessourceRow::from(ressource), events)
            .map_err(|e| refused(e.into()))
    }

    async fn update(
        &self,
        ressource: &Ressource,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = RessourceRow::from(ressource);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // A ressource deleted meanwhile is gone for every writer
                    // (the deletion itself included: it happens once).
                    let updated = diesel::update(
                        ressources::table
                            .filter(ressources::id.eq(row.id))
                            .filter(ressources::deleted_at.is_null()),
                    )
                    .set(&row)
                    .execute(conn)
                    .await?;
                    if updated == 0 {
                        return Err(TxError::Write(WriteError::Missing));
                    }
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(refused)
    }

    async fn find(&self, id: Uuid) -> Result<Option<Ressource>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let row: Option<RessourceRow> = ressources::table
            .find(id)
            .filter(ressources::deleted_at.is_null())
            .select(RessourceRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(read_error)?;
        row.map(Ressource::try_from).transpose()
    }

    async fn find_many(&self, ids: &[Uuid]) -> Result<Vec<Ressource>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let rows: Vec<RessourceRow> = ressources::table
            .filter(ressources::id.eq_any(ids))
            .select(RessourceRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        rows.into_iter().map(Ressource::try_from).collect()
    }

    async fn list(
        &self,
        filter: &RessourceFilter,
        page: Page,
    ) -> Result<(Vec<Ressource>, u64), RepositoryError> {
        let filtered = || {
            let mut query = ressources::table
                .filter(ressources::deleted_at.is_null())
                .into_boxed();
            if let Some(categorie) = filter.categorie {
                query = query.filter(ressources::categorie.eq(categorie.as_str()));
            }
            if filter.actif_seulement {
                query = query.filter(ressources::actif.eq(true));
            }
            query
        };
        let (skip, limit) = page_bounds(page);
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let total: i64 = filtered()
            .count()
            .get_result(&mut conn)
            .await
            .map_err(read_error)?;
        let rows: Vec<RessourceRow> = filtered()
            .order((ressources::nom.asc(), ressources::id.asc()))
            .offset(skip)
            .limit(limit)
            .select(RessourceRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        let found = rows
            .into_iter()
            .map(Ressource::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((found, u64::try_from(total).unwrap_or_default()))
    }
}

/// [`ReservationRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselReservationRepository {
    db: Database,
}

impl DieselReservationRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The active booking of the same ressource whose slot overlaps `row`'s,
/// read after the exclusion constraint refused `row` (so the 409 can name it).
async fn overlapping(
    conn: &mut AsyncPgConnection,
    row: &ReservationRow,
) -> Result<Option<Uuid>, diesel::result::Error> {
    reservations::table
        .filter(reservations::ressource_id.eq(row.ressource_id))
        .filter(reservations::id.ne(row.id))
        .filter(reservations::statut.eq_any(ACTIVE))
        .filter(reservations::date_reservation.eq(row.date_reservation))
        .filter(reservations::heure_debut.lt(row.heure_fin))
        .filter(reservations::heure_fin.gt(row.heure_debut))
        .select(reservations::id)
        .first(conn)
        .await
        .optional()
}

/// Whether `error` is the overlap rule refusing a write.
fn is_overlap(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(DatabaseErrorKind::ExclusionViolation, info)
            if info.constraint_name() == Some(SANS_CHEVAUCHEMENT)
    )
}

/// How a booking's row is written.
#[derive(Debug, Clone, Copy)]
enum SlotWrite {
    Insert,
    /// Over the stored row at the previous version.
    Update,
}

/// Writes `row` in a savepoint, so that an overlap leaves the transaction
/// usable to read the booking in the way. Returns the number of rows
/// written.
async fn write_slot(
    conn: &mut AsyncPgConnection,
    row: &ReservationRow,
    how: SlotWrite,
) -> Result<usize, TxError> {
    let attempt = conn
        .transaction(async |conn| match how {
            SlotWrite::Insert => {
                diesel::insert_into(reservations::table)
                    .values(row)
                    .execute(conn)
                    .await
            }
            SlotWrite::Update => {
                diesel::update(
                    reservations::table
                        .filter(reservations::id.eq(row.id))
                        .filter(reservations::version.eq(row.version - 1)),
                )
                .set(row)
                .execute(conn)
                .await
            }
        })
        .await;
    match attempt {
        Ok(written) => Ok(written),
        Err(error) if is_overlap(&error) => Err(TxError::Overlap(overlapping(conn, row).await?)),
        Err(error) => Err(error.into()),
    }
}

#[async_trait]
impl ReservationRepository for DieselReservationRepository {
    async fn insert(
        &self,
        reservation: &Reservation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = ReservationRow::from(reservation);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    write_slot(conn, &row, SlotWrite::Insert).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(refused)
    }

    async fn update(
        &self,
        reservation: &Reservation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = ReservationRow::from(reservation);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    let updated = write_slot(conn, &row, SlotWrite::Update).await?;
                    guarded(conn, "reservations", row.id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(refused)
    }

    async fn find(&self, id: Uuid) -> Result<Option<Reservation>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let row: Option<ReservationRow> = reservations::table
            .find(id)
            .select(ReservationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(read_error)?;
        row.map(Reservation::try_from).transpose()
    }

    async fn list(
        &self,
        filter: &ReservationFilter,
        page: Page,
    ) -> Result<(Vec<Reservation>, u64), RepositoryError> {
        let statuts: Vec<&str> = filter.statuts.iter().map(|s| s.as_str()).collect();
        let filtered = || {
            let mut query = reservations::table.into_boxed();
            if let Some(ressource_id) = filter.ressource_id {
                query = query.filter(reservations::ressource_id.eq(ressource_id));
            }
            if let Some(chantier_ids) = &filter.chantier_ids {
                query = query.filter(reservations::chantier_id.eq_any(chantier_ids));
            }
            if let Some(demandeur_id) = filter.demandeur_id {
                query = query.filter(reservations::demandeur_id.eq(demandeur_id));
            }
            if !statuts.is_empty() {
                query = query.filter(reservations::statut.eq_any(statuts.clone()));
            }
            if let Some(debut) = filter.date_debut {
                query = query.filter(reservations::date_reservation.ge(debut));
            }
            if let Some(fin) = filter.date_fin {
                query = query.filter(reservations::date_reservation.le(fin));
            }
            query
        };
        let (skip, limit) = page_bounds(page);
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let total: i64 = filtered()
            .count()
            .get_result(&mut conn)
            .await
            .map_err(read_error)?;
        let ordered = match filter.order {
            ReservationOrder::Chronologique => filtered().order((
                reservations::date_reservation.asc(),
                reservations::heure_debut.asc(),
                reservations::id.asc(),
            )),
            ReservationOrder::Recent => filtered().order((
                reservations::date_reservation.desc(),
                reservations::heure_debut.desc(),
                reservations::id.desc(),
            )),
        };
        let rows: Vec<ReservationRow> = ordered
            .offset(skip)
            .limit(limit)
            .select(ReservationRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        let found = rows
            .into_iter()
            .map(Reservation::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((found, u64::try_from(total).unwrap_or_default()))
    }

    async fn active_from(
        &self,
        chantier_id: Uuid,
        from: Date,
    ) -> Result<Vec<Reservation>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(read_error)?;
        let rows: Vec<ReservationRow> = reservations::table
            .filter(reservations::chantier_id.eq(chantier_id))
            .filter(reservations::statut.eq_any(ACTIVE))
            .filter(reservations::date_reservation.ge(from))
            .order((
                reservations::date_reservation.asc(),
                reservations::heure_debut.asc(),
            ))
            .select(ReservationRow::as_select())
            .load(&mut conn)
            .await
            .map_err(read_error)?;
        rows.into_iter().map(Reservation::try_from).collect()
    }
}
