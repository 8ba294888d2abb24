//! Documents application: the use cases of the GED (dossiers, streamed
//! uploads and downloads, updates, deletes, autorisations) and the ports
//! they need — [`DocumentRepository`](ports::DocumentRepository), the
//! [`Directory`](ports::Directory) of users and chantiers, and the
//! streaming [`BlobStore`](ports::BlobStore). No I/O of its own.

pub mod input;
pub mod ports;
pub mod use_cases;
