//! `POST /api/accounts/patients/register/`: patient self-registration, with consent.

use actix_web::{HttpResponse, web};

use super::{
    dto::{PatientRegistration, PatientRegistrationRequest},
    model::{PhoneNumber, UserId, UserType},
    repo,
    signup::{AccountFields, check_account},
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, FieldErrors, from_database},
        extract::Body,
        routing::resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/accounts/patients/register/").post(register_patient));
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
        &state.db,
        &state.settings.accounts.default_phone_region,
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
        actor_id: Some(user.id.into()),
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
