//! `POST /api/hospitals/register/` and `PATCH /api/hospitals/{id}/approve/`: a hospital's
//! registration (an inactive HOSPITAL account and its hospital) and the admin's approval.

use actix_web::{HttpResponse, web};
use carehub_workers::sms::{Purpose, queue_sms};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{
    dto::{HospitalRequest, hospital_fields},
    model::{Hospital, policy},
    repo,
};
use crate::{
    accounts::{
        model::{PhoneNumber, Principal, UserType, account_fields},
        repo as accounts_repo,
        service::registration::check_account,
    },
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors, from_database},
        extract::Body,
    },
    state::AppState,
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct HospitalRegistrationRequest {
    #[schema(required = true, value_type = String)]
    pub username: Option<String>,
    #[schema(required = true, value_type = String)]
    pub email: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password_confirm: Option<String>,
    #[schema(required = true, value_type = String)]
    pub first_name: Option<String>,
    #[schema(required = true, value_type = String)]
    pub last_name: Option<String>,
    #[schema(required = true, value_type = String)]
    pub phone_number: Option<String>,
    #[schema(required = true, value_type = String)]
    pub hospital_name: Option<String>,
    #[schema(required = true, value_type = String)]
    pub license_number: Option<String>,
    #[schema(required = true, value_type = String)]
    pub hospital_email: Option<String>,
    #[schema(required = true, value_type = String)]
    pub hospital_phone: Option<String>,
    #[schema(required = true, value_type = String)]
    pub address: Option<String>,
    #[schema(required = true, value_type = String)]
    pub location: Option<String>,
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Value>,
}

/// The reference's `HospitalRegistration`, plus the new hospital's id and state.
#[derive(Debug, Serialize, ToSchema)]
pub struct HospitalRegistration {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: String,
    pub hospital_name: String,
    pub license_number: String,
    pub hospital_email: String,
    pub hospital_phone: String,
    pub address: String,
    pub location: String,
    #[schema(value_type = Option<String>)]
    pub latitude: Option<rust_decimal::Decimal>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<rust_decimal::Decimal>,
    pub is_approved: bool,
}

/// Register a hospital: an inactive HOSPITAL account and its hospital, pending approval.
#[utoipa::path(post, path = "/api/hospitals/register/", tag = "hospitals",
    request_body = HospitalRegistrationRequest,
    responses((status = 201, body = HospitalRegistration), (status = 400, description = "Field errors")))]
pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<HospitalRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let region = state.settings.accounts.default_phone_region.clone();
    let mut errors = FieldErrors::new();
    let account = check_account(&state.db, &region, &mut errors, account_fields!(body), true).await?;
    let fields = hospital_fields(
        &mut errors,
        HospitalRequest {
            name: body.hospital_name,
            license_number: body.license_number,
            email: body.hospital_email,
            phone: body.hospital_phone,
            address: body.address,
            location: body.location,
            latitude: body.latitude,
            longitude: body.longitude,
            is_approved: None,
        },
        None,
        &region,
        &state.settings.hospitals.default_time_zone,
        ["hospital_name", "hospital_email", "hospital_phone"],
    );
    errors.into_result()?;
    let (Some(username), Some(password)) = (account.username, account.password) else {
        return Err(ApiError::Internal(anyhow::anyhow!("registration passed validation incomplete")));
    };

    let hash = state.hasher.hash(&password).await?;
    let mut tx = state.db.begin().await?;
    let user = accounts_repo::insert_user(
        &mut *tx,
        &accounts_repo::NewUser {
            username: username.as_str(),
            email: &account.email,
            first_name: &account.first_name,
            last_name: &account.last_name,
            phone_number: account.phone.as_ref().map(PhoneNumber::as_str),
            user_type: UserType::Hospital,
            password_hash: &hash,
            is_active: false,
            must_change_password: false,
            is_demo: false,
        },
    )
    .await
    .map_err(from_database)?;
    let hospital_id = repo::insert_hospital(&mut *tx, user.id.get(), &fields, false).await.map_err(from_database)?;
    let event = AuditEvent {
        actor_id: Some(user.id.get()),
        actor_type: Some(UserType::Hospital.as_str()),
        hospital_id: Some(hospital_id),
        ..AuditEvent::new("hospital_registered").target("hospital", hospital_id)
    };
    audit::record(&mut tx, &meta, event).await?;
    tx.commit().await?;

    Ok(HttpResponse::Created().json(HospitalRegistration {
        id: hospital_id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        phone_number: user.phone_number.0,
        hospital_name: fields.name,
        license_number: fields.license_number,
        hospital_email: fields.email,
        hospital_phone: fields.phone,
        address: fields.address,
        location: fields.location,
        latitude: fields.latitude,
        longitude: fields.longitude,
        is_approved: false,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApprovalRequest {
    #[schema(required = true, value_type = bool)]
    pub is_approved: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalResponse {
    pub message: String,
    pub hospital: Hospital,
}

/// Approve or reject a hospital (admin). Approval activates its account, rejection
/// deactivates it and ends its logins; the hospital is told by SMS.
#[utoipa::path(patch, path = "/api/hospitals/{id}/approve/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = ApprovalRequest,
    responses((status = 200, body = ApprovalResponse), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<ApprovalRequest>,
) -> Result<web::Json<ApprovalResponse>, ApiError> {
    if !policy::may_approve(&caller) {
        return Err(ApiError::Forbidden("Only administrators can approve hospitals."));
    }
    let Some(approved) = body.is_approved else {
        return Err(ApiError::Validation(FieldErrors::single("is_approved", "This field is required.")));
    };
    let id = id.into_inner();
    let mut tx = state.db.begin().await?;
    let user_id = repo::set_approval(&mut tx, id, approved, caller.user_id.0).await?.ok_or(ApiError::NotFound)?;
    if !approved {
        accounts_repo::revoke_other_families(&mut *tx, crate::ids::UserId(user_id), None, "hospital_rejected").await?;
    }
    let hospital = repo::get_hospital(&mut *tx, id).await?.ok_or(ApiError::NotFound)?;
    if !hospital.phone.is_empty() {
        let text = if approved {
            format!("CareHub: {} has been approved. You can now sign in.", hospital.name)
        } else {
            format!("CareHub: the registration of {} was not approved. Contact support for details.", hospital.name)
        };
        queue_sms(&mut tx, &hospital.phone, &text, Purpose::HospitalApproval).await?;
    }
    let action = if approved { "hospital_approved" } else { "hospital_rejected" };
    let event = AuditEvent { hospital_id: Some(id), ..AuditEvent::new(action).by(&caller).target("hospital", id) };
    audit::record(&mut tx, &meta, event.details(json!({ "is_approved": approved }))).await?;
    tx.commit().await?;
    // Logins were revoked or an account changed, and the directory with the hospital: this
    // process forgets what it cached now.
    state.sessions.changed();
    state.directory.changed();
    let message = if approved { "Hospital approved successfully." } else { "Hospital approval revoked." };
    Ok(web::Json(ApprovalResponse { message: message.into(), hospital }))
}
