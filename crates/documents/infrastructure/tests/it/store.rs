//! `ObjectBlobStore` on a real directory: what is stored, measured and
//! refused, and that nothing is left behind by a refused upload.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use hub_documents_application::ports::{BlobStore, ByteRange, ByteStream, StoreError};
use hub_documents_domain::CleStockage;
use hub_documents_infrastructure::{ObjectBlobStore, PART_SIZE};
use ring::digest;
use uuid::Uuid;

const MIB: usize = 1024 * 1024;

/// Deterministic, non-repeating-looking bytes.
fn content(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state & 0xff) as u8
        })
        .collect()
}

/// `bytes` as a stream of `chunk`-sized pieces, like a request body.
fn body(bytes: &[u8], chunk: usize) -> ByteStream {
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(chunk.max(1))
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    stream::iter(chunks).boxed()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn key() -> CleStockage {
    CleStockage::pour_document(Uuid::now_v7(), Uuid::now_v7())
}

/// Every regular file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    found.sort();
    found
}

async fn read_all(blob_body: ByteStream) -> Vec<u8> {
    blob_body
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap()
}

fn store() -> (tempfile::TempDir, ObjectBlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_multi_part_upload_is_measured_hashed_and_read_back_whole_or_in_ranges() {
    let (dir, store) = store();
    // More than two parts, not a multiple of the part size, odd chunks.
    let bytes = content(2 * PART_SIZE + 123_457);
    let key = key();

    let stored = store
        .put(&key, body(&bytes, 64 * 1024 + 7), 100 * MIB as u64)
        .await
        .unwrap();

    assert_eq!(stored.taille.octets(), bytes.len() as u64);
    assert_eq!(stored.sha256.as_str(), sha256_hex(&bytes));
    // Exactly one file, at the key: `{chantier}/{document}`.
    assert_eq!(files(dir.path()), [PathBuf::from(key.as_str())]);

    let whole = store.get(&key, None).await.unwrap();
    assert_eq!(whole.taille_totale, bytes.len() as u64);
    assert_eq!(whole.range, 0..bytes.len() as u64);
    assert_eq!(read_all(whole.body).await, bytes);

    let size = bytes.len() as u64;
    let cases = [
        (ByteRange::Bounded { start: 10, end: 19 }, 10..20),
        (
            ByteRange::Bounded {
                start: size - 5,
                end: size + 100,
            },
            size - 5..size,
        ),
        (ByteRange::From(PART_SIZE as u64), PART_SIZE as u64..size),
        (ByteRange::Suffix(1000), size - 1000..size),
    ];
    for (range, expected) in cases {
        let part = store.get(&key, Some(range)).await.unwrap();
        assert_eq!(part.range, expected, "{range:?}");
        assert_eq!(part.taille_totale, size);
        let start = usize::try_from(expected.start).unwrap();
        let end = usize::try_from(expected.end).unwrap();
        assert_eq!(read_all(part.body).await, &bytes[start..end], "{range:?}");
    }
    let error = store
        .get(&key, Some(ByteRange::From(size)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidRange { size: s } if s == size),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_upload_past_the_limit_is_refused_while_streaming_and_leaves_nothing() {
    let (dir, store) = store();
    let bytes = content(3 * PART_SIZE);
    let limit = (PART_SIZE + 10) as u64;
    // The body would go on for ever: the refusal must come from the count,
    // not from reaching its end.
    let endless = stream::iter(
        bytes
            .chunks(MIB)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    )
    .chain(stream::repeat_with(|| Ok(Bytes::from(vec![0u8; MIB]))))
    .boxed();
    let error = store.put(&key(), endless, limit).await.unwrap_err();
    assert!(
        matches!(error, StoreError::TooLarge { limit: l } if l == limit),
        "{error:?}"
    );
    // Exactly the limit is accepted.
    let exact = content(usize::try_from(limit).unwrap());
    let key = key();
    let stored = store.put(&key, body(&exact, MIB), limit).await.unwrap();
    assert_eq!(stored.taille.octets(), limit);
    // Only the accepted object remains: no part, no staging file.
    assert_eq!(files(dir.path()), [PathBuf::from(key.as_str())]);
}

#[tokio::test]
async fn an_interrupted_body_leaves_nothing() {
    let (dir, store) = store();
    let broken = stream::iter(vec![
        Ok(Bytes::from(content(PART_SIZE + 1))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client gone",
        )),
    ])
    .boxed();
    let error = store.put(&key(), broken, u64::MAX).await.unwrap_err();
    assert!(matches!(error, StoreError::Body(_)), "{error:?}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

#[tokio::test]
async fn an_empty_file_is_a_document_too() {
    let (_dir, store) = store();
    let key = key();
    let stored = store.put(&key, stream::empty().boxed(), 10).await.unwrap();
    assert_eq!(stored.taille.octets(), 0);
    assert_eq!(
        stored.sha256.as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let whole = store.get(&key, None).await.unwrap();
    assert_eq!(whole.taille_totale, 0);
    assert!(read_all(whole.body).await.is_empty());
}

#[tokio::test]
async fn delete_removes_the_object_and_tolerates_a_missing_one() {
    let (dir, store) = store();
    let key = key();
    store.put(&key, body(b"plan", 2), 100).await.unwrap();
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(files(dir.path()).is_empty());
    let error = store.get(&key, None).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error:?}");
}

#[tokio::test]
async fn the_sweep_sees_old_document_keys_only() {
    let (dir, store) = store();
    let key = key();
    store.put(&key, body(b"orphan?", 3), 100).await.unwrap();
    // Something else in the directory is never taken for a document.
    std::fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    assert_eq!(store.keys_older_than(later).await.unwrap(), [key]);
    let earlier = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert!(store.keys_older_than(earlier).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_store_opens_from_its_configuration() {
    let data = tempfile::tempdir().unwrap();
    // Unset: the local directory, created.
    let local = data.path().join("documents");
    let store = ObjectBlobStore::open(None, &local, []).unwrap();
    let key = key();
    store.put(&key, body(b"x", 1), 10).await.unwrap();
    assert!(local.join(key.as_str()).is_file());

    let elsewhere = tempfile::tempdir().unwrap();
    let url = format!("file://{}/store", elsewhere.path().display());
    let store = ObjectBlobStore::open(Some(&url), data.path(), []).unwrap();
    store.put(&key, body(b"y", 1), 10).await.unwrap();
    assert!(elsewhere.path().join("store").join(key.as_str()).is_file());

    assert!(ObjectBlobStore::open(Some("not a url"), data.path(), []).is_err());
    assert!(ObjectBlobStore::open(Some("ftp://example.org/x"), data.path(), []).is_err());
}

/// Without the `cloud` feature only local stores can be configured, and
/// the error says so at start-up rather than at the first upload.
#[cfg(not(feature = "cloud"))]
#[test]
fn cloud_urls_need_the_cloud_feature() {
    let data = tempfile::tempdir().unwrap();
    for url in [
        "s3://bucket/docs",
        "az://container/docs",
        "gs://bucket/docs",
    ] {
        assert!(
            ObjectBlobStore::open(Some(url), data.path(), []).is_err(),
            "{url}"
        );
    }
}

/// With it, cloud URLs open a client (no request is made until used).
#[cfg(feature = "cloud")]
#[test]
fn cloud_urls_open_their_store() {
    let data = tempfile::tempdir().unwrap();
    let options = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let s3 = options(&[
        ("aws_region", "eu-west-3"),
        ("aws_endpoint", "http://127.0.0.1:9000"),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "minio"),
        ("aws_secret_access_key", "minio-secret"),
    ]);
    ObjectBlobStore::open(Some("s3://documents/hub"), data.path(), s3).unwrap();
    let azure = options(&[
        ("azure_storage_account_name", "hub"),
        ("azure_storage_account_key", "aHVi"),
    ]);
    ObjectBlobStore::open(Some("az://documents/hub"), data.path(), azure).unwrap();
}
