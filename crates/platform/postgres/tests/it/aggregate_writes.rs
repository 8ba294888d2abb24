//! The aggregate writes (`insert_with_events!`, `update_with_events!`,
//! `delete_with_events!`) on a table of their own: the row and its events
//! commit together, a stale or missing version writes neither.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_platform_postgres::{
    Database, WriteError, delete_with_events, insert_with_events, update_with_events,
};
use hub_platform_test_db::TestDatabase;
use uuid::Uuid;

use crate::event;

diesel::table! {
    engins (id) {
        id -> Uuid,
        nom -> Text,
        version -> BigInt,
    }
}

#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = engins)]
struct EnginRow {
    id: Uuid,
    nom: String,
    version: i64,
}

async fn setup(test_db: &TestDatabase) -> &Database {
    let db = test_db.database();
    let mut conn = db.connection().await.unwrap();
    diesel::sql_query(
        "CREATE TABLE engins (id uuid PRIMARY KEY, nom text NOT NULL UNIQUE, version bigint NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    db
}

async fn rows(conn: &mut AsyncPgConnection) -> Vec<EnginRow> {
    engins::table
        .select(EnginRow::as_select())
        .load(conn)
        .await
        .unwrap()
}

async fn outbox_len(conn: &mut AsyncPgConnection) -> i64 {
    hub_platform_postgres::schema::event_logs::table
        .count()
        .get_result(conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_commits_its_row_and_its_events_together() {
    let test_db = TestDatabase::new().await;
    let db = setup(&test_db).await;
    let id = Uuid::now_v7();
    let mut row = EnginRow {
        id,
        nom: "Grue 1".into(),
        version: 1,
    };

    insert_with_events!(db, engins, row.clone(), &[event("created")]).unwrap();
    row.nom = "Grue 1 bis".into();
    row.version = 2;
    update_with_events!(db, engins, row.clone(), &[event("updated")]).unwrap();

    let mut conn = db.connection().await.unwrap();
    assert_eq!(rows(&mut conn).await, vec![row.clone()]);
    assert_eq!(outbox_len(&mut conn).await, 2);

    delete_with_events!(db, engins, id, 2_i64, &[event("deleted")]).unwrap();
    assert!(rows(&mut conn).await.is_empty());
    assert_eq!(outbox_len(&mut conn).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_leaves_neither_row_nor_event() {
    let test_db = TestDatabase::new().await;
    let db = setup(&test_db).await;
    let row = EnginRow {
        id: Uuid::now_v7(),
        nom: "Nacelle".into(),
        version: 1,
    };
    insert_with_events!(db, engins, row.clone(), &[event("created")]).unwrap();

    // A duplicate name: the constraint is named, nothing else is written.
    let twin = EnginRow {
        id: Uuid::now_v7(),
        ..row.clone()
    };
    let error = insert_with_events!(db, engins, twin, &[event("twin")]).unwrap_err();
    assert_eq!(error.duplicate_of(), Some("engins_nom_key"));

    // An update made on version 2 when the row is at 1: someone else's change.
    let stale = EnginRow {
        nom: "Nacelle 2".into(),
        version: 3,
        ..row.clone()
    };
    let error = update_with_events!(db, engins, stale, &[event("stale")]).unwrap_err();
    assert!(matches!(error, WriteError::Changed), "{error:?}");

    // A delete of a version that is not the current one, then of no row.
    let error = delete_with_events!(db, engins, row.id, 7_i64, &[event("gone")]).unwrap_err();
    assert!(matches!(error, WriteError::Changed), "{error:?}");
    let error =
        delete_with_events!(db, engins, Uuid::now_v7(), 1_i64, &[event("none")]).unwrap_err();
    assert!(matches!(error, WriteError::Missing), "{error:?}");

    let mut conn = db.connection().await.unwrap();
    assert_eq!(rows(&mut conn).await, vec![row]);
    assert_eq!(outbox_len(&mut conn).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_of_one_key_all_lose_on_the_key_not_on_their_events() {
    let test_db = TestDatabase::new().await;
    let db = setup(&test_db).await;
    // Each loser's append, sent with its insert, fails too (the
    // transaction is aborted): the error reported must be the insert's,
    // on every connection, prepared or not.
    let attempts = (0..400).map(|n| async move {
        let row = EnginRow {
            id: Uuid::now_v7(),
            nom: "Pelle".into(),
            version: 1,
        };
        insert_with_events!(db, engins, row, &[event(&format!("pelle {n}"))])
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for error in results.into_iter().filter_map(Result::err) {
        assert_eq!(error.duplicate_of(), Some("engins_nom_key"), "{error:?}");
    }
    let mut conn = db.connection().await.unwrap();
    assert_eq!(rows(&mut conn).await.len(), 1);
    assert_eq!(outbox_len(&mut conn).await, 1);
}
