//! The `sms_messages` rows: created with their job in the caller's transaction, claimed by a
//! handler before the provider is called (so a message is sent at most once), then marked.

use sqlx::{PgConnection, PgPool};

use super::SendSms;
use crate::{jobs::Job, outbox};

/// Why a message is sent (stored, shown to operators; decides redaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A one-time code: the body is redacted once sent.
    Otp,
    AppointmentConfirmation,
    AppointmentCancellation,
    AppointmentReminder,
    HospitalApproval,
    Test,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::AppointmentConfirmation => "appointment_confirmation",
            Self::AppointmentCancellation => "appointment_cancellation",
            Self::AppointmentReminder => "appointment_reminder",
            Self::HospitalApproval => "hospital_approval",
            Self::Test => "test",
        }
    }
}

/// Stores a message to `to` (E.164) and enqueues its `SendSms` job, in the caller's transaction.
pub async fn queue_sms(conn: &mut PgConnection, to: &str, body: &str, purpose: Purpose) -> sqlx::Result<i64> {
    let message_id: i64 =
        sqlx::query_scalar("insert into sms_messages (to_number, body, purpose) values ($1, $2, $3) returning id")
            .bind(to)
            .bind(body)
            .bind(purpose.as_str())
            .fetch_one(&mut *conn)
            .await?;
    outbox::enqueue(conn, &SendSms { message_id }, Some(&format!("sms:{message_id}"))).await?;
    Ok(message_id)
}

/// The SQL of [`queue_sms`] as two CTEs, `sms_stored` and `sms_queued`, for a statement that
/// makes a change and queues its message in one round trip (its own implicit transaction, so the
/// message and its job commit with the change, as in a caller's transaction). One message is
/// stored and its `SendSms` job written to the outbox for each row of `rows`, a `FROM` clause
/// (e.g. `changed where $9::text is not null`); `to`, `body` and `purpose` are SQL expressions
/// over those rows (columns or parameters). The job's payload is built as `SendSms` serializes.
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
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub to_number: String,
    pub body: String,
    pub purpose: String,
    pub attempts: i32,
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// This run sends the message.
    Mine(Claimed),
    /// Already sent (or nothing left to send): the job is done.
    Done,
    /// Another run claimed it and has not finished (or died mid-send): not ours to resend.
    InFlight,
}

/// Claims the message for this attempt. A failed message can be claimed again (an operator
/// re-queued its dead job), unless it is a redacted one-time code.
pub async fn claim(db: &PgPool, message_id: i64) -> sqlx::Result<Claim> {
    if let Some(claimed) = claim_row(db, message_id).await? {
        return Ok(Claim::Mine(claimed));
    }
    let status: Option<String> =
        sqlx::query_scalar("select status from sms_messages where id = $1").bind(message_id).fetch_optional(db).await?;
    Ok(if status.as_deref() == Some("SENDING") { Claim::InFlight } else { Claim::Done })
}

async fn claim_row(db: &PgPool, message_id: i64) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as(
        "update sms_messages set status = 'SENDING', attempts = attempts + 1, started_at = coalesce(started_at, now()) \
         where id = $1 and status in ('QUEUED', 'RETRY', 'FAILED') and body <> '[redacted]' \
         returning to_number, body, purpose, attempts",
    )
    .bind(message_id)
    .fetch_optional(db)
    .await
}

pub async fn mark_sent(db: &PgPool, message_id: i64, provider: &str, provider_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update sms_messages set status = 'SENT', provider = $2, provider_message_id = $3, sent_at = now(), \
                last_error = null, \
                body = case when purpose = 'otp' then '[redacted]' else body end \
         where id = $1",
    )
    .bind(message_id)
    .bind(provider)
    .bind(provider_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Back to the queue after a transient failure (`retry`), or failed for good.
pub async fn mark_unsent(db: &PgPool, message_id: i64, provider: &str, error: &str, retry: bool) -> sqlx::Result<()> {
    sqlx::query(
        "update sms_messages set status = $2, provider = $3, last_error = $4, \
                body = case when $2 = 'FAILED' and purpose = 'otp' then '[redacted]' else body end \
         where id = $1",
    )
    .bind(message_id)
    .bind(if retry { "RETRY" } else { "FAILED" })
    .bind(provider)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}
