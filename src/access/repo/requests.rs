//! Code requests (`otp_requests`): how many were made within a window, a new one and its
//! sealed code, the ones a typed code is compared with, and a wrong try counted against them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::ids::{DoctorId, PatientId};

/// Which of a patient's codes a budget counts: the ones doctors asked for (sent by SMS), or the
/// ones the patient made to share. Each has a budget of its own, so doctors' requests never use
/// up the patient's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Share,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Share => "SHARE",
        }
    }
}

/// A window's minutes as the statements bind them.
pub(super) fn minutes(window_minutes: i64, otherwise: i32) -> i32 {
    i32::try_from(window_minutes).unwrap_or(otherwise)
}

/// How many codes of `channel` were made for the patient within `window_minutes`, and when the
/// oldest of them leaves the window.
pub async fn recent_for_patient(
    conn: &mut PgConnection,
    patient_id: PatientId,
    channel: Channel,
    window_minutes: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", min(created_at) + make_interval(mins => $2::int) as until from otp_requests
         where patient_id = $1 and channel = $3 and created_at > now() - make_interval(mins => $2::int)"#,
        patient_id.get(),
        minutes(window_minutes, i32::MAX),
        channel.as_str(),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.until))
}

/// The same count for the codes one doctor asked for, the requests that named nobody included
/// (under [`super::lock_doctor`]).
pub async fn recent_for_doctor(
    conn: &mut PgConnection,
    doctor_id: DoctorId,
    window_minutes: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", min(created_at) + make_interval(mins => $2::int) as until from (
             select created_at from otp_requests
             where doctor_id = $1 and created_at > now() - make_interval(mins => $2::int)
             union all
             select created_at from otp_unmatched_requests
             where doctor_id = $1 and created_at > now() - make_interval(mins => $2::int)) asked"#,
        doctor_id.get(),
        minutes(window_minutes, i32::MAX),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.until))
}

/// A new code request; its id and expiry. An SMS code (`doctor_id` given) has no code yet: the
/// worker makes it at send time.
pub async fn insert_request(
    conn: &mut PgConnection,
    patient_id: PatientId,
    doctor_id: Option<DoctorId>,
    ttl_minutes: i64,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    let row = sqlx::query!(
        "insert into otp_requests (patient_id, doctor_id, channel, delivery, expires_at)
         values ($1, $2::bigint, case when $2::bigint is null then 'SHARE' else 'SMS' end,
                 case when $2::bigint is null then 'NONE' else 'QUEUED' end, now() + make_interval(mins => $3::int))
         returning id, expires_at",
        patient_id.get(),
        doctor_id.map(DoctorId::get),
        minutes(ttl_minutes, 10),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.id, row.expires_at))
}

pub async fn set_code(conn: &mut PgConnection, request_id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("update otp_requests set code_hmac = $2 where id = $1", request_id, sealed).execute(conn).await?;
    Ok(())
}

/// A code request a doctor's typed code is compared with.
#[derive(Debug)]
pub struct Candidate {
    pub id: i64,
    /// `SMS` (asked for by this doctor) or `SHARE` (made by the patient for any one doctor).
    pub channel: String,
    pub code_hmac: Option<Vec<u8>>,
    pub status: String,
    pub failed_attempts: i32,
    pub expired: bool,
}

impl Candidate {
    /// Still redeemable: pending, not expired, its code made.
    pub fn is_live(&self) -> bool {
        self.status == "PENDING" && !self.expired && self.code_hmac.is_some()
    }
}

/// The patient's recent codes that `doctor_id` may redeem: the ones this doctor asked for, and
/// the ones the patient made to share. Newest first.
pub async fn candidates(
    conn: &mut PgConnection,
    patient_id: PatientId,
    doctor_id: DoctorId,
) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query_as!(
        Candidate,
        r#"select id, channel, code_hmac, status, failed_attempts, expires_at <= now() as "expired!" from otp_requests
         where patient_id = $1 and (doctor_id = $2 or channel = 'SHARE') and created_at > now() - interval '1 day'
         order by id desc limit 20"#,
        patient_id.get(),
        doctor_id.get(),
    )
    .fetch_all(conn)
    .await
}

/// Counts a wrong try against these live codes; those reaching `max_attempts` are killed.
/// Returns how many are still live.
pub async fn count_failure(conn: &mut PgConnection, ids: &[i64], max_attempts: i32) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"with tried as (
             update otp_requests set failed_attempts = failed_attempts + 1,
                    status = case when failed_attempts + 1 >= $2 then 'LOCKED' else status end
             where id = any($1) and status = 'PENDING' returning status)
         select count(*) filter (where status = 'PENDING') as "count!" from tried"#,
        ids,
        max_attempts,
    )
    .fetch_one(conn)
    .await
}

/// Marks a live code used by `doctor_id` (the first half of [`super::grants::redeem`]).
pub(super) async fn mark_used(conn: &mut PgConnection, request_id: i64, doctor_id: DoctorId) -> sqlx::Result<()> {
    sqlx::query!(
        "update otp_requests set status = 'USED', used_at = now(), used_by = $2 where id = $1 and status = 'PENDING'",
        request_id,
        doctor_id.get(),
    )
    .execute(conn)
    .await?;
    Ok(())
}
