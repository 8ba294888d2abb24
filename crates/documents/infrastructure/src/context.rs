//! The documents context as the app lists it: its events in the catalog,
//! its read models of users, chantiers and affectations, and the orphan
//! sweep of the object store. Its routes are not built yet (see
//! `docs/ARCHITECTURE.md`), so it adds nothing to the OpenAPI document.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hub_platform_context::parse;
use hub_platform_context::{Context, Module, ModuleError, Platform, Worker};

use crate::directory::{affectations, chantiers, users};
use crate::{ObjectBlobStore, OrphanSweep};

/// The documents context. Configuration:
/// - `DOCUMENTS_STORE_URL`: the object store (`file:///abs/dir`; `s3://`,
///   `az://`, `gs://` with the `cloud` feature, credentials from the
///   `AWS_*`, `AZURE_*`, `GOOGLE_*` variables); unset: the local directory
/// - `DOCUMENTS_STORAGE_DIR`: that local directory (default `.data/documents`)
/// - `DOCUMENTS_SWEEP_INTERVAL`: how often orphaned objects are looked for (default `1h`)
/// - `DOCUMENTS_SWEEP_GRACE`: how old an object without a row must be to go (default `1h`)
pub const CONTEXT: Context = Context {
    name: "documents",
    openapi,
    event_catalog: hub_documents_domain::event_catalog,
    rate_limits: &[],
    build,
};

/// No route yet: nothing to document.
fn openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

/// The cloud stores' credentials, as `object_store` names its options.
fn cloud_options() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(name, _)| {
            ["AWS_", "AZURE_", "GOOGLE_"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
        })
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let env = platform.env();
    let url = env.get("DOCUMENTS_STORE_URL");
    let local_dir = env
        .get("DOCUMENTS_STORAGE_DIR")
        .filter(|dir| !dir.trim().is_empty())
        .map_or_else(|| PathBuf::from(".data/documents"), PathBuf::from);
    let every = env.parse_or(
        "DOCUMENTS_SWEEP_INTERVAL",
        Duration::from_secs(3600),
        parse::positive_duration,
    )?;
    let grace = env.parse_or(
        "DOCUMENTS_SWEEP_GRACE",
        Duration::from_secs(3600),
        parse::positive_duration,
    )?;
    let store = ObjectBlobStore::open(url.as_deref(), &local_dir, cloud_options())
        .map_err(|error| ModuleError::start("documents", error))?;
    let grace =
        time::Duration::try_from(grace).map_err(|error| ModuleError::start("documents", error))?;
    Ok(Module::new()
        .projection(users())
        .projection(chantiers())
        .projection(affectations())
        .worker(Worker::scheduled(
            platform,
            Arc::new(OrphanSweep::new(store, grace)),
            every,
        )))
}
