//! `DieselDocumentRepository` against a real PostgreSQL: rows and events
//! commit together, and the constraints hold under concurrent requests.

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use futures::future::join_all;
use hub_documents_application::ports::{DocumentRepository, RepositoryError};
use hub_documents_domain::{
    Autorisation, Cible, Document, Dossier, DossierType, DossierUpdate, Emplacement, NiveauAcces,
    NomDocument, NomDossier, NouveauDossier, NouvelleAutorisation, Parent, Sha256, Taille,
    Televersement, TypeAutorisation,
};
use hub_documents_infrastructure::DieselDocumentRepository;
use hub_documents_infrastructure::schema::{autorisations_documents, documents, dossiers};
use hub_kernel::{DomainEvent, EventEnvelope, EventMetadata, to_storage_precision};
use hub_platform_test_db::TestDatabase;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(test_db: &TestDatabase, sql: &str) -> i64 {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .count
}

async fn events(test_db: &TestDatabase, event_type: &str) -> i64 {
    count(
        test_db,
        &format!("SELECT count(*) AS count FROM event_logs WHERE event_type = '{event_type}'"),
    )
    .await
}

fn nouveau(chantier_id: Uuid, nom: &str) -> NouveauDossier {
    NouveauDossier {
        chantier_id,
        nom: NomDossier::parse(nom).unwrap(),
        type_dossier: DossierType::Custom,
        niveau_acces: NiveauAcces::Compagnon,
    }
}

fn dossier(chantier_id: Uuid, nom: &str, parent: Option<&Dossier>) -> (Dossier, EventEnvelope) {
    let emplacement = Emplacement {
        parent: parent.map(|dossier| Parent {
            dossier,
            ancetres: &[],
        }),
        noms_voisins: &[],
    };
    let (dossier, event) = Dossier::create(nouveau(chantier_id, nom), emplacement, now()).unwrap();
    (dossier, envelope(&event))
}

async fn stored_dossier(
    repo: &DieselDocumentRepository,
    chantier_id: Uuid,
    nom: &str,
    parent: Option<&Dossier>,
) -> Dossier {
    let (dossier, event) = dossier(chantier_id, nom, parent);
    repo.insert_dossiers(std::slice::from_ref(&dossier), &[event])
        .await
        .unwrap();
    dossier
}

fn document(dossier: &Dossier, filename: &str) -> (Document, EventEnvelope) {
    let upload =
        Televersement::prepare(dossier, dossier.chantier_id(), Some(filename), None, None).unwrap();
    let nom = upload.nom().clone();
    let sha = Sha256::parse(&"5e".repeat(32)).unwrap();
    let size = Taille::new(Taille::MAX).unwrap();
    let (document, event) = Document::upload(upload, nom, size, sha, Uuid::now_v7(), now());
    (document, envelope(&event))
}

async fn stored_document(
    repo: &DieselDocumentRepository,
    dossier: &Dossier,
    filename: &str,
) -> Document {
    let (document, event) = document(dossier, filename);
    repo.insert_document(&document, &[event]).await.unwrap();
    document
}

/// Moves `dossier` under `parent` as the domain would with a stale view of
/// the tree (no ancestors known), so only the repository's check is left.
fn moved_under(dossier: &Dossier, parent: &Dossier) -> (Dossier, EventEnvelope) {
    let mut moved = dossier.clone();
    let event = moved
        .update(
            DossierUpdate {
                parent_id: Some(Some(parent.id())),
                ..DossierUpdate::default()
            },
            Emplacement {
                parent: Some(Parent {
                    dossier: parent,
                    ancetres: &[],
                }),
                noms_voisins: &[],
            },
            Uuid::now_v7(),
            now(),
        )
        .unwrap()
        .unwrap();
    (moved, envelope(&event))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dossiers_round_trip_and_the_tree_reads_both_ways() {
    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let tree: Vec<_> = Dossier::arborescence_standard(chantier, &[], now());
    let events: Vec<_> = tree.iter().map(|(_, event)| envelope(event)).collect();
    let roots: Vec<Dossier> = tree.into_iter().map(|(dossier, _)| dossier).collect();
    repo.insert_dossiers(&roots, &events).await.unwrap();
    assert_eq!(events_count(&test_db, "dossier.created").await, 7);
    assert_eq!(
        repo.find_dossier(roots[0].id()).await.unwrap(),
        Some(roots[0].clone())
    );
    assert_eq!(repo.dossier_types(chantier).await.unwrap().len(), 7);

    let lot = stored_dossier(&repo, chantier, "Lot A", Some(&roots[0])).await;
    let niveau = stored_dossier(&repo, chantier, "R+1", Some(&lot)).await;
    assert_eq!(
        repo.ancestors(niveau.id()).await.unwrap(),
        [lot.id(), roots[0].id()]
    );
    assert!(repo.ancestors(roots[0].id()).await.unwrap().is_empty());
    let names = repo
        .dossier_names(chantier, None, Some(roots[1].id()))
        .await
        .unwrap();
    assert_eq!(names.len(), 6);
    assert!(!names.contains(roots[1].nom()));
    assert_eq!(
        repo.dossier_names(chantier, Some(roots[0].id()), None)
            .await
            .unwrap(),
        [NomDossier::parse("Lot A").unwrap()]
    );

    let in_lot = stored_document(&repo, &lot, "plan.pdf").await;
    let (below, files) = repo.subtree(roots[0].id()).await.unwrap();
    let ids: Vec<Uuid> = below.iter().map(Dossier::id).collect();
    assert_eq!(ids, [niveau.id(), lot.id(), roots[0].id()]);
    assert_eq!(files, [in_lot]);
}

async fn events_count(test_db: &TestDatabase, event_type: &str) -> i64 {
    events(test_db, event_type).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_of_one_name_leave_one_dossier_and_one_event() {
    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let attempts = (0..8).map(|_| {
        let repo = repo.clone();
        async move {
            let (dossier, event) = dossier(chantier, "Plans", None);
            repo.insert_dossiers(&[dossier], &[event]).await
        }
    });
    let results = join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(RepositoryError::DuplicateNom)))
    );
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM dossiers").await,
        1
    );
    assert_eq!(events_count(&test_db, "dossier.created").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossed_moves_cannot_build_a_cycle() {
    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let a = stored_dossier(&repo, chantier, "A", None).await;
    let b = stored_dossier(&repo, chantier, "B", None).await;

    // Each move alone is fine; together they would make A and B each other's parent.
    let (a_under_b, a_event) = moved_under(&a, &b);
    let (b_under_a, b_event) = moved_under(&b, &a);
    let (first, second) = tokio::join!(
        repo.update_dossier(&a_under_b, std::slice::from_ref(&a_event)),
        repo.update_dossier(&b_under_a, std::slice::from_ref(&b_event)),
    );
    let outcomes = [first, second];
    assert_eq!(
        outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|r| matches!(r, Err(RepositoryError::Cycle)))
    );
    assert_eq!(events_count(&test_db, "dossier.updated").await, 1);
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM dossiers WHERE parent_id IS NULL"
        )
        .await,
        1
    );

    // A stale version is refused; so is a parent in another chantier.
    let error = repo
        .update_dossier(&a_under_b, &[a_event])
        .await
        .unwrap_err();
    assert!(
        matches!(error, RepositoryError::Conflict | RepositoryError::Cycle),
        "{error:?}"
    );
    let elsewhere = stored_dossier(&repo, Uuid::now_v7(), "C", None).await;
    // The domain refuses a parent in another chantier; the database does too.
    let forged = Dossier::restore(hub_documents_domain::StoredDossier {
        id: elsewhere.id(),
        chantier_id: elsewhere.chantier_id(),
        nom: elsewhere.nom().clone(),
        type_dossier: elsewhere.type_dossier(),
        niveau_acces: elsewhere.niveau_acces(),
        parent_id: Some(a.id()),
        ordre: elsewhere.ordre(),
        created_at: elsewhere.created_at(),
        updated_at: elsewhere.updated_at(),
        version: elsewhere.version() + 1,
    });
    assert!(repo.update_dossier(&forged, &[]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_round_trip_with_unique_names_and_id_keys() {
    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let plans = stored_dossier(&repo, chantier, "Plans", None).await;
    let other = stored_dossier(&repo, chantier, "Photos", None).await;

    let passwd = stored_document(&repo, &plans, "../../etc/passwd").await;
    let found = repo.find_document(passwd.id()).await.unwrap().unwrap();
    assert_eq!(found, passwd);
    assert_eq!(found.nom().as_str(), "../../etc/passwd");
    // 10 GiB fits: the size is 64-bit.
    assert_eq!(found.taille().octets(), Taille::MAX);
    assert_eq!(found.cle().as_str(), format!("{chantier}/{}", passwd.id()));

    // Concurrent uploads of one name: one row, one event.
    let attempts = (0..6).map(|_| {
        let repo = repo.clone();
        let plans = plans.clone();
        async move {
            let (document, event) = document(&plans, "plan.pdf");
            repo.insert_document(&document, &[event]).await
        }
    });
    let results = join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(RepositoryError::DuplicateNom)))
    );
    assert_eq!(events_count(&test_db, "document.uploaded").await, 2);
    let names = repo
        .document_names(plans.id(), Some(passwd.id()))
        .await
        .unwrap();
    assert_eq!(names, [NomDocument::parse("plan.pdf").unwrap()]);

    // A move, guarded by the version.
    let mut moved = found.clone();
    let event = moved
        .update(
            hub_documents_domain::DocumentUpdate {
                dossier_id: Some(other.id()),
                ..Default::default()
            },
            &other,
            &[],
            Uuid::now_v7(),
            now(),
        )
        .unwrap()
        .unwrap();
    repo.update_document(&moved, &[envelope(&event)])
        .await
        .unwrap();
    assert_eq!(
        repo.find_document(passwd.id())
            .await
            .unwrap()
            .unwrap()
            .dossier_id(),
        other.id()
    );
    let stale = repo
        .update_document(&moved, &[envelope(&event)])
        .await
        .unwrap_err();
    assert!(matches!(stale, RepositoryError::Conflict), "{stale:?}");
    assert_eq!(events_count(&test_db, "document.updated").await, 1);

    // The database refuses a key that is not `{chantier}/{document}`.
    let mut conn = test_db.database().connection().await.unwrap();
    let forged = diesel::sql_query("UPDATE documents SET chemin_stockage = '../../etc/passwd'")
        .execute(&mut conn)
        .await;
    assert!(forged.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_delete_is_all_or_nothing() {
    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let top = stored_dossier(&repo, chantier, "Top", None).await;
    let child = stored_dossier(&repo, chantier, "Child", Some(&top)).await;
    let file = stored_document(&repo, &child, "a.pdf").await;
    let (below, files) = repo.subtree(top.id()).await.unwrap();
    let dossier_ids: Vec<Uuid> = below.iter().map(Dossier::id).collect();
    let document_ids: Vec<Uuid> = files.iter().map(Document::id).collect();
    let event = envelope(&top.delete(0, 0, true, Uuid::now_v7()).unwrap());

    // A document uploaded after the subtree was read makes the delete fail whole.
    let late = stored_document(&repo, &child, "late.pdf").await;
    let error = repo
        .delete_tree(&dossier_ids, &document_ids, std::slice::from_ref(&event))
        .await
        .unwrap_err();
    assert!(matches!(error, RepositoryError::Conflict), "{error:?}");
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM documents").await,
        2
    );
    assert_eq!(events_count(&test_db, "dossier.deleted").await, 0);

    let all: Vec<Uuid> = vec![file.id(), late.id()];
    repo.delete_tree(&dossier_ids, &all, &[event])
        .await
        .unwrap();
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM dossiers").await,
        0
    );
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM documents").await,
        0
    );
    assert_eq!(events_count(&test_db, "dossier.deleted").await, 1);
}

fn grant(
    user_id: Uuid,
    cible: Cible,
    at: OffsetDateTime,
    expire_at: Option<OffsetDateTime>,
) -> (Autorisation, EventEnvelope) {
    let nouvelle = NouvelleAutorisation {
        user_id,
        type_autorisation: TypeAutorisation::Ecriture,
        cible,
        chantier_id: Uuid::now_v7(),
        expire_at,
    };
    let (autorisation, event) = Autorisation::accorder(nouvelle, &[], Uuid::now_v7(), at).unwrap();
    (autorisation, envelope(&event))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_autorisation_per_user_and_target_expired_ones_replaced() {
    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let plans = stored_dossier(&repo, chantier, "Plans", None).await;
    let file = stored_document(&repo, &plans, "a.pdf").await;
    let user = Uuid::now_v7();

    // Concurrent grants of the same right: one row, one event.
    let plans_id = plans.id();
    let attempts = (0..5).map(|_| {
        let repo = repo.clone();
        async move {
            let (autorisation, event) = grant(user, Cible::Dossier(plans_id), now(), None);
            repo.insert_autorisation(&autorisation, &[event]).await
        }
    });
    let results = join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(RepositoryError::DuplicateAutorisation)))
    );

    // An expired one on the document is replaced by a new grant.
    let long_ago = now() - Duration::days(10);
    let (expired, event) = grant(
        user,
        Cible::Document(file.id()),
        long_ago,
        Some(long_ago + Duration::days(1)),
    );
    repo.insert_autorisation(&expired, &[event]).await.unwrap();
    let (renewed, event) = grant(user, Cible::Document(file.id()), now(), None);
    repo.insert_autorisation(&renewed, &[event]).await.unwrap();
    assert_eq!(repo.find_autorisation(expired.id()).await.unwrap(), None);
    assert_eq!(
        repo.find_autorisation(renewed.id()).await.unwrap(),
        Some(renewed.clone())
    );

    let mine = repo
        .autorisations_of(
            user,
            &[Cible::Document(file.id()), Cible::Dossier(plans.id())],
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    assert!(
        repo.autorisations_of(Uuid::now_v7(), &[Cible::Dossier(plans.id())])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        repo.autorisations_on(Cible::Document(file.id()))
            .await
            .unwrap(),
        std::slice::from_ref(&renewed)
    );

    let revoked = envelope(&renewed.revoquer(Uuid::now_v7()));
    repo.delete_autorisation(&renewed, std::slice::from_ref(&revoked))
        .await
        .unwrap();
    let again = repo
        .delete_autorisation(&renewed, &[revoked])
        .await
        .unwrap_err();
    assert!(matches!(again, RepositoryError::NotFound), "{again:?}");
    assert_eq!(
        events_count(&test_db, "document_autorisation.revoked").await,
        1
    );

    // Deleting the document takes its autorisations along.
    let (on_file, event) = grant(Uuid::now_v7(), Cible::Document(file.id()), now(), None);
    repo.insert_autorisation(&on_file, &[event]).await.unwrap();
    repo.delete_tree(&[], &[file.id()], &[]).await.unwrap();
    assert_eq!(repo.find_autorisation(on_file.id()).await.unwrap(), None);
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// `schema.rs` is written by hand: its columns must be the database's, and
/// loading every column of real rows must type-check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hand_written_schema_matches_the_database() {
    use diesel::QueryDsl;

    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let plans = stored_dossier(&repo, Uuid::now_v7(), "Plans", None).await;
    let file = stored_document(&repo, &plans, "a.pdf").await;
    let (autorisation, event) = grant(Uuid::now_v7(), Cible::Document(file.id()), now(), None);
    repo.insert_autorisation(&autorisation, &[event])
        .await
        .unwrap();

    let mut conn = test_db.database().connection().await.unwrap();
    let columns: Vec<ColumnRow> = sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
         FROM information_schema.columns \
         WHERE table_name IN ('dossiers', 'documents', 'autorisations_documents') \
         ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let of = |table: &str| -> Vec<String> {
        columns
            .iter()
            .filter(|c| c.table_name == table)
            .map(|c| c.column_name.clone())
            .collect()
    };
    use diesel::Column as _;
    assert_eq!(
        of("dossiers"),
        [
            dossiers::id::NAME,
            dossiers::chantier_id::NAME,
            dossiers::nom::NAME,
            dossiers::type_dossier::NAME,
            dossiers::niveau_acces::NAME,
            dossiers::parent_id::NAME,
            dossiers::ordre::NAME,
            dossiers::version::NAME,
            dossiers::created_at::NAME,
            dossiers::updated_at::NAME,
        ]
    );
    assert_eq!(
        of("documents"),
        [
            documents::id::NAME,
            documents::chantier_id::NAME,
            documents::dossier_id::NAME,
            documents::nom::NAME,
            documents::nom_original::NAME,
            documents::type_document::NAME,
            documents::taille::NAME,
            documents::sha256::NAME,
            documents::chemin_stockage::NAME,
            documents::mime_type::NAME,
            documents::niveau_acces::NAME,
            documents::uploaded_by::NAME,
            documents::description::NAME,
            documents::version::NAME,
            documents::uploaded_at::NAME,
            documents::updated_at::NAME,
        ]
    );
    assert_eq!(
        of("autorisations_documents"),
        [
            autorisations_documents::id::NAME,
            autorisations_documents::user_id::NAME,
            autorisations_documents::type_autorisation::NAME,
            autorisations_documents::chantier_id::NAME,
            autorisations_documents::dossier_id::NAME,
            autorisations_documents::document_id::NAME,
            autorisations_documents::accorde_par::NAME,
            autorisations_documents::created_at::NAME,
            autorisations_documents::expire_at::NAME,
        ]
    );
    // Every column of every table loads with the types schema.rs declares.
    let n = dossiers::table
        .select(dossiers::all_columns)
        .load::<(
            Uuid,
            Uuid,
            String,
            String,
            String,
            Option<Uuid>,
            i32,
            i64,
            OffsetDateTime,
            OffsetDateTime,
        )>(&mut conn)
        .await
        .unwrap();
    assert_eq!(n.len(), 1);
    let rows = documents::table
        .select((
            (
                documents::id,
                documents::chantier_id,
                documents::dossier_id,
                documents::nom,
            ),
            (
                documents::nom_original,
                documents::type_document,
                documents::taille,
                documents::sha256,
            ),
            (
                documents::chemin_stockage,
                documents::mime_type,
                documents::niveau_acces,
                documents::uploaded_by,
            ),
            (
                documents::description,
                documents::version,
                documents::uploaded_at,
                documents::updated_at,
            ),
        ))
        .load::<(
            (Uuid, Uuid, Uuid, String),
            (String, String, i64, String),
            (String, String, Option<String>, Uuid),
            (Option<String>, i64, OffsetDateTime, OffsetDateTime),
        )>(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let rows = autorisations_documents::table
        .select(autorisations_documents::all_columns)
        .load::<(
            Uuid,
            Uuid,
            String,
            Uuid,
            Option<Uuid>,
            Option<Uuid>,
            Uuid,
            OffsetDateTime,
            Option<OffsetDateTime>,
        )>(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_removes_old_objects_without_a_row_only() {
    use futures::StreamExt;
    use hub_documents_application::ports::BlobStore;
    use hub_documents_infrastructure::{ObjectBlobStore, OrphanSweep};
    use hub_platform_postgres::jobs::ScheduledJob;

    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    let plans = stored_dossier(&repo, Uuid::now_v7(), "Plans", None).await;
    let kept = stored_document(&repo, &plans, "a.pdf").await;
    let orphan =
        hub_documents_domain::CleStockage::pour_document(plans.chantier_id(), Uuid::now_v7());
    for key in [kept.cle(), &orphan] {
        let body = futures::stream::iter([Ok(bytes::Bytes::from_static(b"bytes"))]).boxed();
        store.put(key, body, 100).await.unwrap();
    }
    let sweep = OrphanSweep::new(store.clone(), Duration::hours(1));

    // Within the grace period nothing goes: the row may be on its way.
    assert_eq!(sweep.run(test_db.database(), now()).await.unwrap(), 0);
    let later = now() + Duration::hours(2);
    assert_eq!(sweep.run(test_db.database(), later).await.unwrap(), 1);
    assert!(store.get(kept.cle(), None).await.is_ok());
    assert!(store.get(&orphan, None).await.is_err());
    assert_eq!(sweep.run(test_db.database(), later).await.unwrap(), 0);
}

/// The listing's SQL filter shows exactly the documents the domain's rule
/// (`VisibiliteDocuments::admet`) admits, with pages and totals counted
/// after the filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_filter_documents_as_the_domain_rule_says() {
    use hub_documents_application::ports::{DocumentFilter, DocumentSearch};
    use hub_documents_domain::{StoredDocument, VisibiliteDocuments};
    use hub_kernel::Page;

    let test_db = TestDatabase::new().await;
    let repo = DieselDocumentRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let plans = stored_dossier(&repo, chantier, "Plans", None).await;
    let viewer = Uuid::now_v7();
    let levels = [
        None,
        Some(NiveauAcces::Compagnon),
        Some(NiveauAcces::ChefChantier),
        Some(NiveauAcces::Conducteur),
        Some(NiveauAcces::Admin),
    ];
    let mut all = Vec::new();
    for (index, niveau) in levels.iter().enumerate() {
        for by_viewer in [false, true] {
            let (document, event) = document(&plans, &format!("doc-{index}-{by_viewer}.pdf"));
            let document = Document::restore(StoredDocument {
                id: document.id(),
                chantier_id: document.chantier_id(),
                dossier_id: document.dossier_id(),
                nom: document.nom().clone(),
                nom_original: document.nom_original().clone(),
                type_document: document.type_document(),
                taille: document.taille(),
                sha256: document.sha256().clone(),
                cle: document.cle().clone(),
                mime_type: document.mime_type().to_owned(),
                niveau_acces: *niveau,
                uploaded_by: if by_viewer { viewer } else { Uuid::now_v7() },
                description: None,
                uploaded_at: document.uploaded_at(),
                updated_at: document.updated_at(),
                version: document.version(),
            });
            repo.insert_document(&document, &[event]).await.unwrap();
            all.push(document);
        }
    }
    // A valid autorisation on one admin-level document, an expired one on another.
    let admin_level: Vec<&Document> = all
        .iter()
        .filter(|d| d.niveau_acces() == Some(NiveauAcces::Admin) && d.uploaded_by() != viewer)
        .collect();
    let (valid, event) = grant(viewer, Cible::Document(admin_level[0].id()), now(), None);
    repo.insert_autorisation(&valid, &[event]).await.unwrap();
    let past = now() - Duration::days(3);
    let (expired, event) = grant(
        viewer,
        Cible::Document(all[6].id()),
        past,
        Some(past + Duration::days(1)),
    );
    repo.insert_autorisation(&expired, &[event]).await.unwrap();
    let grants = [valid, expired];

    let cases = [
        VisibiliteDocuments::Tous,
        VisibiliteDocuments::Filtree {
            herites: true,
            niveaux: vec![NiveauAcces::Compagnon],
        },
        VisibiliteDocuments::Filtree {
            herites: false,
            niveaux: vec![NiveauAcces::Compagnon, NiveauAcces::ChefChantier],
        },
        VisibiliteDocuments::Filtree {
            herites: false,
            niveaux: vec![],
        },
    ];
    for visibilite in cases {
        let filter = DocumentFilter {
            dossier_id: plans.id(),
            viewer,
            visibilite: visibilite.clone(),
            now: now(),
        };
        let (listed, total) = repo
            .list_documents(&filter, Page::new(None, Some(100)))
            .await
            .unwrap();
        let mut expected: Vec<Uuid> = all
            .iter()
            .filter(|d| visibilite.admet(d, viewer, &grants, now()))
            .map(Document::id)
            .collect();
        expected.sort_by_key(|id| {
            all.iter()
                .find(|d| d.id() == *id)
                .map(|d| d.nom().as_str().to_owned())
        });
        let got: Vec<Uuid> = listed.iter().map(Document::id).collect();
        assert_eq!(got, expected, "{visibilite:?}");
        assert_eq!(total, expected.len() as u64);

        // A search over this dossier lets the same documents through.
        let search = DocumentSearch {
            chantier_id: chantier,
            dossiers: vec![(plans.id(), visibilite.clone())],
            viewer,
            now: now(),
            nom: None,
            type_document: None,
            uploaded_by: None,
            depuis: None,
            jusqu_a: None,
        };
        let (found, found_total) = repo
            .search_documents(&search, Page::new(None, Some(100)))
            .await
            .unwrap();
        let mut found: Vec<Uuid> = found.iter().map(Document::id).collect();
        found.sort();
        let mut sorted = expected.clone();
        sorted.sort();
        assert_eq!(found, sorted, "search {visibilite:?}");
        assert_eq!(found_total, expected.len() as u64);

        // Pages cut the filtered list, the total stays the same.
        let (page, total_again) = repo
            .list_documents(&filter, Page::new(Some(1), Some(2)))
            .await
            .unwrap();
        assert_eq!(total_again, total);
        let window: Vec<Uuid> = expected.iter().skip(1).take(2).copied().collect();
        assert_eq!(page.iter().map(Document::id).collect::<Vec<_>>(), window);
    }

    let roots = repo.list_dossiers(chantier, None).await.unwrap();
    assert_eq!(roots, std::slice::from_ref(&plans));
    assert!(
        repo.list_dossiers(chantier, Some(plans.id()))
            .await
            .unwrap()
            .is_empty()
    );
}
