//! Documents adapters: the object store that holds documents' bytes
//! ([`ObjectBlobStore`]: local filesystem by default, cloud stores by URL),
//! hashing and bounding uploads while they stream. It owns no business
//! rule: those are the domain's and the application's.

pub mod store;

pub use store::{ObjectBlobStore, PART_SIZE, StoreConfigError};
