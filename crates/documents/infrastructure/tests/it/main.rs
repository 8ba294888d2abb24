//! The documents infrastructure's one integration-test binary: the object
//! store against the real local filesystem, the repository, the read models
//! and the orphan sweep against a real PostgreSQL (`DATABASE_URL`), and the
//! use cases on these real adapters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod directory;
mod repository;
mod store;
mod use_cases;
