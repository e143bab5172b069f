//! `POST /api/accounts/patients/register/`: patient self-registration, with consent.

use actix_web::{HttpResponse, web};

use super::super::{
    model::{PatientRegistration, PatientRegistrationRequest},
    service::registration,
};
use crate::{
    audit::RequestMeta,
    http::{error::ApiError, extract::Body},
    state::AppState,
};

/// Register as a patient. Consent to the processing of health data is required.
#[utoipa::path(post, path = "/api/accounts/patients/register/", tag = "accounts",
    request_body = PatientRegistrationRequest,
    responses((status = 201, body = PatientRegistration), (status = 400, description = "Field errors")))]
pub async fn register_patient(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<PatientRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let registered = registration::register_patient(&state, &meta, body).await?;
    Ok(HttpResponse::Created().json(registered))
}
