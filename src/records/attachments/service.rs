//! The rules of attachments: only the prescribing doctor, still treating the patient, adds a file
//! (asked before the body is read and again in the transaction that writes the row), and the one
//! transaction that records an upload.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    model::{AttachmentRow, AttachmentView},
    repo::{self, NewAttachment},
};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    errors::FieldErrors,
    http::error::ApiError,
    ids::{DoctorId, PatientId},
    records::{
        files::{jobs, links::FileLinks, repo as files, upload::Received},
        policy::{self, Reader},
    },
    state::AppState,
};

const AUTHOR_ONLY: &str = "Only the prescribing doctor adds attachments to a prescription.";

/// The attachments of every version of prescription chain `chain_id`, oldest first, their
/// files' URLs made by `links` (`download::base_url(&req)`). The caller has checked the
/// reader's access.
pub async fn for_chain(conn: &mut PgConnection, chain_id: i64, links: &FileLinks) -> sqlx::Result<Vec<AttachmentView>> {
    let rows = repo::for_chain(conn, chain_id).await?;
    Ok(rows.into_iter().map(|row| row.into_view(links)).collect())
}

/// The parties of the prescription a file is added to.
#[derive(Debug, Clone, Copy)]
pub struct Parties {
    pub prescription_id: i64,
    pub chain_id: i64,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
}

/// The parties of prescription `prescription_id` when the caller is its prescribing doctor and
/// still treats the patient (`policy::may_prescribe`, as for an edit: adding a file is a write
/// into the record); 403 otherwise. Asked before the body is read and again in the transaction
/// that writes the row.
pub async fn author(
    conn: &mut PgConnection,
    caller: &Principal,
    prescription_id: i64,
    prescribe_days: i64,
) -> Result<Parties, ApiError> {
    let found = repo::prescription(conn, prescription_id).await?.ok_or(ApiError::NotFound)?;
    let (patient_id, doctor_id) = (found.patient_id, found.doctor_id);
    let access = policy::access_object(conn, caller, patient_id, Some(doctor_id)).await??;
    match access.reader {
        Reader::Author { doctor_id: author } | Reader::Doctor { doctor_id: author, .. } if author == doctor_id => {}
        _ => return Err(ApiError::Forbidden(AUTHOR_ONLY)),
    }
    if policy::may_prescribe(conn, caller, doctor_id, patient_id, found.appointment_id, prescribe_days).await?.is_none()
    {
        return Err(ApiError::Forbidden(policy::NOT_TREATING));
    }
    Ok(Parties { prescription_id, chain_id: found.chain_id, patient_id, doctor_id })
}

/// Checks the fields, then in one transaction: the author's right again, the file's row, the
/// attachment's, its scan job and the audit row.
pub async fn save(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    parties: Parties,
    received: &Received,
) -> Result<AttachmentRow, ApiError> {
    let mut errors = FieldErrors::new();
    let description = received.fields.get("description").map(|d| d.trim()).unwrap_or_default();
    if description.chars().count() > 10_000 {
        errors.add("description", "Ensure this field has no more than 10000 characters.");
    }
    if let Some(named) = received.text("prescription")
        && named.parse::<i64>().ok() != Some(parties.prescription_id)
    {
        errors.add("prescription", "Must be the prescription of the path.");
    }
    let Some(file) = &received.file else {
        errors.add("file", "No file was submitted.");
        return Err(errors.into());
    };
    errors.into_result()?;
    let mut tx = state.db.begin().await?;
    let days = state.settings.records.prescribe_days_after_appointment;
    let parties = author(&mut tx, caller, parties.prescription_id, days).await?;
    let file_id = files::insert(&mut tx, parties.patient_id, file, Some(caller.user_id.0)).await?;
    let new = NewAttachment {
        prescription_id: parties.prescription_id,
        chain_id: parties.chain_id,
        file_id,
        description,
        uploaded_by: caller.user_id.0,
    };
    let id = repo::insert(&mut tx, &new).await?;
    jobs::enqueue(&mut tx, file_id).await?;
    let event = AuditEvent::new("prescription_attachment_added")
        .by(caller)
        .target("prescription_attachment", id)
        .details(json!({
            "prescription_id": parties.prescription_id,
            "chain_id": parties.chain_id,
            "patient_id": parties.patient_id,
            "doctor_id": parties.doctor_id,
            "file_id": file_id,
            "size": file.size,
        }));
    audit::record(&mut tx, meta, event).await?;
    let row = repo::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}
