//! What the documents use cases need from the outside world: storage of
//! rows and events, the read models of users and chantiers, and the object
//! store that holds the bytes.

use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use hub_documents_domain::{
    Autorisation, ChantierInfo, Cible, CleStockage, Document, Dossier, DossierType, NomDocument,
    NomDossier, Sha256, Taille, TypeDocument, UserInfo, VisibiliteDocuments,
};
use hub_kernel::{EventEnvelope, Page, StorageError};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why the repository refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("it does not exist")]
    NotFound,
    /// Another request changed it since it was read.
    #[error("it was changed by someone else meanwhile")]
    Conflict,
    /// The unique name among siblings (dossiers) or in a dossier (documents).
    #[error("the name is already taken at this place")]
    DuplicateNom,
    /// A still valid autorisation exists for this user and target.
    #[error("an autorisation already exists for this user on this target")]
    DuplicateAutorisation,
    /// The move would put a dossier under itself (seen under the tree's lock).
    #[error("the dossier would become its own ancestor")]
    Cycle,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The documents of one dossier that one viewer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFilter {
    pub dossier_id: Uuid,
    /// Sees, besides `visibilite`, what they uploaded and what they hold a
    /// valid autorisation on.
    pub viewer: Uuid,
    pub visibilite: VisibiliteDocuments,
    /// Autorisations are valid at this instant.
    pub now: OffsetDateTime,
}

/// A search among the documents of one chantier that one viewer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSearch {
    pub chantier_id: Uuid,
    /// The dossiers searched (those the viewer reads), each with what the
    /// viewer sees of its documents; besides, the viewer's own uploads and
    /// the documents they hold a valid autorisation on, as in a listing.
    pub dossiers: Vec<(Uuid, VisibiliteDocuments)>,
    pub viewer: Uuid,
    /// Autorisations are valid at this instant.
    pub now: OffsetDateTime,
    /// In the name, case-insensitive.
    pub nom: Option<String>,
    pub type_document: Option<TypeDocument>,
    pub uploaded_by: Option<Uuid>,
    /// Uploaded at or after.
    pub depuis: Option<OffsetDateTime>,
    /// Uploaded at or before.
    pub jusqu_a: Option<OffsetDateTime>,
}

/// Dossiers, documents, autorisations and their events, stored together:
/// every write appends its `events` to the outbox in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DocumentRepository: Send + Sync {
    /// Inserts dossiers (one, or the standard tree) in one transaction.
    async fn insert_dossiers(
        &self,
        dossiers: &[Dossier],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `dossier` if the stored one is still at its version - 1. A
    /// move re-checks, under a lock of the chantier's tree, that the new
    /// parent is not the dossier or one of its descendants ([`RepositoryError::Cycle`]).
    async fn update_dossier(
        &self,
        dossier: &Dossier,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Deletes dossiers and documents (with their autorisations) in one
    /// transaction; fails with `Conflict` if anything else was added under
    /// them meanwhile.
    async fn delete_tree(
        &self,
        dossier_ids: &[Uuid],
        document_ids: &[Uuid],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find_dossier(&self, id: Uuid) -> Result<Option<Dossier>, RepositoryError>;
    /// The ids of a dossier's ancestors, its parent first, up to the root.
    async fn ancestors(&self, dossier_id: Uuid) -> Result<Vec<Uuid>, RepositoryError>;
    /// The names of the dossiers under `parent_id` (`None`: the roots) of a
    /// chantier, but `excluding`.
    async fn dossier_names(
        &self,
        chantier_id: Uuid,
        parent_id: Option<Uuid>,
        excluding: Option<Uuid>,
    ) -> Result<Vec<NomDossier>, RepositoryError>;
    /// The types of the chantier's dossiers, at any depth.
    async fn dossier_types(&self, chantier_id: Uuid) -> Result<Vec<DossierType>, RepositoryError>;
    /// A dossier and everything under it: its sub-dossiers (deepest first,
    /// the dossier itself last) and all their documents.
    async fn subtree(
        &self,
        dossier_id: Uuid,
    ) -> Result<(Vec<Dossier>, Vec<Document>), RepositoryError>;

    /// The dossiers under `parent_id` (`None`: the roots) of a chantier,
    /// by `ordre` then `nom`.
    async fn list_dossiers(
        &self,
        chantier_id: Uuid,
        parent_id: Option<Uuid>,
    ) -> Result<Vec<Dossier>, RepositoryError>;
    /// Every dossier of a chantier, at any depth.
    async fn chantier_dossiers(&self, chantier_id: Uuid) -> Result<Vec<Dossier>, RepositoryError>;
    /// A page of the documents `search` lets through, newest first, and their total.
    async fn search_documents(
        &self,
        search: &DocumentSearch,
        page: Page,
    ) -> Result<(Vec<Document>, u64), RepositoryError>;
    /// A page of the documents `filter` lets through, by `nom`, and their total.
    async fn list_documents(
        &self,
        filter: &DocumentFilter,
        page: Page,
    ) -> Result<(Vec<Document>, u64), RepositoryError>;

    async fn insert_document(
        &self,
        document: &Document,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    /// Stores `document` if the stored one is still at its version - 1.
    async fn update_document(
        &self,
        document: &Document,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find_document(&self, id: Uuid) -> Result<Option<Document>, RepositoryError>;
    /// The names of a dossier's documents, but `excluding`.
    async fn document_names(
        &self,
        dossier_id: Uuid,
        excluding: Option<Uuid>,
    ) -> Result<Vec<NomDocument>, RepositoryError>;

    /// Inserts a grant; an expired autorisation of the same user and target
    /// is replaced in the same transaction.
    async fn insert_autorisation(
        &self,
        autorisation: &Autorisation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn delete_autorisation(
        &self,
        autorisation: &Autorisation,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;
    async fn find_autorisation(&self, id: Uuid) -> Result<Option<Autorisation>, RepositoryError>;
    /// The autorisations of `user_id` on any of `cibles`, expired included.
    async fn autorisations_of(
        &self,
        user_id: Uuid,
        cibles: &[Cible],
    ) -> Result<Vec<Autorisation>, RepositoryError>;
    /// Every autorisation on `cible`, expired included.
    async fn autorisations_on(&self, cible: Cible) -> Result<Vec<Autorisation>, RepositoryError>;
}

/// What this context knows of other contexts' users, chantiers and
/// affectations (read models fed by their events).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Directory: Send + Sync {
    /// The chantier; `None` when unknown.
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError>;
    /// Whether `user_id` has a live affectation on the chantier.
    async fn is_assigned(&self, user_id: Uuid, chantier_id: Uuid) -> Result<bool, StorageError>;
    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError>;
}

/// Bytes as they flow, chunk by chunk: an upload's body or a download's.
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// A part of an object, as an HTTP `Range: bytes=…` asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `start-end`, both included.
    Bounded { start: u64, end: u64 },
    /// `start-`: from `start` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open byte range it selects in an object of `size` bytes;
    /// `None` when it selects nothing (HTTP 416). An end past the object is
    /// cut at its end, as RFC 9110 says.
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        let range = match self {
            ByteRange::Bounded { start, end } if start <= end => {
                start..end.saturating_add(1).min(size)
            }
            ByteRange::Bounded { .. } => return None,
            ByteRange::From(start) => start..size,
            ByteRange::Suffix(0) => return None,
            ByteRange::Suffix(n) => size.saturating_sub(n)..size,
        };
        (range.start < range.end).then_some(range)
    }
}

/// What the store measured while writing an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub taille: Taille,
    pub sha256: Sha256,
}

/// An object (or part of it) being read.
pub struct Blob {
    /// The whole object's size.
    pub taille_totale: u64,
    /// The bytes `body` carries, half-open.
    pub range: Range<u64>,
    pub body: ByteStream,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("taille_totale", &self.taille_totale)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// Why the object store refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The body went past the limit; nothing was kept.
    #[error("the file exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client's body failed (connection lost, bad multipart); nothing was kept.
    #[error("the upload was interrupted: {0}")]
    Body(#[source] std::io::Error),
    #[error("no object under this key")]
    NotFound,
    /// The range selects nothing in an object of `size` bytes.
    #[error("the range is outside the object's {size} bytes")]
    InvalidRange { size: u64 },
    #[error("the object store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where the bytes live. Everything streams: no call holds a whole object
/// in memory.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes `body` under `key`, hashing and counting it on the way, and
    /// refuses it as soon as it passes `limit` bytes. The object appears
    /// whole or not at all.
    async fn put(
        &self,
        key: &CleStockage,
        body: ByteStream,
        limit: u64,
    ) -> Result<StoredBlob, StoreError>;
    /// Reads the object, or the part `range` selects.
    async fn get(&self, key: &CleStockage, range: Option<ByteRange>) -> Result<Blob, StoreError>;
    /// Removes the object; removing a missing one is not an error.
    async fn delete(&self, key: &CleStockage) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_as_http_says() {
        let bounded = |start, end| ByteRange::Bounded { start, end };
        assert_eq!(bounded(0, 99).resolve(1000), Some(0..100));
        assert_eq!(bounded(900, 5000).resolve(1000), Some(900..1000));
        assert_eq!(bounded(1000, 1001).resolve(1000), None);
        assert_eq!(bounded(5, 4).resolve(1000), None);
        assert_eq!(ByteRange::From(10).resolve(1000), Some(10..1000));
        assert_eq!(ByteRange::From(1000).resolve(1000), None);
        assert_eq!(ByteRange::Suffix(100).resolve(1000), Some(900..1000));
        assert_eq!(ByteRange::Suffix(5000).resolve(1000), Some(0..1000));
        assert_eq!(ByteRange::Suffix(0).resolve(1000), None);
        assert_eq!(ByteRange::From(0).resolve(0), None);
    }
}
