//! Requests that named nobody (`otp_unmatched_requests`): a doctor asked for a code that could
//! reach no patient. Counted within the same limits as real ones, and tried against as real
//! ones are, under a keyed hash of what was typed (`subject`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::requests::minutes;
use crate::ids::DoctorId;

/// How many requests named this unknown subject within `window_minutes`, and when the oldest of
/// them leaves the window (under [`super::lock_subject`]).
pub async fn recent_for_subject(
    conn: &mut PgConnection,
    subject: &[u8],
    window_minutes: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", min(created_at) + make_interval(mins => $2::int) as until
         from otp_unmatched_requests
         where subject = $1 and created_at > now() - make_interval(mins => $2::int)"#,
        subject,
        minutes(window_minutes, i32::MAX),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.until))
}

/// A doctor's request that reached nobody, counted; when its code would have expired, computed
/// as [`super::requests::insert_request`] computes a real one's (the transaction's time, in
/// microseconds).
pub async fn insert_unmatched(
    conn: &mut PgConnection,
    doctor_id: DoctorId,
    subject: &[u8],
    ttl_minutes: i64,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        r#"insert into otp_unmatched_requests (doctor_id, subject) values ($1, $2)
         returning now() + make_interval(mins => $3::int) as "expires_at!""#,
        doctor_id.get(),
        subject,
        minutes(ttl_minutes, 10),
    )
    .fetch_one(conn)
    .await
}

/// Counts a wrong try against the live requests `doctor_id` made for nobody under `subject`
/// (made within `ttl_minutes`, fewer than `max_attempts` wrong tries), as
/// [`super::requests::count_failure`] does against real codes: how many were counted, and how
/// many of those are still live.
pub async fn count_unmatched_failure(
    conn: &mut PgConnection,
    doctor_id: DoctorId,
    subject: &[u8],
    ttl_minutes: i64,
    max_attempts: i32,
) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"with tried as (
             update otp_unmatched_requests set failed_attempts = failed_attempts + 1
             where doctor_id = $1 and subject = $2 and failed_attempts < $4
                   and created_at > now() - make_interval(mins => $3::int)
             returning failed_attempts)
         select count(*) as "counted!", count(*) filter (where failed_attempts < $4) as "live!" from tried"#,
        doctor_id.get(),
        subject,
        minutes(ttl_minutes, 10),
        max_attempts,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.counted, row.live))
}

/// Requests that named nobody count only within the limits' windows (minutes to an hour): those
/// older than a day are deleted (the access sweep). How many.
pub async fn delete_old(db: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!("delete from otp_unmatched_requests where created_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
