//! Every SQL statement of the hospitals context. Functions that touch one hospital's data take
//! that hospital's id and filter by it: another hospital's row is simply not found.

use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, postgres::PgRow, types::Decimal};

use super::model::{Department, Doctor, Hospital, NearbyHospital};

/// (A constant, so the `format!`ed statements below carry no outside input.)
const HOSPITAL_SELECT: &str = "select h.id, h.user_id as user, u.username as user_username, u.email as user_email, \
     h.name, h.license_number, h.email, h.phone, h.address, h.location, h.latitude, h.longitude, h.time_zone, \
     h.is_approved, h.approved_by, h.approved_at, h.created_at, h.updated_at \
     from hospitals h join users u on u.id = h.user_id";

const DEPARTMENT_SELECT: &str = "select d.id, d.hospital_id as hospital, h.name as hospital_name, d.name, d.description, \
     d.is_active, d.created_at, d.updated_at from departments d join hospitals h on h.id = d.hospital_id";

const DOCTOR_SELECT: &str = "select p.id, p.hospital_id as hospital, h.name as hospital_name, p.user_id as user, \
     trim(u.first_name || ' ' || u.last_name) as doctor_name, u.username as doctor_username, u.email as doctor_email, \
     p.department_id as department, d.name as department_name, p.cnic, p.address, p.license_number, \
     p.specialization, p.phone_number, p.available_timings, p.is_active, p.created_at, p.updated_at \
     from doctor_profiles p join users u on u.id = p.user_id join hospitals h on h.id = p.hospital_id \
     left join departments d on d.id = p.department_id";

/// Reads one row and locks it (`FOR UPDATE`) for the rest of the caller's transaction: the
/// shape of every read-modify-write here (PUT and PATCH merge the request into the current row
/// and write every field back). A concurrent change of the same row waits for this one to
/// commit and then reads the result, instead of overwriting it with what it read before.
async fn lock_one<T>(conn: &mut PgConnection, statement: String, ids: &[i64]) -> sqlx::Result<Option<T>>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let mut query = sqlx::query_as(AssertSqlSafe(statement));
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_optional(conn).await
}

/// A hospital, locked for an update in this transaction.
pub async fn lock_hospital(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Hospital>> {
    lock_one(conn, format!("{HOSPITAL_SELECT} where h.id = $1 for update of h"), &[id]).await
}

/// A department of `hospital_id`, locked for an update in this transaction.
pub async fn lock_department(conn: &mut PgConnection, hospital_id: i64, id: i64) -> sqlx::Result<Option<Department>> {
    lock_one(
        conn,
        format!("{DEPARTMENT_SELECT} where d.id = $1 and d.hospital_id = $2 for update of d"),
        &[id, hospital_id],
    )
    .await
}

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

/// The hospital a user account belongs to (its own, or the one a doctor works at).
pub async fn hospital_of_user(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "select coalesce((select id from hospitals where user_id = $1), \
                         (select hospital_id from doctor_profiles where user_id = $1))",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// A page of hospitals, newest first: approved only unless `all`; `approved` filters (admins);
/// `search` matches name, location or address.
pub async fn list_hospitals(
    conn: &mut PgConnection,
    all: bool,
    approved: Option<bool>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Hospital>, i64)> {
    let filter = "where ($1 or h.is_approved) and ($2::bool is null or h.is_approved = $2) \
                  and ($3::text is null or (h.name || ' ' || h.location || ' ' || h.address) ilike '%' || $3 || '%')";
    let pattern = search.map(|s| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("select count(*) from hospitals h {filter}")))
        .bind(all)
        .bind(approved)
        .bind(&pattern)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{HOSPITAL_SELECT} {filter} order by h.created_at desc, h.id desc limit $4 offset $5"
    )))
    .bind(all)
    .bind(approved)
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
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

// ---- departments -------------------------------------------------------------------------

pub async fn insert_department(
    db: impl PgExecutor<'_>,
    hospital_id: i64,
    name: &str,
    description: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("insert into departments (hospital_id, name, description) values ($1, $2, $3) returning id")
        .bind(hospital_id)
        .bind(name)
        .bind(description)
        .fetch_one(db)
        .await
}

/// A department of `hospital_id` only.
pub async fn get_department(db: impl PgExecutor<'_>, hospital_id: i64, id: i64) -> sqlx::Result<Option<Department>> {
    sqlx::query_as(AssertSqlSafe(format!("{DEPARTMENT_SELECT} where d.id = $1 and d.hospital_id = $2")))
        .bind(id)
        .bind(hospital_id)
        .fetch_optional(db)
        .await
}

/// A department of an approved hospital (what anyone but its owner may read).
pub async fn get_public_department(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Department>> {
    sqlx::query_as(AssertSqlSafe(format!("{DEPARTMENT_SELECT} where d.id = $1 and h.is_approved and d.is_active")))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn update_department(
    db: impl PgExecutor<'_>,
    hospital_id: i64,
    id: i64,
    name: &str,
    description: &str,
    is_active: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "update departments set name = $3, description = $4, is_active = $5, updated_at = now() \
         where id = $1 and hospital_id = $2",
    )
    .bind(id)
    .bind(hospital_id)
    .bind(name)
    .bind(description)
    .bind(is_active)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a department of `hospital_id`; `false` when there is none.
pub async fn delete_department(db: impl PgExecutor<'_>, hospital_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from departments where id = $1 and hospital_id = $2")
        .bind(id)
        .bind(hospital_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A page of departments: of `hospital_id` (all, for its owner) or of approved hospitals
/// (active ones, optionally of one hospital).
pub async fn list_departments(
    conn: &mut PgConnection,
    own: Option<i64>,
    hospital_filter: Option<i64>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Department>, i64)> {
    let filter = "where (case when $1::bigint is not null then d.hospital_id = $1 \
                              else h.is_approved and d.is_active end) \
                  and ($2::bigint is null or d.hospital_id = $2)";
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select count(*) from departments d join hospitals h on h.id = d.hospital_id {filter}"
    )))
    .bind(own)
    .bind(hospital_filter)
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{DEPARTMENT_SELECT} {filter} order by d.hospital_id, lower(d.name), d.id limit $3 offset $4"
    )))
    .bind(own)
    .bind(hospital_filter)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, count))
}

// ---- doctors -----------------------------------------------------------------------------

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

/// Usernames already taken that a generated one built on `base` could collide with.
pub async fn usernames_like(db: impl PgExecutor<'_>, base: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select lower(username) from users where lower(username) like $1 || '%'")
        .bind(base)
        .fetch_all(db)
        .await
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
