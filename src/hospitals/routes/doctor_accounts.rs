//! `POST /api/hospitals/doctors/create/` and `.../{id}/reset-password/`: a hospital makes doctor
//! accounts (generated username and password, shown once) and has a doctor's password reset (the
//! temporary password goes to the doctor's phone, never to the hospital).

use actix_web::{HttpResponse, web};

use crate::{
    accounts::model::Principal,
    audit::RequestMeta,
    hospitals::{
        model::{CreateDoctorResponse, DoctorRequest, PasswordResetResponse},
        service,
    },
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
    },
    ids::DoctorId,
    state::AppState,
};

/// Create a doctor account in the caller's hospital, with a generated username
/// (`doctorname_hospitalname`, then `1`, `2`, …) and a generated password that works for
/// `auth.generated_password_hours` and must then be changed.
#[utoipa::path(post, path = "/api/hospitals/doctors/create/", tag = "doctors", security(("jwtAuth" = [])),
    request_body = DoctorRequest,
    responses((status = 201, body = CreateDoctorResponse), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<DoctorRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = service::doctor_accounts::create(&state, &caller, &meta, body).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Reset the password of one of the caller's hospital's doctors (who forgot theirs, or let a
/// generated one expire). The temporary password goes to the doctor's phone by SMS, made by the
/// worker at send time: the hospital never learns it. The old password stops working and every
/// login of the doctor ends now, with every access grant those logins held. A doctor with no
/// phone on file: 400 naming `phone_number`, nothing changed. At most three resets of one doctor
/// per hour (429 with `Retry-After`): a hospital cannot flood its doctor's phone.
#[utoipa::path(post, path = "/api/hospitals/doctors/{id}/reset-password/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = PasswordResetResponse), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reset_password(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<DoctorId>,
) -> Result<web::Json<PasswordResetResponse>, ApiError> {
    service::doctor_accounts::reset_password(&state, &caller, &meta, id.into_inner()).await.map(web::Json)
}
