//! `/api/accounts/otp/...`: ask for a one-time code (a doctor, for a patient; a patient, to
//! share) and verify one (a doctor).

use std::sync::Arc;

use actix_web::{HttpResponse, web};

use super::named::{Named, named_patient, typed_subject};
use crate::{
    access::{
        desk::{Command, Outcome},
        model::{
            OtpGenerateRequest, OtpGenerateResponse, OtpVerifyRequest, OtpVerifyResponse, decoy_phone, mask_phone,
        },
        otp::{
            budgets::FailedTry,
            code::{OtpCode, OtpRefusal},
            issue::{self, Requester},
            verify::{self, Verifier},
        },
        repo::patients::{self, PatientContact},
        service::AccessError,
    },
    accounts::model::{PhoneNumber, Principal, UserType},
    audit::RequestMeta,
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
    },
    ids::{DoctorId, HospitalId, PatientId},
    records::policy,
    state::AppState,
};

/// The one message of every doctor's answer, whether or not a code went out: it never tells
/// which. (A patient without a phone, or on a phone several patients share, gets no SMS: they
/// make a code from their dashboard.)
const SENT: &str = "A one-time code has been sent to the patient's phone. Ask the patient for it; \
                    if none arrives, the patient can make one to share from their dashboard.";

/// Ask for a one-time code. A doctor's code goes to the patient by SMS only; a patient asking for
/// themselves gets a code to pass on to one doctor. At most 3 codes from doctors per patient per
/// 15 minutes, and 3 of the patient's own. The answer to a doctor is the same whether or not
/// the patient exists, has a phone or shares it, and so are its limits.
#[utoipa::path(post, path = "/api/accounts/otp/generate/", tag = "access", security(("jwtAuth" = [])),
    request_body = OtpGenerateRequest,
    responses((status = 200, body = OtpGenerateResponse), (status = 400), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn generate(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<OtpGenerateRequest>,
) -> Result<HttpResponse, ApiError> {
    match caller.user_type {
        UserType::Doctor => generate_for_doctor(&state, &caller, &meta, body).await,
        UserType::Patient => generate_to_share(&state, &caller, &meta, body).await,
        _ => Err(ApiError::Forbidden("Only doctors (and patients, for themselves) ask for one-time codes.")),
    }
}

async fn generate_for_doctor(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    body: OtpGenerateRequest,
) -> Result<HttpResponse, ApiError> {
    let (doctor_id, _) = active_doctor(state, caller).await?;
    let named = named_patient(state, body.patient_id.map(PatientId), body.patient_phone.as_deref()).await?;
    // A patient a code cannot reach (no phone on file) is answered as nobody is.
    let named = match named {
        Named::Patient(PatientContact { id, phone_number: None }) => {
            Named::Nobody { typed: typed_subject(Some(id), None), phone: None }
        }
        named => named,
    };
    let (expires_at, phone) = match named {
        // The same answer as for a patient who exists, within the same limits, without an SMS: no
        // account enumeration. The mask is the typed phone's, or a stand-in number's.
        Named::Nobody { typed, phone } => {
            let rules = state.patient_desks.rules();
            let subject = rules.key.subject(&typed);
            let expires_at = issue::issue_to_nobody(&state.db, rules, caller, meta, doctor_id, &subject).await?;
            let region = &state.settings.accounts.default_phone_region;
            let phone = phone.map_or_else(|| decoy_phone(&subject, region), |phone| phone.as_str().to_owned());
            (expires_at, phone)
        }
        Named::Patient(patient) => {
            let phone = patient.phone_number.clone().unwrap_or_default();
            let outcome = state
                .patient_desks
                .apply(caller, meta, patient.id, Command::Issue(Requester::Doctor { doctor_id }))
                .await?;
            let Outcome::Issued(issued) = outcome else {
                return Err(ApiError::Internal(anyhow::anyhow!("the desk answered another command")));
            };
            (issued.expires_at, phone)
        }
    };
    Ok(HttpResponse::Ok().json(OtpGenerateResponse {
        message: SENT.to_owned(),
        expires_at,
        phone_number: mask_phone(&phone),
        otp: None,
    }))
}

async fn generate_to_share(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    body: OtpGenerateRequest,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.acquire().await?;
    let me = patients::patient_by_id(&mut conn, PatientId(caller.user_id.0)).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mine = |phone: &str| {
        PhoneNumber::parse(phone, &state.settings.accounts.default_phone_region)
            .is_ok_and(|p| me.phone_number.as_deref() == Some(p.as_str()))
    };
    let for_someone_else = body.patient_id.is_some_and(|id| PatientId(id) != me.id)
        || body.patient_phone.as_deref().map(str::trim).is_some_and(|p| !p.is_empty() && !mine(p));
    if for_someone_else {
        return Err(ApiError::Forbidden("Patients can only make a code for their own records."));
    }
    let outcome = state.patient_desks.apply(caller, meta, me.id, Command::Issue(Requester::Patient)).await?;
    let Outcome::Issued(issued) = outcome else {
        return Err(ApiError::Internal(anyhow::anyhow!("the desk answered another command")));
    };
    Ok(HttpResponse::Ok().json(OtpGenerateResponse {
        message: "Your one-time code: give it to the doctor who should read your records. It works once.".to_owned(),
        expires_at: issued.expires_at,
        phone_number: mask_phone(me.phone_number.as_deref().unwrap_or_default()),
        otp: issued.code.map(|code| code.reveal().to_owned()),
    }))
}

/// The caller's doctor profile and hospital, when the caller is an active doctor (else 403).
async fn active_doctor(state: &AppState, caller: &Principal) -> Result<(DoctorId, HospitalId), ApiError> {
    let mut conn = state.db.acquire().await?;
    match policy::doctor_of(&mut conn, caller).await? {
        Some((doctor_id, hospital_id)) => Ok((doctor_id, hospital_id)),
        None => Err(ApiError::Forbidden("Your doctor profile is not active.")),
    }
}

/// Verify a one-time code (the doctor who asked for it, or any doctor for a code the patient
/// made): grants access to the patient's records for 30 minutes. Failed tries are limited per
/// doctor (10 per hour, whatever the patients), per hospital and per client address: past a
/// budget, 429 with `Retry-After`, the code not even compared.
#[utoipa::path(post, path = "/api/accounts/otp/verify/", tag = "access", security(("jwtAuth" = [])),
    request_body = OtpVerifyRequest,
    responses((status = 200, body = OtpVerifyResponse), (status = 400), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<OtpVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    if caller.user_type != UserType::Doctor {
        return Err(ApiError::Forbidden("Only doctors verify one-time codes."));
    }
    let (doctor_id, hospital_id) = active_doctor(&state, &caller).await?;
    let Some(typed) = body.otp.as_deref().map(str::trim).filter(|otp| !otp.is_empty()) else {
        return Err(FieldErrors::single("otp", "This field is required.").into());
    };
    let refused = ApiError::from(AccessError::Refused(OtpRefusal::Invalid));
    let Some(code) = OtpCode::parse(typed) else {
        return Err(refused);
    };
    let rules = state.patient_desks.rules();
    let patient = match named_patient(&state, body.patient_id.map(PatientId), body.patient_phone.as_deref()).await? {
        Named::Patient(patient) => patient,
        Named::Nobody { typed, .. } => {
            let (subject, tried_by) = (rules.key.subject(&typed), FailedTry { doctor_id, hospital_id });
            return Err(verify::verify_nobody(&state.db, rules, &caller, &meta, tried_by, &subject).await.into());
        }
    };
    // What was typed, as `generate` keys a request for nobody (a patient without a phone is one).
    let typed = match body.patient_id {
        Some(id) => typed_subject(Some(PatientId(id)), None),
        None => format!("phone:{}", patient.phone_number.as_deref().unwrap_or_default()),
    };
    let verifier = Verifier { doctor_id, hospital_id, subject: rules.key.subject(&typed) };
    let outcome =
        state.patient_desks.apply(&caller, &meta, patient.id, Command::Verify(verifier, Arc::new(code))).await?;
    let Outcome::Verified(verified) = outcome else {
        return Err(ApiError::Internal(anyhow::anyhow!("the desk answered another command")));
    };
    Ok(HttpResponse::Ok().json(OtpVerifyResponse {
        message: "Code verified: you can read this patient's records until access_granted_until.".to_owned(),
        patient_id: patient.id,
        verified: true,
        access_granted_until: verified.expires_at,
    }))
}
