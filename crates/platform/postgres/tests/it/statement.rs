//! Prepared raw SQL ([`hub_platform_postgres::statement`]) on a real server.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_platform_postgres::statement::statement;
use hub_platform_test_db::TestDatabase;

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = Integer)]
    sum: i32,
    #[diesel(sql_type = Text)]
    label: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many statements of text `sql` this session has prepared on the server.
async fn prepared(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query("SELECT count(*) AS count FROM pg_prepared_statements WHERE statement = $1")
        .bind::<Text, _>(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .count
}

const SUM: &str = "SELECT $1::int4 + $2 AS sum, 'a$' || $3 AS label";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_runs_with_its_binds_and_is_prepared_once_per_connection() {
    let test_db = TestDatabase::new().await;
    let mut conn = test_db.database().connection().await.unwrap();
    for (a, b) in [(1, 2), (40, 2)] {
        let row: Sum = statement(SUM)
            .bind::<Integer, _>(a)
            .bind::<Integer, _>(b)
            .bind::<Text, _>("x")
            .get_result(&mut conn)
            .await
            .unwrap();
        assert_eq!((row.sum, row.label.as_str()), (a + b, "a$x"));
    }
    // Both runs used one server-side prepared statement of this session.
    assert_eq!(prepared(&mut conn, SUM).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_whose_binds_do_not_match_its_placeholders_never_reaches_the_server() {
    const TWO: &str = "SELECT $1::int4 + $2 AS sum, 'x' AS label";
    let test_db = TestDatabase::new().await;
    let mut conn = test_db.database().connection().await.unwrap();
    let missing = statement(TWO)
        .bind::<Integer, _>(1)
        .get_result::<Sum>(&mut conn)
        .await;
    assert!(
        matches!(missing, Err(diesel::result::Error::QueryBuilderError(_))),
        "{:?}",
        missing.err()
    );
    // Refused while building it: the server never prepared it.
    assert_eq!(prepared(&mut conn, TWO).await, 0);
}
