//! The three writes every repository of an aggregate makes — insert its row,
//! update it guarded on its version, delete it guarded on its version —
//! each with its events appended to the outbox in the same transaction.
//!
//! Macros rather than generic functions: a write is generic over a Diesel
//! table, its `id` and `version` columns and a row type, and the trait
//! bounds that takes (filter, update-target, changeset and async execute
//! bounds for every table) would be longer than the statement itself. Each
//! macro expands to the statement a repository would write by hand, so the
//! compiler checks it against the table's schema as usual.
//!
//! The aggregate's statement and the outbox append are sent together and
//! their answers awaited at once ([`pipelined`]: a round trip per write
//! saved). When the first fails the second fails too (the transaction is
//! aborted), so the write rolls back whole either way, and the first's
//! error is the one reported (a duplicate key keeps its constraint name).
//!
//! [`pipelined`]: crate::pipelined
//!
//! Conventions they rely on (those of every context):
//! - the table module (from `schema.rs`) has columns `id` (UUID) and `version`;
//! - a row built from an aggregate after a change carries the NEW version:
//!   the update is guarded on `version - 1`, the version the change was made on;
//! - a delete is guarded on the aggregate's current version.
//!
//! Each evaluates to `Result<(), WriteError>`; the repository maps it to its
//! own error (which constraint means what is the context's business).

/// Inserts `row` into the table module `$table` and appends `events`, in one
/// transaction: `insert_with_events!(db, chantiers, row, events)`.
#[macro_export]
macro_rules! insert_with_events {
    ($db:expr, $table:ident, $row:expr, $events:expr $(,)?) => {{
        let row = $row;
        let events = ::std::vec::Vec::from($events);
        $db.write(|conn| {
            ::std::boxed::Box::pin(async move {
                use $crate::__private::diesel_async::RunQueryDsl as _;
                let shared: &$crate::AsyncPgConnection = conn;
                let mut first = shared;
                $crate::pipelined(
                    $crate::__private::diesel::insert_into($table::table)
                        .values(&row)
                        .execute(&mut first),
                    $crate::outbox::append(shared, &events),
                )
                .await?;
                ::std::result::Result::Ok::<(), $crate::WriteError>(())
            })
        })
        .await
    }};
}

/// Updates the row `row.id` of the table module `$table` to `row`, guarded on
/// the version before it (`row.version - 1`), and appends `events`, in one
/// transaction; [`WriteError::Missing`](crate::WriteError::Missing) or
/// [`WriteError::Changed`](crate::WriteError::Changed) when the guard fails.
#[macro_export]
macro_rules! update_with_events {
    ($db:expr, $table:ident, $row:expr, $events:expr $(,)?) => {{
        let row = $row;
        let events = ::std::vec::Vec::from($events);
        $db.write(|conn| {
            ::std::boxed::Box::pin(async move {
                use $crate::__private::diesel::{ExpressionMethods as _, QueryDsl as _};
                use $crate::__private::diesel_async::RunQueryDsl as _;
                let shared: &$crate::AsyncPgConnection = conn;
                let mut first = shared;
                let (updated, ()) = $crate::pipelined(
                    $crate::__private::diesel::update(
                        $table::table
                            .filter($table::id.eq(row.id))
                            .filter($table::version.eq(row.version - 1)),
                    )
                    .set(&row)
                    .execute(&mut first),
                    $crate::outbox::append(shared, &events),
                )
                .await?;
                // A stale write appended its events all the same: they
                // roll back with it.
                $crate::guarded(conn, ::std::stringify!($table), row.id, updated).await?;
                ::std::result::Result::Ok::<(), $crate::WriteError>(())
            })
        })
        .await
    }};
}

/// Deletes the row `$id` of the table module `$table`, guarded on its
/// `$version`, and appends `events`, in one transaction (rows that reference
/// it go as their foreign keys say, in the same transaction).
#[macro_export]
macro_rules! delete_with_events {
    ($db:expr, $table:ident, $id:expr, $version:expr, $events:expr $(,)?) => {{
        let (id, version) = ($id, $version);
        let events = ::std::vec::Vec::from($events);
        $db.write(|conn| {
            ::std::boxed::Box::pin(async move {
                use $crate::__private::diesel::{ExpressionMethods as _, QueryDsl as _};
                use $crate::__private::diesel_async::RunQueryDsl as _;
                let shared: &$crate::AsyncPgConnection = conn;
                let mut first = shared;
                let (deleted, ()) = $crate::pipelined(
                    $crate::__private::diesel::delete(
                        $table::table
                            .filter($table::id.eq(id))
                            .filter($table::version.eq(version)),
                    )
                    .execute(&mut first),
                    $crate::outbox::append(shared, &events),
                )
                .await?;
                // A stale delete appended its events all the same: they
                // roll back with it.
                $crate::guarded(conn, ::std::stringify!($table), id, deleted).await?;
                ::std::result::Result::Ok::<(), $crate::WriteError>(())
            })
        })
        .await
    }};
}

/// Awaits two statements sent together on one connection (each future
/// made from a shared borrow of it: they are pipelined) and returns both
/// results, or the first statement's error before the second's.
///
/// Both are awaited to the end: when the first fails, the second fails
/// with "current transaction is aborted", and which of the two futures
/// completes first is a matter of timing (a thousand concurrent inserts of
/// one key saw the second's error win a few times with `try_join`).
pub async fn pipelined<A, B>(
    first: impl std::future::Future<Output = diesel::QueryResult<A>>,
    second: impl std::future::Future<Output = diesel::QueryResult<B>>,
) -> diesel::QueryResult<(A, B)> {
    let (first, second) = futures::future::join(first, second).await;
    Ok((first?, second?))
}
