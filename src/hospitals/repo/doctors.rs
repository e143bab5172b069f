//! A hospital's doctors: their profiles and their login state.

use sqlx::{PgConnection, PgExecutor};

use crate::{
    hospitals::model::{Doctor, DoctorFields, DoctorFilter},
    ids::{DoctorId, HospitalId, UserId},
};

/// A doctor of `hospital_id`, locked for an update in this transaction (the profile row: whoever
/// changes the doctor's login state holds it, so profile and login change together).
pub async fn lock_doctor(
    conn: &mut PgConnection,
    hospital_id: HospitalId,
    id: DoctorId,
) -> sqlx::Result<Option<Doctor>> {
    sqlx::query_as!(
        Doctor,
        r#"select p.id as "id: DoctorId", p.hospital_id as "hospital: HospitalId", h.name as hospital_name,
                  p.user_id as "user: UserId", trim(u.first_name || ' ' || u.last_name) as "doctor_name!",
                  u.username as doctor_username, u.email as doctor_email, p.department_id as department,
                  d.name as "department_name?", p.cnic, p.address, p.license_number, p.specialization,
                  p.phone_number, p.available_timings, p.is_active, p.created_at, p.updated_at
           from doctor_profiles p join users u on u.id = p.user_id join hospitals h on h.id = p.hospital_id
           left join departments d on d.id = p.department_id
           where p.id = $1 and p.hospital_id = $2 for update of p"#,
        id.get(),
        hospital_id.get(),
    )
    .fetch_optional(conn)
    .await
}

/// A doctor of `hospital_id` only.
pub async fn get_doctor(
    db: impl PgExecutor<'_>,
    hospital_id: HospitalId,
    id: DoctorId,
) -> sqlx::Result<Option<Doctor>> {
    sqlx::query_as!(
        Doctor,
        r#"select p.id as "id: DoctorId", p.hospital_id as "hospital: HospitalId", h.name as hospital_name,
                  p.user_id as "user: UserId", trim(u.first_name || ' ' || u.last_name) as "doctor_name!",
                  u.username as doctor_username, u.email as doctor_email, p.department_id as department,
                  d.name as "department_name?", p.cnic, p.address, p.license_number, p.specialization,
                  p.phone_number, p.available_timings, p.is_active, p.created_at, p.updated_at
           from doctor_profiles p join users u on u.id = p.user_id join hospitals h on h.id = p.hospital_id
           left join departments d on d.id = p.department_id
           where p.id = $1 and p.hospital_id = $2"#,
        id.get(),
        hospital_id.get(),
    )
    .fetch_optional(db)
    .await
}

pub async fn insert_doctor_profile(
    db: impl PgExecutor<'_>,
    user_id: UserId,
    hospital_id: HospitalId,
    fields: &DoctorFields,
) -> sqlx::Result<DoctorId> {
    sqlx::query_scalar!(
        r#"insert into doctor_profiles (user_id, hospital_id, department_id, cnic, address, license_number,
                                        specialization, phone_number, available_timings, is_active)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id as "id: DoctorId""#,
        user_id.get(),
        hospital_id.get(),
        fields.department_id,
        fields.cnic,
        fields.address,
        fields.license_number,
        fields.specialization,
        fields.phone_number,
        fields.available_timings,
        fields.is_active,
    )
    .fetch_one(db)
    .await
}

pub async fn update_doctor_profile(
    db: impl PgExecutor<'_>,
    hospital_id: HospitalId,
    id: DoctorId,
    fields: &DoctorFields,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update doctor_profiles set department_id = $3, cnic = $4, address = $5, license_number = $6, \
                specialization = $7, phone_number = $8, available_timings = $9, is_active = $10, updated_at = now() \
         where id = $1 and hospital_id = $2",
        id.get(),
        hospital_id.get(),
        fields.department_id,
        fields.cnic,
        fields.address,
        fields.license_number,
        fields.specialization,
        fields.phone_number,
        fields.available_timings,
        fields.is_active,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Enables or disables a doctor's account; disabling also ends its logins.
pub async fn set_doctor_login(conn: &mut PgConnection, user_id: UserId, active: bool) -> sqlx::Result<()> {
    sqlx::query!("update users set is_active = $2 where id = $1", user_id.get(), active).execute(&mut *conn).await?;
    if !active {
        sqlx::query!(
            "update refresh_token_families set revoked_at = now(), revoked_reason = 'account_deactivated' \
             where user_id = $1 and revoked_at is null",
            user_id.get(),
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// A page of `hospital_id`'s doctors.
pub async fn list_doctors(
    conn: &mut PgConnection,
    hospital_id: HospitalId,
    filter: &DoctorFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Doctor>, i64)> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from doctor_profiles p
           where p.hospital_id = $1 and (not $2 or p.is_active)
             and ($3::bigint is null or p.department_id = $3)
             and ($4::text is null or lower(p.specialization) = lower($4))"#,
        hospital_id.get(),
        filter.active_only,
        filter.department,
        filter.specialization,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        Doctor,
        r#"select p.id as "id: DoctorId", p.hospital_id as "hospital: HospitalId", h.name as hospital_name,
                  p.user_id as "user: UserId", trim(u.first_name || ' ' || u.last_name) as "doctor_name!",
                  u.username as doctor_username, u.email as doctor_email, p.department_id as department,
                  d.name as "department_name?", p.cnic, p.address, p.license_number, p.specialization,
                  p.phone_number, p.available_timings, p.is_active, p.created_at, p.updated_at
           from doctor_profiles p join users u on u.id = p.user_id join hospitals h on h.id = p.hospital_id
           left join departments d on d.id = p.department_id
           where p.hospital_id = $1 and (not $2 or p.is_active)
             and ($3::bigint is null or p.department_id = $3)
             and ($4::text is null or lower(p.specialization) = lower($4))
           order by p.id limit $5 offset $6"#,
        hospital_id.get(),
        filter.active_only,
        filter.department,
        filter.specialization,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, count))
}
