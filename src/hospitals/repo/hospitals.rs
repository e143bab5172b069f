//! Hospitals: registration, approval, the directory and nearby search.

use sqlx::{AssertSqlSafe, FromRow as _, PgConnection, PgExecutor, Row as _, postgres::PgRow, types::Decimal};

use super::select::{HOSPITAL_SELECT, hospital_page, lock_one};
use crate::hospitals::model::{Hospital, NearbyHospital};

/// A hospital, locked for an update in this transaction.
pub async fn lock_hospital(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Hospital>> {
    lock_one(conn, format!("{HOSPITAL_SELECT} where h.id = $1 for update of h"), &[id]).await
}

/// A hospital's own fields.
#[derive(Debug, Clone)]
pub struct HospitalFields {
    pub name: String,
    pub license_number: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub location: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
    /// IANA zone; only used on insert (registration takes the configured default).
    pub time_zone: String,
}

pub async fn insert_hospital(
    db: impl PgExecutor<'_>,
    user_id: i64,
    fields: &HospitalFields,
    is_demo: bool,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into hospitals (user_id, name, license_number, email, phone, address, location, latitude, longitude, \
                                is_demo, time_zone) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
    )
    .bind(user_id)
    .bind(&fields.name)
    .bind(&fields.license_number)
    .bind(&fields.email)
    .bind(&fields.phone)
    .bind(&fields.address)
    .bind(&fields.location)
    .bind(fields.latitude)
    .bind(fields.longitude)
    .bind(is_demo)
    .bind(&fields.time_zone)
    .fetch_one(db)
    .await
}

pub async fn update_hospital(db: impl PgExecutor<'_>, id: i64, fields: &HospitalFields) -> sqlx::Result<()> {
    sqlx::query(
        "update hospitals set name = $2, license_number = $3, email = $4, phone = $5, address = $6, location = $7, \
         latitude = $8, longitude = $9, updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(&fields.name)
    .bind(&fields.license_number)
    .bind(&fields.email)
    .bind(&fields.phone)
    .bind(&fields.address)
    .bind(&fields.location)
    .bind(fields.latitude)
    .bind(fields.longitude)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get_hospital(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Hospital>> {
    sqlx::query_as(AssertSqlSafe(format!("{HOSPITAL_SELECT} where h.id = $1"))).bind(id).fetch_optional(db).await
}

/// A page of hospitals, newest first: approved only unless `all`; `approved` filters (admins);
/// `search` matches name, location or address.
///
/// Each case has its own statement (`where h.is_approved` for the public, no condition for an
/// admin's whole list), so each prepared statement's plan walks `hospitals_approved_created_idx`
/// in order and stops after the page; a catch-all `($1 or h.is_approved)` would get a generic
/// plan that sorts every hospital. Without a search the count is read from `hospital_counts`
/// (kept by triggers), not counted over every approved hospital on every request.
pub async fn list_hospitals(
    conn: &mut PgConnection,
    all: bool,
    approved: Option<bool>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Hospital>, i64)> {
    // `$1`: the approval state to keep, or none for every hospital (an admin without a filter).
    let state = if all { approved } else { Some(true) };
    let mut filter = String::from(if state.is_some() { "where h.is_approved = $1" } else { "where $1::bool is null" });
    let pattern = search.map(|s| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    if pattern.is_some() {
        filter.push_str(" and (h.name || ' ' || h.location || ' ' || h.address) ilike '%' || $2 || '%'");
    } else {
        filter.push_str(" and $2::text is null");
    }
    // The count rides on the page's statement: a subquery over `hospital_counts` without a
    // search, a count of the matches with one. An empty page (past the end) has no row to carry
    // it, so that case alone asks again.
    let total = if pattern.is_some() {
        format!("(select count(*) from hospitals h {filter})")
    } else {
        String::from(
            "(select coalesce(sum(n), 0)::bigint from hospital_counts c where $1::bool is null or c.is_approved = $1)",
        )
    };
    let order = "order by h.created_at desc, h.id desc";
    let page = format!("select * from hospitals h {filter} {order} limit $3 offset $4");
    let statement = format!("{} {order}", hospital_page(&page, &format!(", {total} as total")));
    let rows: Vec<PgRow> = sqlx::query(AssertSqlSafe(statement))
        .bind(state)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count: i64 = match rows.first() {
        Some(row) => row.try_get("total")?,
        None => {
            sqlx::query_scalar(AssertSqlSafe(format!("select {total}")))
                .bind(state)
                .bind(&pattern)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let rows = rows.iter().map(Hospital::from_row).collect::<sqlx::Result<_>>()?;
    Ok((rows, count))
}

/// Approved hospitals within `radius_km` of a point, nearest first (at most `limit`). The
/// bounding cube (`earth_box`, GiST-indexed) prefilters; the exact distance decides.
pub async fn nearby(
    db: impl PgExecutor<'_>,
    lat: f64,
    lng: f64,
    radius_km: f64,
    limit: i64,
) -> sqlx::Result<Vec<NearbyHospital>> {
    sqlx::query_as(
        "select id, name, email, phone, address, location, latitude, longitude, \
                round((earth_distance(ll_to_earth($1, $2), ll_to_earth(latitude::float8, longitude::float8)) / 1000)::numeric, 2) \
                    as distance_km \
         from hospitals \
         where is_approved and latitude is not null \
           and earth_box(ll_to_earth($1, $2), $3 * 1000) @> ll_to_earth(latitude::float8, longitude::float8) \
           and earth_distance(ll_to_earth($1, $2), ll_to_earth(latitude::float8, longitude::float8)) <= $3 * 1000 \
         order by distance_km, id limit $4",
    )
    .bind(lat)
    .bind(lng)
    .bind(radius_km)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Sets the approval state; returns the hospital's user id. Approval activates the account,
/// rejection deactivates it.
pub async fn set_approval(
    conn: &mut PgConnection,
    id: i64,
    approved: bool,
    admin_id: i64,
) -> sqlx::Result<Option<i64>> {
    let user_id: Option<i64> = sqlx::query_scalar(
        "update hospitals set is_approved = $2, \
                approved_by = case when $2 then $3 else null end, \
                approved_at = case when $2 then now() else null end, \
                rejected_at = case when $2 then null else now() end, \
                updated_at = now() \
         where id = $1 returning user_id",
    )
    .bind(id)
    .bind(approved)
    .bind(admin_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user_id) = user_id {
        sqlx::query("update users set is_active = $2 where id = $1")
            .bind(user_id)
            .bind(approved)
            .execute(&mut *conn)
            .await?;
        // The hospital's doctors stand and fall with it (active profiles only come back). Their
        // profiles are locked first, so a doctor update in flight finishes before we read them.
        sqlx::query("select 1 from doctor_profiles where hospital_id = $1 for share")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "update users u set is_active = $2 and p.is_active from doctor_profiles p \
             where p.user_id = u.id and p.hospital_id = $1",
        )
        .bind(id)
        .bind(approved)
        .execute(&mut *conn)
        .await?;
        if !approved {
            sqlx::query(
                "update refresh_token_families set revoked_at = now(), revoked_reason = 'hospital_rejected' \
                 where revoked_at is null and user_id in (select user_id from doctor_profiles where hospital_id = $1)",
            )
            .bind(id)
            .execute(conn)
            .await?;
        }
    }
    Ok(user_id)
}

/// Removes the hospitals `demo-data` made (their users, departments and doctors go with them).
pub async fn delete_demo_hospitals(conn: &mut PgConnection) -> sqlx::Result<u64> {
    // Appointments hold their hospital, department and doctor (on delete restrict): first them.
    sqlx::query("delete from appointments where hospital_id in (select id from hospitals where is_demo)")
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query(
        "delete from users where id in (select user_id from hospitals where is_demo) \
            or id in (select p.user_id from doctor_profiles p join hospitals h on h.id = p.hospital_id where h.is_demo)",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
