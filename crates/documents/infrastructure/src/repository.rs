//! Dossiers, documents and autorisations in PostgreSQL: every write stores
//! its rows and appends its events to the outbox in one transaction. The
//! database holds what concurrency could break: unique names among
//! siblings and in a dossier, one autorisation per user and target, the
//! same chantier along every parent and dossier link, storage keys made of
//! ids; moves are serialised per chantier so two of them cannot build a cycle.

use async_trait::async_trait;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Array, Bool, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_documents_application::ports::{
    DocumentFilter, DocumentRepository, DocumentSearch, RepositoryError,
};
use hub_documents_domain::{
    Autorisation, Cible, CleStockage, Description, Document, Dossier, DossierType, NomDocument,
    NomDossier, Sha256, StoredAutorisation, StoredDocument, StoredDossier, Taille,
    VisibiliteDocuments,
};
use hub_kernel::{EventEnvelope, Page, StorageError};
use hub_platform_postgres::{Database, DbError, WriteError, guarded, outbox, storage};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::{autorisations_documents, documents, dossiers};

const DOSSIER_NOM_KEY: &str = "dossiers_nom_key";
const DOCUMENT_NOM_KEY: &str = "documents_nom_key";
const AUTORISATION_KEYS: [&str; 2] = [
    "autorisations_documents_dossier_key",
    "autorisations_documents_document_key",
];

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = dossiers)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct DossierRow {
    id: Uuid,
    chantier_id: Uuid,
    nom: String,
    type_dossier: String,
    niveau_acces: String,
    parent_id: Option<Uuid>,
    ordre: i32,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<&Dossier> for DossierRow {
    fn from(d: &Dossier) -> Self {
        Self {
            id: d.id(),
            chantier_id: d.chantier_id(),
            nom: d.nom().as_str().to_owned(),
            type_dossier: d.type_dossier().as_str().to_owned(),
            niveau_acces: d.niveau_acces().as_str().to_owned(),
            parent_id: d.parent_id(),
            ordre: d.ordre(),
            version: d.version(),
            created_at: d.created_at(),
            updated_at: d.updated_at(),
        }
    }
}

fn corrupt(what: &str, id: Uuid, field: &str) -> RepositoryError {
    RepositoryError::Storage(StorageError::corrupt(format!(
        "{what} {id} has an invalid {field}"
    )))
}

impl TryFrom<DossierRow> for Dossier {
    type Error = RepositoryError;

    fn try_from(row: DossierRow) -> Result<Self, Self::Error> {
        let bad = |field| corrupt("dossier", row.id, field);
        Ok(Dossier::restore(StoredDossier {
            id: row.id,
            chantier_id: row.chantier_id,
            nom: NomDossier::parse(&row.nom).map_err(|_| bad("nom"))?,
            type_dossier: row.type_dossier.parse().map_err(|_| bad("type_dossier"))?,
            niveau_acces: row.niveau_acces.parse().map_err(|_| bad("niveau_acces"))?,
            parent_id: row.parent_id,
            ordre: row.ordre,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = documents)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct DocumentRow {
    id: Uuid,
    chantier_id: Uuid,
    dossier_id: Uuid,
    nom: String,
    nom_original: String,
    type_document: String,
    taille: i64,
    sha256: String,
    chemin_stockage: String,
    mime_type: String,
    niveau_acces: Option<String>,
    uploaded_by: Uuid,
    description: Option<String>,
    version: i64,
    uploaded_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<&Document> for DocumentRow {
    fn from(d: &Document) -> Self {
        Self {
            id: d.id(),
            chantier_id: d.chantier_id(),
            dossier_id: d.dossier_id(),
            nom: d.nom().as_str().to_owned(),
            nom_original: d.nom_original().as_str().to_owned(),
            type_document: d.type_document().as_str().to_owned(),
            taille: d.taille().as_i64(),
            sha256: d.sha256().as_str().to_owned(),
            chemin_stockage: d.cle().as_str().to_owned(),
            mime_type: d.mime_type().to_owned(),
            niveau_acces: d.niveau_acces().map(|n| n.as_str().to_owned()),
            uploaded_by: d.uploaded_by(),
            description: d.description().map(|t| t.as_str().to_owned()),
            version: d.version(),
            uploaded_at: d.uploaded_at(),
            updated_at: d.updated_at(),
        }
    }
}

impl TryFrom<DocumentRow> for Document {
    type Error = RepositoryError;

    fn try_from(row: DocumentRow) -> Result<Self, Self::Error> {
        let bad = |field| corrupt("document", row.id, field);
        Ok(Document::restore(StoredDocument {
            id: row.id,
            chantier_id: row.chantier_id,
            dossier_id: row.dossier_id,
            nom: NomDocument::parse(&row.nom).map_err(|_| bad("nom"))?,
            nom_original: NomDocument::parse(&row.nom_original).map_err(|_| bad("nom_original"))?,
            type_document: row
                .type_document
                .parse()
                .map_err(|_| bad("type_document"))?,
            taille: u64::try_from(row.taille)
                .ok()
                .and_then(|octets| Taille::new(octets).ok())
                .ok_or_else(|| bad("taille"))?,
            sha256: Sha256::parse(&row.sha256).map_err(|_| bad("sha256"))?,
            cle: CleStockage::parse(&row.chemin_stockage).map_err(|_| bad("chemin_stockage"))?,
            mime_type: row.mime_type,
            niveau_acces: row
                .niveau_acces
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| bad("niveau_acces"))?,
            uploaded_by: row.uploaded_by,
            description: Description::parse(row.description.as_deref())
                .map_err(|_| bad("description"))?,
            version: row.version,
            uploaded_at: row.uploaded_at,
            updated_at: row.updated_at,
        }))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = autorisations_documents)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct AutorisationRow {
    id: Uuid,
    user_id: Uuid,
    type_autorisation: String,
    chantier_id: Uuid,
    dossier_id: Option<Uuid>,
    document_id: Option<Uuid>,
    accorde_par: Uuid,
    created_at: OffsetDateTime,
    expire_at: Option<OffsetDateTime>,
}

impl From<&Autorisation> for AutorisationRow {
    fn from(a: &Autorisation) -> Self {
        Self {
            id: a.id(),
            user_id: a.user_id(),
            type_autorisation: a.type_autorisation().as_str().to_owned(),
            chantier_id: a.chantier_id(),
            dossier_id: a.cible().dossier_id(),
            document_id: a.cible().document_id(),
            accorde_par: a.accorde_par(),
            created_at: a.created_at(),
            expire_at: a.expire_at(),
        }
    }
}

impl TryFrom<AutorisationRow> for Autorisation {
    type Error = RepositoryError;

    fn try_from(row: AutorisationRow) -> Result<Self, Self::Error> {
        let bad = |field| corrupt("autorisation", row.id, field);
        Ok(Autorisation::restore(StoredAutorisation {
            id: row.id,
            user_id: row.user_id,
            type_autorisation: row
                .type_autorisation
                .parse()
                .map_err(|_| bad("type_autorisation"))?,
            cible: Cible::from_ids(row.dossier_id, row.document_id).map_err(|_| bad("cible"))?,
            chantier_id: row.chantier_id,
            accorde_par: row.accorde_par,
            created_at: row.created_at,
            expire_at: row.expire_at,
        }))
    }
}

/// Why a write transaction was rolled back.
#[derive(Debug, thiserror::Error)]
enum TxError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("the move would make the dossier its own ancestor")]
    Cycle,
    /// A row the write depends on (or that depends on it) changed meanwhile:
    /// e.g. a document uploaded into a dossier being deleted.
    #[error("a related row changed meanwhile")]
    Related,
}

impl From<DbError> for TxError {
    fn from(error: DbError) -> Self {
        Self::Write(error.into())
    }
}

impl From<DieselError> for TxError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::Related,
            error => Self::Write(error.into()),
        }
    }
}

/// The repository's answer to a failed write transaction; `duplicate`
/// names the unique constraints that mean `duplicate_as`.
fn refused(
    error: TxError,
    duplicate: &[&str],
    duplicate_as: fn() -> RepositoryError,
) -> RepositoryError {
    match error {
        TxError::Cycle => RepositoryError::Cycle,
        TxError::Related => RepositoryError::Conflict,
        TxError::Write(WriteError::Missing) => RepositoryError::NotFound,
        TxError::Write(WriteError::Changed) => RepositoryError::Conflict,
        TxError::Write(error)
            if error
                .duplicate_of()
                .is_some_and(|constraint| duplicate.contains(&constraint)) =>
        {
            duplicate_as()
        }
        TxError::Write(error) => RepositoryError::Storage(error.into()),
    }
}

fn failed(error: impl Into<DbError>) -> RepositoryError {
    RepositoryError::Storage(storage(error))
}

#[derive(QueryableByName)]
struct Ancestor {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Integer)]
    depth: i32,
}

/// The ids above a dossier, its parent first (depth 1). `UNION` (not `ALL`)
/// keeps the walk finite even on corrupt data.
const ANCESTORS: &str = "WITH RECURSIVE chain (id, parent_id, depth) AS ( \
       SELECT d.id, d.parent_id, 0 FROM dossiers d WHERE d.id = $1 \
     UNION \
       SELECT p.id, p.parent_id, c.depth + 1 FROM dossiers p JOIN chain c ON p.id = c.parent_id \
       WHERE c.depth < 10000 \
     ) SELECT id, depth FROM chain WHERE depth > 0 ORDER BY depth";

/// The ids below a dossier, itself included (depth 0), deepest first.
const DESCENDANTS: &str = "WITH RECURSIVE tree (id, depth) AS ( \
       SELECT d.id, 0 FROM dossiers d WHERE d.id = $1 \
     UNION \
       SELECT c.id, t.depth + 1 FROM dossiers c JOIN tree t ON c.parent_id = t.id \
       WHERE t.depth < 10000 \
     ) SELECT id, depth FROM tree ORDER BY depth DESC";

type VisibleDocuments<'a> = documents::BoxedQuery<'a, diesel::pg::Pg>;

/// The documents of `filter`'s dossier its viewer may see: the SQL form of
/// `VisibiliteDocuments::admet` (the integration tests compare the two).
fn visible_documents(filter: &DocumentFilter) -> VisibleDocuments<'static> {
    let query = documents::table
        .filter(documents::dossier_id.eq(filter.dossier_id))
        .into_boxed();
    let VisibiliteDocuments::Filtree { herites, niveaux } = &filter.visibilite else {
        return query;
    };
    let niveaux: Vec<String> = niveaux.iter().map(|n| n.as_str().to_owned()).collect();
    query.filter(
        sql::<Bool>("(COALESCE(documents.niveau_acces = ANY(")
            .bind::<Array<Text>, _>(niveaux)
            .sql("), false) OR (documents.niveau_acces IS NULL AND ")
            .bind::<Bool, _>(*herites)
            .sql(") OR documents.uploaded_by = ")
            .bind::<SqlUuid, _>(filter.viewer)
            .sql(
                " OR documents.id IN (SELECT a.document_id FROM autorisations_documents a \
                 WHERE a.document_id IS NOT NULL AND a.user_id = ",
            )
            .bind::<SqlUuid, _>(filter.viewer)
            .sql(" AND (a.expire_at IS NULL OR a.expire_at > ")
            .bind::<Timestamptz, _>(filter.now)
            .sql(")))"),
    )
}

/// The `%`, `_` and `\` of a user's text, escaped for `ILIKE`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The documents `search` lets through: in one of its dossiers, admitted
/// by that dossier's visibility (dossiers of the same visibility share one
/// condition), and matching every criterion.
fn searched_documents(search: &DocumentSearch) -> VisibleDocuments<'static> {
    // One fixed statement whatever the number of dossiers: those whose
    // documents all show, and for the others, row by row through unnest,
    // the levels shown (comma-separated) and whether inherited ones show.
    let mut tous: Vec<Uuid> = Vec::new();
    let mut filtres: Vec<Uuid> = Vec::new();
    let mut herites: Vec<bool> = Vec::new();
    let mut niveaux: Vec<String> = Vec::new();
    for (id, visibilite) in &search.dossiers {
        match visibilite {
            VisibiliteDocuments::Tous => tous.push(*id),
            VisibiliteDocuments::Filtree {
                herites: h,
                niveaux: n,
            } => {
                filtres.push(*id);
                herites.push(*h);
                niveaux.push(
                    n.iter()
                        .map(|niveau| niveau.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
        }
    }
    let all: Vec<Uuid> = search.dossiers.iter().map(|(id, _)| *id).collect();
    let admitted = sql::<Bool>("(documents.dossier_id = ANY(")
        .bind::<Array<SqlUuid>, _>(tous)
        .sql(") OR EXISTS (SELECT 1 FROM unnest(")
        .bind::<Array<SqlUuid>, _>(filtres)
        .sql(", ")
        .bind::<Array<Bool>, _>(herites)
        .sql(", ")
        .bind::<Array<Text>, _>(niveaux)
        .sql(
            ") AS v(id, herites, niveaux) WHERE v.id = documents.dossier_id AND \
             (COALESCE(documents.niveau_acces = ANY(string_to_array(v.niveaux, ',')), false) \
             OR (documents.niveau_acces IS NULL AND v.herites))) \
             OR (documents.dossier_id = ANY(",
        )
        .bind::<Array<SqlUuid>, _>(all)
        .sql(") AND (documents.uploaded_by = ")
        .bind::<SqlUuid, _>(search.viewer)
        .sql(
            " OR documents.id IN (SELECT a.document_id FROM autorisations_documents a \
             WHERE a.document_id IS NOT NULL AND a.user_id = ",
        )
        .bind::<SqlUuid, _>(search.viewer)
        .sql(" AND (a.expire_at IS NULL OR a.expire_at > ")
        .bind::<Timestamptz, _>(search.now)
        .sql(")))))");
    let mut query = documents::table
        .filter(documents::chantier_id.eq(search.chantier_id))
        .filter(admitted)
        .into_boxed();
    if let Some(nom) = &search.nom {
        query = query.filter(documents::nom.ilike(like_pattern(nom)));
    }
    if let Some(type_document) = search.type_document {
        query = query.filter(documents::type_document.eq(type_document.as_str()));
    }
    if let Some(uploaded_by) = search.uploaded_by {
        query = query.filter(documents::uploaded_by.eq(uploaded_by));
    }
    if let Some(depuis) = search.depuis {
        query = query.filter(documents::uploaded_at.ge(depuis));
    }
    if let Some(jusqu_a) = search.jusqu_a {
        query = query.filter(documents::uploaded_at.le(jusqu_a));
    }
    query
}

fn offset(page: Page) -> (i64, i64) {
    (
        i64::try_from(page.skip).unwrap_or(i64::MAX),
        i64::try_from(page.limit).unwrap_or(i64::MAX),
    )
}

/// [`DocumentRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselDocumentRepository {
    db: Database,
}

impl DieselDocumentRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Serialises the tree changes of one chantier until the transaction ends,
/// so a cycle check and the move it allows see the same tree.
async fn lock_tree(conn: &mut AsyncPgConnection, chantier_id: Uuid) -> Result<(), TxError> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('documents.dossiers:' || $1, 0))",
    )
    .bind::<Text, _>(chantier_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl DocumentRepository for DieselDocumentRepository {
    async fn insert_dossiers(
        &self,
        dossiers: &[Dossier],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let rows: Vec<DossierRow> = dossiers.iter().map(DossierRow::from).collect();
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    diesel::insert_into(dossiers::table)
                        .values(&rows)
                        .execute(conn)
                        .await?;
                    outbox::append(conn, &events).await?;
                    Ok::<_, TxError>(())
                })
            })
            .await
            .map_err(|e| refused(e, &[DOSSIER_NOM_KEY], || RepositoryError::DuplicateNom))
    }

    async fn update_dossier(
        &self,
        dossier: &Dossier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = DossierRow::from(dossier);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    lock_tree(conn, row.chantier_id).await?;
                    if let Some(parent_id) = row.parent_id {
                        let above: Vec<Ancestor> = diesel::sql_query(ANCESTORS)
                            .bind::<SqlUuid, _>(parent_id)
                            .load(conn)
                            .await?;
                        if parent_id == row.id || above.iter().any(|a| a.id == row.id) {
                            return Err(TxError::Cycle);
                        }
                    }
                    let updated = diesel::update(
                        dossiers::table
                            .filter(dossiers::id.eq(row.id))
                            .filter(dossiers::version.eq(row.version - 1)),
                    )
                    .set(&row)
                    .execute(conn)
                    .await?;
                    guarded(conn, "dossiers", row.id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e| refused(e, &[DOSSIER_NOM_KEY], || RepositoryError::DuplicateNom))
    }

    async fn delete_tree(
        &self,
        dossier_ids: &[Uuid],
        document_ids: &[Uuid],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let (dossier_ids, document_ids) = (dossier_ids.to_vec(), document_ids.to_vec());
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // Their autorisations go with them (ON DELETE CASCADE).
                    let gone = diesel::delete(
                        documents::table.filter(documents::id.eq_any(&document_ids)),
                    )
                    .execute(conn)
                    .await?;
                    if gone != document_ids.len() {
                        return Err(TxError::Related);
                    }
                    if !dossier_ids.is_empty() {
                        // One statement: the parent links are checked at its
                        // end, and a document or dossier added meanwhile under
                        // the tree makes it fail (nothing is left dangling).
                        let gone = diesel::delete(
                            dossiers::table.filter(dossiers::id.eq_any(&dossier_ids)),
                        )
                        .execute(conn)
                        .await?;
                        if gone != dossier_ids.len() {
                            return Err(TxError::Related);
                        }
                    }
                    outbox::append(conn, &events).await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e| refused(e, &[], || RepositoryError::Conflict))
    }

    async fn find_dossier(&self, id: Uuid) -> Result<Option<Dossier>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let row: Option<DossierRow> = dossiers::table
            .find(id)
            .select(DossierRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(failed)?;
        row.map(Dossier::try_from).transpose()
    }

    async fn ancestors(&self, dossier_id: Uuid) -> Result<Vec<Uuid>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let above: Vec<Ancestor> = diesel::sql_query(ANCESTORS)
            .bind::<SqlUuid, _>(dossier_id)
            .load(&mut conn)
            .await
            .map_err(failed)?;
        Ok(above.into_iter().map(|a| a.id).collect())
    }

    async fn dossier_names(
        &self,
        chantier_id: Uuid,
        parent_id: Option<Uuid>,
        excluding: Option<Uuid>,
    ) -> Result<Vec<NomDossier>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let mut query = dossiers::table
            .filter(dossiers::chantier_id.eq(chantier_id))
            .select((dossiers::id, dossiers::nom))
            .into_boxed();
        query = match parent_id {
            Some(parent_id) => query.filter(dossiers::parent_id.eq(parent_id)),
            None => query.filter(dossiers::parent_id.is_null()),
        };
        if let Some(excluded) = excluding {
            query = query.filter(dossiers::id.ne(excluded));
        }
        let rows: Vec<(Uuid, String)> = query.load(&mut conn).await.map_err(failed)?;
        rows.into_iter()
            .map(|(id, nom)| NomDossier::parse(&nom).map_err(|_| corrupt("dossier", id, "nom")))
            .collect()
    }

    async fn dossier_types(&self, chantier_id: Uuid) -> Result<Vec<DossierType>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let rows: Vec<(Uuid, String)> = dossiers::table
            .filter(dossiers::chantier_id.eq(chantier_id))
            .select((dossiers::id, dossiers::type_dossier))
            .load(&mut conn)
            .await
            .map_err(failed)?;
        rows.into_iter()
            .map(|(id, kind)| {
                kind.parse()
                    .map_err(|_| corrupt("dossier", id, "type_dossier"))
            })
            .collect()
    }

    async fn subtree(
        &self,
        dossier_id: Uuid,
    ) -> Result<(Vec<Dossier>, Vec<Document>), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let below: Vec<Ancestor> = diesel::sql_query(DESCENDANTS)
            .bind::<SqlUuid, _>(dossier_id)
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let ids: Vec<Uuid> = below.iter().map(|a| a.id).collect();
        let rows: Vec<DossierRow> = dossiers::table
            .filter(dossiers::id.eq_any(&ids))
            .select(DossierRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let mut dossiers = rows
            .into_iter()
            .map(Dossier::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // Deepest first, the dossier itself last.
        let depth = |id: Uuid| below.iter().find(|a| a.id == id).map_or(0, |a| a.depth);
        dossiers.sort_by_key(|dossier| std::cmp::Reverse(depth(dossier.id())));
        let rows: Vec<DocumentRow> = documents::table
            .filter(documents::dossier_id.eq_any(&ids))
            .order((documents::dossier_id, documents::nom))
            .select(DocumentRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let documents = rows
            .into_iter()
            .map(Document::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((dossiers, documents))
    }

    async fn list_dossiers(
        &self,
        chantier_id: Uuid,
        parent_id: Option<Uuid>,
    ) -> Result<Vec<Dossier>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let mut query = dossiers::table
            .filter(dossiers::chantier_id.eq(chantier_id))
            .order((dossiers::ordre, dossiers::nom, dossiers::id))
            .select(DossierRow::as_select())
            .into_boxed();
        query = match parent_id {
            Some(parent_id) => query.filter(dossiers::parent_id.eq(parent_id)),
            None => query.filter(dossiers::parent_id.is_null()),
        };
        let rows: Vec<DossierRow> = query.load(&mut conn).await.map_err(failed)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    async fn chantier_dossiers(&self, chantier_id: Uuid) -> Result<Vec<Dossier>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let rows: Vec<DossierRow> = dossiers::table
            .filter(dossiers::chantier_id.eq(chantier_id))
            .order((dossiers::ordre, dossiers::nom, dossiers::id))
            .select(DossierRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    async fn search_documents(
        &self,
        search: &DocumentSearch,
        page: Page,
    ) -> Result<(Vec<Document>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let total: i64 = searched_documents(search)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(failed)?;
        let (skip, limit) = offset(page);
        let rows: Vec<DocumentRow> = searched_documents(search)
            .order((documents::uploaded_at.desc(), documents::id.desc()))
            .offset(skip)
            .limit(limit)
            .select(DocumentRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let documents = rows
            .into_iter()
            .map(Document::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((documents, u64::try_from(total).unwrap_or_default()))
    }

    async fn list_documents(
        &self,
        filter: &DocumentFilter,
        page: Page,
    ) -> Result<(Vec<Document>, u64), RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let total: i64 = visible_documents(filter)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(failed)?;
        let (skip, limit) = offset(page);
        let rows: Vec<DocumentRow> = visible_documents(filter)
            .order((documents::nom, documents::id))
            .offset(skip)
            .limit(limit)
            .select(DocumentRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        let documents = rows
            .into_iter()
            .map(Document::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((documents, u64::try_from(total).unwrap_or_default()))
    }

    async fn insert_document(
        &self,
        document: &Document,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = DocumentRow::from(document);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    diesel::insert_into(documents::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    outbox::append(conn, &events).await?;
                    Ok::<_, TxError>(())
                })
            })
            .await
            .map_err(|e| refused(e, &[DOCUMENT_NOM_KEY], || RepositoryError::DuplicateNom))
    }

    async fn update_document(
        &self,
        document: &Document,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = DocumentRow::from(document);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    let updated = diesel::update(
                        documents::table
                            .filter(documents::id.eq(row.id))
                            .filter(documents::version.eq(row.version - 1)),
                    )
                    .set(&row)
                    .execute(conn)
                    .await?;
                    guarded(conn, "documents", row.id, updated).await?;
                    outbox::append(conn, &events).await?;
                    Ok::<_, TxError>(())
                })
            })
            .await
            .map_err(|e| refused(e, &[DOCUMENT_NOM_KEY], || RepositoryError::DuplicateNom))
    }

    async fn find_document(&self, id: Uuid) -> Result<Option<Document>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let row: Option<DocumentRow> = documents::table
            .find(id)
            .select(DocumentRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(failed)?;
        row.map(Document::try_from).transpose()
    }

    async fn document_names(
        &self,
        dossier_id: Uuid,
        excluding: Option<Uuid>,
    ) -> Result<Vec<NomDocument>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let mut query = documents::table
            .filter(documents::dossier_id.eq(dossier_id))
            .select((documents::id, documents::nom))
            .into_boxed();
        if let Some(excluded) = excluding {
            query = query.filter(documents::id.ne(excluded));
        }
        let rows: Vec<(Uuid, String)> = query.load(&mut conn).await.map_err(failed)?;
        rows.into_iter()
            .map(|(id, nom)| NomDocument::parse(&nom).map_err(|_| corrupt("document", id, "nom")))
            .collect()
    }

    async fn insert_autorisation(
        &self,
        autorisation: &Autorisation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let row = AutorisationRow::from(autorisation);
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    // An expired autorisation of the same user and target
                    // does not block a new grant: it is replaced.
                    let expired = autorisations_documents::table
                        .filter(autorisations_documents::user_id.eq(row.user_id))
                        .filter(autorisations_documents::expire_at.le(row.created_at));
                    match (row.dossier_id, row.document_id) {
                        (Some(dossier_id), _) => {
                            diesel::delete(
                                expired.filter(autorisations_documents::dossier_id.eq(dossier_id)),
                            )
                            .execute(conn)
                            .await?
                        }
                        (None, Some(document_id)) => {
                            diesel::delete(
                                expired
                                    .filter(autorisations_documents::document_id.eq(document_id)),
                            )
                            .execute(conn)
                            .await?
                        }
                        (None, None) => 0,
                    };
                    diesel::insert_into(autorisations_documents::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    outbox::append(conn, &events).await?;
                    Ok::<_, TxError>(())
                })
            })
            .await
            .map_err(|e| {
                refused(e, &AUTORISATION_KEYS, || {
                    RepositoryError::DuplicateAutorisation
                })
            })
    }

    async fn delete_autorisation(
        &self,
        autorisation: &Autorisation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let id = autorisation.id();
        let events = events.to_vec();
        self.db
            .write(|conn| {
                Box::pin(async move {
                    let deleted = diesel::delete(autorisations_documents::table.find(id))
                        .execute(conn)
                        .await?;
                    guarded(conn, "autorisations_documents", id, deleted).await?;
                    outbox::append(conn, &events).await?;
                    Ok::<_, TxError>(())
                })
            })
            .await
            .map_err(|e| refused(e, &[], || RepositoryError::Conflict))
    }

    async fn find_autorisation(&self, id: Uuid) -> Result<Option<Autorisation>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let row: Option<AutorisationRow> = autorisations_documents::table
            .find(id)
            .select(AutorisationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(failed)?;
        row.map(Autorisation::try_from).transpose()
    }

    async fn autorisations_of(
        &self,
        user_id: Uuid,
        cibles: &[Cible],
    ) -> Result<Vec<Autorisation>, RepositoryError> {
        let dossier_ids: Vec<Uuid> = cibles.iter().filter_map(|c| c.dossier_id()).collect();
        let document_ids: Vec<Uuid> = cibles.iter().filter_map(|c| c.document_id()).collect();
        let mut conn = self.db.connection().await.map_err(failed)?;
        let rows: Vec<AutorisationRow> = autorisations_documents::table
            .filter(autorisations_documents::user_id.eq(user_id))
            .filter(
                autorisations_documents::dossier_id
                    .eq_any(&dossier_ids)
                    .or(autorisations_documents::document_id.eq_any(&document_ids)),
            )
            .order(autorisations_documents::created_at)
            .select(AutorisationRow::as_select())
            .load(&mut conn)
            .await
            .map_err(failed)?;
        rows.into_iter().map(Autorisation::try_from).collect()
    }

    async fn autorisations_on(&self, cible: Cible) -> Result<Vec<Autorisation>, RepositoryError> {
        let mut conn = self.db.connection().await.map_err(failed)?;
        let query = autorisations_documents::table
            .order(autorisations_documents::created_at)
            .select(AutorisationRow::as_select())
            .into_boxed();
        let query = match cible {
            Cible::Dossier(id) => query.filter(autorisations_documents::dossier_id.eq(id)),
            Cible::Document(id) => query.filter(autorisations_documents::document_id.eq(id)),
        };
        let rows: Vec<AutorisationRow> = query.load(&mut conn).await.map_err(failed)?;
        rows.into_iter().map(Autorisation::try_from).collect()
    }
}
