//! Hospitals: the record, registration, approval, and the demo data's removal.

use sqlx::{PgConnection, PgExecutor};

use crate::{
    hospitals::model::{Hospital, HospitalFields},
    ids::{HospitalId, UserId},
};

/// A hospital, locked for an update in this transaction.
pub async fn lock_hospital(conn: &mut PgConnection, id: HospitalId) -> sqlx::Result<Option<Hospital>> {
    sqlx::query_as!(
        Hospital,
        r#"select h.id as "id: HospitalId", h.user_id as "user: UserId", u.username as user_username,
                  u.email as user_email, h.name, h.license_number, h.email, h.phone, h.address, h.location,
                  h.latitude, h.longitude, h.time_zone, h.is_approved, h.approved_by as "approved_by: UserId",
                  h.approved_at, h.created_at, h.updated_at
           from hospitals h join users u on u.id = h.user_id where h.id = $1 for update of h"#,
        id.get(),
    )
    .fetch_optional(conn)
    .await
}

pub async fn get_hospital(db: impl PgExecutor<'_>, id: HospitalId) -> sqlx::Result<Option<Hospital>> {
    sqlx::query_as!(
        Hospital,
        r#"select h.id as "id: HospitalId", h.user_id as "user: UserId", u.username as user_username,
                  u.email as user_email, h.name, h.license_number, h.email, h.phone, h.address, h.location,
                  h.latitude, h.longitude, h.time_zone, h.is_approved, h.approved_by as "approved_by: UserId",
                  h.approved_at, h.created_at, h.updated_at
           from hospitals h join users u on u.id = h.user_id where h.id = $1"#,
        id.get(),
    )
    .fetch_optional(db)
    .await
}

pub async fn insert_hospital(
    db: impl PgExecutor<'_>,
    user_id: UserId,
    fields: &HospitalFields,
    is_demo: bool,
) -> sqlx::Result<HospitalId> {
    sqlx::query_scalar!(
        r#"insert into hospitals (user_id, name, license_number, email, phone, address, location, latitude, longitude,
                                  is_demo, time_zone)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id as "id: HospitalId""#,
        user_id.get(),
        fields.name,
        fields.license_number,
        fields.email,
        fields.phone,
        fields.address,
        fields.location,
        fields.latitude,
        fields.longitude,
        is_demo,
        fields.time_zone,
    )
    .fetch_one(db)
    .await
}

pub async fn update_hospital(db: impl PgExecutor<'_>, id: HospitalId, fields: &HospitalFields) -> sqlx::Result<()> {
    sqlx::query!(
        "update hospitals set name = $2, license_number = $3, email = $4, phone = $5, address = $6, location = $7, \
         latitude = $8, longitude = $9, updated_at = now() where id = $1",
        id.get(),
        fields.name,
        fields.license_number,
        fields.email,
        fields.phone,
        fields.address,
        fields.location,
        fields.latitude,
        fields.longitude,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets the approval state; returns the hospital's user id. Approval activates the account,
/// rejection deactivates it.
pub async fn set_approval(
    conn: &mut PgConnection,
    id: HospitalId,
    approved: bool,
    admin_id: UserId,
) -> sqlx::Result<Option<UserId>> {
    let user_id = sqlx::query_scalar!(
        r#"update hospitals set is_approved = $2,
                approved_by = case when $2 then $3::bigint else null end,
                approved_at = case when $2 then now() else null end,
                rejected_at = case when $2 then null else now() end,
                updated_at = now()
           where id = $1 returning user_id as "user_id: UserId""#,
        id.get(),
        approved,
        admin_id.get(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user_id) = user_id {
        sqlx::query!("update users set is_active = $2 where id = $1", user_id.get(), approved)
            .execute(&mut *conn)
            .await?;
        // The hospital's doctors stand and fall with it (active profiles only come back). Their
        // profiles are locked first, so a doctor update in flight finishes before we read them.
        sqlx::query!("select 1 as one from doctor_profiles where hospital_id = $1 for share", id.get())
            .fetch_all(&mut *conn)
            .await?;
        sqlx::query!(
            "update users u set is_active = $2 and p.is_active from doctor_profiles p \
             where p.user_id = u.id and p.hospital_id = $1",
            id.get(),
            approved,
        )
        .execute(&mut *conn)
        .await?;
        if !approved {
            sqlx::query!(
                "update refresh_token_families set revoked_at = now(), revoked_reason = 'hospital_rejected' \
                 where revoked_at is null and user_id in (select user_id from doctor_profiles where hospital_id = $1)",
                id.get(),
            )
            .execute(conn)
            .await?;
        }
    }
    Ok(user_id)
}

/// Removes the hospitals `demo-data` made (their users, departments and doctors go with them).
pub async fn delete_demo_hospitals(conn: &mut PgConnection) -> sqlx::Result<u64> {
    // Appointments hold their hospital, department and doctor (on delete restrict): first them.
    sqlx::query!("delete from appointments where hospital_id in (select id from hospitals where is_demo)")
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query!(
        "delete from users where id in (select user_id from hospitals where is_demo) \
            or id in (select p.user_id from doctor_profiles p join hospitals h on h.id = p.hospital_id where h.is_demo)",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
