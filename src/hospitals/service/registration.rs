//! A hospital's registration (an inactive HOSPITAL account and its hospital, pending approval)
//! and the admin's approval or rejection.

use carehub_workers::sms::{Purpose, queue_sms};
use serde_json::json;

use crate::{
    accounts::{
        model::{PhoneNumber, Principal, UserType, account_fields},
        repo as accounts_repo,
        service::registration::check_account,
    },
    audit::{self, AuditEvent, RequestMeta},
    errors::FieldErrors,
    hospitals::{
        model::{ApprovalResponse, HospitalRegistration, HospitalRegistrationRequest, hospital_fields, policy},
        repo,
    },
    http::error::{ApiError, from_database},
    ids::HospitalId,
    state::AppState,
};

/// Registers a hospital: an inactive HOSPITAL account and its hospital, pending approval.
pub async fn register(
    state: &AppState,
    meta: &RequestMeta,
    mut body: HospitalRegistrationRequest,
) -> Result<HospitalRegistration, ApiError> {
    let region = state.settings.accounts.default_phone_region.clone();
    let hospital = body.hospital();
    let mut errors = FieldErrors::new();
    let account = check_account(&state.db, &region, &mut errors, account_fields!(body), true).await?;
    let fields = hospital_fields(
        &mut errors,
        hospital,
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
    let new_user = accounts_repo::NewUser {
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
    };
    let user = accounts_repo::insert_user(&mut *tx, &new_user).await.map_err(from_database)?;
    let user_id = user.id;
    let hospital_id = repo::insert_hospital(&mut *tx, user_id, &fields, false).await.map_err(from_database)?;
    let event = AuditEvent {
        actor_id: Some(user_id),
        actor_type: Some(UserType::Hospital.as_str()),
        hospital_id: Some(hospital_id),
        ..AuditEvent::new("hospital_registered").target("hospital", hospital_id)
    };
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;

    Ok(HospitalRegistration {
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
    })
}

/// Approves or rejects a hospital (admin). Approval activates its account, rejection
/// deactivates it and ends its logins; the hospital is told by SMS.
pub async fn approve(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: HospitalId,
    approved: Option<bool>,
) -> Result<ApprovalResponse, ApiError> {
    if !policy::may_approve(caller) {
        return Err(ApiError::Forbidden("Only administrators can approve hospitals."));
    }
    let Some(approved) = approved else {
        return Err(ApiError::Validation(FieldErrors::single("is_approved", "This field is required.")));
    };
    let mut tx = state.db.begin().await?;
    let admin = caller.user_id;
    let user_id = repo::set_approval(&mut tx, id, approved, admin).await?.ok_or(ApiError::NotFound)?;
    if !approved {
        let user = user_id;
        accounts_repo::revoke_other_families(&mut *tx, user, None, "hospital_rejected").await?;
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
    let event = AuditEvent { hospital_id: Some(id), ..AuditEvent::new(action).by(caller).target("hospital", id) };
    audit::record(&mut tx, meta, event.details(json!({ "is_approved": approved }))).await?;
    tx.commit().await?;
    // Logins were revoked or an account changed, and the directory with the hospital: this
    // process forgets what it cached now.
    state.sessions.changed();
    state.directory.changed();
    let message = if approved { "Hospital approved successfully." } else { "Hospital approval revoked." };
    Ok(ApprovalResponse { message: message.into(), hospital })
}
