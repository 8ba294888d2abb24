//! Users, from `user.created`, `user.updated` (`changes`) and `user.deactivated`.

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_types::{Array, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{Role, TopicPattern};
use hub_platform_postgres::{DurableError, Projection, RelayedEvent};
use serde_json::Value;
use uuid::Uuid;

/// A user as another context knows them.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UserView {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub nom: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub prenom: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub type_utilisateur: Option<String>,
    /// The trade as the company names it (free text), when the events gave one.
    #[diesel(sql_type = Nullable<Text>)]
    pub metier: Option<String>,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
}

impl UserView {
    /// The role the events last said; `None` when unknown or unreadable
    /// (grants nothing).
    pub fn role(&self) -> Option<Role> {
        self.role.as_deref().and_then(|role| role.parse().ok())
    }

    /// "Prénom Nom", or the id when the events gave no name.
    pub fn display_name(&self) -> String {
        match (&self.prenom, &self.nom) {
            (Some(prenom), Some(nom)) => format!("{prenom} {nom}"),
            (None, Some(nom)) => nom.clone(),
            _ => self.user_id.to_string(),
        }
    }
}

/// The users read model of one context: its table, the projection that
/// feeds it, and the queries that read it.
#[derive(Debug, Clone)]
pub struct UsersDirectory {
    name: &'static str,
    table: &'static str,
    pattern: TopicPattern,
}

impl UsersDirectory {
    /// The read model in `table` (a compile-time constant, never input),
    /// applied as the projection `name` (e.g. `planning.users`).
    pub fn new(name: &'static str, table: &'static str) -> Self {
        Self {
            name,
            table,
            pattern: TopicPattern::parse("user.*").unwrap_or_else(|_| TopicPattern::all()),
        }
    }

    /// One user, if the events made them known.
    pub async fn find(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
    ) -> Result<Option<UserView>, diesel::result::Error> {
        let mut found = self.of(conn, &[user_id]).await?;
        Ok(found.pop())
    }

    /// The known users among `ids`, in no particular order.
    pub async fn of(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> Result<Vec<UserView>, diesel::result::Error> {
        diesel::sql_query(format!(
            "SELECT user_id, email, nom, prenom, role, type_utilisateur, metier, is_active \
             FROM {} WHERE user_id = ANY($1)",
            self.table
        ))
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await
    }

    /// Every active user, by name.
    pub async fn active(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<Vec<UserView>, diesel::result::Error> {
        diesel::sql_query(format!(
            "SELECT user_id, email, nom, prenom, role, type_utilisateur, metier, is_active \
             FROM {} WHERE is_active ORDER BY nom, prenom, user_id",
            self.table
        ))
        .load(conn)
        .await
    }
}

/// A text field of `changes`' new value, when that field changed.
fn changed<'a>(changes: Option<&'a Value>, field: &str) -> Option<&'a Value> {
    changes?.get(field)?.get("new")
}

#[async_trait]
impl Projection for UsersDirectory {
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
        let Some(user_id) = event
            .data_str("user_id")
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            tracing::error!(event_id = %event.event_id, event_type = %event.event_type, "user event without a valid user_id; ignored");
            return Ok(());
        };
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        match event.event_type.as_str() {
            "user.created" => {
                diesel::sql_query(format!(
                    "INSERT INTO {} (user_id, email, nom, prenom, role, type_utilisateur, metier, is_active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, true) \
                     ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, nom = EXCLUDED.nom, \
                     prenom = EXCLUDED.prenom, role = EXCLUDED.role, \
                     type_utilisateur = EXCLUDED.type_utilisateur, metier = EXCLUDED.metier",
                    self.table
                ))
                .bind::<SqlUuid, _>(user_id)
                .bind::<Nullable<Text>, _>(text(data.get("email")))
                .bind::<Nullable<Text>, _>(text(data.get("nom")))
                .bind::<Nullable<Text>, _>(text(data.get("prenom")))
                .bind::<Nullable<Text>, _>(text(data.get("role")))
                .bind::<Nullable<Text>, _>(text(data.get("type_utilisateur")))
                .bind::<Nullable<Text>, _>(text(data.get("metier")))
                .execute(conn)
                .await?;
            }
            "user.updated" => {
                let changes = data.get("changes");
                // Only the fields that changed; the others keep their value.
                // `metier` may change to null (cleared), so its presence in
                // `changes` decides, not its value.
                let metier_changed = changes.and_then(|c| c.get("metier")).is_some();
                diesel::sql_query(format!(
                    "INSERT INTO {} (user_id, email, nom, prenom, role, type_utilisateur, is_active, metier) \
                     VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, true), $10) \
                     ON CONFLICT (user_id) DO UPDATE SET \
                     email = COALESCE(EXCLUDED.email, {0}.email), nom = COALESCE(EXCLUDED.nom, {0}.nom), \
                     prenom = COALESCE(EXCLUDED.prenom, {0}.prenom), role = COALESCE(EXCLUDED.role, {0}.role), \
                     type_utilisateur = COALESCE(EXCLUDED.type_utilisateur, {0}.type_utilisateur), \
                     is_active = COALESCE($8, {0}.is_active), \
                     metier = CASE WHEN $9 THEN EXCLUDED.metier ELSE {0}.metier END",
                    self.table
                ))
                .bind::<SqlUuid, _>(user_id)
                .bind::<Nullable<Text>, _>(text(changed(changes, "email")))
                .bind::<Nullable<Text>, _>(text(changed(changes, "nom")))
                .bind::<Nullable<Text>, _>(text(changed(changes, "prenom")))
                .bind::<Nullable<Text>, _>(text(changed(changes, "role")))
                .bind::<Nullable<Text>, _>(text(changed(changes, "type_utilisateur")))
                .bind::<Nullable<Bool>, _>(changed(changes, "is_active").and_then(Value::as_bool))
                .bind::<Nullable<Bool>, _>(changed(changes, "is_active").and_then(Value::as_bool))
                .bind::<Bool, _>(metier_changed)
                .bind::<Nullable<Text>, _>(text(changed(changes, "metier")))
                .execute(conn)
                .await?;
            }
            "user.deactivated" => {
                diesel::sql_query(format!(
                    "INSERT INTO {} (user_id, is_active) VALUES ($1, false) \
                     ON CONFLICT (user_id) DO UPDATE SET is_active = false",
                    self.table
                ))
                .bind::<SqlUuid, _>(user_id)
                .execute(conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
