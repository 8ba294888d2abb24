//! Chantiers, from `chantier.*`: every event carries the site's snapshot
//! (code, nom, adresse, statut, responsables); `chantier.deleted` marks it
//! deleted. Each row keeps the log position of the last event applied to
//! it (`last_seq`), and an event at or before it changes nothing: the
//! platform keeps no position for these read models
//! ([`Projection::positioned_in_rows`]), which saves a statement per
//! chantier event.

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::TopicPattern;
use hub_platform_postgres::statement::statement;
use hub_platform_postgres::{DurableError, Projection, RelayedEvent};
use serde_json::Value;
use uuid::Uuid;

/// A chantier as another context knows it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ChantierView {
    #[diesel(sql_type = SqlUuid)]
    pub chantier_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub nom: Option<String>,
    /// The site's postal address (what a feuille de route shows).
    #[diesel(sql_type = Nullable<Text>)]
    pub adresse: Option<String>,
    /// `ouvert`, `en_cours`, `receptionne` or `ferme`, as the events spell it.
    #[diesel(sql_type = Nullable<Text>)]
    pub statut: Option<String>,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub conducteur_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub chef_chantier_ids: Vec<Uuid>,
    #[diesel(sql_type = Bool)]
    pub deleted: bool,
}

impl ChantierView {
    /// The columns a query selects to read rows of this shape (what a
    /// context's own query of its copy uses, so a new column is added once).
    pub const COLUMNS: &'static str =
        "chantier_id, code, nom, adresse, statut, conducteur_ids, chef_chantier_ids, deleted";

    /// Not deleted and `ouvert` or `en_cours`: staff may be planned, hours
    /// booked, equipment reserved there.
    pub fn is_active(&self) -> bool {
        !self.deleted && matches!(self.statut.as_deref(), Some("ouvert" | "en_cours"))
    }

    /// Whether `user_id` is one of its conducteurs.
    pub fn has_conducteur(&self, user_id: Uuid) -> bool {
        self.conducteur_ids.contains(&user_id)
    }

    /// Whether `user_id` is one of its conducteurs or chefs de chantier.
    pub fn has_responsable(&self, user_id: Uuid) -> bool {
        self.has_conducteur(user_id) || self.chef_chantier_ids.contains(&user_id)
    }
}

/// The chantiers read model of one context: its table, the projection that
/// feeds it, and the queries that read it.
#[derive(Debug, Clone)]
pub struct ChantiersDirectory {
    name: &'static str,
    table: &'static str,
    pattern: TopicPattern,
    /// The upsert of a batch of snapshots, built once for this table so
    /// that it is prepared once per connection.
    upsert: &'static str,
}

impl ChantiersDirectory {
    /// The read model in `table` (a compile-time constant, never input),
    /// applied as the projection `name` (e.g. `planning.chantiers`).
    pub fn new(name: &'static str, table: &'static str) -> Self {
        // Leaked once per directory, at start-up: a statement's text must
        // outlive the connections that cache it.
        let upsert: &'static str = Box::leak(upsert_sql(&[table]).into_boxed_str());
        Self {
            name,
            table,
            pattern: TopicPattern::parse("chantier.*").unwrap_or_else(|_| TopicPattern::all()),
            upsert,
        }
    }

    /// One chantier (deleted ones included: check [`ChantierView::deleted`]).
    pub async fn find(
        &self,
        conn: &mut AsyncPgConnection,
        chantier_id: Uuid,
    ) -> Result<Option<ChantierView>, diesel::result::Error> {
        let mut found = self.of(conn, &[chantier_id]).await?;
        Ok(found.pop())
    }

    /// The known chantiers among `ids`.
    pub async fn of(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> Result<Vec<ChantierView>, diesel::result::Error> {
        diesel::sql_query(format!(
            "SELECT {} FROM {} WHERE chantier_id = ANY($1)",
            ChantierView::COLUMNS,
            self.table
        ))
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await
    }

    /// The ids of the (not deleted) chantiers `user_id` is a conducteur or
    /// chef de chantier of.
    pub async fn run_by(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
    ) -> Result<Vec<Uuid>, diesel::result::Error> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            chantier_id: Uuid,
        }
        let rows: Vec<Id> = diesel::sql_query(format!(
            "SELECT chantier_id FROM {} WHERE NOT deleted \
             AND (conducteur_ids @> ARRAY[$1] OR chef_chantier_ids @> ARRAY[$1])",
            self.table
        ))
        .bind::<SqlUuid, _>(user_id)
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(|row| row.chantier_id).collect())
    }
}

/// `data.<field>` as ids; `None` when absent or malformed.
fn ids(data: &Value, field: &str) -> Option<Vec<Uuid>> {
    data.get(field)?
        .as_array()?
        .iter()
        .map(|id| id.as_str().and_then(|id| Uuid::parse_str(id).ok()))
        .collect()
}

/// What one event says of its chantier.
#[derive(Debug)]
struct Snapshot {
    /// The event's log position.
    seq: i64,
    chantier_id: Uuid,
    code: Option<String>,
    nom: Option<String>,
    adresse: Option<String>,
    statut: Option<String>,
    conducteur_ids: Vec<Uuid>,
    chef_chantier_ids: Vec<Uuid>,
    deleted: bool,
}

impl Snapshot {
    fn of(event: &RelayedEvent) -> Option<Self> {
        let data = &event.data;
        let Some(chantier_id) = event
            .data_str("chantier_id")
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            tracing::error!(event_id = %event.event_id, event_type = %event.event_type, "chantier event without a valid chantier_id; ignored");
            return None;
        };
        let deleted = event.event_type.as_str() == "chantier.deleted";
        let text = |field: &str| data.get(field).and_then(Value::as_str).map(str::to_owned);
        // Fail closed: unreadable responsables grant nobody anything; a
        // deleted chantier has none.
        let responsables = |field: &str| {
            if deleted {
                Vec::new()
            } else {
                ids(data, field).unwrap_or_default()
            }
        };
        Some(Self {
            seq: event.seq,
            chantier_id,
            code: text("code"),
            nom: text("nom"),
            adresse: text("adresse"),
            statut: text("statut"),
            conducteur_ids: responsables("conducteur_ids"),
            chef_chantier_ids: responsables("chef_chantier_ids"),
            deleted,
        })
    }
}

/// A PostgreSQL array literal of ids, e.g. `{0193…,0192…}`.
fn array_literal(ids: &[Uuid]) -> String {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

/// The upsert of a batch of snapshots into each of `tables` (a directory's
/// table; several when read models of several contexts are written
/// together), from the same nine array binds (one snapshot per chantier):
/// a deleted chantier stays deleted, and a row is left alone by a snapshot
/// at or before the last one applied to it.
fn upsert_sql(tables: &[&str]) -> String {
    let insert = |table: &str| {
        format!(
            "INSERT INTO {table} ({columns}, last_seq) \
             SELECT s.id, s.code, s.nom, s.adresse, s.statut, s.conducteurs::uuid[], s.chefs::uuid[], \
             s.deleted, s.seq \
             FROM s \
             ON CONFLICT (chantier_id) DO UPDATE SET code = COALESCE(EXCLUDED.code, {table}.code), \
             nom = COALESCE(EXCLUDED.nom, {table}.nom), adresse = COALESCE(EXCLUDED.adresse, {table}.adresse), \
             statut = COALESCE(EXCLUDED.statut, {table}.statut), \
             conducteur_ids = EXCLUDED.conducteur_ids, chef_chantier_ids = EXCLUDED.chef_chantier_ids, \
             deleted = EXCLUDED.deleted, last_seq = EXCLUDED.last_seq \
             WHERE NOT {table}.deleted AND {table}.last_seq < EXCLUDED.last_seq",
            columns = ChantierView::COLUMNS
        )
    };
    let source = "s AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], \
                  $5::text[], $6::text[], $7::text[], $8::bool[], $9::int8[]) \
                  AS s (id, code, nom, adresse, statut, conducteurs, chefs, deleted, seq))";
    // Every table but the last is written by a data-modifying WITH clause;
    // all of them read the same snapshots.
    let (last, others) = tables.split_last().map_or(("", &[][..]), |(l, o)| (*l, o));
    let mut sql = format!("WITH {source}");
    for (n, table) in others.iter().enumerate() {
        sql.push_str(&format!(", w{n} AS ({})", insert(table)));
    }
    sql.push(' ');
    sql.push_str(&insert(last));
    sql
}

/// The joint upserts built so far, by their tables: leaked once per set of
/// tables written together (a handful per process, fixed by the contexts
/// registered), for the same reason as [`ChantiersDirectory::new`]'s.
fn joint_upsert(tables: &[&'static str]) -> &'static str {
    static BUILT: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<Vec<&'static str>, &'static str>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    built
        .entry(tables.to_vec())
        .or_insert_with(|| Box::leak(upsert_sql(tables).into_boxed_str()))
}

impl ChantiersDirectory {
    /// Writes the snapshots of `events` with `upsert` (one statement, for
    /// one table or several), in log order: one statement per event of
    /// the same chantier in the batch (the usual batch has one, so one
    /// statement), each leaving alone the rows already at or past it, and a
    /// deleted chantier deleted. The snapshots of one chantier are not
    /// merged into one beforehand: an earlier one may be a replay the row
    /// is already past, whose fields must not fill the later one's gaps.
    async fn upsert(
        conn: &mut AsyncPgConnection,
        upsert: &'static str,
        events: &[RelayedEvent],
    ) -> Result<(), diesel::result::Error> {
        // Layer n holds the n-th snapshot of each chantier of the batch.
        let mut layers: Vec<Vec<Snapshot>> = Vec::new();
        for snapshot in events.iter().filter_map(Snapshot::of) {
            let layer = layers
                .iter()
                .position(|layer| layer.iter().all(|s| s.chantier_id != snapshot.chantier_id))
                .unwrap_or(layers.len());
            match layers.get_mut(layer) {
                Some(layer) => layer.push(snapshot),
                None => layers.push(vec![snapshot]),
            }
        }
        for layer in &layers {
            Self::upsert_layer(conn, upsert, layer).await?;
        }
        Ok(())
    }

    /// One statement for `snapshots`, at most one snapshot per chantier.
    async fn upsert_layer(
        conn: &mut AsyncPgConnection,
        upsert: &'static str,
        snapshots: &[Snapshot],
    ) -> Result<(), diesel::result::Error> {
        statement(upsert)
            .bind::<Array<SqlUuid>, _>(snapshots.iter().map(|s| s.chantier_id).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(
                snapshots.iter().map(|s| s.code.clone()).collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Text>>, _>(
                snapshots.iter().map(|s| s.nom.clone()).collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Text>>, _>(
                snapshots
                    .iter()
                    .map(|s| s.adresse.clone())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Text>>, _>(
                snapshots
                    .iter()
                    .map(|s| s.statut.clone())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(
                snapshots
                    .iter()
                    .map(|s| array_literal(&s.conducteur_ids))
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(
                snapshots
                    .iter()
                    .map(|s| array_literal(&s.chef_chantier_ids))
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Bool>, _>(snapshots.iter().map(|s| s.deleted).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(snapshots.iter().map(|s| s.seq).collect::<Vec<_>>())
            .execute(conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Projection for ChantiersDirectory {
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
        Ok(Self::upsert(conn, self.upsert, std::slice::from_ref(event)).await?)
    }

    async fn apply_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        Ok(Self::upsert(conn, self.upsert, events).await?)
    }

    /// Each row's `last_seq` (see the module's doc).
    fn positioned_in_rows(&self) -> bool {
        true
    }

    fn joint(&self) -> Option<(&'static str, &'static str)> {
        Some(("directory.chantiers", self.table))
    }

    async fn apply_jointly(
        &self,
        conn: &mut AsyncPgConnection,
        tables: &[&'static str],
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        Ok(Self::upsert(conn, joint_upsert(tables), events).await?)
    }
}
