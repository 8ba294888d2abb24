//! The use cases on the real adapters: an upload streams into the local
//! store and its row and event commit together; the download returns the
//! same bytes, whole or by range; a delete removes row and bytes.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use hub_documents_application::input::{DossierInput, UploadInput};
use hub_documents_application::ports::{ByteRange, Directory};
use hub_documents_application::use_cases::{
    CreateDossier, DeleteDocument, DocumentPorts, DocumentsError, DownloadDocument, UploadDocument,
};
use hub_documents_domain::{ChantierInfo, UserInfo};
use hub_documents_infrastructure::{DieselDocumentRepository, ObjectBlobStore};
use hub_kernel::{Actor, CommandContext, Role, StorageError, SystemClock};
use hub_platform_test_db::TestDatabase;
use ring::digest;
use uuid::Uuid;

/// One open chantier whose chef is `chef`.
struct OneChantier {
    chantier_id: Uuid,
    chef: Uuid,
}

#[async_trait]
impl Directory for OneChantier {
    async fn chantier(&self, id: Uuid) -> Result<Option<ChantierInfo>, StorageError> {
        Ok((id == self.chantier_id).then(|| ChantierInfo {
            chantier_id: id,
            ferme: false,
            supprime: false,
            conducteur_ids: vec![],
            chef_chantier_ids: vec![self.chef],
        }))
    }
    async fn is_assigned(&self, _: Uuid, _: Uuid) -> Result<bool, StorageError> {
        Ok(false)
    }
    async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, StorageError> {
        Ok(Some(UserInfo {
            user_id: id,
            role: Some(Role::Compagnon),
            is_active: true,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_downloaded_back_identical_and_deleted_whole() {
    let test_db = TestDatabase::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (chantier_id, chef) = (Uuid::now_v7(), Uuid::now_v7());
    let ports = DocumentPorts {
        documents: Arc::new(DieselDocumentRepository::new(test_db.database().clone())),
        directory: Arc::new(OneChantier { chantier_id, chef }),
        store: Arc::new(ObjectBlobStore::local(dir.path()).unwrap()),
        clock: Arc::new(SystemClock),
        upload_limit: 20 * 1024 * 1024,
    };
    let as_chef = CommandContext::user(
        Actor {
            user_id: chef,
            role: Role::ChefChantier,
        },
        None,
    );
    let admin = CommandContext::user(
        Actor {
            user_id: Uuid::now_v7(),
            role: Role::Admin,
        },
        None,
    );
    let plans = CreateDossier::new(ports.clone())
        .execute(
            &as_chef,
            DossierInput {
                chantier_id,
                nom: "Plans".into(),
                ..DossierInput::default()
            },
        )
        .await
        .unwrap();

    let bytes: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(256 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let input = UploadInput {
        dossier_id: plans.id(),
        chantier_id,
        filename: Some("../../etc/passwd".into()),
        niveau_acces: None,
        description: None,
    };
    let document = UploadDocument::new(ports.clone())
        .execute(&as_chef, input, stream::iter(chunks).boxed())
        .await
        .unwrap();
    assert_eq!(document.nom().as_str(), "../../etc/passwd");
    assert_eq!(document.taille().octets(), bytes.len() as u64);
    assert_eq!(
        document.sha256().as_str(),
        hex::encode(digest::digest(&digest::SHA256, &bytes).as_ref())
    );
    // The bytes are under the ids, and nothing escaped the store.
    assert!(dir.path().join(document.cle().as_str()).is_file());

    let download = DownloadDocument::new(ports.clone());
    let (_, blob) = download
        .execute(&as_chef, document.id(), None)
        .await
        .unwrap();
    let whole: Vec<u8> = blob
        .body
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap();
    assert_eq!(whole, bytes);
    let range = ByteRange::Bounded {
        start: 1_000_000,
        end: 1_000_099,
    };
    let (_, part) = download
        .execute(&as_chef, document.id(), Some(range))
        .await
        .unwrap();
    let slice: Vec<u8> = part
        .body
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap();
    assert_eq!(slice, &bytes[1_000_000..1_000_100]);

    let suppression = DeleteDocument::new(ports.clone())
        .execute(&admin, document.id())
        .await
        .unwrap();
    assert!(suppression.objets_restants.is_empty());
    assert!(!dir.path().join(document.cle().as_str()).exists());
    let gone = download
        .execute(&admin, document.id(), None)
        .await
        .unwrap_err();
    assert!(matches!(gone, DocumentsError::DocumentNotFound), "{gone:?}");
}
