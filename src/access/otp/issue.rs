//! Issuing a code, within the limits: for a patient a doctor names (the code goes out by SMS,
//! made by the worker at send time), for the patient themselves (a code to share, shown to
//! them), or for nobody (a request that reaches no patient, counted and answered alike).

use carehub_workers::outbox;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::{
    budgets::{within, within_doctors_budget},
    code::OtpCode,
};
use crate::{
    access::{
        jobs::SendOtp,
        repo::{self, requests::Channel},
        service::{AccessError, AccessRules},
    },
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    ids::{DoctorId, PatientId},
};

/// Who asks for a code: a doctor (the code goes to the patient by SMS) or the patient (the code is
/// shown to them, to pass on to any one doctor).
#[derive(Debug, Clone, Copy)]
pub enum Requester {
    Doctor { doctor_id: DoctorId },
    Patient,
}

/// A code request made.
#[derive(Debug)]
pub struct Issued {
    pub request_id: i64,
    pub expires_at: DateTime<Utc>,
    /// The code, for a patient's own request only.
    pub code: Option<OtpCode>,
}

/// Issues a code for `patient_id`, counted from rows under the patient's lock: for a doctor at
/// most `otp_per_patient` SMS codes per window and `otp_per_doctor` per window from the doctor;
/// for the patient, at most `otp_share_per_patient` codes to share per window, a budget of
/// their own that doctors' requests never use up.
pub async fn issue(
    db: &PgPool,
    rules: &AccessRules,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: PatientId,
    requester: Requester,
) -> Result<Issued, AccessError> {
    let limits = &rules.settings;
    let mut tx = db.begin().await?;
    repo::lock_patient(&mut tx, patient_id).await?;
    let doctor_id = match requester {
        Requester::Doctor { doctor_id } => {
            let (window, channel) = (limits.otp_patient_window_minutes, Channel::Sms);
            let made = repo::requests::recent_for_patient(&mut tx, patient_id, channel, window).await?;
            within(limits.otp_per_patient, made)?;
            within_doctors_budget(&mut tx, limits, doctor_id).await?;
            Some(doctor_id)
        }
        Requester::Patient => {
            let (window, channel) = (limits.otp_share_window_minutes, Channel::Share);
            let made = repo::requests::recent_for_patient(&mut tx, patient_id, channel, window).await?;
            within(limits.otp_share_per_patient, made)?;
            None
        }
    };
    let (request_id, expires_at) =
        repo::requests::insert_request(&mut tx, patient_id, doctor_id, limits.otp_ttl_minutes).await?;
    let code = if doctor_id.is_some() {
        // The code is made by the worker when it sends the SMS: none exists until then.
        outbox::enqueue(&mut tx, &SendOtp { otp_request_id: request_id }, Some(&format!("otp:{request_id}"))).await?;
        None
    } else {
        let code = OtpCode::generate_shared();
        repo::requests::set_code(&mut tx, request_id, &rules.key.seal(request_id, &code)).await?;
        Some(code)
    };
    let channel = if doctor_id.is_some() { "sms" } else { "share" };
    let event = AuditEvent::new("otp_requested")
        .by(caller)
        .target("patient", patient_id)
        .details(json!({ "otp_request_id": request_id, "channel": channel }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(Issued { request_id, expires_at, code })
}

/// A doctor asked for a code that can reach nobody: no patient has what was typed, or the
/// patient has no phone, or several patients share the typed phone. Nothing is made or sent, but
/// the request is held to the same limits as one for a patient who exists (the subject's
/// `otp_per_patient` per window, the doctor's budget) and counted, so that neither the answer
/// nor a later one tells the cases apart. Audited, as a probe for patients may be one (the row
/// does not say which case it was). `subject` is [`super::code::OtpKey::subject`] of what was
/// typed. When the code would have expired, computed as a real one's is.
pub async fn issue_to_nobody(
    db: &PgPool,
    rules: &AccessRules,
    caller: &Principal,
    meta: &RequestMeta,
    doctor_id: DoctorId,
    subject: &[u8; 32],
) -> Result<DateTime<Utc>, AccessError> {
    let limits = &rules.settings;
    let mut tx = db.begin().await?;
    repo::lock_subject(&mut tx, subject).await?;
    within(
        limits.otp_per_patient,
        repo::unmatched::recent_for_subject(&mut tx, subject, limits.otp_patient_window_minutes).await?,
    )?;
    within_doctors_budget(&mut tx, limits, doctor_id).await?;
    let expires_at = repo::unmatched::insert_unmatched(&mut tx, doctor_id, subject, limits.otp_ttl_minutes).await?;
    let event = AuditEvent::new("otp_requested_for_nobody").by(caller).details(json!({ "doctor_id": doctor_id }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(expires_at)
}
