//! The [`BlobStore`] on the `object_store` crate: the local filesystem by
//! default (`DOCUMENTS_STORAGE_DIR`), or any store `DOCUMENTS_STORE_URL`
//! names (`s3://`, `az://`, `gs://` when built with the `cloud` feature).
//!
//! Uploads stream through a multipart upload in parts of [`PART_SIZE`]
//! bytes, hashed (SHA-256) and counted on the way, and aborted as soon as
//! they pass the limit: at most a few parts are ever in memory, and the
//! object appears whole (on completion) or not at all.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use hub_documents_application::ports::{
    Blob, BlobStore, ByteRange, ByteStream, StoreError, StoredBlob,
};
use hub_documents_domain::{CleStockage, Sha256, Taille};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use ring::digest;
use url::Url;

/// The size of each part of an upload (S3's minimum but for the last part).
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts in flight at once; with the one being filled, this bounds the
/// memory of an upload to about `(PARTS_IN_FLIGHT + 1) × PART_SIZE`.
const PARTS_IN_FLIGHT: usize = 2;

/// Why the store could not be opened from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum StoreConfigError {
    #[error("DOCUMENTS_STORE_URL is not a URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("cannot use the directory {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the object store {url}: {source}")]
    Store {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

/// Documents' bytes in an object store, under `prefix`.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl ObjectBlobStore {
    /// Any object store, keys under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        Self { store, prefix }
    }

    /// The local filesystem under `directory` (created if needed).
    pub fn local(directory: &FsPath) -> Result<Self, StoreConfigError> {
        let io = |source| StoreConfigError::Directory {
            path: directory.to_owned(),
            source,
        };
        std::fs::create_dir_all(directory).map_err(io)?;
        let store = LocalFileSystem::new_with_prefix(directory)
            .map_err(|source| StoreConfigError::Store {
                url: directory.display().to_string(),
                source,
            })?
            // Empty `{chantier}` directories go with their last document;
            // bytes reach the disk before an upload is reported stored.
            .with_automatic_cleanup(true)
            .with_fsync(true);
        Ok(Self::new(Arc::new(store), Path::default()))
    }

    /// The store of `DOCUMENTS_STORE_URL`, or the local filesystem under
    /// `local_dir` when it is unset. `file:///abs/dir` is the local
    /// filesystem too; cloud schemes take their credentials from `options`
    /// (`aws_*`, `azure_*`, `google_*` keys, as `object_store` names them).
    pub fn open(
        url: Option<&str>,
        local_dir: &FsPath,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, StoreConfigError> {
        let Some(url) = url.map(str::trim).filter(|url| !url.is_empty()) else {
            return Self::local(local_dir);
        };
        let parsed = Url::parse(url)?;
        if parsed.scheme() == "file" {
            let directory = parsed
                .to_file_path()
                .map_err(|()| StoreConfigError::Directory {
                    path: PathBuf::from(parsed.path()),
                    source: std::io::Error::other("not an absolute local path"),
                })?;
            return Self::local(&directory);
        }
        // The cloud clients speak TLS through rustls; the platform's choice
        // of provider is ring (installing it twice is harmless).
        #[cfg(feature = "cloud")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (store, prefix) = object_store::parse_url_opts(&parsed, options).map_err(|source| {
            StoreConfigError::Store {
                url: redacted(&parsed),
                source,
            }
        })?;
        Ok(Self::new(Arc::from(store), prefix))
    }

    fn location(&self, key: &CleStockage) -> Path {
        // The key is `{uuid}/{uuid}`: two parts with nothing to escape.
        self.prefix
            .parts()
            .chain(Path::from(key.as_str()).parts())
            .collect()
    }

    /// The keys of the objects stored before `cutoff` (for the orphan sweep).
    pub async fn keys_older_than(
        &self,
        cutoff: time::OffsetDateTime,
    ) -> Result<Vec<CleStockage>, StoreError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let skip = self.prefix.parts().count();
        let cutoff_seconds = cutoff.unix_timestamp();
        self.store
            .list(prefix)
            .map_err(unavailable)
            .try_filter_map(|meta| async move {
                if meta.last_modified.timestamp() >= cutoff_seconds {
                    return Ok(None);
                }
                let parts: Vec<String> = meta
                    .location
                    .parts()
                    .skip(skip)
                    .map(|part| part.as_ref().to_owned())
                    .collect();
                // Anything that is not a document's key is not ours to remove.
                Ok(CleStockage::parse(&parts.join("/")).ok())
            })
            .try_collect()
            .await
    }
}

/// The URL without its credentials, for error messages.
fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.set_query(None);
    shown.to_string()
}

fn unavailable(error: object_store::Error) -> StoreError {
    match error {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => StoreError::Unavailable(Box::new(other)),
    }
}

fn sha256_of(context: digest::Context) -> Result<Sha256, StoreError> {
    Sha256::parse(&hex::encode(context.finish().as_ref()))
        .map_err(|error| StoreError::Unavailable(Box::new(error)))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(
        &self,
        key: &CleStockage,
        mut body: ByteStream,
        limit: u64,
    ) -> Result<StoredBlob, StoreError> {
        let limit = limit.min(Taille::MAX);
        let location = self.location(key);
        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hasher = digest::Context::new(&digest::SHA256);
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let refused = match chunk {
                Err(error) => Some(StoreError::Body(error)),
                Ok(chunk) => {
                    size = size.saturating_add(chunk.len() as u64);
                    if size > limit {
                        Some(StoreError::TooLarge { limit })
                    } else {
                        hasher.update(&chunk);
                        // Back-pressure: wait for a part to finish before
                        // buffering more than the parts in flight.
                        if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                            Some(unavailable(error))
                        } else {
                            writer.put(chunk);
                            None
                        }
                    }
                }
            };
            if let Some(error) = refused {
                // Nothing of a refused upload is kept (its parts are dropped).
                let _ = writer.abort().await;
                return Err(error);
            }
        }
        writer.finish().await.map_err(unavailable)?;
        let taille = Taille::new(size).map_err(|error| StoreError::Unavailable(Box::new(error)))?;
        Ok(StoredBlob {
            taille,
            sha256: sha256_of(hasher)?,
        })
    }

    async fn get(&self, key: &CleStockage, range: Option<ByteRange>) -> Result<Blob, StoreError> {
        let location = self.location(key);
        // The size first, so every backend answers ranges the same way
        // (RFC 9110's rules, `ByteRange::resolve`).
        let size = self.store.head(&location).await.map_err(unavailable)?.size;
        let range = match range {
            None => 0..size,
            Some(range) => range
                .resolve(size)
                .ok_or(StoreError::InvalidRange { size })?,
        };
        let options = GetOptions {
            range: (range != (0..size)).then(|| GetRange::Bounded(range.clone())),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&location, options)
            .await
            .map_err(unavailable)?;
        let body = result
            .into_stream()
            .map_err(|error| std::io::Error::other(Box::new(error)))
            .boxed();
        Ok(Blob {
            taille_totale: size,
            range,
            body,
        })
    }

    async fn delete(&self, key: &CleStockage) -> Result<(), StoreError> {
        match self.store.delete(&self.location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_error_messages() {
        let url = Url::parse("s3://key:secret@bucket/docs?token=abc").unwrap();
        let shown = redacted(&url);
        assert!(!shown.contains("secret") && !shown.contains("abc") && !shown.contains("key"));
        assert!(shown.contains("bucket/docs"));
    }
}
