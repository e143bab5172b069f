//! `POST /api/accounts/patients/register/`: patient self-registration, with consent.

use actix_web::{HttpResponse, web};

use super::{
    dto::{PatientRegistration, PatientRegistrationRequest, bounded, required},
    model::{Password, PhoneNumber, UserId, UserType, Username, validate_email},
    repo,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    errors::Duplicate,
    http::{
        error::{ApiError, FieldErrors, from_database},
        extract::Body,
    },
    state::AppState,
};

/// The account fields of a registration, as sent.
pub struct AccountFields {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_confirm: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// The account fields, checked. `None` where a field was refused (the reason is in `errors`).
pub struct CheckedAccount {
    pub username: Option<Username>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<PhoneNumber>,
    pub password: Option<Password>,
}

/// Checks a new account's fields into `errors`, every problem at once: username rules and
/// uniqueness (ignoring case), e-mail, names, phone (normalized to E.164), password rules and
/// confirmation. With `complete`, e-mail, names and phone are required (hospital registration).
pub async fn check_account(
    state: &AppState,
    errors: &mut FieldErrors,
    fields: AccountFields,
    complete: bool,
) -> Result<CheckedAccount, ApiError> {
    let username_text = required(errors, "username", fields.username);
    let username = if username_text.is_empty() {
        None
    } else {
        Username::parse(&username_text).map_err(|m| errors.add("username", m)).ok()
    };
    if let Some(name) = &username
        && repo::username_taken(&state.db, name.as_str(), None).await?
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
        Some(raw) => PhoneNumber::parse(raw, &state.settings.accounts.default_phone_region)
            .map_err(|m| errors.add("phone_number", m))
            .ok(),
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

/// Register as a patient. Consent to the processing of health data is required.
#[utoipa::path(post, path = "/api/accounts/patients/register/", tag = "accounts",
    request_body = PatientRegistrationRequest,
    responses((status = 201, body = PatientRegistration), (status = 400, description = "Field errors")))]
pub async fn register_patient(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<PatientRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let account = check_account(
        &state,
        &mut errors,
        AccountFields {
            username: body.username,
            email: body.email,
            password: body.password,
            password_confirm: body.password_confirm,
            first_name: body.first_name,
            last_name: body.last_name,
            phone_number: body.phone_number,
        },
        false,
    )
    .await?;
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
    repo::insert_patient_profile(&mut *tx, UserId(user.id), &profile).await?;
    let event = AuditEvent {
        actor_id: Some(user.id),
        actor_type: Some(UserType::Patient.as_str()),
        ..AuditEvent::new("patient_registered").target("user", user.id)
    };
    audit::record(&mut tx, &meta, event).await?;
    tx.commit().await?;

    Ok(HttpResponse::Created().json(PatientRegistration {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        phone_number: user.phone_number.0,
        user_type: user.user_type,
    }))
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
