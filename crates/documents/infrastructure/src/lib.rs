//! Documents adapters: the object store that holds documents' bytes
//! ([`ObjectBlobStore`]: local filesystem by default, cloud stores by URL,
//! hashing and bounding uploads while they stream) and the PostgreSQL
//! repository of dossiers, documents and autorisations
//! ([`DieselDocumentRepository`]: rows and outbox events in one
//! transaction), its read models of users, chantiers and affectations
//! ([`DieselDirectory`]), and the [`OrphanSweep`] that removes objects no row
//! references. It owns no business rule: those are the domain's and the
//! application's.

pub mod context;
pub mod directory;
pub mod http;
pub mod repository;
pub mod schema;
pub mod store;
pub mod sweep;

pub use context::CONTEXT;
pub use directory::DieselDirectory;
pub use repository::DieselDocumentRepository;
pub use store::{ObjectBlobStore, PART_SIZE, StoreConfigError};
pub use sweep::OrphanSweep;
