//! The shapes of a hospital's registration (`POST /api/hospitals/register/`) and of the admin's
//! approval (`PATCH /api/hospitals/{id}/approve/`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{hospital::Hospital, hospital_request::HospitalRequest};
use crate::ids::HospitalId;

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
    #[schema(value_type = i64)]
    pub id: HospitalId,
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

impl HospitalRegistrationRequest {
    /// The hospital's part of the registration, under the names `hospital_fields` reads.
    pub fn hospital(&mut self) -> HospitalRequest {
        HospitalRequest {
            name: self.hospital_name.take(),
            license_number: self.license_number.take(),
            email: self.hospital_email.take(),
            phone: self.hospital_phone.take(),
            address: self.address.take(),
            location: self.location.take(),
            latitude: self.latitude.take(),
            longitude: self.longitude.take(),
            is_approved: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApprovalRequest {
    #[schema(required = true, value_type = bool)]
    pub is_approved: Option<bool>,
    /// Why (optional): recorded in the audit trail and, for a rejection, sent to the hospital in
    /// its SMS. Trimmed; at most 500 characters are kept.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalResponse {
    pub message: String,
    pub hospital: Hospital,
}
