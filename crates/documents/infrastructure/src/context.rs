//! The documents context as the app lists it: the `/api/v1/documents`
//! routes, its events in the catalog, its read models of users, chantiers
//! and affectations, and the orphan sweep of the object store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use hub_documents_application::use_cases::DocumentPorts;
use hub_documents_domain::Taille;
use hub_platform_context::parse;
use hub_platform_context::{Context, Module, ModuleError, Platform, Worker};
use utoipa::OpenApi;

use crate::directory::{affectations, chantiers, users};
use crate::http::{DocumentsApi, DocumentsHttp};
use crate::{DieselDirectory, DieselDocumentRepository, ObjectBlobStore, OrphanSweep};

/// The default upload limit: 100 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// The documents context. Configuration:
/// - `DOCUMENTS_STORE_URL`: the object store (`file:///abs/dir`; `s3://`,
///   `az://`, `gs://` with the `cloud` feature, credentials from the
///   `AWS_*`, `AZURE_*`, `GOOGLE_*` variables); unset: the local directory
/// - `DOCUMENTS_STORAGE_DIR`: that local directory (default `.data/documents`)
/// - `DOCUMENTS_SWEEP_INTERVAL`: how often orphaned objects are looked for (default `1h`)
/// - `DOCUMENTS_SWEEP_GRACE`: how old an object without a row must be to go (default `1h`)
/// - `DOCUMENTS_MAX_UPLOAD_BYTES`: the largest upload, in bytes (default
///   100 MiB, at most 10 GiB), enforced while the bytes stream
pub const CONTEXT: Context = Context {
    name: "documents",
    openapi: DocumentsApi::openapi,
    event_catalog: hub_documents_domain::event_catalog,
    rate_limits: &[],
    build,
};

/// A byte count between 1 and 10 GiB (what a `taille` column can hold).
fn upload_limit(value: &str) -> Result<u64, String> {
    let bytes: u64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number of bytes"))?;
    if bytes == 0 || bytes > Taille::MAX {
        return Err(format!(
            "must be between 1 and {} bytes (10 GiB)",
            Taille::MAX
        ));
    }
    Ok(bytes)
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
    let upload_limit = env.parse_or(
        "DOCUMENTS_MAX_UPLOAD_BYTES",
        DEFAULT_MAX_UPLOAD_BYTES,
        upload_limit,
    )?;
    let store = ObjectBlobStore::open(url.as_deref(), &local_dir, cloud_options())
        .map_err(|error| ModuleError::start("documents", error))?;
    let grace =
        time::Duration::try_from(grace).map_err(|error| ModuleError::start("documents", error))?;
    let database = platform.database.clone();
    let state = web::Data::new(DocumentsHttp::new(DocumentPorts {
        documents: Arc::new(DieselDocumentRepository::new(database.clone())),
        directory: Arc::new(DieselDirectory::new(database)),
        store: Arc::new(store.clone()),
        clock: platform.clock.clone(),
        upload_limit,
    }));
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone()))
        .projection(users())
        .projection(chantiers())
        .projection(affectations())
        .worker(Worker::scheduled(
            platform,
            Arc::new(OrphanSweep::new(store, grace)),
            every,
        )))
}
