//! Chantiers in PostgreSQL: every write stores the row and appends its
//! events to the outbox in one transaction, refusing lost updates.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_chantiers_application::{ChantierFilter, ChantierRepository, RepositoryError};
use hub_chantiers_domain::{
    Adresse, Chantier, ChantierCode, ChantierDetails, Contact, CoordonneesGps, Couleur,
    HeuresEstimees, NomChantier, Responsables,
};
use hub_kernel::StorageError;
use hub_kernel::{EventEnvelope, Page};
use hub_platform_postgres::{
    Database, WriteError, delete_with_events, insert_with_events, storage, update_with_events,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::schema::{chantier_affectations, chantiers};

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = chantiers)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
// Absent optional values bound as NULL (those columns default to NULL), not
// written as `DEFAULT`: one text for every insert, kept prepared.
#[diesel(treat_none_as_default_value = false)]
struct ChantierRow {
    id: Uuid,
    code: String,
    nom: String,
    adresse: String,
    statut: String,
    couleur: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    contact: Option<serde_json::Value>,
    heures_estimees: Option<f64>,
    date_debut: Option<Date>,
    date_fin: Option<Date>,
    conducteur_ids: Vec<Uuid>,
    chef_chantier_ids: Vec<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// The stored form of a contact.
#[derive(Debug, Serialize, Deserialize)]
struct StoredContact {
    nom: Option<String>,
    telephone: Option<String>,
    email: Option<String>,
}

impl From<&Chantier> for ChantierRow {
    fn from(chantier: &Chantier) -> Self {
        let details = chantier.details();
        let contact = details.contact.as_ref().map(|c| {
            serde_json::json!({ "nom": c.nom(), "telephone": c.telephone(), "email": c.email() })
        });
        Self {
            id: chantier.id(),
            code: details.code.as_str().to_owned(),
            nom: details.nom.as_str().to_owned(),
            adresse: details.adresse.as_str().to_owned(),
            statut: chantier.statut().as_str().to_owned(),
            couleur: details.couleur.as_str().to_owned(),
            latitude: details.coordonnees_gps.map(|g| g.latitude()),
            longitude: details.coordonnees_gps.map(|g| g.longitude()),
            contact,
            heures_estimees: details.heures_estimees.map(|h| h.hours()),
            date_debut: details.date_debut,
            date_fin: details.date_fin,
            conducteur_ids: chantier.responsables().conducteur_ids().to_vec(),
            chef_chantier_ids: chantier.responsables().chef_chantier_ids().to_vec(),
            version: chantier.version(),
            created_at: chantier.created_at(),
            updated_at: chantier.updated_at(),
        }
    }
}

impl TryFrom<ChantierRow> for Chantier {
    type Error = RepositoryError;

    fn try_from(row: ChantierRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "chantier {id} has an invalid {what}"
            )))
        };
        let coordonnees_gps = match (row.latitude, row.longitude) {
            (Some(lat), Some(lon)) => {
                Some(CoordonneesGps::new(lat, lon).map_err(|_| corrupt("position"))?)
            }
            _ => None,
        };
        let contact = row
            .contact
            .map(|value| {
                let stored: StoredContact =
                    serde_json::from_value(value).map_err(|_| corrupt("contact"))?;
                Contact::new(
                    stored.nom.as_deref(),
                    stored.telephone.as_deref(),
                    stored.email.as_deref(),
                )
                .map_err(|_| corrupt("contact"))
            })
            .transpose()?;
        let details = ChantierDetails {
            code: ChantierCode::parse(&row.code).map_err(|_| corrupt("code"))?,
            nom: NomChantier::parse(&row.nom).map_err(|_| corrupt("nom"))?,
            adresse: Adresse::parse(&row.adresse).map_err(|_| corrupt("adresse"))?,
            couleur: Couleur::parse(&row.couleur).map_err(|_| corrupt("couleur"))?,
            coordonnees_gps,
            contact,
            heures_estimees: row
                .heures_estimees
                .map(HeuresEstimees::new)
                .transpose()
                .map_err(|_| corrupt("heures_estimees"))?,
            date_debut: row.date_debut,
            date_fin: row.date_fin,
        };
        let responsables = Responsables::new(row.conducteur_ids, row.chef_chantier_ids)
            .map_err(|_| corrupt("responsables"))?;
        Ok(Chantier::restore(
            id,
            details,
            row.statut.parse().map_err(|_| corrupt("statut"))?,
            responsables,
            row.version,
            row.created_at,
            row.updated_at,
        ))
    }
}

/// The repository's answer to a failed write transaction.
fn refused(error: WriteError, code: &str) -> RepositoryError {
    match error {
        WriteError::Missing => RepositoryError::NotFound,
        WriteError::Changed => RepositoryError::Conflict,
        error if error.duplicate_of() == Some("chantiers_code_key") => {
            RepositoryError::DuplicateCode(code.to_owned())
        }
        error => RepositoryError::Storage(error.into()),
    }
}

/// [`ChantierRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselChantierRepository {
    db: Database,
}

impl DieselChantierRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ChantierRepository for DieselChantierRepository {
    async fn insert(
        &self,
        chantier: &Chantier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = ChantierRow::from(chantier);
        let code = row.code.clone();
        insert_with_events!(self.db, chantiers, row, events).map_err(|e| refused(e, &code))
    }

    async fn update(
        &self,
        chantier: &Chantier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = ChantierRow::from(chantier);
        let code = row.code.clone();
        update_with_events!(self.db, chantiers, row, events).map_err(|e| refused(e, &code))
    }

    async fn delete(
        &self,
        chantier: &Chantier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let code = chantier.details().code.to_string();
        // Only the version the event describes may be deleted.
        delete_with_events!(
            self.db,
            chantiers,
            chantier.id(),
            chantier.version(),
            events
        )
        .map_err(|e| refused(e, &code))
    }

    async fn find(&self, id: Uuid) -> Result<Option<Chantier>, RepositoryError> {
        let mut conn = self
            .db
            .connection()
            .await
            .map_err(|e| RepositoryError::Storage(storage(e)))?;
        let row: Option<ChantierRow> = chantiers::table
            .find(id)
            .select(ChantierRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(|e| RepositoryError::Storage(storage(e)))?;
        row.map(Chantier::try_from).transpose()
    }

    async fn is_assigned(&self, user_id: Uuid, chantier_id: Uuid) -> Result<bool, RepositoryError> {
        let mut conn = self
            .db
            .connection()
            .await
            .map_err(|e| RepositoryError::Storage(storage(e)))?;
        diesel::select(diesel::dsl::exists(
            chantier_affectations::table
                .filter(chantier_affectations::chantier_id.eq(chantier_id))
                .filter(chantier_affectations::utilisateur_id.eq(user_id))
                .filter(chantier_affectations::active),
        ))
        .get_result(&mut conn)
        .await
        .map_err(|e| RepositoryError::Storage(storage(e)))
    }

    async fn list(
        &self,
        filter: &ChantierFilter,
        page: Page,
    ) -> Result<(Vec<Chantier>, u64), RepositoryError> {
        let pattern = filter.q.as_deref().map(|q| {
            // The search text is matched literally: escape LIKE's wildcards.
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let filtered = || {
            let mut query = chantiers::table.into_boxed();
            if let Some(statut) = filter.statut {
                query = query.filter(chantiers::statut.eq(statut.as_str()));
            }
            if let Some(user) = filter.visible_to {
                let assigned = chantier_affectations::table
                    .filter(chantier_affectations::chantier_id.eq(chantiers::id))
                    .filter(chantier_affectations::utilisateur_id.eq(user))
                    .filter(chantier_affectations::active);
                query = query.filter(
                    chantiers::conducteur_ids
                        .contains(vec![user])
                        .or(chantiers::chef_chantier_ids.contains(vec![user]))
                        .or(diesel::dsl::exists(assigned)),
                );
            }
            if let Some(pattern) = &pattern {
                query = query.filter(
                    chantiers::code
                        .ilike(pattern.clone())
                        .or(chantiers::nom.ilike(pattern.clone()))
                        .or(chantiers::adresse.ilike(pattern.clone())),
                );
            }
            query
        };
        let mut conn = self
            .db
            .connection()
            .await
            .map_err(|e| RepositoryError::Storage(storage(e)))?;
        let total: i64 = filtered()
            .count()
            .get_result(&mut conn)
            .await
            .map_err(|e| RepositoryError::Storage(storage(e)))?;
        let rows: Vec<ChantierRow> = filtered()
            .order(chantiers::code.asc())
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(ChantierRow::as_select())
            .load(&mut conn)
            .await
            .map_err(|e| RepositoryError::Storage(storage(e)))?;
        let chantiers = rows
            .into_iter()
            .map(Chantier::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((chantiers, u64::try_from(total).unwrap_or_default()))
    }
}
