//! `POST /api/hospitals/register/` and `PATCH /api/hospitals/{id}/approve/`: a hospital's
//! registration (an inactive HOSPITAL account and its hospital) and the admin's approval.

use actix_web::{HttpResponse, web};

use crate::{
    accounts::model::Principal,
    audit::{RequestMeta, Via},
    hospitals::{
        model::{ApprovalRequest, ApprovalResponse, HospitalRegistration, HospitalRegistrationRequest},
        service,
    },
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
    },
    ids::HospitalId,
    state::AppState,
};

/// Register a hospital: an inactive HOSPITAL account and its hospital, pending approval.
#[utoipa::path(post, path = "/api/hospitals/register/", tag = "hospitals",
    request_body = HospitalRegistrationRequest,
    responses((status = 201, body = HospitalRegistration), (status = 400, description = "Field errors")))]
pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<HospitalRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let registered = service::registration::register(&state, &meta, body).await?;
    Ok(HttpResponse::Created().json(registered))
}

/// Approve or reject a hospital (admin), with an optional reason. Approval activates its
/// account, rejection deactivates it and ends its logins; the hospital is told by SMS (a
/// rejection's reason included).
#[utoipa::path(patch, path = "/api/hospitals/{id}/approve/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = ApprovalRequest,
    responses((status = 200, body = ApprovalResponse), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<HospitalId>,
    Body(body): Body<ApprovalRequest>,
) -> Result<web::Json<ApprovalResponse>, ApiError> {
    let id = id.into_inner();
    let reason = body.reason.as_deref();
    service::registration::approve(&state, &caller, &meta, id, body.is_approved, reason, Via::Api).await.map(web::Json)
}
