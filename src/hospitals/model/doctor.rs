//! A doctor as the hospital and as everyone else sees one, the profile fields as written, and
//! the shapes of the doctor routes (create, list, reset a password).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::ids::{DoctorId, HospitalId, UserId};

/// A doctor (the reference's `HospitalDoctorProfile`, plus the department).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Doctor {
    #[schema(value_type = i64)]
    pub id: DoctorId,
    #[schema(value_type = i64)]
    pub hospital: HospitalId,
    pub hospital_name: String,
    #[schema(value_type = i64)]
    pub user: UserId,
    pub doctor_name: String,
    pub doctor_username: String,
    pub doctor_email: String,
    pub department: Option<i64>,
    pub department_name: Option<String>,
    pub cnic: String,
    pub address: String,
    pub license_number: String,
    pub specialization: String,
    pub phone_number: String,
    /// Weekday (`monday` … `sunday`) → list of `HH:MM-HH:MM` ranges.
    #[schema(value_type = Object)]
    pub available_timings: Value,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A doctor as patients and other hospitals see one: no national id, address, personal
/// phone, e-mail or login name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicDoctor {
    #[schema(value_type = i64)]
    pub id: DoctorId,
    #[schema(value_type = i64)]
    pub hospital: HospitalId,
    pub hospital_name: String,
    pub doctor_name: String,
    pub department: Option<i64>,
    pub department_name: Option<String>,
    pub specialization: String,
    #[schema(value_type = Object)]
    pub available_timings: Value,
    pub is_active: bool,
}

impl From<Doctor> for PublicDoctor {
    fn from(d: Doctor) -> Self {
        Self {
            id: d.id,
            hospital: d.hospital,
            hospital_name: d.hospital_name,
            doctor_name: d.doctor_name,
            department: d.department,
            department_name: d.department_name,
            specialization: d.specialization,
            available_timings: d.available_timings,
            is_active: d.is_active,
        }
    }
}

/// A doctor's profile fields, as written.
#[derive(Debug, Clone)]
pub struct DoctorFields {
    pub department_id: Option<i64>,
    pub cnic: String,
    pub address: String,
    pub license_number: String,
    pub specialization: String,
    pub phone_number: String,
    pub available_timings: Value,
    pub is_active: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DoctorRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub cnic: Option<String>,
    pub address: Option<String>,
    pub license_number: Option<String>,
    pub specialization: Option<String>,
    /// A department of the same hospital, or null.
    pub department: Option<Value>,
    /// Weekday → list of `HH:MM-HH:MM` ranges.
    #[schema(value_type = Option<Object>)]
    pub available_timings: Option<Value>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorListQuery {
    /// A department id.
    pub department: Option<i64>,
    /// Exact specialization, ignoring case.
    pub specialization: Option<String>,
}

/// Filters of a doctor list.
#[derive(Debug, Default)]
pub struct DoctorFilter<'a> {
    pub active_only: bool,
    pub department: Option<i64>,
    pub specialization: Option<&'a str>,
}

impl DoctorListQuery {
    /// The query's filters; `active_only` for everyone but the doctors' own hospital.
    pub fn filter(&self, active_only: bool) -> DoctorFilter<'_> {
        DoctorFilter {
            active_only,
            department: self.department,
            specialization: self.specialization.as_deref().filter(|s| !s.is_empty()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The reference's `CreateDoctorResponse`, with the pair also at the top level (the existing
/// frontend reads it there). The password is shown this once; only its hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateDoctorResponse {
    pub message: String,
    pub username: String,
    pub password: String,
    pub doctor: Doctor,
    pub credentials: Credentials,
}

/// The answer to a password reset: where the temporary password went, never the password.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetResponse {
    pub message: String,
    /// The doctor's phone, masked (`+92*******4567`).
    pub phone_number: String,
}
