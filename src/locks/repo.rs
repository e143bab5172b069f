//! The advisory-lock statements, the only ones in CareHub: the two-`int4` form
//! (`(space, hashtext(key))`) and the one-`bigint` form, each waiting or trying.

use sqlx::PgConnection;

/// Waits for `(space, hashtext(key))` until the transaction ends.
pub(super) async fn lock_pair(conn: &mut PgConnection, space: i32, key: &str) -> sqlx::Result<()> {
    sqlx::query!("select pg_advisory_xact_lock($1, hashtext($2))", space, key).execute(conn).await?;
    Ok(())
}

/// Waits for the one-`bigint` key until the transaction ends.
pub(super) async fn lock_single(conn: &mut PgConnection, key: i64) -> sqlx::Result<()> {
    sqlx::query!("select pg_advisory_xact_lock($1)", key).execute(conn).await?;
    Ok(())
}

/// Takes `(space, hashtext(key))` if free: whether it did.
pub(super) async fn try_lock_pair(conn: &mut PgConnection, space: i32, key: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select pg_try_advisory_xact_lock($1, hashtext($2)) as "locked!""#, space, key)
        .fetch_one(conn)
        .await
}

/// Takes the one-`bigint` key if free: whether it did.
pub(super) async fn try_lock_single(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select pg_try_advisory_xact_lock($1) as "locked!""#, key).fetch_one(conn).await
}
