//! A doctor's login, made and reset by the hospital: accounts with a generated username and
//! password (shown once), and password resets whose temporary password goes to the doctor's
//! phone, never to the hospital.

use serde_json::json;

use super::doctors::{owner, profile_fields};
use crate::{
    access::model::mask_phone,
    accounts::{
        model::{Principal, UserType, generate_password, required, validate_email},
        repo as accounts_repo,
        service::password_reset,
    },
    audit::{self, AuditEvent, RequestMeta},
    errors::{Conflict, Duplicate, FieldErrors, Violation, violation},
    hospitals::{
        model::{
            CreateDoctorResponse, Credentials, DoctorRequest, PasswordResetResponse, doctor_username_base,
            next_free_username,
        },
        repo,
    },
    http::error::ApiError,
    ids::DoctorId,
    state::AppState,
};

/// Attempts at a free username before giving up (each attempt takes the next free suffix).
const USERNAME_ATTEMPTS: usize = 50;

/// Creates a doctor account in the caller's hospital, with a generated username
/// (`doctorname_hospitalname`, then `1`, `2`, …) and a generated password that works for
/// `auth.generated_password_hours` and must then be changed.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    body: DoctorRequest,
) -> Result<CreateDoctorResponse, ApiError> {
    let hospital_id = owner(caller)?;
    let hospital = repo::get_hospital(&state.db, hospital_id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let first_name = required(&mut errors, "first_name", body.first_name.clone()).trim().to_owned();
    let last_name = required(&mut errors, "last_name", body.last_name.clone()).trim().to_owned();
    for (field, value) in [("first_name", &first_name), ("last_name", &last_name)] {
        if value.chars().count() > 150 {
            errors.add(field, "Ensure this field has no more than 150 characters.");
        }
    }
    let email_text = required(&mut errors, "email", body.email.clone());
    let email = if email_text.is_empty() {
        email_text
    } else {
        validate_email(&email_text).map_err(|m| errors.add("email", m)).unwrap_or_default()
    };
    let mut conn = state.db.acquire().await?;
    let region = &state.settings.accounts.default_phone_region;
    let fields = profile_fields(region, &mut conn, &mut errors, hospital_id, &body, None).await?;
    drop(conn);
    errors.into_result()?;

    let password = generate_password(16);
    let hash = state.hasher.hash(&password).await?;
    let base = doctor_username_base(&first_name, &last_name, &hospital.name);
    // The unique index decides: a concurrent creation that takes our candidate makes the insert
    // fail, and we try the next free suffix.
    for _ in 0..USERNAME_ATTEMPTS {
        let taken = accounts_repo::usernames_like(&state.db, &base).await?;
        let username = next_free_username(&base, &taken);
        let mut tx = state.db.begin().await?;
        let new_user = accounts_repo::NewUser {
            username: &username,
            email: &email,
            first_name: &first_name,
            last_name: &last_name,
            phone_number: Some(&fields.phone_number),
            user_type: UserType::Doctor,
            password_hash: &hash,
            is_active: fields.is_active,
            must_change_password: true,
            is_demo: false,
        };
        let user = match accounts_repo::insert_user(&mut *tx, &new_user).await {
            Ok(user) => user,
            Err(err) if violation(&err) == Some(Violation::Duplicate(Duplicate::Username)) => continue,
            Err(err) => return Err(err.into()),
        };
        let user_id = user.id;
        let id = repo::insert_doctor_profile(&mut *tx, user_id, hospital_id, &fields).await?;
        let event =
            AuditEvent::new("doctor_created").by(caller).target("doctor", id).details(json!({ "user_id": user_id }));
        audit::record(&mut tx, meta, event).await?;
        let doctor = repo::get_doctor(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
        tx.commit().await?;
        let secret = password.expose().to_owned();
        return Ok(CreateDoctorResponse {
            message: format!(
                "Doctor account created. The password is shown only once and works for {} hours, then it must be \
                 changed.",
                state.settings.auth.generated_password_hours
            ),
            username: username.clone(),
            password: secret.clone(),
            doctor,
            credentials: Credentials { username, password: secret },
        });
    }
    Err(Conflict::UsernameUnavailable.into())
}

/// Resets the password of one of the caller's hospital's doctors. The temporary password goes to
/// the doctor's phone by SMS, made by the worker at send time: the hospital never learns it. The
/// old password stops working and every login of the doctor ends now, with every access grant
/// those logins held. A doctor with no phone on file: 400 naming `phone_number`, nothing
/// changed. At most three resets of one doctor per hour (429 with `Retry-After`).
pub async fn reset_password(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: DoctorId,
) -> Result<PasswordResetResponse, ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    let doctor = repo::lock_doctor(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let user = doctor.user;
    let phone = accounts_repo::get_user(&mut *tx, user).await?.map(|u| u.phone_number.0).filter(|p| !p.is_empty());
    let Some(phone) = phone else {
        return Err(FieldErrors::single(
            "phone_number",
            "The doctor has no phone number on file: add one before resetting the password.",
        )
        .into());
    };
    let (resets, until) = password_reset::recent(&mut tx, user).await?;
    if resets >= password_reset::RESETS_PER_HOUR {
        return Err(ApiError::Throttled { retry_after_secs: crate::errors::retry_after_secs(until) });
    }
    let (reset_id, revoked) = password_reset::request(&mut tx, user, caller.user_id).await?;
    let event = AuditEvent::new("doctor_password_reset")
        .by(caller)
        .target("doctor", id)
        .details(json!({ "user_id": doctor.user, "logins_revoked": revoked, "password_reset_id": reset_id }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    // Logins were revoked and an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(PasswordResetResponse {
        message: format!(
            "A temporary password is on its way to the doctor's phone by SMS; the doctor's logins are ended. It works \
             for {} hours, then it must be changed.",
            state.settings.auth.generated_password_hours
        ),
        phone_number: mask_phone(&phone),
    })
}
