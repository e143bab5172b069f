//! The rules and transactions of prescriptions: writing a first version (a doctor treating the
//! patient: `records::policy::may_prescribe`), the right to one version, and an edit (a new
//! version, by the prescribing doctor only, still treating the patient).

use chrono::Utc;
use serde_json::json;

use super::{
    model::{Content, CreatePrescriptionRequest, Prescription, PrescriptionUpdateRequest, validate},
    repo::{self, Authorship},
};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    errors::{Conflict, FieldErrors},
    http::error::{ApiError, from_database},
    ids::DoctorId,
    records::policy::{self, Access, Reader},
    state::AppState,
};

const ONLY_THE_AUTHOR: &str = "Only the prescribing doctor can change a prescription.";
pub const INACTIVE_DOCTOR: &str = "Your doctor profile is not active.";

/// Writes version 1 of a new prescription (the caller is a doctor): the doctor's right, the
/// row, its audit row; the new id and the version as read back.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    body: CreatePrescriptionRequest,
) -> Result<(i64, Prescription), ApiError> {
    let (patient_id, appointment_id, content) = validate::validate_new(body, Utc::now())?;
    let mut tx = state.db.begin().await?;
    let Some((doctor_id, hospital_id)) = policy::doctor_of(&mut tx, caller).await? else {
        return Err(ApiError::Forbidden(INACTIVE_DOCTOR));
    };
    // A doctor's refusal is a 403 whether or not the patient exists: ids cannot be probed.
    let days = state.settings.records.prescribe_days_after_appointment;
    let Some(treating) = policy::may_prescribe(&mut tx, caller, doctor_id, patient_id, appointment_id, days).await?
    else {
        return Err(ApiError::Forbidden(policy::NOT_TREATING));
    };
    let grant_id = match treating {
        policy::Treating::Grant(grant_id) => Some(grant_id),
        policy::Treating::Appointment(_) => None,
    };
    // With a grant, an appointment named must still be one of this patient's at this hospital.
    if grant_id.is_some()
        && let Some(appointment) = appointment_id
        && !repo::appointment_qualifies(&mut tx, appointment, patient_id, hospital_id).await?
    {
        return Err(FieldErrors::single(
            "appointment",
            "No confirmed or completed appointment of this patient at your hospital has this id.",
        )
        .into());
    }
    let who = Authorship { patient_id, doctor_id, hospital_id, appointment_id };
    let id = repo::insert_first(&mut tx, who, &content).await.map_err(from_database)?;
    let details =
        json!({ "patient_id": patient_id, "version": 1, "grant_id": grant_id, "appointment_id": appointment_id });
    let event = AuditEvent::new("prescription_created").by(caller).target("prescription", id).details(details);
    audit::record(&mut tx, meta, event).await?;
    let prescription = repo::get(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((id, prescription))
}

/// Version `id` and the caller's right to it: the patient, its doctor (without a grant), a
/// doctor with a live grant, an admin; 404 for another patient or a hospital.
pub async fn readable(
    conn: &mut sqlx::PgConnection,
    caller: &Principal,
    id: i64,
) -> Result<(Prescription, Access), ApiError> {
    let prescription = repo::get(conn, id).await?.ok_or(ApiError::NotFound)?;
    let access = policy::access_object(conn, caller, prescription.patient, Some(prescription.doctor))
        .await?
        .map_err(ApiError::from)?;
    Ok((prescription, access))
}

/// Whether the access is the prescription's own doctor's.
fn is_author(access: &Access, doctor: DoctorId) -> bool {
    matches!(access.reader, Reader::Author { doctor_id } | Reader::Doctor { doctor_id, .. } if doctor_id == doctor)
}

/// Edits version `id` (see `routes::update`): a new version, or the version as is when the edit
/// changes nothing.
pub async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: PrescriptionUpdateRequest,
) -> Result<Prescription, ApiError> {
    let mut tx = state.db.begin().await?;
    let (current, access) = readable(&mut tx, caller, id).await?;
    if !is_author(&access, current.doctor) {
        return Err(ApiError::Forbidden(ONLY_THE_AUTHOR));
    }
    // An edit is a write: the author still needs a treating relationship now.
    let days = state.settings.records.prescribe_days_after_appointment;
    if policy::may_prescribe(&mut tx, caller, current.doctor, current.patient, current.appointment_id, days)
        .await?
        .is_none()
    {
        return Err(ApiError::Forbidden(policy::NOT_TREATING));
    }
    match repo::lock_latest(&mut tx, id).await? {
        None => return Err(ApiError::NotFound),
        Some(false) => return Err(Conflict::PrescriptionSuperseded.into()),
        Some(true) => {}
    }
    let (content, changed) = validate::apply_update(&Content::from(&current), body, Utc::now())?;
    if changed.is_empty() {
        tx.commit().await?;
        return Ok(current);
    }
    let new_id = repo::insert_next(&mut tx, &current, &content).await.map_err(from_database)?;
    let details = json!({
        "patient_id": current.patient,
        "chain_id": current.chain_id,
        "version": current.version + 1,
        "previous_version": current.id,
        "changed_fields": changed,
    });
    let event = AuditEvent::new("prescription_updated").by(caller).target("prescription", new_id).details(details);
    audit::record(&mut tx, meta, event).await?;
    let prescription = repo::get(&mut tx, new_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(prescription)
}
