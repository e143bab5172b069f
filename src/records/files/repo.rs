//! Every SQL statement of `stored_files`: one uploaded file (key, type, size, hash) and its virus
//! scan, whose result is written once, by a compare-and-set on `scan_status = 'PENDING'`.

use sqlx::{PgConnection, PgPool};

use super::model::{FileForDownload, ScanStatus, StoredObject};
use crate::ids::PatientId;

/// Inserts the row of a file just written to the store; its id.
pub async fn insert(
    conn: &mut PgConnection,
    patient_id: PatientId,
    file: &StoredObject,
    uploaded_by: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into stored_files (patient_id, storage_key, original_name, content_type, extension, size_bytes, \
         sha256, uploaded_by) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        patient_id as PatientId,
        file.key,
        file.original_name,
        file.content_type,
        file.extension,
        file.size,
        file.sha256,
        uploaded_by,
    )
    .fetch_one(conn)
    .await
}

pub async fn for_download(conn: &mut PgConnection, file_id: i64) -> sqlx::Result<Option<FileForDownload>> {
    sqlx::query_as!(
        FileForDownload,
        r#"select storage_key, content_type, original_name, extension, scan_status as "scan_status: ScanStatus"
           from stored_files where id = $1"#,
        file_id,
    )
    .fetch_optional(conn)
    .await
}

/// The file's key and scan status, counting this scan attempt; `None` when the row is gone.
pub async fn start_scan(db: &PgPool, file_id: i64) -> sqlx::Result<Option<(String, ScanStatus)>> {
    let row = sqlx::query!(
        r#"update stored_files set scan_attempts = scan_attempts + case when scan_status = 'PENDING' then 1 else 0 end
           where id = $1 returning storage_key, scan_status as "scan_status: ScanStatus""#,
        file_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| (row.storage_key, row.scan_status)))
}

/// Counts a scan that clamd answered without a verdict; the count so far (`None` when the file
/// is gone or no longer PENDING).
pub async fn count_refusal(db: &PgPool, file_id: i64) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "update stored_files set scan_refusals = scan_refusals + 1 where id = $1 and scan_status = 'PENDING' \
         returning scan_refusals",
        file_id,
    )
    .fetch_optional(db)
    .await
}

/// Writes a scan's result if the file is still PENDING; `true` when this call wrote it.
pub async fn finish_scan(
    conn: &mut PgConnection,
    file_id: i64,
    status: ScanStatus,
    detail: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update stored_files set scan_status = $2, scan_detail = $3, scanned_at = now() \
         where id = $1 and scan_status = 'PENDING'",
        file_id,
        status as ScanStatus,
        detail,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Files still PENDING `seconds` after their upload (their scan job may have gone dead), oldest
/// first, at most `limit`.
pub async fn pending_since(db: &PgPool, seconds: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "select id from stored_files where scan_status = 'PENDING' \
         and created_at < now() - make_interval(secs => $1::float8) order by id limit $2",
        seconds as f64,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Removes the reports and attachments of demo patients and every file of theirs (`carehub
/// demo-data --clear`, before the demo accounts go); the storage keys, for the objects to go
/// once this commits.
pub async fn delete_demo(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query!("delete from patient_reports where patient_id in (select id from users where is_demo)")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "delete from prescription_attachments where file_id in          (select f.id from stored_files f join users u on u.id = f.patient_id where u.is_demo)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        "delete from stored_files where patient_id in (select id from users where is_demo) returning storage_key",
    )
    .fetch_all(conn)
    .await
}

/// Removes a file's row; its storage key.
pub async fn delete(conn: &mut PgConnection, file_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("delete from stored_files where id = $1 returning storage_key", file_id)
        .fetch_optional(conn)
        .await
}
