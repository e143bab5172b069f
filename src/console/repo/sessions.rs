//! `console_sessions`: one row per console login, found by the SHA-256 of its cookie's token.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::ids::UserId;

/// A live session, as the request that presented its cookie sees it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub username: String,
    /// `PASSWORD` (the second factor is awaited) or `ACTIVE`.
    pub stage: String,
    pub csrf: String,
    /// The sealed secret shown during enrolment.
    pub pending_secret: Option<Vec<u8>>,
    pub failed_codes: i32,
    /// The admin has a confirmed second factor.
    pub enrolled: bool,
}

/// Limits of a session's life, in minutes.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle_minutes: i64,
    pub absolute_minutes: i64,
    pub second_factor_minutes: i64,
}

/// The live session of `token_hash`, its `last_seen_at` moved to now; `None` when there is none,
/// it is idle or too old, or its account is no longer an active admin.
pub async fn touch(db: impl PgExecutor<'_>, token_hash: &[u8], life: Lifetimes) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"update console_sessions s set last_seen_at = now()
           from users u
           where s.token_hash = $1 and u.id = s.user_id and u.is_active and u.user_type = 'ADMIN'
             and s.last_seen_at > now() - make_interval(mins => $2::int)
             and case when s.stage = 'ACTIVE' then s.created_at > now() - make_interval(mins => $3::int)
                      else s.created_at > now() - make_interval(mins => $4::int) end
           returning s.id, s.user_id as "user_id: UserId", u.username, s.stage, s.csrf, s.pending_secret,
                     s.failed_codes, exists(select 1 from console_totp t where t.user_id = s.user_id) as "enrolled!""#,
        token_hash,
        i32::try_from(life.idle_minutes).unwrap_or(i32::MAX),
        i32::try_from(life.absolute_minutes).unwrap_or(i32::MAX),
        i32::try_from(life.second_factor_minutes).unwrap_or(i32::MAX),
    )
    .fetch_optional(db)
    .await
}

/// Opens a session awaiting the second factor, and drops the user's sessions that have ended.
pub async fn open(
    conn: &mut PgConnection,
    user: UserId,
    token_hash: &[u8],
    csrf: &str,
    life: Lifetimes,
) -> sqlx::Result<Uuid> {
    sqlx::query!(
        "delete from console_sessions where user_id = $1
           and (last_seen_at < now() - make_interval(mins => $2::int)
                or created_at < now() - make_interval(mins => $3::int))",
        user.get(),
        i32::try_from(life.idle_minutes).unwrap_or(i32::MAX),
        i32::try_from(life.absolute_minutes).unwrap_or(i32::MAX),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        "insert into console_sessions (token_hash, user_id, stage, csrf) values ($1, $2, 'PASSWORD', $3) returning id",
        token_hash,
        user.get(),
        csrf,
    )
    .fetch_one(&mut *conn)
    .await
}

/// Keeps the secret being enrolled on the session (sealed).
pub async fn set_pending_secret(db: impl PgExecutor<'_>, session: Uuid, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("update console_sessions set pending_secret = $2 where id = $1", session, sealed)
        .execute(db)
        .await
        .map(drop)
}

/// Counts a wrong second factor; the session's count so far.
pub async fn count_failed_code(db: impl PgExecutor<'_>, session: Uuid) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "update console_sessions set failed_codes = failed_codes + 1 where id = $1 returning failed_codes",
        session
    )
    .fetch_one(db)
    .await
}

/// The second factor passed: the session is signed in under a new token and CSRF token (the
/// pre-login ones stop working, so a planted cookie cannot ride the login).
pub async fn activate(db: impl PgExecutor<'_>, session: Uuid, token_hash: &[u8], csrf: &str) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "update console_sessions set stage = 'ACTIVE', token_hash = $2, csrf = $3, pending_secret = null,
                failed_codes = 0, created_at = now(), last_seen_at = now()
         where id = $1 and stage = 'PASSWORD'",
        session,
        token_hash,
        csrf,
    )
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn delete(db: impl PgExecutor<'_>, session: Uuid) -> sqlx::Result<()> {
    sqlx::query!("delete from console_sessions where id = $1", session).execute(db).await.map(drop)
}
