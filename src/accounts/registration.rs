//! `POST /api/accounts/patients/register/`: patient self-registration, with consent.

use actix_web::{HttpResponse, web};

use super::{
    dto::{PatientRegistration, PatientRegistrationRequest, bounded, required},
    model::{Password, PhoneNumber, UserId, UserType, Username, validate_email},
    repo,
    routes::USERNAME_TAKEN,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, FieldErrors, violated_constraint},
        extract::Body,
    },
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
    let mut errors = FieldErrors::new();
    let username = Username::parse(&required(&mut errors, "username", body.username.clone()))
        .map_err(|m| {
            if !errors.contains("username") {
                errors.add("username", m);
            }
        })
        .ok();
    if let Some(name) = &username
        && repo::username_taken(&state.db, name.as_str(), None).await?
    {
        errors.add("username", USERNAME_TAKEN);
    }
    let email = validate_email(body.email.as_deref().unwrap_or_default())
        .map_err(|m| errors.add("email", m))
        .unwrap_or_default();
    let first_name = bounded(&mut errors, "first_name", body.first_name, 150).unwrap_or_default();
    let last_name = bounded(&mut errors, "last_name", body.last_name, 150).unwrap_or_default();
    let phone = match body.phone_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => PhoneNumber::parse(raw, &state.settings.accounts.default_phone_region)
            .map_err(|m| errors.add("phone_number", m))
            .ok(),
    };
    let password_text = required(&mut errors, "password", body.password);
    let confirm = required(&mut errors, "password_confirm", body.password_confirm);
    let inputs =
        [body.username.as_deref().unwrap_or_default(), email.as_str(), first_name.as_str(), last_name.as_str()];
    let password = if password_text.is_empty() {
        None
    } else {
        Password::parse(&password_text, &inputs)
            .map_err(|problems| problems.into_iter().for_each(|p| errors.add("password", p)))
            .ok()
    };
    if !confirm.is_empty() && !password_text.is_empty() && confirm != password_text {
        errors.add("password_confirm", "Passwords do not match.");
    }
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
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Internal(anyhow::anyhow!("registration passed validation incomplete")));
    };

    let hash = state.hasher.hash(&password).await?;
    let mut tx = state.db.begin().await?;
    let new_user = repo::NewUser {
        username: username.as_str(),
        email: &email,
        first_name: &first_name,
        last_name: &last_name,
        phone_number: phone.as_ref().map(PhoneNumber::as_str),
        user_type: UserType::Patient,
        password_hash: &hash,
        is_active: true,
        must_change_password: false,
        is_demo: false,
    };
    let user = match repo::insert_user(&mut *tx, &new_user).await {
        Ok(user) => user,
        Err(err) if violated_constraint(&err) == Some(repo::USERNAME_UNIQUE) => {
            return Err(ApiError::Validation(FieldErrors::single("username", USERNAME_TAKEN)));
        }
        Err(err) => return Err(err.into()),
    };
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
