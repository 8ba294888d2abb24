//! The planning de charge's read models of users and chantiers (fed by
//! `user.*` and `chantier.*` through the platform directory), as its use
//! cases ask: open chantiers for the grid's rows, active people for capacity.

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use hub_kernel::StorageError;
use hub_planning_charge_application::{ChantierInfo, Chantiers, Effectif, ParMetier};
use hub_platform_directory::{ChantierView, ChantiersDirectory, UsersDirectory};
use hub_platform_postgres::{Database, storage};
use uuid::Uuid;

use crate::repository::ParMetierRow;

/// The users the planning de charge knows, from `user.*` events: its capacity.
pub fn users() -> UsersDirectory {
    UsersDirectory::new("planning_charge.users", "planning_charge_users")
}

/// The chantiers the planning de charge knows, from `chantier.*` events:
/// the grid's rows, and who runs them.
pub fn chantiers() -> ChantiersDirectory {
    ChantiersDirectory::new("planning_charge.chantiers", "planning_charge_chantiers")
}

/// The roles whose people work on sites, and so count as capacity (the
/// original also counted administrators and conducteurs).
pub(crate) const ROLES_EFFECTIF: &str = "('compagnon', 'chef_chantier')";

fn info(chantier: ChantierView) -> ChantierInfo {
    let ouvert = chantier.is_active();
    let mut responsables = chantier.conducteur_ids;
    responsables.extend(chantier.chef_chantier_ids);
    ChantierInfo {
        chantier_id: chantier.chantier_id,
        code: chantier.code,
        nom: chantier.nom,
        ouvert,
        responsables,
    }
}

/// [`Chantiers`] and [`Effectif`] on the `planning_charge_chantiers` and
/// `planning_charge_users` tables.
#[derive(Debug, Clone)]
pub struct DieselDirectory {
    db: Database,
}

impl DieselDirectory {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Chantiers for DieselDirectory {
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let found = chantiers().find(&mut conn, id).await.map_err(storage)?;
        Ok(found.filter(|chantier| !chantier.deleted).map(info))
    }

    async fn ouverts(&self, recherche: Option<String>) -> Result<Vec<ChantierInfo>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        // The directory has no listing of all chantiers; this table is this
        // context's own copy, read here with the directory's row shape.
        // `strpos` rather than LIKE: the search is plain text, not a pattern.
        let rows: Vec<ChantierView> = diesel::sql_query(format!(
            "SELECT {} FROM planning_charge_chantiers \
             WHERE NOT deleted AND statut IN ('ouvert', 'en_cours') \
             AND ($1::text IS NULL OR strpos(lower(coalesce(code, '')), lower($1)) > 0 \
                  OR strpos(lower(coalesce(nom, '')), lower($1)) > 0) \
             ORDER BY code NULLS LAST, chantier_id",
            ChantierView::COLUMNS
        ))
        .bind::<Nullable<Text>, _>(recherche)
        .load(&mut conn)
        .await
        .map_err(storage)?;
        Ok(rows.into_iter().map(info).collect())
    }

    async fn run_by(&self, user_id: Uuid) -> Result<Vec<Uuid>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        chantiers()
            .run_by(&mut conn, user_id)
            .await
            .map_err(storage)
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[async_trait]
impl Effectif for DieselDirectory {
    async fn effectif(&self) -> Result<u64, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let row: Count = diesel::sql_query(format!(
            "SELECT count(*) AS count FROM planning_charge_users \
             WHERE is_active AND role IN {ROLES_EFFECTIF}"
        ))
        .get_result(&mut conn)
        .await
        .map_err(storage)?;
        Ok(u64::try_from(row.count).unwrap_or_default())
    }

    async fn par_metier(&self) -> Result<Vec<ParMetier>, StorageError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let rows: Vec<ParMetierRow> = diesel::sql_query(format!(
            "SELECT metier, count(*) AS valeur FROM planning_charge_users \
             WHERE is_active AND role IN {ROLES_EFFECTIF} GROUP BY metier"
        ))
        .load(&mut conn)
        .await
        .map_err(storage)?;
        Ok(rows.into_iter().map(ParMetier::from).collect())
    }
}
