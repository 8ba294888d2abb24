//! The documents infrastructure's one integration-test binary: the object
//! store against the real local filesystem, the repository, the read models
//! and the orphan sweep against a real PostgreSQL (`DATABASE_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod directory;
mod repository;
mod store;
