//! A hospital's departments.

use sqlx::{PgConnection, PgExecutor};

use crate::{
    hospitals::model::{Department, DepartmentFields},
    ids::HospitalId,
};

/// A department of `hospital_id`, locked for an update in this transaction.
pub async fn lock_department(
    conn: &mut PgConnection,
    hospital_id: HospitalId,
    id: i64,
) -> sqlx::Result<Option<Department>> {
    sqlx::query_as!(
        Department,
        r#"select d.id, d.hospital_id as "hospital: HospitalId", h.name as hospital_name, d.name, d.description,
                  d.is_active, d.created_at, d.updated_at
           from departments d join hospitals h on h.id = d.hospital_id
           where d.id = $1 and d.hospital_id = $2 for update of d"#,
        id,
        hospital_id.get(),
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_department(
    db: impl PgExecutor<'_>,
    hospital_id: HospitalId,
    name: &str,
    description: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into departments (hospital_id, name, description) values ($1, $2, $3) returning id",
        hospital_id.get(),
        name,
        description,
    )
    .fetch_one(db)
    .await
}

/// A department of `hospital_id` only.
pub async fn get_department(
    db: impl PgExecutor<'_>,
    hospital_id: HospitalId,
    id: i64,
) -> sqlx::Result<Option<Department>> {
    sqlx::query_as!(
        Department,
        r#"select d.id, d.hospital_id as "hospital: HospitalId", h.name as hospital_name, d.name, d.description,
                  d.is_active, d.created_at, d.updated_at
           from departments d join hospitals h on h.id = d.hospital_id
           where d.id = $1 and d.hospital_id = $2"#,
        id,
        hospital_id.get(),
    )
    .fetch_optional(db)
    .await
}

/// A department of an approved hospital (what anyone but its owner may read).
pub async fn get_public_department(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Department>> {
    sqlx::query_as!(
        Department,
        r#"select d.id, d.hospital_id as "hospital: HospitalId", h.name as hospital_name, d.name, d.description,
                  d.is_active, d.created_at, d.updated_at
           from departments d join hospitals h on h.id = d.hospital_id
           where d.id = $1 and h.is_approved and d.is_active"#,
        id,
    )
    .fetch_optional(db)
    .await
}

pub async fn update_department(
    db: impl PgExecutor<'_>,
    hospital_id: HospitalId,
    id: i64,
    fields: &DepartmentFields,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update departments set name = $3, description = $4, is_active = $5, updated_at = now() \
         where id = $1 and hospital_id = $2",
        id,
        hospital_id.get(),
        fields.name,
        fields.description,
        fields.is_active,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a department of `hospital_id`; `false` when there is none.
pub async fn delete_department(db: impl PgExecutor<'_>, hospital_id: HospitalId, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("delete from departments where id = $1 and hospital_id = $2", id, hospital_id.get())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A page of departments: of `own` (all, for its owner) or of approved hospitals (active ones,
/// optionally of one hospital).
pub async fn list_departments(
    conn: &mut PgConnection,
    own: Option<HospitalId>,
    hospital_filter: Option<HospitalId>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Department>, i64)> {
    let (own, hospital_filter) = (own.map(HospitalId::get), hospital_filter.map(HospitalId::get));
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from departments d join hospitals h on h.id = d.hospital_id
           where (case when $1::bigint is not null then d.hospital_id = $1
                       else h.is_approved and d.is_active end)
             and ($2::bigint is null or d.hospital_id = $2)"#,
        own,
        hospital_filter,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        Department,
        r#"select d.id, d.hospital_id as "hospital: HospitalId", h.name as hospital_name, d.name, d.description,
                  d.is_active, d.created_at, d.updated_at
           from departments d join hospitals h on h.id = d.hospital_id
           where (case when $1::bigint is not null then d.hospital_id = $1
                       else h.is_approved and d.is_active end)
             and ($2::bigint is null or d.hospital_id = $2)
           order by d.hospital_id, lower(d.name), d.id limit $3 offset $4"#,
        own,
        hospital_filter,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, count))
}
