//! A hospital's doctors: their profiles and their login state.

use sqlx::{AssertSqlSafe, PgConnection, PgExecutor};

use super::select::{DOCTOR_SELECT, lock_one};
use crate::hospitals::model::Doctor;

/// A doctor of `hospital_id`, locked for an update in this transaction (the profile row: whoever
/// changes the doctor's login state holds it, so profile and login change together).
pub async fn lock_doctor(conn: &mut PgConnection, hospital_id: i64, id: i64) -> sqlx::Result<Option<Doctor>> {
    lock_one(
        conn,
        format!("{DOCTOR_SELECT} where p.id = $1 and p.hospital_id = $2 for update of p"),
        &[id, hospital_id],
    )
    .await
}

/// A doctor's profile fields.
#[derive(Debug, Clone)]
pub struct DoctorFields {
    pub department_id: Option<i64>,
    pub cnic: String,
    pub address: String,
    pub license_number: String,
    pub specialization: String,
    pub phone_number: String,
    pub available_timings: serde_json::Value,
    pub is_active: bool,
}

pub async fn insert_doctor_profile(
    db: impl PgExecutor<'_>,
    user_id: i64,
    hospital_id: i64,
    fields: &DoctorFields,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into doctor_profiles (user_id, hospital_id, department_id, cnic, address, license_number, \
                                      specialization, phone_number, available_timings, is_active) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
    )
    .bind(user_id)
    .bind(hospital_id)
    .bind(fields.department_id)
    .bind(&fields.cnic)
    .bind(&fields.address)
    .bind(&fields.license_number)
    .bind(&fields.specialization)
    .bind(&fields.phone_number)
    .bind(&fields.available_timings)
    .bind(fields.is_active)
    .fetch_one(db)
    .await
}

pub async fn update_doctor_profile(
    db: impl PgExecutor<'_>,
    hospital_id: i64,
    id: i64,
    fields: &DoctorFields,
) -> sqlx::Result<()> {
    sqlx::query(
        "update doctor_profiles set department_id = $3, cnic = $4, address = $5, license_number = $6, \
                specialization = $7, phone_number = $8, available_timings = $9, is_active = $10, updated_at = now() \
         where id = $1 and hospital_id = $2",
    )
    .bind(id)
    .bind(hospital_id)
    .bind(fields.department_id)
    .bind(&fields.cnic)
    .bind(&fields.address)
    .bind(&fields.license_number)
    .bind(&fields.specialization)
    .bind(&fields.phone_number)
    .bind(&fields.available_timings)
    .bind(fields.is_active)
    .execute(db)
    .await?;
    Ok(())
}

/// Enables or disables a doctor's account; disabling also ends its logins.
pub async fn set_doctor_login(conn: &mut PgConnection, user_id: i64, active: bool) -> sqlx::Result<()> {
    sqlx::query("update users set is_active = $2 where id = $1").bind(user_id).bind(active).execute(&mut *conn).await?;
    if !active {
        sqlx::query(
            "update refresh_token_families set revoked_at = now(), revoked_reason = 'account_deactivated' \
             where user_id = $1 and revoked_at is null",
        )
        .bind(user_id)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// A doctor of `hospital_id` only.
pub async fn get_doctor(db: impl PgExecutor<'_>, hospital_id: i64, id: i64) -> sqlx::Result<Option<Doctor>> {
    sqlx::query_as(AssertSqlSafe(format!("{DOCTOR_SELECT} where p.id = $1 and p.hospital_id = $2")))
        .bind(id)
        .bind(hospital_id)
        .fetch_optional(db)
        .await
}

/// Filters of a doctor list.
#[derive(Debug, Default)]
pub struct DoctorFilter<'a> {
    pub active_only: bool,
    pub department: Option<i64>,
    pub specialization: Option<&'a str>,
}

/// A page of `hospital_id`'s doctors.
pub async fn list_doctors(
    conn: &mut PgConnection,
    hospital_id: i64,
    filter: &DoctorFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Doctor>, i64)> {
    let condition = "where p.hospital_id = $1 and (not $2 or p.is_active) \
                     and ($3::bigint is null or p.department_id = $3) \
                     and ($4::text is null or lower(p.specialization) = lower($4))";
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("select count(*) from doctor_profiles p {condition}")))
        .bind(hospital_id)
        .bind(filter.active_only)
        .bind(filter.department)
        .bind(filter.specialization)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(AssertSqlSafe(format!("{DOCTOR_SELECT} {condition} order by p.id limit $5 offset $6")))
        .bind(hospital_id)
        .bind(filter.active_only)
        .bind(filter.department)
        .bind(filter.specialization)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((rows, count))
}
