//! The documents infrastructure's one integration-test binary: the object
//! store against the real local filesystem.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store;
