//! `/api/accounts/otp/...` (ask for and verify a one-time code) and
//! `/api/accounts/access-grants/...` (a patient's view of who can read their records, and
//! revocation). Changes go through the patient's desk.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    desk::{Command, Outcome},
    model::{Grant, OtpCode, OtpRefusal, decoy_phone, mask_phone},
    repo::{self, PatientContact},
    service::{self, AccessError, FailedTry, Requester, Verifier},
};
use crate::{
    accounts::model::{PhoneNumber, Principal, UserType},
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    records::policy,
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/accounts/otp/generate/").post(generate))
        .service(resource("/api/accounts/otp/verify/").post(verify))
        .service(resource("/api/accounts/access-grants/").get(grants))
        .service(resource("/api/accounts/access-grants/{id}/").delete(revoke));
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::NotFound => Self::NotFound,
            AccessError::Throttled { retry_after_secs } => Self::Throttled { retry_after_secs },
            AccessError::Refused(refusal) => Self::Refused { code: refusal.code(), detail: refusal.detail() },
            AccessError::Internal(cause) => Self::Internal(cause),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpGenerateRequest {
    /// The patient's phone number (a doctor sends this or `patient_id`; a patient may send their own).
    #[schema(max_length = 32)]
    pub patient_phone: Option<String>,
    pub patient_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpGenerateResponse {
    pub message: String,
    /// RFC 3339 in microseconds, always: the answer's length never depends on whom it names.
    #[serde(serialize_with = "micros")]
    pub expires_at: DateTime<Utc>,
    /// The number the code went to, all but its last four digits hidden.
    pub phone_number: String,
    /// Only when a patient makes a code to share: the code itself (10 digits), shown to them alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpVerifyRequest {
    #[schema(max_length = 32)]
    pub patient_phone: Option<String>,
    pub patient_id: Option<i64>,
    #[schema(required = true, value_type = String, max_length = 10)]
    pub otp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpVerifyResponse {
    pub message: String,
    pub patient_id: i64,
    pub verified: bool,
    pub access_granted_until: DateTime<Utc>,
}

fn micros<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// Whom a request names: one patient found, or nobody a code can be asked for (no patient has
/// what was typed, or several patients share the typed phone), with what was typed to name them
/// (`id:42` or `phone:+923001234567`) and the typed phone, normalized.
enum Named {
    Patient(PatientContact),
    Nobody { typed: String, phone: Option<PhoneNumber> },
}

/// Finds the patient a request names by `patient_id` or `patient_phone` (both: they must agree).
/// A phone several patients share names nobody: which one is meant cannot be known, and saying
/// so would tell that several patients have it.
async fn named_patient(
    state: &AppState,
    patient_id: Option<i64>,
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
        (Some(id), _) => repo::patient_by_id(&mut conn, id).await?,
        (None, Some(phone)) => {
            let mut patients = repo::patients_by_phone(&mut conn, phone.as_str()).await?;
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

/// What a request typed to name a patient, as [`super::model::OtpKey::subject`] keys it.
fn typed_subject(patient_id: Option<i64>, phone: Option<&PhoneNumber>) -> String {
    match (patient_id, phone) {
        (Some(id), _) => format!("id:{id}"),
        (None, phone) => format!("phone:{}", phone.map_or("", PhoneNumber::as_str)),
    }
}

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
    let mut conn = state.db.acquire().await?;
    let Some((doctor_id, _)) = policy::doctor_of(&mut conn, caller).await?.map(|(d, h)| (d.get(), h.get())) else {
        return Err(ApiError::Forbidden("Your doctor profile is not active."));
    };
    drop(conn);
    let named = named_patient(state, body.patient_id, body.patient_phone.as_deref()).await?;
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
            let expires_at = service::issue_to_nobody(&state.db, rules, caller, meta, doctor_id, &subject).await?;
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
    let me = repo::patient_by_id(&mut conn, caller.user_id.0).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mine = |phone: &str| {
        PhoneNumber::parse(phone, &state.settings.accounts.default_phone_region)
            .is_ok_and(|p| me.phone_number.as_deref() == Some(p.as_str()))
    };
    let for_someone_else = body.patient_id.is_some_and(|id| id != me.id)
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
    let mut conn = state.db.acquire().await?;
    let Some((doctor_id, hospital_id)) = policy::doctor_of(&mut conn, &caller).await?.map(|(d, h)| (d.get(), h.get()))
    else {
        return Err(ApiError::Forbidden("Your doctor profile is not active."));
    };
    drop(conn);
    let Some(typed) = body.otp.as_deref().map(str::trim).filter(|otp| !otp.is_empty()) else {
        return Err(FieldErrors::single("otp", "This field is required.").into());
    };
    let refused = ApiError::from(AccessError::Refused(OtpRefusal::Invalid));
    let Some(code) = OtpCode::parse(typed) else {
        return Err(refused);
    };
    let rules = state.patient_desks.rules();
    let patient = match named_patient(&state, body.patient_id, body.patient_phone.as_deref()).await? {
        Named::Patient(patient) => patient,
        Named::Nobody { typed, .. } => {
            let (subject, tried_by) = (rules.key.subject(&typed), FailedTry { doctor_id, hospital_id });
            return Err(service::verify_nobody(&state.db, rules, &caller, &meta, tried_by, &subject).await.into());
        }
    };
    // What was typed, as `generate` keys a request for nobody (a patient without a phone is one).
    let typed = match body.patient_id {
        Some(id) => typed_subject(Some(id), None),
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

/// Who can read my records, until when (patient): live grants and those that ended in the last
/// 30 days, newest first.
#[utoipa::path(get, path = "/api/accounts/access-grants/", tag = "access", security(("jwtAuth" = [])),
    params(PageParams),
    responses((status = 200, body = Page<Grant>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn grants(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
) -> Result<web::Json<Page<Grant>>, ApiError> {
    if caller.user_type != UserType::Patient {
        return Err(ApiError::Forbidden("Only patients list the grants to their records."));
    }
    let mut conn = state.db.acquire().await?;
    let (count, rows) = repo::grants_of(&mut conn, caller.user_id.0, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// Revoke a grant (patient): the doctor loses access on their next request. A grant that already
/// ended is 204 as well.
#[utoipa::path(delete, path = "/api/accounts/access-grants/{id}/", tag = "access", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The grant's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    if caller.user_type != UserType::Patient {
        return Err(ApiError::Forbidden("Only patients revoke the grants to their records."));
    }
    let grant_id = id.into_inner();
    state.patient_desks.apply(&caller, &meta, caller.user_id.0, Command::Revoke { grant_id }).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(generate, verify, grants, revoke,))]
pub struct Api;
