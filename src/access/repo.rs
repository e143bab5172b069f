//! Every SQL statement of the access context: one-time code requests and access grants.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection};

use super::model::Grant;
use crate::locks::{self, Key, LockSpace};

/// A patient as the code flows need them.
#[derive(Debug, sqlx::FromRow)]
pub struct PatientContact {
    pub id: i64,
    pub phone_number: Option<String>,
}

pub async fn patient_by_id(conn: &mut PgConnection, patient_id: i64) -> sqlx::Result<Option<PatientContact>> {
    sqlx::query_as("select id, phone_number from users where id = $1 and user_type = 'PATIENT' and is_active")
        .bind(patient_id)
        .fetch_optional(conn)
        .await
}

/// Active patients with this (E.164) phone number: phones are not unique; two rows are enough to
/// know it is ambiguous.
pub async fn patients_by_phone(conn: &mut PgConnection, phone: &str) -> sqlx::Result<Vec<PatientContact>> {
    sqlx::query_as(
        "select id, phone_number from users where phone_number = $1 and user_type = 'PATIENT' and is_active \
         order by id limit 2",
    )
    .bind(phone)
    .fetch_all(conn)
    .await
}

/// Serializes the code and grant changes of one patient across processes, until the transaction
/// ends ([`LockSpace::AccessPatient`]).
pub async fn lock_patient(conn: &mut PgConnection, patient_id: i64) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessPatient, Key::Id(patient_id)).await
}

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

/// How many codes of `channel` were made for the patient within `window_minutes`, and when the
/// oldest of them leaves the window.
pub async fn recent_for_patient(
    conn: &mut PgConnection,
    patient_id: i64,
    channel: Channel,
    window_minutes: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "select count(*), min(created_at) + make_interval(mins => $2::int) from otp_requests \
         where patient_id = $1 and channel = $3 and created_at > now() - make_interval(mins => $2::int)",
    )
    .bind(patient_id)
    .bind(i32::try_from(window_minutes).unwrap_or(i32::MAX))
    .bind(channel.as_str())
    .fetch_one(conn)
    .await
}

/// Serializes the code requests of one doctor (whatever patient they name) until the caller's
/// transaction ends, so that the doctor's budget holds under concurrency. Taken after the
/// patient's (or subject's) lock, never before: no two transactions wait on each other in a cycle.
pub async fn lock_doctor(conn: &mut PgConnection, doctor_id: i64) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessDoctor, Key::Id(doctor_id)).await
}

/// The same count for the codes one doctor asked for, the requests that named nobody included
/// (under [`lock_doctor`]).
pub async fn recent_for_doctor(
    conn: &mut PgConnection,
    doctor_id: i64,
    window_minutes: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "select count(*), min(created_at) + make_interval(mins => $2::int) from ( \
             select created_at from otp_requests \
             where doctor_id = $1 and created_at > now() - make_interval(mins => $2::int) \
             union all \
             select created_at from otp_unmatched_requests \
             where doctor_id = $1 and created_at > now() - make_interval(mins => $2::int)) asked",
    )
    .bind(doctor_id)
    .bind(i32::try_from(window_minutes).unwrap_or(i32::MAX))
    .fetch_one(conn)
    .await
}

/// Serializes the requests that name one unknown subject until the caller's transaction ends.
pub async fn lock_subject(conn: &mut PgConnection, subject: &[u8]) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessSubject, Key::Bytes(subject)).await
}

/// How many requests named this unknown subject within `window_minutes`, and when the oldest of
/// them leaves the window (under [`lock_subject`]).
pub async fn recent_for_subject(
    conn: &mut PgConnection,
    subject: &[u8],
    window_minutes: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "select count(*), min(created_at) + make_interval(mins => $2::int) from otp_unmatched_requests \
         where subject = $1 and created_at > now() - make_interval(mins => $2::int)",
    )
    .bind(subject)
    .bind(i32::try_from(window_minutes).unwrap_or(i32::MAX))
    .fetch_one(conn)
    .await
}

/// A doctor's request that reached nobody, counted; when its code would have expired, computed
/// as [`insert_request`] computes a real one's (the transaction's time, in microseconds).
pub async fn insert_unmatched(
    conn: &mut PgConnection,
    doctor_id: i64,
    subject: &[u8],
    ttl_minutes: i64,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into otp_unmatched_requests (doctor_id, subject) values ($1, $2) \
         returning now() + make_interval(mins => $3::int)",
    )
    .bind(doctor_id)
    .bind(subject)
    .bind(i32::try_from(ttl_minutes).unwrap_or(10))
    .fetch_one(conn)
    .await
}

/// Serializes the failed-verification budgets of one hospital (and so of each of its doctors)
/// until the transaction ends. Taken after the patient's lock, never before.
pub async fn lock_verifying_hospital(conn: &mut PgConnection, hospital_id: i64) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessVerifyHospital, Key::Id(hospital_id)).await
}

/// The same for one client address; taken after the hospital's lock, never before.
pub async fn lock_verifying_address(conn: &mut PgConnection, address: &str) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessVerifyAddress, Key::Text(address)).await
}

/// Failed verifications within a window, and when the oldest of each count leaves it: the
/// doctor's, their hospital's and the client address's.
#[derive(Debug, sqlx::FromRow)]
pub struct FailedVerifications {
    pub doctor: i64,
    pub doctor_until: Option<DateTime<Utc>>,
    pub hospital: i64,
    pub hospital_until: Option<DateTime<Utc>>,
    pub address: i64,
    pub address_until: Option<DateTime<Utc>>,
}

/// Counts [`FailedVerifications`] within `window_minutes` (under the hospital's and the
/// address's locks).
pub async fn failed_verifications(
    conn: &mut PgConnection,
    doctor_id: i64,
    hospital_id: i64,
    address: &str,
    window_minutes: i64,
) -> sqlx::Result<FailedVerifications> {
    sqlx::query_as(
        "select count(*) filter (where doctor_id = $1) as doctor, \
                min(created_at) filter (where doctor_id = $1) + make_interval(mins => $4::int) as doctor_until, \
                count(*) filter (where hospital_id = $2) as hospital, \
                min(created_at) filter (where hospital_id = $2) + make_interval(mins => $4::int) as hospital_until, \
                count(*) filter (where address = $3) as address, \
                min(created_at) filter (where address = $3) + make_interval(mins => $4::int) as address_until \
         from otp_failed_verifications \
         where (doctor_id = $1 or hospital_id = $2 or address = $3) \
               and created_at > now() - make_interval(mins => $4::int)",
    )
    .bind(doctor_id)
    .bind(hospital_id)
    .bind(address)
    .bind(i32::try_from(window_minutes).unwrap_or(i32::MAX))
    .fetch_one(conn)
    .await
}

/// A failed verification, counted.
pub async fn insert_failed_verification(
    conn: &mut PgConnection,
    doctor_id: i64,
    hospital_id: i64,
    address: &str,
) -> sqlx::Result<()> {
    sqlx::query("insert into otp_failed_verifications (doctor_id, hospital_id, address) values ($1, $2, $3)")
        .bind(doctor_id)
        .bind(hospital_id)
        .bind(address)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new code request; its id and expiry. An SMS code (`doctor_id` given) has no code yet: the
/// worker makes it at send time.
pub async fn insert_request(
    conn: &mut PgConnection,
    patient_id: i64,
    doctor_id: Option<i64>,
    ttl_minutes: i64,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    sqlx::query_as(
        "insert into otp_requests (patient_id, doctor_id, channel, delivery, expires_at) \
         values ($1, $2, case when $2 is null then 'SHARE' else 'SMS' end, \
                 case when $2 is null then 'NONE' else 'QUEUED' end, now() + make_interval(mins => $3::int)) \
         returning id, expires_at",
    )
    .bind(patient_id)
    .bind(doctor_id)
    .bind(i32::try_from(ttl_minutes).unwrap_or(10))
    .fetch_one(conn)
    .await
}

pub async fn set_code(conn: &mut PgConnection, request_id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query("update otp_requests set code_hmac = $2 where id = $1")
        .bind(request_id)
        .bind(sealed)
        .execute(conn)
        .await?;
    Ok(())
}

/// A code request a doctor's typed code is compared with.
#[derive(Debug, sqlx::FromRow)]
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
pub async fn candidates(conn: &mut PgConnection, patient_id: i64, doctor_id: i64) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query_as(
        "select id, channel, code_hmac, status, failed_attempts, expires_at <= now() as expired from otp_requests \
         where patient_id = $1 and (doctor_id = $2 or channel = 'SHARE') and created_at > now() - interval '1 day' \
         order by id desc limit 20",
    )
    .bind(patient_id)
    .bind(doctor_id)
    .fetch_all(conn)
    .await
}

/// Counts a wrong try against these live codes; those reaching `max_attempts` are killed.
/// Returns how many are still live.
pub async fn count_failure(conn: &mut PgConnection, ids: &[i64], max_attempts: i32) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "with tried as ( \
             update otp_requests set failed_attempts = failed_attempts + 1, \
                    status = case when failed_attempts + 1 >= $2 then 'LOCKED' else status end \
             where id = any($1) and status = 'PENDING' returning status) \
         select count(*) filter (where status = 'PENDING') from tried",
    )
    .bind(ids)
    .bind(max_attempts)
    .fetch_one(conn)
    .await
}

/// Counts a wrong try against the live requests `doctor_id` made for nobody under `subject`
/// (made within `ttl_minutes`, fewer than `max_attempts` wrong tries), as [`count_failure`] does
/// against real codes: how many were counted, and how many of those are still live.
pub async fn count_unmatched_failure(
    conn: &mut PgConnection,
    doctor_id: i64,
    subject: &[u8],
    ttl_minutes: i64,
    max_attempts: i32,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "with tried as ( \
             update otp_unmatched_requests set failed_attempts = failed_attempts + 1 \
             where doctor_id = $1 and subject = $2 and failed_attempts < $4 \
                   and created_at > now() - make_interval(mins => $3::int) \
             returning failed_attempts) \
         select count(*), count(*) filter (where failed_attempts < $4) from tried",
    )
    .bind(doctor_id)
    .bind(subject)
    .bind(i32::try_from(ttl_minutes).unwrap_or(10))
    .bind(max_attempts)
    .fetch_one(conn)
    .await
}

/// Redeems a live code and gives `doctor_id` its grant, held by login `session_id` (the one that
/// typed the code) alone; the grant's id and expiry.
pub async fn redeem(
    conn: &mut PgConnection,
    request_id: i64,
    patient_id: i64,
    doctor_id: i64,
    hospital_id: i64,
    session_id: uuid::Uuid,
    grant_minutes: i64,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    sqlx::query(
        "update otp_requests set status = 'USED', used_at = now(), used_by = $2 where id = $1 and status = 'PENDING'",
    )
    .bind(request_id)
    .bind(doctor_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(
        "insert into access_grants (patient_id, doctor_id, hospital_id, otp_request_id, session_id, expires_at) \
         values ($1, $2, $3, $4, $5, now() + make_interval(mins => $6::int)) returning id, expires_at",
    )
    .bind(patient_id)
    .bind(doctor_id)
    .bind(hospital_id)
    .bind(request_id)
    .bind(session_id)
    .bind(i32::try_from(grant_minutes).unwrap_or(30))
    .fetch_one(conn)
    .await
}

const GRANT_COLUMNS: &str = "g.id, g.doctor_id as doctor, \
     trim(du.first_name || ' ' || du.last_name) as doctor_name, g.hospital_id as hospital, \
     h.name as hospital_name, g.granted_at, g.expires_at, g.revoked_at, \
     (g.revoked_at is null and g.expires_at > now()) as is_active \
     from access_grants g join doctor_profiles d on d.id = g.doctor_id join users du on du.id = d.user_id \
     join hospitals h on h.id = g.hospital_id";

/// The patient's grants that are live or ended within the last 30 days, newest first; and their
/// count.
pub async fn grants_of(
    conn: &mut PgConnection,
    patient_id: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<Grant>)> {
    let recent =
        "g.patient_id = $1 and coalesce(least(g.revoked_at, g.expires_at), g.expires_at) > now() - interval '30 days'";
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("select count(*) from access_grants g where {recent}")))
        .bind(patient_id)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "select {GRANT_COLUMNS} where {recent} order by g.granted_at desc, g.id desc limit $2 offset $3"
    )))
    .bind(patient_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// Ends a grant of this patient now (one already ended stays as it was). `None`: no such grant
/// of this patient; `Some(true)`: it was live and is revoked now.
pub async fn revoke(conn: &mut PgConnection, patient_id: i64, grant_id: i64) -> sqlx::Result<Option<bool>> {
    let live: Option<bool> = sqlx::query_scalar(
        "select revoked_at is null and expires_at > now() from access_grants where id = $1 and patient_id = $2 for update",
    )
    .bind(grant_id)
    .bind(patient_id)
    .fetch_optional(&mut *conn)
    .await?;
    if live == Some(true) {
        sqlx::query("update access_grants set revoked_at = now() where id = $1").bind(grant_id).execute(conn).await?;
    }
    Ok(live)
}
