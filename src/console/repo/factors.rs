//! `console_totp` and `console_recovery_codes`: an admin's second factor.

use sqlx::{PgConnection, PgExecutor};

use crate::ids::UserId;

/// The admin's sealed TOTP secret and the last step accepted.
pub async fn sealed_secret(db: impl PgExecutor<'_>, user: UserId) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!("select secret_sealed from console_totp where user_id = $1", user.get())
        .fetch_optional(db)
        .await
}

/// Records `step` as used; `false` when it (or a later one) was used already: a code is accepted
/// once, even by two logins racing with it.
pub async fn accept_step(db: impl PgExecutor<'_>, user: UserId, step: i64) -> sqlx::Result<bool> {
    let updated =
        sqlx::query!("update console_totp set last_step = $2 where user_id = $1 and last_step < $2", user.get(), step)
            .execute(db)
            .await?;
    Ok(updated.rows_affected() == 1)
}

/// Stores a confirmed enrolment with its recovery codes' hashes; `false` when the admin enrolled
/// meanwhile (from another login), which then stands.
pub async fn enrol(
    conn: &mut PgConnection,
    user: UserId,
    sealed: &[u8],
    step: i64,
    recovery_hashes: &[Vec<u8>],
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "insert into console_totp (user_id, secret_sealed, last_step) values ($1, $2, $3) on conflict do nothing",
        user.get(),
        sealed,
        step,
    )
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!("delete from console_recovery_codes where user_id = $1", user.get()).execute(&mut *conn).await?;
    sqlx::query!(
        "insert into console_recovery_codes (user_id, code_hash) select $1, unnest($2::bytea[])",
        user.get(),
        recovery_hashes,
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Spends an unused recovery code of the admin; `false` when none matches.
pub async fn use_recovery_code(db: impl PgExecutor<'_>, user: UserId, hash: &[u8]) -> sqlx::Result<bool> {
    let used = sqlx::query!(
        "update console_recovery_codes set used_at = now() where user_id = $1 and code_hash = $2 and used_at is null",
        user.get(),
        hash,
    )
    .execute(db)
    .await?;
    Ok(used.rows_affected() == 1)
}

/// Recovery codes the admin has left.
pub async fn recovery_codes_left(db: impl PgExecutor<'_>, user: UserId) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from console_recovery_codes where user_id = $1 and used_at is null"#,
        user.get()
    )
    .fetch_one(db)
    .await
}

/// Forgets the second factor of admin `username` (its secret, its recovery codes) and ends its
/// console sessions: its next console login enrols again. The admin's id, or `None` when no
/// admin has that username.
pub async fn reset(conn: &mut PgConnection, username: &str) -> sqlx::Result<Option<UserId>> {
    let Some(user) = sqlx::query_scalar!(
        r#"select id as "id: UserId" from users where lower(username) = lower($1) and user_type = 'ADMIN'"#,
        username
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    sqlx::query!("delete from console_totp where user_id = $1", user.get()).execute(&mut *conn).await?;
    sqlx::query!("delete from console_recovery_codes where user_id = $1", user.get()).execute(&mut *conn).await?;
    sqlx::query!("delete from console_sessions where user_id = $1", user.get()).execute(&mut *conn).await?;
    Ok(Some(user))
}
