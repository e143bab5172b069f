//! The overview's counts, in one round trip.

use sqlx::PgExecutor;

/// What the overview counts.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub pending_hospitals: i64,
    pub approved_hospitals: i64,
    pub confirmed_today: i64,
    pub sms_sent_24h: i64,
    pub sms_failed_24h: i64,
    pub sms_waiting: i64,
    /// (role, active, inactive), from `accounts::repo::user_counts_by_role`.
    pub users: Vec<(String, i64, i64)>,
}

/// Hospitals awaiting a decision and approved, confirmed appointments starting today (UTC), the
/// last 24 hours' SMS by outcome and the ones still waiting, and accounts by role (the accounts
/// context's own count).
pub async fn counts(db: &sqlx::PgPool) -> sqlx::Result<Counts> {
    let row = sqlx::query!(
        r#"select
             (select count(*) from hospitals where not is_approved and rejected_at is null) as "pending_hospitals!",
             (select count(*) from hospitals where is_approved) as "approved_hospitals!",
             (select count(*) from appointments where status = 'CONFIRMED'
                and confirmed_time >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'
                and confirmed_time < (date_trunc('day', now() at time zone 'UTC') + interval '1 day') at time zone 'UTC')
                as "confirmed_today!",
             (select count(*) from sms_messages where created_at > now() - interval '24 hours' and status = 'SENT')
                as "sms_sent_24h!",
             (select count(*) from sms_messages where created_at > now() - interval '24 hours' and status = 'FAILED')
                as "sms_failed_24h!",
             (select count(*) from sms_messages where status in ('QUEUED', 'SENDING', 'RETRY')) as "sms_waiting!""#
    )
    .fetch_one(db)
    .await?;
    let users = crate::accounts::repo::user_counts_by_role(db).await?;
    Ok(Counts {
        pending_hospitals: row.pending_hospitals,
        approved_hospitals: row.approved_hospitals,
        confirmed_today: row.confirmed_today,
        sms_sent_24h: row.sms_sent_24h,
        sms_failed_24h: row.sms_failed_24h,
        sms_waiting: row.sms_waiting,
        users,
    })
}

/// A hospital awaiting approval, as the overview lists it.
#[derive(Debug, Clone)]
pub struct PendingHospital {
    pub id: i64,
    pub name: String,
    pub location: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The oldest hospitals awaiting a decision (they have waited longest).
pub async fn pending_hospitals(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<PendingHospital>> {
    sqlx::query_as!(
        PendingHospital,
        "select id, name, location, created_at from hospitals
         where not is_approved and rejected_at is null order by created_at, id limit $1",
        limit
    )
    .fetch_all(db)
    .await
}
