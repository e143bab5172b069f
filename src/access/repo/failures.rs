//! Failed verifications (`otp_failed_verifications`): each wrong try, counted for the budgets of
//! the doctor, their hospital and the client address.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::requests::minutes;
use crate::ids::{DoctorId, HospitalId};

/// Failed verifications within a window, and when the oldest of each count leaves it: the
/// doctor's, their hospital's and the client address's.
#[derive(Debug)]
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
    doctor_id: DoctorId,
    hospital_id: HospitalId,
    address: &str,
    window_minutes: i64,
) -> sqlx::Result<FailedVerifications> {
    sqlx::query_as!(
        FailedVerifications,
        r#"select count(*) filter (where doctor_id = $1) as "doctor!",
                min(created_at) filter (where doctor_id = $1) + make_interval(mins => $4::int) as doctor_until,
                count(*) filter (where hospital_id = $2) as "hospital!",
                min(created_at) filter (where hospital_id = $2) + make_interval(mins => $4::int) as hospital_until,
                count(*) filter (where address = $3) as "address!",
                min(created_at) filter (where address = $3) + make_interval(mins => $4::int) as address_until
         from otp_failed_verifications
         where (doctor_id = $1 or hospital_id = $2 or address = $3)
               and created_at > now() - make_interval(mins => $4::int)"#,
        doctor_id.get(),
        hospital_id.get(),
        address,
        minutes(window_minutes, i32::MAX),
    )
    .fetch_one(conn)
    .await
}

/// A failed verification, counted.
pub async fn insert_failed_verification(
    conn: &mut PgConnection,
    doctor_id: DoctorId,
    hospital_id: HospitalId,
    address: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into otp_failed_verifications (doctor_id, hospital_id, address) values ($1, $2, $3)",
        doctor_id.get(),
        hospital_id.get(),
        address,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Failed verifications older than a day (past every window) are deleted (the access sweep).
/// How many.
pub async fn delete_old(db: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!("delete from otp_failed_verifications where created_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
