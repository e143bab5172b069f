//! All SQL of the `sms_messages` table: a message stored with its job, claimed for sending,
//! marked sent or unsent; and the same insert as CTEs for a caller's single statement.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::SendSms;
use crate::jobs::Job;

/// Stores a message; its id.
pub(crate) async fn insert(conn: &mut PgConnection, to: &str, body: &str, purpose: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into sms_messages (to_number, body, purpose) values ($1, $2, $3) returning id",
        to,
        body,
        purpose,
    )
    .fetch_one(conn)
    .await
}

/// The SQL of [`queue_sms`] as two CTEs, `sms_stored` and `sms_queued`, for a statement that
/// makes a change and queues its message in one round trip (its own implicit transaction, so the
/// message and its job commit with the change, as in a caller's transaction). One message is
/// stored and its `SendSms` job written to the outbox for each row of `rows`, a `FROM` clause
/// (e.g. `changed where $9::text is not null`); `to`, `body` and `purpose` are SQL expressions
/// over those rows (columns or parameters). The job's payload is built as `SendSms` serializes.
// Built at run time: a fragment of the caller's statement, over its rows and parameters.
pub fn queue_sms_ctes(rows: &str, to: &str, body: &str, purpose: &str) -> String {
    format!(
        "sms_stored as ( \
             insert into sms_messages (to_number, body, purpose) select {to}, {body}, {purpose} from {rows} \
             returning id), \
         sms_queued as ( \
             insert into outbox (queue, job_type, payload, dedupe_key) \
             select '{queue}', '{job_type}', jsonb_build_object('message_id', id), 'sms:' || id from sms_stored)",
        queue = SendSms::QUEUE.name(),
        job_type = SendSms::NAME,
    )
}

/// A message a handler has claimed for sending.
#[derive(Debug)]
pub struct Claimed {
    pub to_number: String,
    pub body: String,
    pub purpose: String,
    pub attempts: i32,
}

/// A message another run claimed and has not recorded the outcome of.
#[derive(Debug)]
pub struct Sending {
    pub to_number: String,
    pub body: String,
    /// When that run claimed it.
    pub since: DateTime<Utc>,
    /// How long ago, by the database's clock.
    pub age_ms: i64,
}

/// The message, if it is being sent (claimed, no outcome recorded yet).
pub(crate) async fn sending(db: &PgPool, message_id: i64) -> sqlx::Result<Option<Sending>> {
    sqlx::query_as!(
        Sending,
        r#"select to_number, body, coalesce(sending_since, started_at, created_at) as "since!",
                  (extract(epoch from now() - coalesce(sending_since, started_at, created_at)) * 1000)::bigint as "age_ms!"
           from sms_messages where id = $1 and status = 'SENDING'"#,
        message_id,
    )
    .fetch_optional(db)
    .await
}

/// Claims again a message whose claim of `since` was cut off (unless another run did first).
pub(crate) async fn take_over(db: &PgPool, message_id: i64, since: DateTime<Utc>) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as!(
        Claimed,
        "update sms_messages set attempts = attempts + 1, sending_since = now() \
         where id = $1 and status = 'SENDING' and coalesce(sending_since, started_at, created_at) = $2 \
         returning to_number, body, purpose, attempts",
        message_id,
        since,
    )
    .fetch_optional(db)
    .await
}

/// A cut-off send the provider cannot tell about: it may or may not have gone out. A code's
/// text is redacted as when sent.
pub(crate) async fn mark_unknown(
    db: &PgPool,
    message_id: i64,
    provider: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update sms_messages set status = 'UNKNOWN', provider = $3, \
                last_error = 'the sending process stopped before the provider answered', \
                body = case when purpose = 'otp' then '[redacted]' else body end \
         where id = $1 and status = 'SENDING' and coalesce(sending_since, started_at, created_at) = $2",
        message_id,
        since,
        provider,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Claims the message for this attempt unless it is sent, being sent, or a redacted code.
pub(crate) async fn claim(db: &PgPool, message_id: i64) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as!(
        Claimed,
        "update sms_messages set status = 'SENDING', attempts = attempts + 1, started_at = coalesce(started_at, now()), \
                sending_since = now() \
         where id = $1 and status in ('QUEUED', 'RETRY', 'FAILED') and body <> '[redacted]' \
         returning to_number, body, purpose, attempts",
        message_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn mark_sent(db: &PgPool, message_id: i64, provider: &str, provider_id: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update sms_messages set status = 'SENT', provider = $2, provider_message_id = $3, sent_at = now(), \
                last_error = null, \
                body = case when purpose = 'otp' then '[redacted]' else body end \
         where id = $1",
        message_id,
        provider,
        provider_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Back to the queue after a transient failure (`retry`), or failed for good.
pub async fn mark_unsent(db: &PgPool, message_id: i64, provider: &str, error: &str, retry: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "update sms_messages set status = $2, provider = $3, last_error = $4, \
                body = case when $2 = 'FAILED' and purpose = 'otp' then '[redacted]' else body end \
         where id = $1",
        message_id,
        if retry { "RETRY" } else { "FAILED" },
        provider,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}
