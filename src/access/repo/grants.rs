//! Access grants (`access_grants`): the one a redeemed code gives, a patient's list, revocation,
//! and the live grant a doctor's login holds (what `records::policy` asks before a read).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::requests::{mark_used, minutes};
use crate::{
    access::model::Grant,
    ids::{DoctorId, HospitalId, PatientId},
};

/// Redeems a live code and gives `doctor_id` its grant, held by login `session_id` (the one that
/// typed the code) alone; the grant's id and expiry.
pub async fn redeem(
    conn: &mut PgConnection,
    request_id: i64,
    patient_id: PatientId,
    doctor_id: DoctorId,
    hospital_id: HospitalId,
    session_id: Uuid,
    grant_minutes: i64,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    mark_used(&mut *conn, request_id, doctor_id).await?;
    let row = sqlx::query!(
        "insert into access_grants (patient_id, doctor_id, hospital_id, otp_request_id, session_id, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(mins => $6::int)) returning id, expires_at",
        patient_id.get(),
        doctor_id.get(),
        hospital_id.get(),
        request_id,
        session_id,
        minutes(grant_minutes, 30),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.id, row.expires_at))
}

/// The patient's grants that are live or ended within the last 30 days, newest first; and their
/// count.
pub async fn grants_of(
    conn: &mut PgConnection,
    patient_id: PatientId,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<Grant>)> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from access_grants g
         where g.patient_id = $1
               and coalesce(least(g.revoked_at, g.expires_at), g.expires_at) > now() - interval '30 days'"#,
        patient_id.get(),
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        Grant,
        r#"select g.id, g.doctor_id as "doctor: DoctorId",
                trim(du.first_name || ' ' || du.last_name) as "doctor_name!", g.hospital_id as "hospital: HospitalId",
                h.name as hospital_name, g.granted_at, g.expires_at, g.revoked_at,
                (g.revoked_at is null and g.expires_at > now()) as "is_active!"
         from access_grants g join doctor_profiles d on d.id = g.doctor_id join users du on du.id = d.user_id
              join hospitals h on h.id = g.hospital_id
         where g.patient_id = $1
               and coalesce(least(g.revoked_at, g.expires_at), g.expires_at) > now() - interval '30 days'
         order by g.granted_at desc, g.id desc limit $2 offset $3"#,
        patient_id.get(),
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// Ends a grant of this patient now (one already ended stays as it was). `None`: no such grant
/// of this patient; `Some(true)`: it was live and is revoked now.
pub async fn revoke(conn: &mut PgConnection, patient_id: PatientId, grant_id: i64) -> sqlx::Result<Option<bool>> {
    let live = sqlx::query_scalar!(
        r#"select revoked_at is null and expires_at > now() as "live!" from access_grants
         where id = $1 and patient_id = $2 for update"#,
        grant_id,
        patient_id.get(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    if live == Some(true) {
        sqlx::query!("update access_grants set revoked_at = now() where id = $1", grant_id).execute(conn).await?;
    }
    Ok(live)
}

/// The live grant (`id`) that `doctor_id` holds for `patient_id` through login `session_id`, if
/// any: not revoked, not expired, and redeemed by this very login. The same doctor logged in
/// elsewhere, or anyone else who logs in with the doctor's password (a hospital that reset it),
/// holds nothing until a patient gives that login a code of its own.
pub async fn live_grant(
    conn: &mut PgConnection,
    session_id: Uuid,
    doctor_id: DoctorId,
    patient_id: PatientId,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "select id from access_grants
         where doctor_id = $1 and patient_id = $2 and session_id = $3 and revoked_at is null
               and expires_at > now()
         order by expires_at desc limit 1",
        doctor_id.get(),
        patient_id.get(),
        session_id,
    )
    .fetch_optional(conn)
    .await
}
