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
    audit::{self, AuditEvent, RequestMeta, Via, details},
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
/// deactivates it and ends its logins; the hospital is told by SMS. `reason` (trimmed, at most
/// 500 characters, empty = none) goes into the audit row with `via` (where the admin decided)
/// and, for a rejection, into the SMS (kept within [`SMS_MAX_CHARS`]).
pub async fn approve(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: HospitalId,
    approved: Option<bool>,
    reason: Option<&str>,
    via: Via,
) -> Result<ApprovalResponse, ApiError> {
    if !policy::may_approve(caller) {
        return Err(ApiError::Forbidden("Only administrators can approve hospitals."));
    }
    let Some(approved) = approved else {
        return Err(ApiError::Validation(FieldErrors::single("is_approved", "This field is required.")));
    };
    let reason = details::reason(reason);
    let mut tx = state.db.begin().await?;
    let admin = caller.user_id;
    let user_id = repo::set_approval(&mut tx, id, approved, admin).await?.ok_or(ApiError::NotFound)?;
    if !approved {
        let user = user_id;
        accounts_repo::revoke_other_families(&mut *tx, user, None, "hospital_rejected").await?;
    }
    let hospital = repo::get_hospital(&mut *tx, id).await?.ok_or(ApiError::NotFound)?;
    if !hospital.phone.is_empty() {
        let text = approval_sms(&hospital.name, approved, reason.as_deref());
        queue_sms(&mut tx, &hospital.phone, &text, Purpose::HospitalApproval).await?;
    }
    let action = if approved { "hospital_approved" } else { "hospital_rejected" };
    let event = AuditEvent { hospital_id: Some(id), ..AuditEvent::new(action).by(caller).target("hospital", id) };
    let recorded = json!({ "is_approved": approved, "reason": reason, "via": via.as_str() });
    audit::record(&mut tx, meta, event.details(recorded)).await?;
    tx.commit().await?;
    // Logins were revoked or an account changed, and the directory with the hospital: this
    // process forgets what it cached now.
    state.sessions.changed();
    state.directory.changed();
    let message = if approved { "Hospital approved successfully." } else { "Hospital approval revoked." };
    Ok(ApprovalResponse { message: message.into(), hospital })
}

/// The most characters of the SMS telling a hospital of the decision (two SMS segments).
pub const SMS_MAX_CHARS: usize = 320;

/// The SMS telling hospital `name` of the decision; a rejection's reason is appended
/// ("Reason: …"), shortened with "…" to keep the message within [`SMS_MAX_CHARS`].
fn approval_sms(name: &str, approved: bool, reason: Option<&str>) -> String {
    if approved {
        return format!("CareHub: {name} has been approved. You can now sign in.");
    }
    let text = format!("CareHub: the registration of {name} was not approved.");
    let Some(reason) = reason else {
        return format!("{text} Contact support for details.");
    };
    let prefix = format!("{text} Reason: ");
    let room = SMS_MAX_CHARS.saturating_sub(prefix.chars().count());
    if reason.chars().count() <= room {
        return format!("{prefix}{reason}");
    }
    // Too long: cut, with "…" saying so; when a long name leaves too little room for a readable
    // part of it, the message without the reason (the audit row has it).
    let cut: String = reason.chars().take(room.saturating_sub(1)).collect();
    let cut = cut.trim_end();
    if cut.chars().count() < REASON_MIN_CHARS {
        format!("{text} Contact support for details.")
    } else {
        format!("{prefix}{cut}…")
    }
}

/// The shortest cut of a reason worth sending.
const REASON_MIN_CHARS: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_its_reason_within_two_segments() {
        let short = approval_sms("Jinnah Hospital", false, Some("License expired"));
        assert_eq!(short, "CareHub: the registration of Jinnah Hospital was not approved. Reason: License expired");
        let long = approval_sms("Jinnah Hospital", false, Some(&"x".repeat(500)));
        assert_eq!(long.chars().count(), SMS_MAX_CHARS);
        assert!(long.ends_with("x…"), "{long}");
        let name = "N".repeat(200);
        let reason = "The license number could not be verified with the national registry of Pakistan";
        let cut = approval_sms(&name, false, Some(reason));
        assert!(cut.chars().count() <= SMS_MAX_CHARS, "{cut}");
        assert!(cut.contains("Reason: The license") && cut.ends_with('…'), "{cut}");
        let no_room = approval_sms(&"N".repeat(255), false, Some("The license number could not be verified"));
        assert_eq!(no_room, approval_sms(&"N".repeat(255), false, None), "no room for a readable reason");
    }

    #[test]
    fn without_a_reason_the_messages_are_as_before() {
        assert_eq!(
            approval_sms("Jinnah Hospital", false, None),
            "CareHub: the registration of Jinnah Hospital was not approved. Contact support for details."
        );
        assert_eq!(
            approval_sms("Jinnah Hospital", true, Some("fine")),
            "CareHub: Jinnah Hospital has been approved. You can now sign in."
        );
    }
}
