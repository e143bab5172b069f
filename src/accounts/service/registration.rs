//! Registration: the account check both registrations share, patients (here) and hospitals
//! (`hospitals::registration`: accounts owns the check and hospitals call it, never the other way),
//! and a patient's self-registration with consent.

use sqlx::PgPool;

use super::super::{
    model::{
        AccountFields, CheckedAccount, Password, PatientRegistration, PatientRegistrationRequest, PhoneNumber,
        UserType, Username, account_fields, bounded, required, validate_email,
    },
    repo,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    errors::{Duplicate, FieldErrors},
    http::error::{ApiError, from_database},
    state::AppState,
};

/// Checks a new account's fields into `errors`, every problem at once: username rules and
/// uniqueness (ignoring case), e-mail, names, phone (normalized to E.164), password rules and
/// confirmation. With `complete`, e-mail, names and phone are required (hospital registration).
/// It knows nothing of HTTP: field errors, or a database error.
pub async fn check_account(
    db: &PgPool,
    phone_region: &str,
    errors: &mut FieldErrors,
    fields: AccountFields,
    complete: bool,
) -> sqlx::Result<CheckedAccount> {
    let username_text = required(errors, "username", fields.username);
    let username = if username_text.is_empty() {
        None
    } else {
        Username::parse(&username_text).map_err(|m| errors.add("username", m)).ok()
    };
    if let Some(name) = &username
        && repo::username_taken(db, name.as_str(), None).await?
    {
        errors.add("username", Duplicate::Username.message());
    }
    let optional = |errors: &mut FieldErrors, field: &str, value: Option<String>| {
        if complete { Some(required(errors, field, value)) } else { value }
    };
    let email = optional(errors, "email", fields.email).unwrap_or_default();
    let email = if email.is_empty() {
        email
    } else {
        validate_email(&email).map_err(|m| errors.add("email", m)).unwrap_or_default()
    };
    let first_name = optional(errors, "first_name", fields.first_name);
    let first_name = bounded(errors, "first_name", first_name, 150).unwrap_or_default();
    let last_name = optional(errors, "last_name", fields.last_name);
    let last_name = bounded(errors, "last_name", last_name, 150).unwrap_or_default();
    let phone = match optional(errors, "phone_number", fields.phone_number).as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => PhoneNumber::parse(raw, phone_region).map_err(|m| errors.add("phone_number", m)).ok(),
    };
    let password_text = required(errors, "password", fields.password);
    let confirm = required(errors, "password_confirm", fields.password_confirm);
    let password = if password_text.is_empty() {
        None
    } else {
        Password::parse(&password_text, &[&username_text, &email, &first_name, &last_name])
            .map_err(|problems| problems.into_iter().for_each(|p| errors.add("password", p)))
            .ok()
    };
    if !confirm.is_empty() && !password_text.is_empty() && confirm != password_text {
        errors.add("password_confirm", "Passwords do not match.");
    }
    Ok(CheckedAccount { username, email, first_name, last_name, phone, password })
}

/// Registers a patient: the account and its clinical profile, with consent to the processing of
/// health data (required).
pub async fn register_patient(
    state: &AppState,
    meta: &RequestMeta,
    body: PatientRegistrationRequest,
) -> Result<PatientRegistration, ApiError> {
    let mut errors = FieldErrors::new();
    let region = &state.settings.accounts.default_phone_region;
    let account = check_account(&state.db, region, &mut errors, account_fields!(body), false).await?;
    match body.consent {
        None => errors.add("consent", "This field is required."),
        Some(false) => errors.add("consent", "You must consent to the processing of your health data to register."),
        Some(true) => {}
    }
    let gender = body.gender.map(|g| g.trim().to_ascii_uppercase());
    if gender.as_deref().is_some_and(|g| !["MALE", "FEMALE", "OTHER"].contains(&g)) {
        errors.add("gender", "Select a valid choice: MALE, FEMALE or OTHER.");
    }
    if body.date_of_birth.is_some_and(|dob| dob > chrono::Utc::now().date_naive()) {
        errors.add("date_of_birth", "The date of birth cannot be in the future.");
    }
    errors.into_result()?;
    let (Some(username), Some(password)) = (account.username, account.password) else {
        return Err(ApiError::Internal(anyhow::anyhow!("registration passed validation incomplete")));
    };

    let hash = state.hasher.hash(&password).await?;
    let mut tx = state.db.begin().await?;
    let new_user = repo::NewUser {
        username: username.as_str(),
        email: &account.email,
        first_name: &account.first_name,
        last_name: &account.last_name,
        phone_number: account.phone.as_ref().map(PhoneNumber::as_str),
        user_type: UserType::Patient,
        password_hash: &hash,
        is_active: true,
        must_change_password: false,
        is_demo: false,
    };
    let user = repo::insert_user(&mut *tx, &new_user).await.map_err(from_database)?;
    let profile = repo::NewPatientProfile {
        date_of_birth: body.date_of_birth,
        gender,
        allergies: clean_list(body.allergies),
        chronic_conditions: clean_list(body.chronic_conditions),
    };
    repo::insert_patient_profile(&mut *tx, user.id, &profile).await?;
    let event = AuditEvent {
        actor_id: Some(user.id),
        actor_type: Some(UserType::Patient.as_str()),
        ..AuditEvent::new("patient_registered").target("user", user.id)
    };
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;

    Ok(PatientRegistration {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        phone_number: user.phone_number.0,
        user_type: user.user_type,
    })
}

fn clean_list(items: Option<Vec<String>>) -> Vec<String> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(|item| item.trim().chars().take(200).collect::<String>())
        .filter(|item| !item.is_empty())
        .take(100)
        .collect()
}
