//! The hospital fields of a request and their checks, shared by registration and the owner's
//! changes (PUT and PATCH `/api/hospitals/{id}/`).

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::hospital::{Hospital, HospitalFields, parse_coordinate};
use crate::{
    accounts::model::{PhoneNumber, required, validate_email},
    errors::FieldErrors,
};

/// The hospital fields of a request (registration names some of them differently).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct HospitalRequest {
    pub name: Option<String>,
    pub license_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub location: Option<String>,
    /// Decimal string (or number) between -90 and 90.
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Value>,
    /// Decimal string (or number) between -180 and 180.
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Value>,
    /// Not settable here (`PATCH /api/hospitals/{id}/approve/`): refused.
    pub is_approved: Option<bool>,
}

/// Checks hospital fields into `errors`; `current` fills what a partial update leaves out.
pub fn hospital_fields(
    errors: &mut FieldErrors,
    body: HospitalRequest,
    current: Option<&Hospital>,
    region: &str,
    default_zone: &str,
    names: [&str; 3],
) -> HospitalFields {
    let [name_field, email_field, phone_field] = names;
    let text = |errors: &mut FieldErrors, field: &str, value: Option<String>, old: Option<&String>, max: usize| match (
        value, old,
    ) {
        (None, Some(old)) => old.clone(),
        (value, _) => {
            let text = required(errors, field, value);
            if text.chars().count() > max {
                errors.add(field, format!("Ensure this field has no more than {max} characters."));
            }
            text.trim().to_owned()
        }
    };
    let name = text(errors, name_field, body.name, current.map(|h| &h.name), 255);
    let license_number = text(errors, "license_number", body.license_number, current.map(|h| &h.license_number), 100);
    let email = match (body.email, current) {
        (None, Some(h)) => h.email.clone(),
        (raw, _) => {
            let raw = required(errors, email_field, raw);
            if raw.is_empty() {
                raw
            } else {
                validate_email(&raw).map_err(|m| errors.add(email_field, m)).unwrap_or_default()
            }
        }
    };
    if email.len() > 254 {
        errors.add(email_field, "Ensure this field has no more than 254 characters.");
    }
    let phone = match (body.phone, current) {
        (None, Some(h)) => h.phone.clone(),
        (raw, _) => {
            let raw = required(errors, phone_field, raw);
            if raw.is_empty() {
                raw
            } else {
                PhoneNumber::parse(&raw, region)
                    .map(PhoneNumber::into_inner)
                    .map_err(|m| errors.add(phone_field, m))
                    .unwrap_or_default()
            }
        }
    };
    let address = text(errors, "address", body.address, current.map(|h| &h.address), 2000);
    let location = text(errors, "location", body.location, current.map(|h| &h.location), 2000);
    let coordinate = |errors: &mut FieldErrors, field: &str, raw: Option<Value>, old, limit| match raw {
        None => current.and(old),
        Some(raw) => parse_coordinate(&raw, limit).map_err(|m| errors.add(field, m)).ok().flatten(),
    };
    let latitude = coordinate(errors, "latitude", body.latitude, current.and_then(|h| h.latitude), 90);
    let longitude = coordinate(errors, "longitude", body.longitude, current.and_then(|h| h.longitude), 180);
    if latitude.is_some() != longitude.is_some() && !errors.contains("latitude") && !errors.contains("longitude") {
        errors.add("non_field_errors", "Give both latitude and longitude, or neither.");
    }
    if body.is_approved.is_some() {
        errors.add("is_approved", "Approval is changed through PATCH /api/hospitals/{id}/approve/.");
    }
    let time_zone = current.map_or_else(|| default_zone.to_owned(), |h| h.time_zone.clone());
    HospitalFields { name, license_number, email, phone, address, location, latitude, longitude, time_zone }
}
