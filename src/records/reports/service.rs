//! The rules of reports: who uploads one (the patient, a doctor holding a live grant: asked
//! before the body is read and again in the transaction that writes the rows), which hospital it
//! may name, and the one transaction that records an upload.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    model::{ReportFields, check_fields},
    repo,
};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    errors::FieldErrors,
    http::error::ApiError,
    ids::{HospitalId, PatientId},
    records::{
        files::{jobs, model::StoredObject, repo as files, upload::Received},
        policy::{self, Reader},
    },
    state::AppState,
};

const UPLOADERS_ONLY: &str = "Reports are uploaded by the patient or by a doctor holding the patient's access grant.";
const OWNER_DELETES: &str = "Only the patient deletes their reports.";
const NOT_YOUR_HOSPITAL: &str = "Name a hospital where the patient has an appointment.";

/// Records a report of a file just written to the store, inside the caller's transaction: the
/// file's row, the report's, and the file's scan job (outbox). Returns `(report id, file id)`.
/// The upload route and the demo data both go through here.
pub async fn create(
    conn: &mut PgConnection,
    patient_id: PatientId,
    uploaded_by: i64,
    file: &StoredObject,
    fields: &ReportFields,
) -> sqlx::Result<(i64, i64)> {
    let file_id = files::insert(conn, patient_id, file, Some(uploaded_by)).await?;
    let id = repo::insert(conn, patient_id, file_id, uploaded_by, fields).await?;
    jobs::enqueue(conn, file_id).await?;
    Ok((id, file_id))
}

/// Who may upload a report for `patient_id`: the patient, or a doctor holding a live grant. Asked
/// before the body is read and again in the transaction that writes the rows (a grant revoked
/// or expired while the file streamed in refuses the upload).
pub async fn uploader(
    conn: &mut PgConnection,
    caller: &Principal,
    patient_id: PatientId,
) -> Result<policy::Access, ApiError> {
    let access = policy::access(conn, caller, patient_id).await??;
    if !matches!(access.reader, Reader::Owner | Reader::Doctor { .. }) {
        return Err(ApiError::Forbidden(UPLOADERS_ONLY));
    }
    Ok(access)
}

/// Checks the fields, then in one transaction: the uploader's access again, the file's row, the
/// report's, the audit row and the scan job.
pub async fn save(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: PatientId,
    received: &Received,
) -> Result<(i64, repo::ReportRow), ApiError> {
    let mut errors = FieldErrors::new();
    let fields = check_fields(|name| received.fields.get(name).map(String::as_str), &mut errors);
    if received.file.is_none() {
        errors.add("file", "No file was submitted.");
    }
    let mut tx = state.db.begin().await?;
    let access = uploader(&mut tx, caller, patient_id).await?;
    let grant_id = access.grant_id();
    if let Some(hospital) = fields.as_ref().and_then(|f| f.hospital) {
        if !repo::hospital_exists(&mut tx, hospital).await? {
            errors.add("hospital", format!("Invalid pk \"{hospital}\" - object does not exist."));
        } else if !may_name_hospital(&mut tx, &access, hospital).await? {
            errors.add("hospital", NOT_YOUR_HOSPITAL);
        }
    }
    errors.into_result()?;
    let (Some(file), Some(fields)) = (&received.file, fields) else {
        return Err(ApiError::Internal(anyhow::anyhow!("upload passed validation incomplete")));
    };
    let (id, file_id) = create(&mut tx, patient_id, caller.user_id.0, file, &fields).await?;
    let event = AuditEvent::new("report_uploaded").by(caller).target("report", id).details(json!({
        "patient_id": patient_id,
        "file_id": file_id,
        "size": file.size,
        "file_type": fields.file_type.as_str(),
        "grant_id": grant_id,
    }));
    audit::record(&mut tx, meta, event).await?;
    let row = repo::get(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((id, row))
}

/// A report names as its `hospital` only a hospital the patient has an appointment at (any
/// status: a booking is the patient's own act), or the uploading doctor's own hospital; a
/// patient cannot attach a hospital's name to a document it never saw.
async fn may_name_hospital(
    conn: &mut PgConnection,
    access: &policy::Access,
    hospital: HospitalId,
) -> sqlx::Result<bool> {
    if let Reader::Doctor { hospital_id, .. } = access.reader
        && hospital_id == hospital
    {
        return Ok(true);
    }
    repo::has_appointment_at(conn, access.patient_id, hospital).await
}

/// Deletes report `id` and its file's row (the patient only), with its audit row; the file's
/// storage key, for the object to go once this has committed. Its audit rows stay.
pub async fn remove(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
) -> Result<Option<String>, ApiError> {
    let mut tx = state.db.begin().await?;
    let (patient_id, _) = repo::owner_and_file(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let access = policy::access_object(&mut tx, caller, patient_id, None).await??;
    if access.reader != Reader::Owner {
        return Err(ApiError::Forbidden(OWNER_DELETES));
    }
    let file_id = repo::delete(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let key = files::delete(&mut tx, file_id).await?;
    let event = AuditEvent::new("report_deleted")
        .by(caller)
        .target("report", id)
        .details(json!({ "patient_id": patient_id, "file_id": file_id }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(key)
}
