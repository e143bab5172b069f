//! Patient reports: uploaded files (virus-scanned before they are served) with a title, a type
//! and a date, read by the patient, a doctor holding a grant and an admin.

pub mod model;
pub mod repo;
pub mod routes;

use sqlx::PgConnection;

use self::model::ReportFields;
use super::{files, scan, upload::StoredObject};

/// Records a report of a file just written to the store, inside the caller's transaction: the
/// file's row, the report's, and the file's scan job (outbox). Returns `(report id, file id)`.
/// The upload route and the demo data both go through here.
pub async fn create(
    conn: &mut PgConnection,
    patient_id: i64,
    uploaded_by: i64,
    file: &StoredObject,
    fields: &ReportFields,
) -> sqlx::Result<(i64, i64)> {
    let file_id = files::insert(conn, patient_id, file, Some(uploaded_by)).await?;
    let id = repo::insert(conn, patient_id, file_id, uploaded_by, fields).await?;
    scan::enqueue(conn, file_id).await?;
    Ok((id, file_id))
}
