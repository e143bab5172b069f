//! A doctor's password resets (`password_resets`) and the account password they set: counting an
//! account's recent resets, queueing one, and the job's claim and delivery marks.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::ids::UserId;

/// What no argon2 verification ever matches: the account's password until the SMS is sent.
pub const UNUSABLE_PASSWORD: &str = "!reset-pending";

/// Resets of one account within the last hour, and when the oldest leaves the window.
pub async fn recent(conn: &mut PgConnection, user: UserId) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", min(created_at) + interval '1 hour' as "until"
           from password_resets
           where user_id = $1 and created_at > now() - interval '1 hour'"#,
        user.get(),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.until))
}

/// Makes `user`'s password unusable until the reset's SMS is sent.
pub async fn make_password_unusable(conn: &mut PgConnection, user: UserId) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set password_hash = $2, must_change_password = true where id = $1",
        user.get(),
        UNUSABLE_PASSWORD,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A new reset of `user`'s password, asked for by `requested_by`; its id.
pub async fn insert(conn: &mut PgConnection, user: UserId, requested_by: UserId) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into password_resets (user_id, requested_by) values ($1, $2) returning id",
        user.get(),
        requested_by.get(),
    )
    .fetch_one(conn)
    .await
}

/// A reset claimed for sending, its password hashed into the account.
pub struct Claimed {
    pub phone_number: Option<String>,
    pub username: String,
    pub user_id: UserId,
}

/// Claims the reset (QUEUED or RETRY, and the account's latest) and stores `hash` as the
/// account's generated password, in one statement.
pub async fn claim(db: &PgPool, reset_id: i64, hash: &str) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as!(
        Claimed,
        r#"with claimed as (
               update password_resets r set delivery = 'SENDING', delivery_attempts = delivery_attempts + 1, sending_since = now()
               where r.id = $1 and r.delivery in ('QUEUED', 'RETRY')
                     and not exists (select 1 from password_resets later where later.user_id = r.user_id and later.id > r.id)
               returning r.user_id),
           stored as (
               update users u set password_hash = $2, must_change_password = true, password_changed_at = now()
               from claimed where u.id = claimed.user_id
               returning u.id, u.phone_number, u.username)
           select id as "user_id!: UserId", phone_number, username as "username!" from stored"#,
        reset_id,
        hash,
    )
    .fetch_optional(db)
    .await
}

/// After a claim found nothing: a queued reset that a later one replaced is marked so; the
/// reset's delivery state.
pub async fn delivery_of(db: &PgPool, reset_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "update password_resets r set delivery = case \
             when r.delivery in ('QUEUED', 'RETRY') \
                  and exists (select 1 from password_resets later where later.user_id = r.user_id and later.id > r.id) \
             then 'SUPERSEDED' else r.delivery end \
         where r.id = $1 returning r.delivery",
        reset_id,
    )
    .fetch_optional(db)
    .await
}

/// Records a reset's delivery state (`SENT` with the provider's message id, or a failure).
pub async fn mark(
    db: &PgPool,
    reset_id: i64,
    delivery: &str,
    provider_id: Option<&str>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update password_resets set delivery = $2, provider_message_id = coalesce($3, provider_message_id), \
                last_error = $4, sent_at = case when $2 = 'SENT' then now() else sent_at end \
         where id = $1",
        reset_id,
        delivery,
        provider_id,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A password that did not reach the doctor must not stay usable by anyone who saw it on the way;
/// only the one this run stored (`hash`) is withdrawn, never a later reset's or the doctor's own.
pub async fn withdraw(db: &PgPool, user: UserId, hash: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set password_hash = $2 where id = $1 and password_hash = $3",
        user.get(),
        UNUSABLE_PASSWORD,
        hash,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How long ago the reset's send was claimed, if it is being sent (by the database's clock).
pub async fn sending_ms(db: &PgPool, reset_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"select (extract(epoch from now() - coalesce(sending_since, created_at)) * 1000)::bigint as "ms!"
           from password_resets where id = $1 and delivery = 'SENDING'"#,
        reset_id,
    )
    .fetch_optional(db)
    .await
}

/// A send claimed more than `deadline_seconds` ago whose outcome was never recorded (its process
/// died) is marked `UNKNOWN`: it may or may not have reached the phone. Whether it was.
pub async fn mark_cut_off(db: &PgPool, reset_id: i64, deadline_seconds: f64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update password_resets set delivery = 'UNKNOWN', last_error = 'the sending process stopped before the provider answered'
         where id = $1 and delivery = 'SENDING' and coalesce(sending_since, created_at) <= now() - make_interval(secs => $2)",
        reset_id,
        deadline_seconds,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
