use super::*;
use crate::ports::{MockBlobStore, MockDirectory, MockDocumentRepository, StoredBlob};
use futures::StreamExt;
use hub_documents_domain::{
    DossierType, NiveauAcces, NomDocument, NomDossier, Sha256, StoredAutorisation, Taille,
    TypeAutorisation, UserInfo,
};
use hub_kernel::{FixedClock, Role};
use mockall::Sequence;
use serde_json::json;
use std::sync::Mutex;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);
const CHANTIER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
const CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);
const CHEF: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003);
const COMPAGNON: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0004);
const STRANGER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0005);
const ADMIN: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0006);
const INACTIVE: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0007);
const LIMIT: u64 = 100 * 1024 * 1024;

fn context_of(user_id: Uuid, role: Role) -> CommandContext {
    CommandContext::user(Actor { user_id, role }, Some("req-17".to_owned()))
}

fn chef() -> CommandContext {
    context_of(CHEF, Role::ChefChantier)
}

fn admin() -> CommandContext {
    context_of(ADMIN, Role::Admin)
}

/// A directory knowing the chantier (CONDUCTEUR and CHEF its responsables),
/// where COMPAGNON is assigned and every user but INACTIVE is active.
fn directory(ferme: bool) -> MockDirectory {
    let mut directory = MockDirectory::new();
    directory.expect_chantier().returning(move |id| {
        Ok((id == CHANTIER).then(|| ChantierInfo {
            chantier_id: CHANTIER,
            ferme,
            supprime: false,
            conducteur_ids: vec![CONDUCTEUR],
            chef_chantier_ids: vec![CHEF],
        }))
    });
    directory
        .expect_is_assigned()
        .returning(|user, _| Ok(user == COMPAGNON));
    directory.expect_user().returning(|id| {
        Ok(Some(UserInfo {
            user_id: id,
            role: Some(Role::Compagnon),
            is_active: id != INACTIVE,
        }))
    });
    directory
}

fn ports(documents: MockDocumentRepository, store: MockBlobStore, ferme: bool) -> DocumentPorts {
    DocumentPorts {
        documents: Arc::new(documents),
        directory: Arc::new(directory(ferme)),
        store: Arc::new(store),
        clock: Arc::new(FixedClock(NOW)),
        upload_limit: LIMIT,
    }
}

fn dossier(niveau: NiveauAcces) -> Dossier {
    let nouveau = NouveauDossier {
        chantier_id: CHANTIER,
        nom: NomDossier::parse("Plans").unwrap(),
        type_dossier: DossierType::Plans,
        niveau_acces: niveau,
    };
    let at_root = Emplacement {
        parent: None,
        noms_voisins: &[],
    };
    Dossier::create(nouveau, at_root, NOW).unwrap().0
}

fn child_of(parent: &Dossier, nom: &str) -> Dossier {
    let nouveau = NouveauDossier {
        chantier_id: CHANTIER,
        nom: NomDossier::parse(nom).unwrap(),
        type_dossier: DossierType::Custom,
        niveau_acces: NiveauAcces::Compagnon,
    };
    let under = Emplacement {
        parent: Some(Parent {
            dossier: parent,
            ancetres: &[],
        }),
        noms_voisins: &[],
    };
    Dossier::create(nouveau, under, NOW).unwrap().0
}

fn sha() -> Sha256 {
    Sha256::parse(&"ab".repeat(32)).unwrap()
}

fn document(dossier: &Dossier, niveau: Option<NiveauAcces>) -> Document {
    let upload = Televersement::prepare(dossier, CHANTIER, Some("plan.pdf"), niveau, None).unwrap();
    let nom = upload.nom().clone();
    Document::upload(upload, nom, Taille::new(4096).unwrap(), sha(), CHEF, NOW).0
}

/// A repository that knows `dossiers` and `documents` and holds no autorisation.
fn knowing(dossiers: Vec<Dossier>, documents: Vec<Document>) -> MockDocumentRepository {
    let mut repository = MockDocumentRepository::new();
    repository
        .expect_find_dossier()
        .returning(move |id| Ok(dossiers.iter().find(|dossier| dossier.id() == id).cloned()));
    repository.expect_find_document().returning(move |id| {
        Ok(documents
            .iter()
            .find(|document| document.id() == id)
            .cloned())
    });
    repository
        .expect_autorisations_of()
        .returning(|_, _| Ok(Vec::new()));
    repository
}

fn body(chunks: &[&'static [u8]]) -> ByteStream {
    let chunks: Vec<_> = chunks
        .iter()
        .map(|chunk| Ok(bytes::Bytes::from_static(chunk)))
        .collect();
    futures::stream::iter(chunks).boxed()
}

fn upload_input(dossier: &Dossier, filename: &str) -> UploadInput {
    UploadInput {
        dossier_id: dossier.id(),
        chantier_id: CHANTIER,
        filename: Some(filename.to_owned()),
        niveau_acces: None,
        description: None,
    }
}

type Captured = Arc<Mutex<Vec<EventEnvelope>>>;

fn capture(events: &[EventEnvelope], into: &Captured) {
    into.lock().unwrap().extend(events.iter().cloned());
}

fn types(captured: &Captured) -> Vec<String> {
    captured
        .lock()
        .unwrap()
        .iter()
        .map(|envelope| envelope.event_type.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn an_upload_streams_the_bytes_then_inserts_the_row_with_its_event() {
    let plans = dossier(NiveauAcces::Compagnon);
    let mut repository = knowing(vec![plans.clone()], vec![]);
    repository
        .expect_document_names()
        .returning(|_, _| Ok(vec![NomDocument::parse("Plan.PDF").unwrap()]));
    let captured = Captured::default();
    let sink = captured.clone();
    repository
        .expect_insert_document()
        .times(1)
        .returning(move |_, events| {
            capture(events, &sink);
            Ok(())
        });
    let mut store = MockBlobStore::new();
    store
        .expect_put()
        .times(1)
        .withf(|key, _, limit| key.as_str().starts_with(&CHANTIER.to_string()) && *limit == LIMIT)
        .returning(|_, body, _| {
            // The adapter consumes the stream; the mock only checks it is there.
            drop(body);
            Ok(StoredBlob {
                taille: Taille::new(11).unwrap(),
                sha256: sha(),
            })
        });
    store.expect_delete().never();
    let upload = UploadDocument::new(ports(repository, store, false));

    let document = upload
        .execute(
            &chef(),
            upload_input(&plans, "Plan.PDF"),
            body(&[b"hello ", b"world"]),
        )
        .await
        .unwrap();

    assert_eq!(document.nom().as_str(), "Plan_1.PDF");
    assert_eq!(document.nom_original().as_str(), "Plan.PDF");
    assert_eq!(
        document.cle(),
        &CleStockage::pour_document(CHANTIER, document.id())
    );
    let events = captured.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let envelope = &events[0];
    assert_eq!(envelope.event_type.as_str(), "document.uploaded");
    assert_eq!(envelope.aggregate_id, document.id().to_string());
    assert_eq!(envelope.actor_id, Some(CHEF));
    assert_eq!(envelope.correlation_id.as_deref(), Some("req-17"));
    assert_eq!(
        envelope.data,
        json!({
            "document_id": document.id(),
            "chantier_id": CHANTIER,
            "dossier_id": plans.id(),
            "nom": "Plan_1.PDF",
            "type_document": "pdf",
            "mime_type": "application/pdf",
            "taille_octets": 11,
            "sha256": sha().as_str(),
            "uploaded_by": CHEF,
        })
    );
}

#[tokio::test]
async fn refused_uploads_never_reach_the_store() {
    let plans = dossier(NiveauAcces::Compagnon);
    let restricted = dossier(NiveauAcces::Conducteur);
    let cases: Vec<(CommandContext, UploadInput, &str)> = vec![
        (chef(), upload_input(&plans, "plan.dwg"), "extension"),
        (
            context_of(COMPAGNON, Role::Compagnon),
            upload_input(&plans, "a.pdf"),
            "forbidden",
        ),
        (
            context_of(STRANGER, Role::Compagnon),
            upload_input(&plans, "a.pdf"),
            "not found",
        ),
        (chef(), upload_input(&restricted, "a.pdf"), "not found"),
        (
            chef(),
            UploadInput {
                chantier_id: Uuid::now_v7(),
                ..upload_input(&plans, "a.pdf")
            },
            "other chantier",
        ),
        (
            chef(),
            UploadInput {
                niveau_acces: Some("patron".into()),
                ..upload_input(&plans, "a.pdf")
            },
            "invalid",
        ),
    ];
    for (context, input, case) in cases {
        let mut repository = knowing(vec![plans.clone(), restricted.clone()], vec![]);
        repository.expect_insert_document().never();
        let mut store = MockBlobStore::new();
        store.expect_put().never();
        let upload = UploadDocument::new(ports(repository, store, false));
        let error = upload
            .execute(&context, input, body(&[b"x"]))
            .await
            .unwrap_err();
        let expected = match case {
            "extension" => matches!(
                error,
                DocumentsError::Document(DocumentError::ExtensionRefusee(_))
            ),
            "forbidden" => matches!(error, DocumentsError::Forbidden(_)),
            "not found" => matches!(error, DocumentsError::DossierNotFound),
            "other chantier" => matches!(
                error,
                DocumentsError::Document(DocumentError::AutreChantier)
            ),
            _ => matches!(error, DocumentsError::Invalid(_)),
        };
        assert!(expected, "{case}: {error:?}");
    }

    // A closed chantier keeps its documents read-only.
    let mut store = MockBlobStore::new();
    store.expect_put().never();
    let upload = UploadDocument::new(ports(knowing(vec![plans.clone()], vec![]), store, true));
    let error = upload
        .execute(&chef(), upload_input(&plans, "a.pdf"), body(&[b"x"]))
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::ChantierFerme), "{error:?}");
}

#[tokio::test]
async fn an_upload_past_the_limit_stores_nothing() {
    let plans = dossier(NiveauAcces::Compagnon);
    let mut repository = knowing(vec![plans.clone()], vec![]);
    repository.expect_insert_document().never();
    let mut store = MockBlobStore::new();
    store
        .expect_put()
        .returning(|_, _, limit| Err(StoreError::TooLarge { limit }));
    store.expect_delete().never();
    let upload = UploadDocument::new(ports(repository, store, false));
    let error = upload
        .execute(&chef(), upload_input(&plans, "a.pdf"), body(&[b"x"]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::TooLarge { limit: LIMIT }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failed_insert_removes_the_stored_bytes_and_a_name_race_retries() {
    let plans = dossier(NiveauAcces::Compagnon);
    let stored = || {
        Ok(StoredBlob {
            taille: Taille::new(1).unwrap(),
            sha256: sha(),
        })
    };

    // The row cannot be written: the object goes away again.
    let mut repository = knowing(vec![plans.clone()], vec![]);
    repository
        .expect_document_names()
        .returning(|_, _| Ok(vec![]));
    repository.expect_insert_document().returning(|_, _| {
        Err(RepositoryError::Storage(StorageError::new(
            std::io::Error::other("down"),
        )))
    });
    let mut store = MockBlobStore::new();
    let put_key: Arc<Mutex<Option<CleStockage>>> = Arc::default();
    let seen = put_key.clone();
    store.expect_put().returning(move |key, _, _| {
        *seen.lock().unwrap() = Some(key.clone());
        stored()
    });
    let deleted_key = put_key.clone();
    store
        .expect_delete()
        .times(1)
        .withf(move |key| Some(key) == deleted_key.lock().unwrap().as_ref())
        .returning(|_| Ok(()));
    let upload = UploadDocument::new(ports(repository, store, false));
    let error = upload
        .execute(&chef(), upload_input(&plans, "a.pdf"), body(&[b"x"]))
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Unavailable(_)), "{error:?}");

    // A concurrent upload took the name between the read and the insert.
    let mut repository = knowing(vec![plans.clone()], vec![]);
    let mut sequence = Sequence::new();
    repository
        .expect_document_names()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_, _| Ok(vec![]));
    repository
        .expect_insert_document()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_, _| Err(RepositoryError::DuplicateNom));
    repository
        .expect_document_names()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_, _| Ok(vec![NomDocument::parse("a.pdf").unwrap()]));
    repository
        .expect_insert_document()
        .times(1)
        .in_sequence(&mut sequence)
        .withf(|document, _| document.nom().as_str() == "a_1.pdf")
        .returning(|_, _| Ok(()));
    let mut store = MockBlobStore::new();
    store.expect_put().returning(move |_, _, _| stored());
    store.expect_delete().never();
    let upload = UploadDocument::new(ports(repository, store, false));
    let document = upload
        .execute(&chef(), upload_input(&plans, "a.pdf"), body(&[b"x"]))
        .await
        .unwrap();
    assert_eq!(document.nom().as_str(), "a_1.pdf");
}

#[tokio::test]
async fn a_delete_commits_the_row_and_event_then_removes_the_bytes() {
    let plans = dossier(NiveauAcces::Compagnon);
    let doc = document(&plans, None);
    let mut sequence = Sequence::new();
    let mut repository = knowing(vec![plans.clone()], vec![doc.clone()]);
    let captured = Captured::default();
    let sink = captured.clone();
    let id = doc.id();
    repository
        .expect_delete_tree()
        .times(1)
        .in_sequence(&mut sequence)
        .withf(move |dossiers, documents, _| dossiers.is_empty() && documents == [id])
        .returning(move |_, _, events| {
            capture(events, &sink);
            Ok(())
        });
    let mut store = MockBlobStore::new();
    let key = doc.cle().clone();
    store
        .expect_delete()
        .times(1)
        .in_sequence(&mut sequence)
        .withf(move |deleted| *deleted == key)
        .returning(|_| Err(StoreError::Unavailable("disk gone".into())));
    let delete = DeleteDocument::new(ports(repository, store, false));
    let suppression = delete.execute(&admin(), doc.id()).await.unwrap();
    // The row is gone whatever the store says; what it kept is reported.
    assert_eq!(suppression.objets_restants.len(), 1);
    let events = captured.lock().unwrap().clone();
    assert_eq!(events[0].event_type.as_str(), "document.deleted");
    assert_eq!(events[0].data["taille_octets"], 4096);
    assert_eq!(events[0].data["sha256"], sha().as_str());
    assert_eq!(events[0].data["deleted_by"], json!(ADMIN));
}

#[tokio::test]
async fn only_admins_and_admin_holders_delete_documents() {
    let plans = dossier(NiveauAcces::Compagnon);
    let doc = document(&plans, None);
    let mut repository = knowing(vec![plans.clone()], vec![doc.clone()]);
    repository.expect_delete_tree().never();
    let mut store = MockBlobStore::new();
    store.expect_delete().never();
    let delete = DeleteDocument::new(ports(repository, store, false));
    let error = delete.execute(&chef(), doc.id()).await.unwrap_err();
    assert!(matches!(error, DocumentsError::Forbidden(_)), "{error:?}");
    let error = delete
        .execute(&context_of(STRANGER, Role::Compagnon), doc.id())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::DocumentNotFound),
        "{error:?}"
    );

    // A compagnon holding an `admin` autorisation on the dossier may.
    let grant = Autorisation::restore(StoredAutorisation {
        id: Uuid::now_v7(),
        user_id: COMPAGNON,
        type_autorisation: TypeAutorisation::Admin,
        cible: Cible::Dossier(plans.id()),
        chantier_id: CHANTIER,
        accorde_par: CONDUCTEUR,
        created_at: NOW,
        expire_at: None,
    });
    let mut repository = MockDocumentRepository::new();
    let (folder, file) = (plans.clone(), doc.clone());
    repository
        .expect_find_dossier()
        .returning(move |_| Ok(Some(folder.clone())));
    repository
        .expect_find_document()
        .returning(move |_| Ok(Some(file.clone())));
    repository
        .expect_autorisations_of()
        .returning(move |_, _| Ok(vec![grant.clone()]));
    repository
        .expect_delete_tree()
        .times(1)
        .returning(|_, _, _| Ok(()));
    let mut store = MockBlobStore::new();
    store.expect_delete().times(1).returning(|_| Ok(()));
    let delete = DeleteDocument::new(ports(repository, store, false));
    let suppression = delete
        .execute(&context_of(COMPAGNON, Role::Compagnon), doc.id())
        .await
        .unwrap();
    assert!(suppression.objets_restants.is_empty());
}

#[tokio::test]
async fn downloads_need_read_access_and_a_satisfiable_range() {
    let plans = dossier(NiveauAcces::Compagnon);
    let restricted = document(&plans, Some(NiveauAcces::Conducteur));
    let open = document(&plans, None);
    let mut store = MockBlobStore::new();
    store
        .expect_get()
        .times(1)
        .withf(|_, range| *range == Some(ByteRange::From(4000)))
        .returning(|_, _| {
            Ok(Blob {
                taille_totale: 4096,
                range: 4000..4096,
                body: futures::stream::empty().boxed(),
            })
        });
    let repository = knowing(vec![plans.clone()], vec![restricted.clone(), open.clone()]);
    let download = DownloadDocument::new(ports(repository, store, false));
    let compagnon = context_of(COMPAGNON, Role::Compagnon);

    let error = download
        .execute(&compagnon, restricted.id(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::DocumentNotFound),
        "{error:?}"
    );
    let error = download
        .execute(&compagnon, open.id(), Some(ByteRange::From(4096)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::RangeNotSatisfiable { size: 4096 }),
        "{error:?}"
    );
    let (document, blob) = download
        .execute(&compagnon, open.id(), Some(ByteRange::From(4000)))
        .await
        .unwrap();
    assert_eq!(document.id(), open.id());
    assert_eq!((blob.taille_totale, blob.range), (4096, 4000..4096));
}

#[tokio::test]
async fn dossiers_are_created_with_unique_names_in_open_chantiers() {
    let plans = dossier(NiveauAcces::Compagnon);
    let input = |nom: &str, parent_id| DossierInput {
        chantier_id: CHANTIER,
        nom: nom.into(),
        type_dossier: None,
        niveau_acces: Some("chef_chantier".into()),
        parent_id,
    };
    let mut repository = knowing(vec![plans.clone()], vec![]);
    repository.expect_ancestors().returning(|_| Ok(vec![]));
    repository
        .expect_dossier_names()
        .returning(|_, _, _| Ok(vec![NomDossier::parse("RDC").unwrap()]));
    let captured = Captured::default();
    let sink = captured.clone();
    repository
        .expect_insert_dossiers()
        .times(1)
        .returning(move |_, events| {
            capture(events, &sink);
            Ok(())
        });
    let create = CreateDossier::new(ports(repository, MockBlobStore::new(), false));

    let error = create
        .execute(&chef(), input("RDC", Some(plans.id())))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::Dossier(DossierError::NomDejaPris(_))),
        "{error:?}"
    );
    let error = create
        .execute(&context_of(COMPAGNON, Role::Compagnon), input("R+1", None))
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Forbidden(_)), "{error:?}");
    let error = create
        .execute(
            &context_of(STRANGER, Role::ChefChantier),
            input("R+1", None),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Invalid(_)), "{error:?}");

    let created = create
        .execute(&chef(), input("R+1", Some(plans.id())))
        .await
        .unwrap();
    assert_eq!(created.parent_id(), Some(plans.id()));
    assert_eq!(types(&captured), ["dossier.created"]);
    assert_eq!(
        captured.lock().unwrap()[0].data["niveau_acces"],
        "chef_chantier"
    );
}

#[tokio::test]
async fn a_dossier_cannot_be_moved_under_its_own_descendant() {
    let top = dossier(NiveauAcces::Compagnon);
    let child = child_of(&top, "Lot A");
    let mut repository = knowing(vec![top.clone(), child.clone()], vec![]);
    let top_id = top.id();
    repository
        .expect_ancestors()
        .returning(move |_| Ok(vec![top_id]));
    repository
        .expect_dossier_names()
        .returning(|_, _, _| Ok(vec![]));
    repository.expect_update_dossier().never();
    let update = UpdateDossier::new(ports(repository, MockBlobStore::new(), false));
    let input = DossierUpdateInput {
        parent_id: Some(Some(child.id())),
        ..DossierUpdateInput::default()
    };
    let error = update.execute(&chef(), top.id(), input).await.unwrap_err();
    assert!(
        matches!(error, DocumentsError::Dossier(DossierError::Cycle)),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_standard_tree_adds_what_is_missing_with_one_event_each() {
    let mut repository = MockDocumentRepository::new();
    repository
        .expect_dossier_types()
        .returning(|_| Ok(vec![DossierType::Plans, DossierType::Custom]));
    let captured = Captured::default();
    let sink = captured.clone();
    repository
        .expect_insert_dossiers()
        .times(1)
        .withf(|dossiers, events| dossiers.len() == 6 && events.len() == 6)
        .returning(move |_, events| {
            capture(events, &sink);
            Ok(())
        });
    let init = InitArborescence::new(ports(repository, MockBlobStore::new(), false));
    let error = init.execute(&chef(), CHANTIER).await.unwrap_err();
    assert!(matches!(error, DocumentsError::Forbidden(_)), "{error:?}");
    let created = init
        .execute(&context_of(CONDUCTEUR, Role::Conducteur), CHANTIER)
        .await
        .unwrap();
    assert_eq!(created[0].type_dossier(), DossierType::Administratif);
    assert_eq!(types(&captured), vec!["dossier.created"; 6]);
}

#[tokio::test]
async fn a_forced_delete_removes_the_subtree_with_an_event_each() {
    let top = dossier(NiveauAcces::Compagnon);
    let child = child_of(&top, "Lot A");
    let in_child = document(&child, None);
    let subtree = (vec![child.clone(), top.clone()], vec![in_child.clone()]);
    let mut repository = knowing(vec![top.clone(), child.clone()], vec![]);
    repository
        .expect_subtree()
        .returning(move |_| Ok(subtree.clone()));
    let captured = Captured::default();
    let sink = captured.clone();
    repository
        .expect_delete_tree()
        .times(1)
        .returning(move |dossiers, documents, events| {
            assert_eq!(dossiers.len(), 2);
            assert_eq!(documents.len(), 1);
            capture(events, &sink);
            Ok(())
        });
    let mut store = MockBlobStore::new();
    let key = in_child.cle().clone();
    store
        .expect_delete()
        .times(1)
        .withf(move |deleted| *deleted == key)
        .returning(|_| Ok(()));
    let delete = DeleteDossier::new(ports(repository, store, false));

    let error = delete.execute(&admin(), top.id(), false).await.unwrap_err();
    assert!(
        matches!(
            error,
            DocumentsError::Dossier(DossierError::ContientSousDossiers)
        ),
        "{error:?}"
    );
    let error = delete
        .execute(&context_of(CONDUCTEUR, Role::Conducteur), top.id(), true)
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Forbidden(_)), "{error:?}");
    delete.execute(&admin(), top.id(), true).await.unwrap();
    assert_eq!(
        types(&captured),
        ["document.deleted", "dossier.deleted", "dossier.deleted"]
    );
}

#[tokio::test]
async fn autorisations_are_granted_by_the_chantiers_conducteur_to_active_users() {
    let plans = dossier(NiveauAcces::Conducteur);
    let expired = Autorisation::restore(StoredAutorisation {
        id: Uuid::now_v7(),
        user_id: COMPAGNON,
        type_autorisation: TypeAutorisation::Lecture,
        cible: Cible::Dossier(plans.id()),
        chantier_id: CHANTIER,
        accorde_par: CONDUCTEUR,
        created_at: NOW - time::Duration::days(30),
        expire_at: Some(NOW - time::Duration::days(1)),
    });
    let mut repository = MockDocumentRepository::new();
    let folder = plans.clone();
    repository
        .expect_find_dossier()
        .returning(move |_| Ok(Some(folder.clone())));
    repository
        .expect_autorisations_of()
        .returning(move |user, _| {
            Ok(if user == COMPAGNON {
                vec![expired.clone()]
            } else {
                vec![]
            })
        });
    let captured = Captured::default();
    let sink = captured.clone();
    repository
        .expect_insert_autorisation()
        .times(1)
        .returning(move |_, events| {
            capture(events, &sink);
            Ok(())
        });
    let grant = GrantAutorisation::new(ports(repository, MockBlobStore::new(), false));
    let input = |user_id| AutorisationInput {
        user_id,
        type_autorisation: "lecture".into(),
        dossier_id: Some(plans.id()),
        document_id: None,
        expire_at: None,
    };
    let conducteur = context_of(CONDUCTEUR, Role::Conducteur);

    // A chef does not even see a conducteur-level dossier.
    let error = grant.execute(&chef(), input(COMPAGNON)).await.unwrap_err();
    assert!(
        matches!(error, DocumentsError::DossierNotFound),
        "{error:?}"
    );
    // Another chantier's conducteur sees it but does not manage it.
    let error = grant
        .execute(&context_of(STRANGER, Role::Conducteur), input(COMPAGNON))
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Forbidden(_)), "{error:?}");
    let error = grant
        .execute(&conducteur, input(INACTIVE))
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Invalid(_)), "{error:?}");

    // The expired autorisation does not block a new one.
    let autorisation = grant.execute(&conducteur, input(COMPAGNON)).await.unwrap();
    assert_eq!(autorisation.accorde_par(), CONDUCTEUR);
    let events = captured.lock().unwrap().clone();
    assert_eq!(
        events[0].event_type.as_str(),
        "document_autorisation.granted"
    );
    assert_eq!(
        events[0].data,
        json!({
            "autorisation_id": autorisation.id(),
            "chantier_id": CHANTIER,
            "user_id": COMPAGNON,
            "type_autorisation": "lecture",
            "dossier_id": plans.id(),
            "document_id": null,
            "accorde_par": CONDUCTEUR,
            "expire_at": null,
        })
    );
}

#[tokio::test]
async fn listings_show_only_what_the_actor_may_see() {
    let open = dossier(NiveauAcces::Compagnon);
    let restricted = dossier(NiveauAcces::Conducteur);
    let mut repository = knowing(vec![open.clone(), restricted.clone()], vec![]);
    let both = vec![open.clone(), restricted.clone()];
    repository
        .expect_list_dossiers()
        .returning(move |_, _| Ok(both.clone()));
    let captured: Arc<Mutex<Option<DocumentFilter>>> = Arc::default();
    let sink = captured.clone();
    repository
        .expect_list_documents()
        .returning(move |filter, _| {
            *sink.lock().unwrap() = Some(filter.clone());
            Ok((Vec::new(), 0))
        });
    let ports = ports(repository, MockBlobStore::new(), false);
    let compagnon = context_of(COMPAGNON, Role::Compagnon);

    let roots = ListDossiers::new(ports.clone())
        .execute(&compagnon, CHANTIER, None)
        .await
        .unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].0.id(), open.id());
    let conducteur = context_of(CONDUCTEUR, Role::Conducteur);
    let all = ListDossiers::new(ports.clone())
        .execute(&conducteur, CHANTIER, None)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    // Out of scope: the chantier itself is not found.
    let error = ListDossiers::new(ports.clone())
        .execute(&context_of(STRANGER, Role::Compagnon), CHANTIER, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::ChantierNotFound),
        "{error:?}"
    );

    // A compagnon cannot list a dossier above his level: not found.
    let list = ListDocuments::new(ports.clone());
    let page = Page::new(None, None);
    let error = list
        .execute(&compagnon, restricted.id(), page)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::DossierNotFound),
        "{error:?}"
    );
    list.execute(&compagnon, open.id(), page).await.unwrap();
    let filter = captured.lock().unwrap().clone().unwrap();
    assert_eq!(filter.viewer, COMPAGNON);
    assert_eq!(
        filter.visibilite,
        hub_documents_domain::VisibiliteDocuments::Filtree {
            herites: true,
            niveaux: vec![NiveauAcces::Compagnon],
        }
    );
}

#[tokio::test]
async fn a_stale_if_match_changes_nothing() {
    let plans = dossier(NiveauAcces::Compagnon);
    let plan = document(&plans, None);
    // No write is expected on the repository: a write would panic the mock.
    let ports = ports(
        knowing(vec![plans.clone()], vec![plan.clone()]),
        MockBlobStore::new(),
        false,
    );
    let stale = |context: CommandContext| context.expecting(Some(vec![plan.version() + 1]));
    let rename = DocumentUpdateInput {
        nom: Some("autre.pdf".into()),
        ..DocumentUpdateInput::default()
    };
    let error = UpdateDocument::new(ports.clone())
        .execute(&stale(chef()), plan.id(), rename)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::Precondition(VersionMismatch { current }) if current == plan.version()),
        "{error:?}"
    );
    let error = DeleteDocument::new(ports.clone())
        .execute(&stale(admin()), plan.id())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::Precondition(_)),
        "{error:?}"
    );
    let rename = DossierUpdateInput {
        nom: Some("Plans B".into()),
        ..DossierUpdateInput::default()
    };
    let error = UpdateDossier::new(ports.clone())
        .execute(&stale(chef()), plans.id(), rename)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::Precondition(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_archive_holds_only_documents_the_actor_reads_or_nothing() {
    let plans = dossier(NiveauAcces::Compagnon);
    let secret = dossier(NiveauAcces::Conducteur);
    let plan = document(&plans, None);
    let hidden = document(&secret, None);
    let ports = ports(
        knowing(
            vec![plans.clone(), secret.clone()],
            vec![plan.clone(), hidden.clone()],
        ),
        MockBlobStore::new(),
        false,
    );
    let archive = ArchiveDocuments::new(ports);
    let compagnon = context_of(COMPAGNON, Role::Compagnon);
    let got = archive
        .execute(&compagnon, &[plan.id(), plan.id()])
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(Document::id).collect::<Vec<_>>(),
        [plan.id()]
    );
    // One document out of sight, or unknown: the whole request is not found.
    for ids in [[plan.id(), hidden.id()], [plan.id(), Uuid::now_v7()]] {
        let error = archive.execute(&compagnon, &ids).await.unwrap_err();
        assert!(
            matches!(error, DocumentsError::DocumentNotFound),
            "{error:?}"
        );
    }
    // The conducteur reads both.
    let conducteur = context_of(CONDUCTEUR, Role::Conducteur);
    let both = archive
        .execute(&conducteur, &[hidden.id(), plan.id()])
        .await
        .unwrap();
    assert_eq!(
        both.iter().map(Document::id).collect::<Vec<_>>(),
        [hidden.id(), plan.id()]
    );
    let error = archive.execute(&conducteur, &[]).await.unwrap_err();
    assert!(
        matches!(error, DocumentsError::ArchiveSize { max: 100 }),
        "{error:?}"
    );
    let too_many: Vec<Uuid> = (0..101).map(|_| Uuid::now_v7()).collect();
    let error = archive.execute(&conducteur, &too_many).await.unwrap_err();
    assert!(
        matches!(error, DocumentsError::ArchiveSize { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_search_covers_the_dossiers_the_actor_reads_each_as_its_listing() {
    let plans = dossier(NiveauAcces::Compagnon);
    let secret = dossier(NiveauAcces::Conducteur);
    let searched = Arc::new(Mutex::new(None));
    let mut repository = MockDocumentRepository::new();
    let (all, seen) = (vec![plans.clone(), secret.clone()], searched.clone());
    repository
        .expect_chantier_dossiers()
        .returning(move |_| Ok(all.clone()));
    repository
        .expect_autorisations_of()
        .returning(|_, _| Ok(Vec::new()));
    repository
        .expect_search_documents()
        .returning(move |search, _| {
            *seen.lock().unwrap() = Some(search.clone());
            Ok((Vec::new(), 0))
        });
    let search = SearchDocuments::new(ports(repository, MockBlobStore::new(), false));
    let compagnon = context_of(COMPAGNON, Role::Compagnon);
    let input = SearchInput {
        query: Some("  plan ".into()),
        type_document: Some("pdf".into()),
        ..SearchInput::default()
    };
    search
        .execute(&compagnon, CHANTIER, input, Page::new(None, None))
        .await
        .unwrap();
    let got = searched.lock().unwrap().clone().unwrap();
    // Only the compagnon-level dossier, filtered as its listing would be.
    assert_eq!(got.dossiers.len(), 1);
    assert_eq!(got.dossiers[0].0, plans.id());
    assert_eq!(got.viewer, COMPAGNON);
    assert_eq!(got.nom.as_deref(), Some("plan"));
    assert_eq!(
        got.type_document,
        Some(hub_documents_domain::TypeDocument::Pdf)
    );

    // The other dossier is out of his sight; an unknown type is refused first.
    let only_secret = SearchInput {
        dossier_id: Some(secret.id()),
        ..SearchInput::default()
    };
    let error = search
        .execute(&compagnon, CHANTIER, only_secret, Page::new(None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::DossierNotFound),
        "{error:?}"
    );
    let bad = SearchInput {
        type_document: Some("dwg".into()),
        ..SearchInput::default()
    };
    let error = search
        .execute(&compagnon, CHANTIER, bad, Page::new(None, None))
        .await
        .unwrap_err();
    assert!(matches!(error, DocumentsError::Invalid(_)), "{error:?}");
    // A stranger to the chantier, with nothing granted, does not see it.
    let stranger = context_of(STRANGER, Role::Compagnon);
    let error = search
        .execute(
            &stranger,
            CHANTIER,
            SearchInput::default(),
            Page::new(None, None),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, DocumentsError::ChantierNotFound),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_tree_holds_only_the_dossiers_the_actor_reads() {
    let plans = dossier(NiveauAcces::Compagnon);
    let secret = dossier(NiveauAcces::Conducteur);
    let annexe = child_of(&secret, "Annexes");
    let mut repository = MockDocumentRepository::new();
    let all = vec![plans.clone(), secret.clone(), annexe.clone()];
    repository
        .expect_chantier_dossiers()
        .returning(move |_| Ok(all.clone()));
    repository
        .expect_autorisations_of()
        .returning(|_, _| Ok(Vec::new()));
    let tree = Arborescence::new(ports(repository, MockBlobStore::new(), false));
    let compagnon = context_of(COMPAGNON, Role::Compagnon);
    let seen: Vec<Uuid> = tree
        .execute(&compagnon, CHANTIER)
        .await
        .unwrap()
        .iter()
        .map(|(dossier, _)| dossier.id())
        .collect();
    assert_eq!(seen, [plans.id(), annexe.id()]);
    let conducteur = context_of(CONDUCTEUR, Role::Conducteur);
    assert_eq!(tree.execute(&conducteur, CHANTIER).await.unwrap().len(), 3);
    let stranger = context_of(STRANGER, Role::Compagnon);
    let error = tree.execute(&stranger, CHANTIER).await.unwrap_err();
    assert!(
        matches!(error, DocumentsError::ChantierNotFound),
        "{error:?}"
    );
    let error = tree.execute(&conducteur, Uuid::now_v7()).await.unwrap_err();
    assert!(
        matches!(error, DocumentsError::ChantierNotFound),
        "{error:?}"
    );
}
