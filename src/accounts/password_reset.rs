//! A doctor's password reset, asked for by their hospital and delivered to the doctor alone.
//!
//! The hospital's request ([`request`]) ends every login of the account (and so every grant
//! those logins held), makes the old password unusable and queues [`SendTemporaryPassword`]
//! through the outbox, in one transaction. The job makes the temporary password when it sends
//! the SMS, hashes it into the account in the statement that claims the reset, and hands it to
//! the SMS provider: it is never in clear in a row, the outbox, Redis or a log, and the hospital
//! never sees it (it learns the masked phone it went to). Only an account's latest reset is
//! sent; an earlier one still queued is superseded. A send that fails leaves a password nobody
//! knows; a retry makes and stores a new one.

use carehub_workers::apalis::prelude::AbortError;
use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue},
    outbox,
    sms::{SmsError, SmsProvider},
};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use super::{
    model::{UserId, generate_password},
    password::hash_once,
};

/// Send the temporary password of one reset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendTemporaryPassword {
    pub reset_id: i64,
}

impl Job for SendTemporaryPassword {
    const QUEUE: Queue = Queue::new("carehub:password-reset");
    const NAME: &'static str = "SendTemporaryPassword";
}

/// What no argon2 verification ever matches: the account's password until the SMS is sent.
const UNUSABLE_PASSWORD: &str = "!reset-pending";

/// Resets of one account within the last hour: at most [`RESETS_PER_HOUR`], so that a hospital
/// cannot flood its doctor's phone; with when the oldest leaves the window. Read under the
/// caller's lock on the doctor, so concurrent resets count each other.
pub async fn recent(
    conn: &mut PgConnection,
    user: UserId,
) -> sqlx::Result<(i64, Option<chrono::DateTime<chrono::Utc>>)> {
    sqlx::query_as(
        "select count(*), min(created_at) + interval '1 hour' from password_resets \
         where user_id = $1 and created_at > now() - interval '1 hour'",
    )
    .bind(user)
    .fetch_one(conn)
    .await
}

/// The most resets of one account per hour.
pub const RESETS_PER_HOUR: i64 = 3;

/// Queues a reset of `user`'s password, asked for by `requested_by`, inside the caller's
/// transaction: the old password stops working now, the logins end (with the grants they held:
/// a trigger ends them), the temporary password is made and sent by the job. The reset's id
/// and the number of logins ended.
pub async fn request(conn: &mut PgConnection, user: UserId, requested_by: UserId) -> sqlx::Result<(i64, u64)> {
    sqlx::query("update users set password_hash = $2, must_change_password = true where id = $1")
        .bind(user)
        .bind(UNUSABLE_PASSWORD)
        .execute(&mut *conn)
        .await?;
    let revoked = super::repo::revoke_other_families(&mut *conn, user, None, "password_reset").await?;
    let reset_id: i64 =
        sqlx::query_scalar("insert into password_resets (user_id, requested_by) values ($1, $2) returning id")
            .bind(user)
            .bind(requested_by)
            .fetch_one(&mut *conn)
            .await?;
    outbox::enqueue(conn, &SendTemporaryPassword { reset_id }, Some(&format!("password-reset:{reset_id}"))).await?;
    Ok((reset_id, revoked))
}

/// A reset claimed for sending, its password hashed into the account.
#[derive(sqlx::FromRow)]
struct Claimed {
    phone_number: Option<String>,
    username: String,
    user_id: i64,
}

/// Claims the reset (QUEUED or RETRY, and the account's latest) and stores `hash` as the
/// account's generated password, in one statement.
async fn claim(db: &PgPool, reset_id: i64, hash: &str) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as(
        "with claimed as ( \
             update password_resets r set delivery = 'SENDING', delivery_attempts = delivery_attempts + 1 \
             where r.id = $1 and r.delivery in ('QUEUED', 'RETRY') \
                   and not exists (select 1 from password_resets later where later.user_id = r.user_id and later.id > r.id) \
             returning r.user_id), \
         stored as ( \
             update users u set password_hash = $2, must_change_password = true, password_changed_at = now() \
             from claimed where u.id = claimed.user_id \
             returning u.id, u.phone_number, u.username) \
         select id as user_id, phone_number, username from stored",
    )
    .bind(reset_id)
    .bind(hash)
    .fetch_optional(db)
    .await
}

/// After a claim found nothing: a queued reset that a later one replaced is marked so; the
/// reset's delivery state.
async fn delivery_of(db: &PgPool, reset_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "update password_resets r set delivery = case \
             when r.delivery in ('QUEUED', 'RETRY') \
                  and exists (select 1 from password_resets later where later.user_id = r.user_id and later.id > r.id) \
             then 'SUPERSEDED' else r.delivery end \
         where r.id = $1 returning r.delivery",
    )
    .bind(reset_id)
    .fetch_optional(db)
    .await
}

async fn mark(
    db: &PgPool,
    reset_id: i64,
    delivery: &str,
    provider_id: Option<&str>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update password_resets set delivery = $2, provider_message_id = coalesce($3, provider_message_id), \
                last_error = $4, sent_at = case when $2 = 'SENT' then now() else sent_at end \
         where id = $1",
    )
    .bind(reset_id)
    .bind(delivery)
    .bind(provider_id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// A password that did not reach the doctor must not stay usable by anyone who saw it on the way;
/// only the one this run stored (`hash`) is withdrawn, never a later reset's or the doctor's own.
async fn unusable(db: &PgPool, user_id: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query("update users set password_hash = $2 where id = $1 and password_hash = $3")
        .bind(user_id)
        .bind(UNUSABLE_PASSWORD)
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

fn text(username: &str, password: &str, hours: i64) -> String {
    format!(
        "CareHub: your hospital reset the password of {username}. Temporary password: {password} \
         It works for {hours} hours; change it when you log in."
    )
}

/// The handler of [`SendTemporaryPassword`]; the password works for `hours` (the generated
/// password window, `auth.generated_password_hours`).
/// SMS go through `sms`.
pub fn send_temporary_password(hours: i64, sms: SmsProvider) -> impl Handler<SendTemporaryPassword> {
    move |job: SendTemporaryPassword, ctx: JobContext| {
        let sms = sms.clone();
        async move { send(&sms, job.reset_id, hours, &ctx).await }
    }
}

async fn send(sms: &SmsProvider, reset_id: i64, hours: i64, ctx: &JobContext) -> JobResult {
    let password = generate_password(16);
    let hash = hash_once(&password).await?;
    let Some(claimed) = claim(&ctx.db, reset_id, &hash).await? else {
        let delivery = delivery_of(&ctx.db, reset_id).await?;
        if delivery.as_deref() == Some("SENDING") {
            return Err(SmsError::Transient("another run of this job is sending the password".into()).into());
        }
        tracing::info!(password_reset.id = reset_id, delivery = ?delivery, "temporary password not sent: nothing to send");
        return Ok(());
    };
    let Some(phone) = claimed.phone_number.as_deref() else {
        unusable(&ctx.db, claimed.user_id, &hash).await?;
        mark(&ctx.db, reset_id, "FAILED", None, Some("the account has no phone number")).await?;
        return Err(AbortError::new(SmsError::Permanent("no phone number".into())).into());
    };
    let provider = sms.name();
    match sms.send(reset_id, phone, &text(&claimed.username, password.expose(), hours)).await {
        Ok(provider_id) => {
            mark(&ctx.db, reset_id, "SENT", Some(&provider_id), None).await?;
            tracing::info!(password_reset.id = reset_id, provider, "temporary password sent");
            Ok(())
        }
        Err(SmsError::Permanent(reason)) => {
            unusable(&ctx.db, claimed.user_id, &hash).await?;
            mark(&ctx.db, reset_id, "FAILED", None, Some(&reason)).await?;
            tracing::warn!(password_reset.id = reset_id, %reason, "temporary password refused by the SMS provider");
            Err(AbortError::new(SmsError::Permanent(reason)).into())
        }
        Err(SmsError::Transient(reason)) => {
            unusable(&ctx.db, claimed.user_id, &hash).await?;
            let delivery = if ctx.is_last_attempt() { "FAILED" } else { "RETRY" };
            mark(&ctx.db, reset_id, delivery, None, Some(&reason)).await?;
            tracing::warn!(password_reset.id = reset_id, %reason, attempt = ctx.attempt(), "temporary password send failed");
            Err(SmsError::Transient(reason).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_holds_the_reset_id_only() {
        let json = serde_json::to_string(&SendTemporaryPassword { reset_id: 9 }).expect("json");
        assert_eq!(json, r#"{"reset_id":9}"#);
    }

    #[test]
    fn the_unusable_password_is_no_hash() {
        assert!(argon2::PasswordHash::new(UNUSABLE_PASSWORD).is_err());
    }
}
