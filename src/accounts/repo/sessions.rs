//! Logins: a refresh-token family per login and its tokens, the state a request checks, and the
//! hospital an account belongs to (what a login puts in the principal).
//!
//! The hospital of an account is the one it owns, or the one it is a doctor at, null for anyone
//! else: `coalesce((select id from hospitals where user_id = …), (select hospital_id from
//! doctor_profiles where user_id = …))` in each statement below. It reads the hospitals context's
//! membership tables, but lives here so that accounts never imports hospitals (hospitals imports
//! accounts: one way).

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::super::{
    model::{SessionState, UserType},
    tokens,
};
use crate::ids::{HospitalId, UserId};

/// The state of a login, checked on every authenticated request (through
/// [`super::super::sessions::SessionCache`]).
pub async fn session_state(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    user: UserId,
) -> sqlx::Result<Option<SessionState>> {
    sqlx::query_as!(
        SessionState,
        r#"select u.user_type as "user_type: UserType",
                  case when u.user_type in ('HOSPITAL', 'DOCTOR')
                       then coalesce((select id from hospitals where user_id = u.id),
                                     (select hospital_id from doctor_profiles where user_id = u.id))
                  end as "hospital_id: HospitalId",
                  u.is_active, u.must_change_password, u.password_changed_at,
                  f.revoked_at is not null as "revoked!", f.expires_at
           from refresh_token_families f join users u on u.id = f.user_id
           where f.id = $1 and f.user_id = $2"#,
        session_id,
        user.get(),
    )
    .fetch_optional(db)
    .await
}

/// The hospital a user account belongs to (its own, or the one a doctor works at).
pub async fn hospital_of_user(db: impl PgExecutor<'_>, user: UserId) -> sqlx::Result<Option<HospitalId>> {
    sqlx::query_scalar!(
        r#"select coalesce((select id from hospitals where user_id = $1),
                           (select hospital_id from doctor_profiles where user_id = $1)) as "hospital_id: HospitalId""#,
        user.get(),
    )
    .fetch_one(db)
    .await
}

/// A login opened by [`open_login`].
#[derive(Debug)]
pub struct OpenedLogin {
    pub session_id: Uuid,
    pub refresh: String,
    /// The hospital of a hospital or doctor account.
    pub hospital_id: Option<HospitalId>,
}

/// Opens a login in one statement (one round trip, one implicit transaction): the refresh-token
/// family and its first token, the account's `last_login`, and the `login_succeeded` audit row
/// (in `crate::audit::COLUMNS`' order), which names the account's hospital for hospital and
/// doctor accounts.
pub async fn open_login(
    conn: &mut PgConnection,
    user: UserId,
    user_type: UserType,
    ttl: Duration,
    meta: &crate::audit::RequestMeta,
) -> sqlx::Result<OpenedLogin> {
    let session_id = Uuid::new_v4();
    let (refresh, hash) = tokens::new_refresh_token();
    let hospital_id = sqlx::query_scalar!(
        r#"with family as (
               insert into refresh_token_families (id, user_id, expires_at, ip, user_agent)
               values ($1, $2, $3, $4, $5) returning id),
           token as (insert into refresh_tokens (token_hash, family_id, expires_at) select $6, id, $3 from family),
           seen as (update users set last_login = now() where id = $2),
           place as (select case when $7 in ('HOSPITAL', 'DOCTOR')
                                 then coalesce((select id from hospitals where user_id = $2),
                                               (select hospital_id from doctor_profiles where user_id = $2))
                            end as hospital_id),
           audited as (
               insert into audit_log (occurred_at, actor_id, actor_type, hospital_id, action, target_type, target_id,
                                      ip, user_agent, request_id, details)
               select now(), $2, $7, hospital_id, 'login_succeeded', 'user', $2::text, $4, $5, $8, '{}'::jsonb
               from place)
           select hospital_id as "hospital_id: HospitalId" from place"#,
        session_id,
        user.get(),
        Utc::now() + ttl,
        meta.ip.as_deref(),
        meta.user_agent.as_deref(),
        hash,
        user_type.as_str(),
        meta.request_id.as_deref(),
    )
    .fetch_one(conn)
    .await?;
    Ok(OpenedLogin { session_id, refresh, hospital_id })
}

/// A presented refresh token, locked for the rest of the transaction.
#[derive(Debug)]
pub struct PresentedRefresh {
    pub family_id: Uuid,
    pub user_id: UserId,
    pub user_type: UserType,
    pub user_active: bool,
    pub spent: bool,
    pub expired: bool,
    pub family_revoked: bool,
    pub family_expires_at: DateTime<Utc>,
}

pub async fn lock_refresh_token(conn: &mut PgConnection, token: &str) -> sqlx::Result<Option<PresentedRefresh>> {
    sqlx::query_as!(
        PresentedRefresh,
        r#"select t.family_id, f.user_id as "user_id: UserId", u.user_type as "user_type: UserType",
                  u.is_active as user_active,
                  t.used_at is not null as "spent!", t.expires_at <= now() as "expired!",
                  f.revoked_at is not null as "family_revoked!", f.expires_at as family_expires_at
           from refresh_tokens t
           join refresh_token_families f on f.id = t.family_id
           join users u on u.id = f.user_id
           where t.token_hash = $1
           for update of t, f"#,
        tokens::hash_refresh_token(token),
    )
    .fetch_optional(conn)
    .await
}

/// Spends `token` and issues the next token of its family (same family expiry: rotation does
/// not extend a login beyond its refresh lifetime).
pub async fn rotate_refresh_token(
    conn: &mut PgConnection,
    token: &str,
    family: Uuid,
    family_expires_at: DateTime<Utc>,
) -> sqlx::Result<String> {
    sqlx::query!("update refresh_tokens set used_at = now() where token_hash = $1", tokens::hash_refresh_token(token))
        .execute(&mut *conn)
        .await?;
    let (next, hash) = tokens::new_refresh_token();
    sqlx::query!(
        "insert into refresh_tokens (token_hash, family_id, expires_at) values ($1, $2, $3)",
        hash,
        family,
        family_expires_at,
    )
    .execute(conn)
    .await?;
    Ok(next)
}

pub async fn revoke_family(db: impl PgExecutor<'_>, family: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update refresh_token_families set revoked_at = now(), revoked_reason = $2 where id = $1 and revoked_at is null",
        family,
        reason,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes every live login of `user` except `keep`; returns how many.
pub async fn revoke_other_families(
    db: impl PgExecutor<'_>,
    user: UserId,
    keep: Option<Uuid>,
    reason: &str,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update refresh_token_families set revoked_at = now(), revoked_reason = $3 \
         where user_id = $1 and revoked_at is null and id is distinct from $2",
        user.get(),
        keep,
        reason,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Removes login families that expired more than a day ago (kept a day for forensics); the
/// number removed.
pub async fn purge_expired_sessions(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!("delete from refresh_token_families where expires_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
