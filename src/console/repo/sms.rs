//! The SMS page's reads of `sms_messages` (the workers' table): a page of messages, newest first,
//! and the last day's count by status. A message's text leaves the database only for the
//! purposes the caller names as showable: the others' bodies are never selected.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// A message as the SMS page lists it (`to_number` is masked before it is shown).
#[derive(Debug, Clone)]
pub struct SmsRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub to_number: String,
    pub purpose: String,
    pub status: String,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// The text, only for a purpose of `showable`.
    pub body: Option<String>,
}

/// Newest first: a page of the messages with `status` and `purpose` (each, when given); the
/// body only of those whose purpose is in `showable`.
pub async fn list(
    db: impl PgExecutor<'_>,
    status: Option<&str>,
    purpose: Option<&str>,
    showable: &[String],
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<SmsRow>> {
    sqlx::query_as!(
        SmsRow,
        r#"select id, created_at, sent_at, to_number, purpose, status, provider, provider_message_id, attempts,
                  left(last_error, 1000) as last_error,
                  case when purpose = any($3) then body end as body
           from sms_messages
           where ($1::text is null or status = $1) and ($2::text is null or purpose = $2)
           order by id desc limit $4 offset $5"#,
        status,
        purpose,
        showable,
        limit,
        offset,
    )
    .fetch_all(db)
    .await
}

/// How many messages [`list`] pages through, counted up to `cap` (the table grows with every
/// message ever sent: a page view does not count all of them).
pub async fn count(
    db: impl PgExecutor<'_>,
    status: Option<&str>,
    purpose: Option<&str>,
    cap: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from (
               select 1 from sms_messages
               where ($1::text is null or status = $1) and ($2::text is null or purpose = $2)
               limit $3) m"#,
        status,
        purpose,
        cap,
    )
    .fetch_one(db)
    .await
}

/// Messages created in the last 24 hours, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastDay {
    pub sent: i64,
    pub failed: i64,
    /// Queued, being sent, or waiting for a retry.
    pub waiting: i64,
}

pub async fn last_day(db: impl PgExecutor<'_>) -> sqlx::Result<LastDay> {
    sqlx::query_as!(
        LastDay,
        r#"select count(*) filter (where status = 'SENT') as "sent!",
                  count(*) filter (where status = 'FAILED') as "failed!",
                  count(*) filter (where status in ('QUEUED', 'SENDING', 'RETRY')) as "waiting!"
           from sms_messages where created_at > now() - interval '24 hours'"#,
    )
    .fetch_one(db)
    .await
}
