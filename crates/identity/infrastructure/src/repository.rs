//! Users in PostgreSQL: every write stores the row and appends its events to
//! the outbox in one transaction, refusing lost updates.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_identity_application::{RepositoryError, Tokens, UserFilter, UserRepository};
use hub_identity_domain::{Email, Metier, PasswordHash, PersonName, User};
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_platform_postgres::{Database, WriteError, guarded, insert_with_events, outbox, storage};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::users;
use crate::user_cache::UserCache;

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    nom: String,
    prenom: String,
    role: String,
    type_utilisateur: String,
    /// Cleared by an update: `None` must write NULL, not skip the column.
    #[diesel(treat_none_as_null = true)]
    metier: Option<String>,
    is_active: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    version: i64,
    /// Written on insert, never by `update` from a (possibly stale) copy:
    /// only [`raise_token_version`] changes it.
    #[diesel(skip_update)]
    token_version: i32,
}

impl From<&User> for UserRow {
    fn from(user: &User) -> Self {
        Self {
            id: user.id(),
            email: user.email().as_str().to_owned(),
            password_hash: user.password_hash().as_phc().to_owned(),
            nom: user.nom().as_str().to_owned(),
            prenom: user.prenom().as_str().to_owned(),
            role: user.role().as_str().to_owned(),
            type_utilisateur: user.type_utilisateur().as_str().to_owned(),
            metier: user.metier().map(|m| m.as_str().to_owned()),
            is_active: user.is_active(),
            created_at: user.created_at(),
            updated_at: user.updated_at(),
            version: user.version(),
            token_version: user.token_version(),
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = RepositoryError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt = |what: &str| {
            RepositoryError::Storage(StorageError::corrupt(format!(
                "user {id} has an invalid {what}"
            )))
        };
        Ok(User::restore(
            row.id,
            Email::parse(&row.email).map_err(|_| corrupt("email"))?,
            PasswordHash::from_phc(row.password_hash.clone()),
            PersonName::parse(&row.nom).map_err(|_| corrupt("nom"))?,
            PersonName::parse(&row.prenom).map_err(|_| corrupt("prenom"))?,
            row.role.parse().map_err(|_| corrupt("role"))?,
            row.type_utilisateur
                .parse()
                .map_err(|_| corrupt("type_utilisateur"))?,
            row.metier
                .as_deref()
                .map(Metier::parse)
                .transpose()
                .map_err(|_| corrupt("metier"))?,
            row.is_active,
            row.version,
            row.token_version,
            row.created_at,
            row.updated_at,
        ))
    }
}

/// [`UserRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselUserRepository {
    db: Database,
    /// Where [`UserRepository::find_for_authentication`] looks first.
    cache: Option<Arc<UserCache>>,
}

impl DieselUserRepository {
    /// Without a cache: every lookup reads the database.
    pub fn new(db: Database) -> Self {
        Self { db, cache: None }
    }

    /// Authenticating through `cache` (kept current by
    /// [`crate::user_cache::listen`]).
    pub fn with_cache(db: Database, cache: Arc<UserCache>) -> Self {
        Self {
            db,
            cache: Some(cache),
        }
    }

    /// After a write of user `id`, committed or not: this instance answers
    /// from the database until the user is cached again, not from the copy
    /// the write replaced (the trigger's notification comes a moment later).
    fn forget(&self, id: Uuid) {
        if let Some(cache) = &self.cache {
            cache.forget(id);
        }
    }
}

/// `token_version = token_version + 1`, computed by PostgreSQL on the row
/// itself (never from a value read earlier).
fn raise_token_version()
-> diesel::dsl::Eq<users::token_version, diesel::dsl::Add<users::token_version, i32>> {
    users::token_version.eq(users::token_version + 1)
}

/// The repository's answer to a failed write transaction.
fn refused(error: WriteError) -> RepositoryError {
    match error {
        WriteError::Missing => RepositoryError::NotFound,
        WriteError::Changed => RepositoryError::Conflict,
        error if error.duplicate_of() == Some("users_email_key") => RepositoryError::DuplicateEmail,
        error => RepositoryError::Storage(error.into()),
    }
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: &User, events: &[EventEnvelope]) -> Result<(), RepositoryError> {
        insert_with_events!(self.db, users, UserRow::from(user), events).map_err(refused)
    }

    async fn update(
        &self,
        user: &User,
        tokens: Tokens,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = UserRow::from(user);
        let events = events.to_vec();
        let written = self
            .db
            .write(|conn| {
                Box::pin(async move {
                    let previous = row.version - 1;
                    let target = diesel::update(
                        users::table
                            .filter(users::id.eq(row.id))
                            .filter(users::version.eq(previous)),
                    );
                    let updated = match tokens {
                        Tokens::Keep => target.set(&row).execute(conn).await?,
                        Tokens::Revoke => {
                            target
                                .set((&row, raise_token_version()))
                                .execute(conn)
                                .await?
                        }
                    };
                    guarded(conn, "users", row.id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(refused);
        self.forget(user.id());
        written
    }

    async fn revoke_tokens(&self, id: Uuid) -> Result<(), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        // One statement: concurrent sign-outs each add one, none is lost.
        let updated = diesel::update(users::table.find(id))
            .set(raise_token_version())
            .execute(&mut conn)
            .await;
        self.forget(id);
        if updated.map_err(storage)? == 0 {
            return Err(RepositoryError::NotFound);
        }
        Ok(())
    }

    async fn find_for_authentication(&self, id: Uuid) -> Result<Option<User>, RepositoryError> {
        let Some(cache) = &self.cache else {
            return self.find_by_id(id).await;
        };
        if let Some(user) = cache.get(id) {
            return Ok(Some(user));
        }
        let generation = cache.generation();
        let user = self.find_by_id(id).await?;
        if let Some(user) = &user {
            cache.store(user, generation);
        }
        Ok(user)
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let row: Option<UserRow> = users::table
            .find(id)
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(storage)?;
        row.map(User::try_from).transpose()
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(storage)?;
        let row: Option<UserRow> = users::table
            .filter(users::email.eq(email.as_str()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(storage)?;
        row.map(User::try_from).transpose()
    }

    async fn list(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> Result<(Vec<User>, u64), RepositoryError> {
        let filtered = || {
            let mut query = users::table.into_boxed();
            if let Some(role) = filter.role {
                query = query.filter(users::role.eq(role.as_str()));
            }
            if let Some(active) = filter.is_active {
                query = query.filter(users::is_active.eq(active));
            }
            query
        };
        let mut conn = self.db.connection().await.map_err(storage)?;
        let total: i64 = filtered()
            .count()
            .get_result(&mut conn)
            .await
            .map_err(storage)?;
        let rows: Vec<UserRow> = filtered()
            .order((users::created_at.asc(), users::id.asc()))
            .offset(i64::try_from(page.skip).unwrap_or(i64::MAX))
            .limit(i64::try_from(page.limit).unwrap_or(i64::MAX))
            .select(UserRow::as_select())
            .load(&mut conn)
            .await
            .map_err(storage)?;
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((users, u64::try_from(total).unwrap_or_default()))
    }
}
