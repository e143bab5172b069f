//! Whom a code request names: a patient found by `patient_id` or `patient_phone`, or nobody a
//! code can be asked for, with what was typed (as [`OtpKey::subject`] keys it).
//!
//! [`OtpKey::subject`]: crate::access::otp::code::OtpKey::subject

use crate::{
    access::repo::patients::{self, PatientContact},
    accounts::model::PhoneNumber,
    errors::FieldErrors,
    http::error::ApiError,
    ids::PatientId,
    state::AppState,
};

/// Whom a request names: one patient found, or nobody a code can be asked for (no patient has
/// what was typed, or several patients share the typed phone), with what was typed to name them
/// (`id:42` or `phone:+923001234567`) and the typed phone, normalized.
pub(super) enum Named {
    Patient(PatientContact),
    Nobody { typed: String, phone: Option<PhoneNumber> },
}

/// Finds the patient a request names by `patient_id` or `patient_phone` (both: they must agree).
/// A phone several patients share names nobody: which one is meant cannot be known, and saying
/// so would tell that several patients have it.
pub(super) async fn named_patient(
    state: &AppState,
    patient_id: Option<PatientId>,
    patient_phone: Option<&str>,
) -> Result<Named, ApiError> {
    let phone = match patient_phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => Some(
            PhoneNumber::parse(raw, &state.settings.accounts.default_phone_region)
                .map_err(|message| FieldErrors::single("patient_phone", message))?,
        ),
    };
    let mut conn = state.db.acquire().await?;
    let found = match (patient_id, &phone) {
        (None, None) => {
            return Err(FieldErrors::single("patient_phone", "Send patient_phone or patient_id.").into());
        }
        (Some(id), _) => patients::patient_by_id(&mut conn, id).await?,
        (None, Some(phone)) => {
            let mut patients = patients::patients_by_phone(&mut conn, phone.as_str()).await?;
            if patients.len() > 1 { None } else { patients.pop() }
        }
    };
    Ok(match found {
        Some(patient) if phone.as_ref().is_none_or(|p| patient.phone_number.as_deref() == Some(p.as_str())) => {
            Named::Patient(patient)
        }
        _ => Named::Nobody { typed: typed_subject(patient_id, phone.as_ref()), phone },
    })
}

/// What a request typed to name a patient, as [`OtpKey::subject`] keys it.
pub(super) fn typed_subject(patient_id: Option<PatientId>, phone: Option<&PhoneNumber>) -> String {
    match (patient_id, phone) {
        (Some(id), _) => format!("id:{id}"),
        (None, phone) => format!("phone:{}", phone.map_or("", PhoneNumber::as_str)),
    }
}
