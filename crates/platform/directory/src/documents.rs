//! Which documents exist on which chantier, from the documents context's
//! `document.*` events: what lets another context accept a reference to an
//! uploaded file (a signalement's photo) without depending on documents.

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::TopicPattern;
use hub_platform_postgres::{DurableError, Projection, RelayedEvent};
use serde_json::Value;
use uuid::Uuid;

/// One document as another context knows it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DocumentView {
    #[diesel(sql_type = SqlUuid)]
    pub document_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub chantier_id: Uuid,
    /// `pdf`, `image`, `excel`, `word`, `video` or `autre`.
    #[diesel(sql_type = Text)]
    pub type_document: String,
    /// `false` once deleted (directly or with its dossier), for good.
    #[diesel(sql_type = Bool)]
    pub active: bool,
}

/// The documents read model of one context (its table, the projection that
/// feeds it, the query that reads it):
///
/// - `document.uploaded` records it, with its chantier and type;
/// - `document.deleted` ends it for good;
/// - `document.updated` changes nothing this model keeps (a document never
///   changes chantier or type).
///
/// Each row keeps the log position of the last event applied to it, so an
/// older event seen again never revives a deleted document.
#[derive(Debug, Clone)]
pub struct DocumentsDirectory {
    name: &'static str,
    table: &'static str,
    pattern: TopicPattern,
}

fn uuid(value: Option<&Value>) -> Option<Uuid> {
    value
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
}

impl DocumentsDirectory {
    /// The read model in `table` (a compile-time constant, never input),
    /// applied as the projection `name` (e.g. `signalements.documents`).
    pub fn new(name: &'static str, table: &'static str) -> Self {
        Self {
            name,
            table,
            pattern: TopicPattern::parse("document.*").unwrap_or_else(|_| TopicPattern::all()),
        }
    }

    /// The document, deleted or not, if it was ever uploaded.
    pub async fn find(
        &self,
        conn: &mut AsyncPgConnection,
        document_id: Uuid,
    ) -> Result<Option<DocumentView>, diesel::result::Error> {
        let rows: Vec<DocumentView> = diesel::sql_query(format!(
            "SELECT document_id, chantier_id, type_document, active FROM {} \
             WHERE document_id = $1",
            self.table
        ))
        .bind::<SqlUuid, _>(document_id)
        .load(conn)
        .await?;
        Ok(rows.into_iter().next())
    }
}

#[async_trait]
impl Projection for DocumentsDirectory {
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
        let event_type = event.event_type.as_str();
        match event_type {
            "document.uploaded" => {
                let (Some(id), Some(chantier_id), Some(type_document)) = (
                    uuid(data.get("document_id")),
                    uuid(data.get("chantier_id")),
                    data.get("type_document").and_then(Value::as_str),
                ) else {
                    tracing::error!(event_id = %event.event_id, event_type, "document event without valid document_id, chantier_id and type_document; ignored");
                    return Ok(());
                };
                diesel::sql_query(format!(
                    "INSERT INTO {0} (document_id, chantier_id, type_document, active, last_seq) \
                     VALUES ($1, $2, $3, true, $4) \
                     ON CONFLICT (document_id) DO UPDATE SET chantier_id = EXCLUDED.chantier_id, \
                     type_document = EXCLUDED.type_document, last_seq = EXCLUDED.last_seq \
                     WHERE {0}.last_seq < EXCLUDED.last_seq",
                    self.table
                ))
                .bind::<SqlUuid, _>(id)
                .bind::<SqlUuid, _>(chantier_id)
                .bind::<Text, _>(type_document)
                .bind::<BigInt, _>(event.seq)
                .execute(conn)
                .await?;
            }
            "document.deleted" => {
                let (Some(id), Some(chantier_id)) =
                    (uuid(data.get("document_id")), uuid(data.get("chantier_id")))
                else {
                    tracing::error!(event_id = %event.event_id, event_type, "document deletion without valid document_id and chantier_id; ignored");
                    return Ok(());
                };
                // Recorded even when the upload was never seen, so that the
                // upload arriving late cannot make it live.
                diesel::sql_query(format!(
                    "INSERT INTO {0} (document_id, chantier_id, type_document, active, last_seq) \
                     VALUES ($1, $2, 'autre', false, $3) \
                     ON CONFLICT (document_id) DO UPDATE SET active = false, \
                     last_seq = GREATEST({0}.last_seq, EXCLUDED.last_seq)",
                    self.table
                ))
                .bind::<SqlUuid, _>(id)
                .bind::<SqlUuid, _>(chantier_id)
                .bind::<BigInt, _>(event.seq)
                .execute(conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
