//! Request and response bodies of the accounts endpoints (the old `dto.rs`), with the reference's field names.
//! Request fields are optional in Rust so that every missing field is reported at once, by
//! name, as DRF does; the OpenAPI document marks the required ones.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::UserId;

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenObtainPairRequest {
    #[schema(required = true, value_type = String)]
    pub username: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    /// Login only: the device token (also set as the `carehub_device` cookie). A client that
    /// cannot keep the cookie (a frontend on another site) sends it back in `X-Device-Token`
    /// with its next logins to this account, to be exempt from address throttling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRefreshRequest {
    #[schema(required = true, value_type = String)]
    pub refresh: Option<String>,
}

/// `PUT`/`PATCH /api/accounts/me/` (the reference's `UserRequest`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserUpdateRequest {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    /// Read-only for the account holder: sending a different value is refused.
    pub is_active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// Only without an `Authorization` header: the account whose generated password (expired or
    /// not) is changed.
    pub username: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub old_password: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub new_password: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub new_password_confirm: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatientRegistrationRequest {
    #[schema(required = true, value_type = String)]
    pub username: Option<String>,
    pub email: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password_confirm: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// International (`+923001234567`) or national in the configured default region; stored
    /// as E.164.
    pub phone_number: Option<String>,
    /// Consent to the processing of health data; must be `true`.
    #[schema(required = true, value_type = bool)]
    pub consent: Option<bool>,
    pub date_of_birth: Option<NaiveDate>,
    /// `MALE`, `FEMALE` or `OTHER`.
    pub gender: Option<String>,
    pub allergies: Option<Vec<String>>,
    pub chronic_conditions: Option<Vec<String>>,
}

/// The reference's `PatientRegistration`, plus the new account's id and role.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientRegistration {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: String,
    pub user_type: super::UserType,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Admins only: `ADMIN`, `HOSPITAL`, `DOCTOR` or `PATIENT` (empty: every role).
    #[param(pattern = "^(ADMIN|HOSPITAL|DOCTOR|PATIENT)?$")]
    pub user_type: Option<String>,
}
