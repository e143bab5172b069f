//! The operations context's SQL: the readiness probe's round trip to Postgres.

use sqlx::PgPool;

/// `1` when Postgres answers.
pub async fn ping(db: &PgPool) -> sqlx::Result<i32> {
    sqlx::query_scalar!(r#"select 1 as "one!""#).fetch_one(db).await
}
