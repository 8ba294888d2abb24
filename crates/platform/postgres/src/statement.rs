//! Raw SQL that is prepared once per connection.
//!
//! Diesel never caches `sql_query` statements: each execution is parsed,
//! planned and prepared again (one more round trip, and the planning of a
//! CTE costs PostgreSQL more than running it). Raw statements on a hot path
//! (the webhook delivery path runs thousands per second with the same text)
//! go through [`Statement`], which tells diesel the statement is safe to
//! keep in the connection's prepared-statement cache (keyed by its text and
//! bind types).

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};

/// A statement of constant text. Its placeholders must be `$1`, `$2`, … in
/// the order of the text, each once; binds are given in that order (a value
/// needed twice is bound twice).
#[derive(Debug, Clone)]
#[must_use = "statements run only when executed or loaded"]
pub struct Statement<B> {
    sql: &'static str,
    binds: B,
}

/// A new statement of text `sql`.
pub fn statement(sql: &'static str) -> Statement<()> {
    Statement { sql, binds: () }
}

impl<B: Binds> Statement<B> {
    /// Binds the next placeholder to `value`, of SQL type `ST`.
    pub fn bind<ST, T>(self, value: T) -> Statement<(B, Bound<ST, T>)>
    where
        Pg: HasSqlType<ST>,
        T: ToSql<ST, Pg>,
    {
        Statement {
            sql: self.sql,
            binds: (
                self.binds,
                Bound {
                    value,
                    sql_type: PhantomData,
                },
            ),
        }
    }
}

/// One bound value.
#[derive(Debug, Clone)]
pub struct Bound<ST, T> {
    value: T,
    sql_type: PhantomData<fn() -> ST>,
}

mod sealed {
    /// Only this module's bind lists are [`super::Binds`].
    pub trait Sealed {}
    impl Sealed for () {}
    impl<B, ST, T> Sealed for (B, super::Bound<ST, T>) {}
}

/// The values bound so far, last one outermost (sealed: built by
/// [`Statement::bind`] only).
pub trait Binds: sealed::Sealed {
    const LEN: usize;

    /// Pushes bind number `index` (0-based).
    fn push<'b>(&'b self, index: usize, out: AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

impl Binds for () {
    const LEN: usize = 0;

    fn push<'b>(&'b self, index: usize, _out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        Err(diesel::result::Error::QueryBuilderError(
            format!("placeholder ${} has no bound value", index + 1).into(),
        ))
    }
}

impl<B, ST, T> Binds for (B, Bound<ST, T>)
where
    B: Binds,
    Pg: HasSqlType<ST>,
    T: ToSql<ST, Pg>,
{
    const LEN: usize = B::LEN + 1;

    fn push<'b>(&'b self, index: usize, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if index == B::LEN {
            out.push_bind_param::<ST, T>(&self.1.value)
        } else {
            self.0.push(index, out)
        }
    }
}

impl<B: Binds> QueryFragment<Pg> for Statement<B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Each `$n` is replaced by diesel's own placeholder for the n-th
        // bind, so that every pass (SQL text, binds) sees the same order.
        let mut rest = self.sql;
        let mut index = 0;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if digits == 0 {
                out.push_sql(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            }
            let number: usize = rest[at + 1..at + 1 + digits].parse().map_err(|_| {
                diesel::result::Error::QueryBuilderError("placeholder number too large".into())
            })?;
            if number != index + 1 {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("placeholder ${number} where ${} was expected", index + 1).into(),
                ));
            }
            out.push_sql(&rest[..at]);
            self.binds.push(index, out.reborrow())?;
            index += 1;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        if index != B::LEN {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("{} values bound for {index} placeholders", B::LEN).into(),
            ));
        }
        Ok(())
    }
}

impl<B> QueryId for Statement<B> {
    type QueryId = ();
    // The cache key is the text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for Statement<B> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::debug_query;
    use diesel::sql_types::{Integer, Text};

    use super::*;

    #[test]
    fn placeholders_map_to_the_binds_in_order_and_stay_cacheable() {
        let query = statement("SELECT $1::int4 + $2, 'a$' || $3")
            .bind::<Integer, _>(1)
            .bind::<Integer, _>(2)
            .bind::<Text, _>("x");
        let shown = debug_query::<Pg, _>(&query).to_string();
        assert!(
            shown.starts_with("SELECT $1::int4 + $2, 'a$' || $3"),
            "{shown}"
        );
        assert!(shown.contains("[1, 2, \"x\"]"), "{shown}");
        assert!(query.is_safe_to_cache_prepared(&Pg).unwrap());
    }

    #[test]
    fn missing_misordered_or_extra_binds_are_errors() {
        let sql_of = |query: &dyn QueryFragment<Pg>| {
            let mut builder = diesel::pg::PgQueryBuilder::default();
            query.to_sql(&mut builder, &Pg)
        };
        assert!(sql_of(&statement("SELECT $1, $2").bind::<Integer, _>(1)).is_err());
        assert!(
            sql_of(
                &statement("SELECT $2, $1")
                    .bind::<Integer, _>(1)
                    .bind::<Integer, _>(2)
            )
            .is_err()
        );
        assert!(sql_of(&statement("SELECT 1").bind::<Integer, _>(1)).is_err());
        assert!(sql_of(&statement("SELECT $1").bind::<Integer, _>(1)).is_ok());
    }
}
