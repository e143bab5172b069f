//! A hospital's departments.

use sqlx::{AssertSqlSafe, PgConnection, PgExecutor};

use super::select::{DEPARTMENT_SELECT, lock_one};
use crate::hospitals::model::Department;

/// A department of `hospital_id`, locked for an update in this transaction.
pub async fn lock_department(conn: &mut PgConnection, hospital_id: i64, id: i64) -> sqlx::Result<Option<Department>> {
    lock_one(
        conn,
        format!("{DEPARTMENT_SELECT} where d.id = $1 and d.hospital_id = $2 for update of d"),
        &[id, hospital_id],
    )
    .await
}

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
