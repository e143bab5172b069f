//! Hospital, department and doctor types, the rules on their input (coordinates, weekly
//! timings, generated usernames), and who may see or change what: the one place the tenant
//! rules of this context live.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use serde::Serialize;
use sqlx::types::Decimal;
use utoipa::ToSchema;

use crate::accounts::model::{Principal, UserType};

/// A hospital as the API shows it (the reference's `Hospital`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Hospital {
    pub id: i64,
    pub user: i64,
    pub user_username: String,
    pub user_email: String,
    pub name: String,
    pub license_number: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub location: String,
    /// Decimal string, 6 places (`"24.860700"`), or null.
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Decimal>,
    pub time_zone: String,
    pub is_approved: bool,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A department (the reference's `Department`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Department {
    pub id: i64,
    pub hospital: i64,
    pub hospital_name: String,
    pub name: String,
    pub description: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A doctor (the reference's `HospitalDoctorProfile`, plus the department).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Doctor {
    pub id: i64,
    pub hospital: i64,
    pub hospital_name: String,
    pub user: i64,
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
    pub available_timings: serde_json::Value,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A doctor as patients and other hospitals see one: no national id, address, personal
/// phone, e-mail or login name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicDoctor {
    pub id: i64,
    pub hospital: i64,
    pub hospital_name: String,
    pub doctor_name: String,
    pub department: Option<i64>,
    pub department_name: Option<String>,
    pub specialization: String,
    #[schema(value_type = Object)]
    pub available_timings: serde_json::Value,
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

/// One nearby hospital (the reference's `NearbyHospital`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct NearbyHospital {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub location: String,
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Decimal>,
    /// Kilometres, 2 decimals, as a string.
    #[schema(value_type = String)]
    pub distance_km: Decimal,
}

/// Parses a coordinate (a JSON string or number) within `±limit`, rounded to 6 places.
pub fn parse_coordinate(raw: &serde_json::Value, limit: i64) -> Result<Option<Decimal>, String> {
    let text = match raw {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::String(s) if s.trim().is_empty() => return Ok(None),
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("A valid number is required.".into()),
    };
    let value: Decimal = text.parse().map_err(|_| "A valid number is required.".to_owned())?;
    if value < Decimal::from(-limit) || value > Decimal::from(limit) {
        return Err(format!("Ensure this value is between -{limit} and {limit}."));
    }
    Ok(Some(value.round_dp(6)))
}

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Validates and normalizes weekly timings: `{"monday": ["09:00-13:00", "14:00-17:00"], ...}`;
/// weekday names are case-insensitive, ranges must be well-formed, start before end, and not
/// overlap within a day.
pub fn parse_timings(raw: &serde_json::Value) -> Result<serde_json::Value, String> {
    let Some(days) = raw.as_object() else {
        return Err("Must be an object of weekday → list of \"HH:MM-HH:MM\" ranges.".into());
    };
    let mut normalized = BTreeMap::new();
    for (day, ranges) in days {
        let key = day.to_ascii_lowercase();
        if !WEEKDAYS.contains(&key.as_str()) {
            return Err(format!("\"{day}\" is not a weekday."));
        }
        let Some(list) = ranges.as_array() else {
            return Err(format!("{key}: must be a list of \"HH:MM-HH:MM\" ranges."));
        };
        let mut parsed: Vec<(NaiveTime, NaiveTime, String)> = Vec::with_capacity(list.len());
        for range in list {
            let text = range.as_str().unwrap_or_default().trim();
            let bad = || format!("{key}: \"{text}\" is not a \"HH:MM-HH:MM\" range.");
            let (start, end) = text.split_once('-').ok_or_else(bad)?;
            let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").map_err(|_| bad())?;
            let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").map_err(|_| bad())?;
            if start >= end {
                return Err(format!("{key}: \"{text}\" ends before it starts."));
            }
            parsed.push((start, end, format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"))));
        }
        parsed.sort();
        if parsed.windows(2).any(|pair| pair[1].0 < pair[0].1) {
            return Err(format!("{key}: ranges overlap."));
        }
        if normalized.insert(key.clone(), parsed.into_iter().map(|(_, _, t)| t).collect::<Vec<_>>()).is_some() {
            return Err(format!("{key} is given twice."));
        }
    }
    serde_json::to_value(normalized).map_err(|e| e.to_string())
}

/// Lower-case ASCII letters and digits only (`"Ali Mehmood"` → `"alimehmood"`), accents folded
/// first as Django's `slugify` does (`"Zoë"` → `"zoe"`).
pub fn slug(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    text.nfkd().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The base of a generated doctor username: `doctorname_hospitalname`, the hospital part cut
/// to 20 characters (the original's rule). Collisions append `1`, `2`, … to the whole.
pub fn doctor_username_base(first_name: &str, last_name: &str, hospital_name: &str) -> String {
    let doctor = slug(&format!("{first_name}{last_name}"));
    let doctor = if doctor.is_empty() { "doctor".to_owned() } else { doctor };
    let hospital: String = slug(hospital_name).chars().take(20).collect();
    let hospital = if hospital.is_empty() { "hospital".to_owned() } else { hospital };
    format!("{doctor}_{hospital}")
}

/// Who may see or change what in this context: every handler asks here.
pub mod policy {
    use super::{Principal, UserType};

    /// The hospital whose data the caller owns, if the caller is a hospital account.
    pub fn own_hospital(principal: &Principal) -> Option<i64> {
        (principal.user_type == UserType::Hospital)
            .then_some(principal.hospital_id)
            .flatten()
            .map(crate::ids::HospitalId::get)
    }

    /// Sees unapproved hospitals and every approval state.
    pub fn sees_all_hospitals(principal: Option<&Principal>) -> bool {
        principal.is_some_and(Principal::is_admin)
    }

    /// Sees the directory exactly as an anonymous visitor does (approved hospitals, no account
    /// fields): neither an admin nor a hospital account, which sees its own account's fields.
    pub fn sees_public_directory(principal: Option<&Principal>) -> bool {
        !sees_all_hospitals(principal) && principal.and_then(own_hospital).is_none()
    }

    /// May change hospital `hospital_id`'s own record (not its approval).
    pub fn may_edit_hospital(principal: &Principal, hospital_id: i64) -> bool {
        principal.is_admin() || own_hospital(principal) == Some(hospital_id)
    }

    /// Sees hospital `hospital_id`: an approved one anyone; any other its owner and admins.
    pub fn may_see_hospital(principal: Option<&Principal>, hospital_id: i64, approved: bool) -> bool {
        approved || principal.is_some_and(|p| may_edit_hospital(p, hospital_id))
    }

    pub fn may_approve(principal: &Principal) -> bool {
        principal.is_admin()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn usernames_follow_the_original_rule() {
        assert_eq!(doctor_username_base("Ali", "Mehmood", "Jinnah Hospital"), "alimehmood_jinnahhospital");
        assert_eq!(
            doctor_username_base("Zoë", "O'Brien", "Shaukat Khanum Memorial Cancer Hospital"),
            "zoeobrien_shaukatkhanummemoria"
        );
        assert_eq!(doctor_username_base("", "", "!!"), "doctor_hospital");
    }

    #[test]
    fn coordinates_are_checked_and_rounded() {
        assert_eq!(
            parse_coordinate(&json!("24.8607003"), 90).expect("ok").map(|d| d.to_string()),
            Some("24.860700".into())
        );
        assert_eq!(parse_coordinate(&json!(67.0011), 180).expect("ok").map(|d| d.to_string()), Some("67.0011".into()));
        assert!(parse_coordinate(&json!("91"), 90).is_err());
        assert!(parse_coordinate(&json!("abc"), 90).is_err());
        assert_eq!(parse_coordinate(&json!(null), 90).expect("ok"), None);
    }

    #[test]
    fn timings_are_validated_and_normalized() {
        let ok = parse_timings(&json!({"Monday": ["14:00-17:00", "09:00-13:00"], "friday": []})).expect("valid");
        assert_eq!(ok, json!({"friday": [], "monday": ["09:00-13:00", "14:00-17:00"]}));
        assert!(parse_timings(&json!({"funday": []})).is_err());
        assert!(parse_timings(&json!({"monday": ["9-5"]})).is_err());
        assert!(parse_timings(&json!({"monday": ["17:00-09:00"]})).is_err());
        assert!(parse_timings(&json!({"monday": ["09:00-12:00", "11:00-13:00"]})).is_err());
        assert!(parse_timings(&json!(["monday"])).is_err());
    }
}
