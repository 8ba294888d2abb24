//! Signalements and replies in PostgreSQL: every write stores the rows and
//! appends its events to the outbox in one transaction, refusing lost
//! updates; lists, lateness and statistics are computed in SQL.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_platform_postgres::{
    Database, WriteError, delete_with_events, insert_with_events, storage, update_with_events,
};
use hub_signalements_application::{
    Ordre, RepositoryError, SignalementFilter, SignalementRepository, Statistiques,
};
use hub_signalements_domain::{
    Commentaire, Contenu, Description, Localisation, NiveauEscalade, PhotoUrl, Priorite, Reponse,
    Signalement, Statut, StoredSignalement, Titre,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::{
    reponses_signalements, signalement_affectations, signalement_chantiers, signalements,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = signalements)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct SignalementRow {
    id: Uuid,
    chantier_id: Uuid,
    titre: String,
    description: String,
    priorite: String,
    statut: String,
    cree_par: Uuid,
    assigne_a: Option<Uuid>,
    date_resolution_souhaitee: Option<OffsetDateTime>,
    date_traitement: Option<OffsetDateTime>,
    commentaire_traitement: Option<String>,
    date_cloture: Option<OffsetDateTime>,
    photo_url: Option<String>,
    localisation: Option<String>,
    debut_delai: OffsetDateTime,
    date_limite: OffsetDateTime,
    niveau_escalade: Option<i16>,
    derniere_escalade_at: Option<OffsetDateTime>,
    prochaine_escalade_at: Option<OffsetDateTime>,
    pub(crate) version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    photo_document_id: Option<Uuid>,
}

impl From<&Signalement> for SignalementRow {
    fn from(s: &Signalement) -> Self {
        Self {
            id: s.id(),
            chantier_id: s.chantier_id(),
            titre: s.titre().to_string(),
            description: s.description().to_string(),
            priorite: s.priorite().as_str().to_owned(),
            statut: s.statut().as_str().to_owned(),
            cree_par: s.cree_par(),
            assigne_a: s.assigne_a(),
            date_resolution_souhaitee: s.date_resolution_souhaitee(),
            date_traitement: s.date_traitement(),
            commentaire_traitement: s.commentaire_traitement().map(ToString::to_string),
            date_cloture: s.date_cloture(),
            photo_url: s.photo_url().map(|p| p.as_str().to_owned()),
            localisation: s.localisation().map(ToString::to_string),
            debut_delai: s.debut_delai(),
            date_limite: s.date_limite(),
            niveau_escalade: s.niveau_escalade().map(|n| i16::from(n.rang())),
            derniere_escalade_at: s.derniere_escalade_at(),
            prochaine_escalade_at: s.prochaine_escalade(),
            version: s.version(),
            created_at: s.created_at(),
            updated_at: s.updated_at(),
            photo_document_id: s.photo_document_id(),
        }
    }
}

impl TryFrom<SignalementRow> for Signalement {
    type Error = RepositoryError;

    fn try_from(row: SignalementRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "signalement {id} has an invalid {what}"
            )))
        };
        Ok(Signalement::restore(StoredSignalement {
            id,
            chantier_id: row.chantier_id,
            titre: Titre::parse(&row.titre).map_err(|_| corrupt("titre"))?,
            description: Description::parse(&row.description)
                .map_err(|_| corrupt("description"))?,
            priorite: row.priorite.parse().map_err(|_| corrupt("priorite"))?,
            statut: row.statut.parse().map_err(|_| corrupt("statut"))?,
            cree_par: row.cree_par,
            assigne_a: row.assigne_a,
            date_resolution_souhaitee: row.date_resolution_souhaitee,
            date_traitement: row.date_traitement,
            commentaire_traitement: row
                .commentaire_traitement
                .as_deref()
                .map(Commentaire::parse)
                .transpose()
                .map_err(|_| corrupt("commentaire_traitement"))?,
            date_cloture: row.date_cloture,
            photo_url: row
                .photo_url
                .as_deref()
                .map(PhotoUrl::parse)
                .transpose()
                .map_err(|_| corrupt("photo_url"))?,
            photo_document_id: row.photo_document_id,
            localisation: row
                .localisation
                .as_deref()
                .map(Localisation::parse)
                .transpose()
                .map_err(|_| corrupt("localisation"))?,
            debut_delai: row.debut_delai,
            niveau_escalade: match row.niveau_escalade {
                None => None,
                Some(rang) => {
                    Some(NiveauEscalade::of_rang(rang).ok_or_else(|| corrupt("niveau_escalade"))?)
                }
            },
            derniere_escalade_at: row.derniere_escalade_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }))
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reponses_signalements)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct ReponseRow {
    id: Uuid,
    signalement_id: Uuid,
    contenu: String,
    auteur_id: Uuid,
    photo_url: Option<String>,
    est_resolution: bool,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<&Reponse> for ReponseRow {
    fn from(r: &Reponse) -> Self {
        Self {
            id: r.id(),
            signalement_id: r.signalement_id(),
            contenu: r.contenu().as_str().to_owned(),
            auteur_id: r.auteur_id(),
            photo_url: r.photo_url().map(|p| p.as_str().to_owned()),
            est_resolution: r.est_resolution(),
            version: r.version(),
            created_at: r.created_at(),
            updated_at: r.updated_at(),
        }
    }
}

impl TryFrom<ReponseRow> for Reponse {
    type Error = RepositoryError;

    fn try_from(row: ReponseRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "reponse {id} has an invalid {what}"
            )))
        };
        Ok(Reponse::restore(
            id,
            row.signalement_id,
            Contenu::parse(&row.contenu).map_err(|_| corrupt("contenu"))?,
            row.auteur_id,
            row.photo_url
                .as_deref()
                .map(PhotoUrl::parse)
                .transpose()
                .map_err(|_| corrupt("photo_url"))?,
            row.est_resolution,
            row.version,
            row.created_at,
            row.updated_at,
        ))
    }
}

/// The repository's answer to a failed write transaction.
fn refused(error: WriteError) -> RepositoryError {
    match error {
        WriteError::Missing => RepositoryError::NotFound,
        WriteError::Changed => RepositoryError::Conflict,
        error => RepositoryError::Storage(error.into()),
    }
}

fn failed(error: impl Into<hub_platform_postgres::DbError>) -> RepositoryError {
    RepositoryError::Storage(storage(error))
}

fn offset(page: Page) -> (i64, i64) {
    (
        i64::try_from(page.skip).unwrap_or(i64::MAX),
        i64::try_from(page.limit).unwrap_or(i64::MAX),
    )
}

/// Active and past its deadline at the bound instant.
const EN_RETARD: &str = "statut IN ('ouvert', 'en_cours') AND date_limite < ";

type Boxed<'a> = signalements::BoxedQuery<'a, diesel::pg::Pg>;

/// Every filter of `filter` (but its order), as one query.
fn filtered<'a>(filter: &'a SignalementFilter, now: OffsetDateTime) -> Boxed<'a> {
    let mut query = signalements::table.into_boxed();
    if let Some(chantier_id) = filter.chantier_id {
        query = query.filter(signalements::chantier_id.eq(chantier_id));
    }
    if let Some(statut) = filter.statut {
        query = query.filter(signalements::statut.eq(statut.as_str()));
    }
    if let Some(priorite) = filter.priorite {
        query = query.filter(signalements::priorite.eq(priorite.as_str()));
    }
    if let Some(debut) = filter.date_debut {
        query = query.filter(signalements::created_at.ge(debut));
    }
    if let Some(fin) = filter.date_fin {
        query = query.filter(signalements::created_at.le(fin));
    }
    if let Some(q) = &filter.query {
        // The search text is matched literally: escape LIKE's wildcards.
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        query = query.filter(
            signalements::titre
                .ilike(pattern.clone())
                .or(signalements::description.ilike(pattern.clone()))
                .or(signalements::localisation.ilike(pattern)),
        );
    }
    if filter.en_retard_only {
        query = query.filter(sql::<diesel::sql_types::Bool>(EN_RETARD).bind::<Timestamptz, _>(now));
    }
    if let Some(user) = filter.visible_to {
        let run = signalement_chantiers::table
            .filter(signalement_chantiers::deleted.eq(false))
            .filter(
                signalement_chantiers::conducteur_ids
                    .contains(vec![user])
                    .or(signalement_chantiers::chef_chantier_ids.contains(vec![user])),
            )
            .select(signalement_chantiers::chantier_id);
        let assigned = signalement_affectations::table
            .filter(signalement_affectations::utilisateur_id.eq(user))
            .filter(signalement_affectations::active)
            .select(signalement_affectations::chantier_id);
        query = query.filter(
            signalements::chantier_id
                .eq_any(run)
                .or(signalements::chantier_id.eq_any(assigned)),
        );
    }
    query
}

/// [`SignalementRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselSignalementRepository {
    db: Database,
}

impl DieselSignalementRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SignalementRepository for DieselSignalementRepository {
    async fn insert(
        &self,
        signalement: &Signalement,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = SignalementRow::from(signalement);
        insert_with_events!(self.db, signalements, row, events).map_err(refused)
    }

    async fn update(
        &self,
        signalement: &Signalement,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = SignalementRow::from(signalement);
        update_with_events!(self.db, signalements, row, events).map_err(refused)
    }

    async fn delete(
        &self,
        signalement: &Signalement,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        // Its replies go with it (ON DELETE CASCADE), in this transaction.
        delete_with_events!(
            self.db,
            signalements,
            signalement.id(),
            signalement.version(),
            events
        )
        .map_err(refused)
    }

    async fn find(&self, id: Uuid) -> Result<Option<Signalement>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let row: Option<SignalementRow> = signalements::table
            .find(id)
            .select(SignalementRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(failed)?;
        row.map(Signalement::try_from).transpose()
    }

    async fn list(
        &self,
        filter: &SignalementFilter,
        page: Page,
        now: OffsetDateTime,
    ) -> Result<(Vec<Signalement>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let total: i64 = filtered(filter, now)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(failed)?;
        let query = filtered(filter, now);
        let query = match filter.ordre {
            Ordre::Priorite => query.order((
                sql::<Integer>(
                    "CASE priorite WHEN 'critique' THEN 1 WHEN 'haute' THEN 2 \
                     WHEN 'moyenne' THEN 3 WHEN 'basse' THEN 4 ELSE 5 END",
                ),
                signalements::created_at.desc(),
                signalements::id.desc(),
            )),
            Ordre::Recents => {
                query.order((signalements::created_at.desc(), signalements::id.desc()))
            }
            Ordre::Anciens => query.order((signalements::created_at.asc(), signalements::id.asc())),
        };
        let (skip, limit) = offset(page);
        let rows: Vec<SignalementRow> = query
            .offset(skip)
            .limit(limit)
            .select(SignalementRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let signalements = rows
            .into_iter()
            .map(Signalement::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((signalements, u64::try_from(total).unwrap_or_default()))
    }

    async fn statistiques(
        &self,
        filter: &SignalementFilter,
        now: OffsetDateTime,
        semaine_debut: OffsetDateTime,
    ) -> Result<Statistiques, RepositoryError> {
        let filter = SignalementFilter {
            en_retard_only: false,
            ..filter.clone()
        };
        let mut conn = self.db.connection().await.map_err(failed)?;
        // One row of aggregates over the filtered rows (a boxed query
        // cannot be grouped, and one scan is all it takes).
        let count = |column: &str, value: &str| {
            sql::<BigInt>(&format!("count(*) FILTER (WHERE {column} = '{value}')"))
        };
        #[allow(clippy::type_complexity)]
        let row: (
            (i64, i64, i64, i64),
            (i64, i64, i64, i64),
            (i64, i64, Option<f64>, Option<f64>),
        ) = filtered(&filter, now)
            .select((
                (
                    count("statut", "ouvert"),
                    count("statut", "en_cours"),
                    count("statut", "traite"),
                    count("statut", "cloture"),
                ),
                (
                    count("priorite", "critique"),
                    count("priorite", "haute"),
                    count("priorite", "moyenne"),
                    count("priorite", "basse"),
                ),
                (
                    sql::<BigInt>(&format!("count(*) FILTER (WHERE {EN_RETARD}"))
                        .bind::<Timestamptz, _>(now)
                        .sql(")"),
                    sql::<BigInt>("count(*) FILTER (WHERE date_traitement >= ")
                        .bind::<Timestamptz, _>(semaine_debut)
                        .sql(")"),
                    sql::<Nullable<Double>>(
                        "(avg(extract(epoch FROM (date_traitement - created_at))) \
                         FILTER (WHERE date_traitement IS NOT NULL))::float8 / 3600.0",
                    ),
                    sql::<Nullable<Double>>(
                        "(avg(extract(epoch FROM (date_cloture - created_at))) \
                         FILTER (WHERE date_cloture IS NOT NULL))::float8 / 3600.0",
                    ),
                ),
            ))
            .get_result(&mut conn)
            .await
            .map_err(failed)?;
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        let ((ouvert, en_cours, traite, cloture), (critique, haute, moyenne, basse), rest) = row;
        let par_statut: BTreeMap<Statut, u64> = [
            (Statut::Ouvert, ouvert),
            (Statut::EnCours, en_cours),
            (Statut::Traite, traite),
            (Statut::Cloture, cloture),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(statut, count)| (statut, n(count)))
        .collect();
        let par_priorite: BTreeMap<Priorite, u64> = [
            (Priorite::Critique, critique),
            (Priorite::Haute, haute),
            (Priorite::Moyenne, moyenne),
            (Priorite::Basse, basse),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(priorite, count)| (priorite, n(count)))
        .collect();
        let total: u64 = par_statut.values().sum();
        let resolus = n(traite) + n(cloture);
        let stats = Statistiques {
            total,
            par_statut,
            par_priorite,
            en_retard: n(rest.0),
            traites_cette_semaine: n(rest.1),
            temps_moyen_resolution: rest.2,
            temps_moyen_cloture: rest.3,
            taux_resolution: if total == 0 {
                0.0
            } else {
                resolus as f64 / total as f64 * 100.0
            },
        };
        Ok(stats)
    }

    async fn count_reponses(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, u64>, RepositoryError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.db.connection().await.map_err(failed)?;
        let counts: Vec<(Uuid, i64)> = reponses_signalements::table
            .filter(reponses_signalements::signalement_id.eq_any(ids))
            .group_by(reponses_signalements::signalement_id)
            .select((
                reponses_signalements::signalement_id,
                diesel::dsl::count_star(),
            ))
            .load(&mut conn)
            .await
            .map_err(failed)?;
        Ok(counts
            .into_iter()
            .map(|(id, n)| (id, u64::try_from(n).unwrap_or_default()))
            .collect())
    }

    async fn insert_reponse(
        &self,
        reponse: &Reponse,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = ReponseRow::from(reponse);
        insert_with_events!(self.db, reponses_signalements, row, events).map_err(refused)
    }

    async fn update_reponse(
        &self,
        reponse: &Reponse,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = ReponseRow::from(reponse);
        update_with_events!(self.db, reponses_signalements, row, events).map_err(refused)
    }

    async fn delete_reponse(
        &self,
        reponse: &Reponse,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        delete_with_events!(
            self.db,
            reponses_signalements,
            reponse.id(),
            reponse.version(),
            events
        )
        .map_err(refused)
    }

    async fn find_reponse(&self, id: Uuid) -> Result<Option<Reponse>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let row: Option<ReponseRow> = reponses_signalements::table
            .find(id)
            .select(ReponseRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(failed)?;
        row.map(Reponse::try_from).transpose()
    }

    async fn list_reponses(
        &self,
        signalement_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Reponse>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let mine = || {
            reponses_signalements::table
                .filter(reponses_signalements::signalement_id.eq(signalement_id))
        };
        let total: i64 = mine().count().get_result(&mut conn).await.map_err(failed)?;
        let (skip, limit) = offset(page);
        let rows: Vec<ReponseRow> = mine()
            .order((
                reponses_signalements::created_at.asc(),
                reponses_signalements::id.asc(),
            ))
            .offset(skip)
            .limit(limit)
            .select(ReponseRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let reponses = rows
            .into_iter()
            .map(Reponse::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((reponses, u64::try_from(total).unwrap_or_default()))
    }
}
