//! A hospital as the API shows it, its own fields as stored, the directory's list query and who
//! sees the hospital account's login name and e-mail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Decimal;
use utoipa::{IntoParams, ToSchema};

use super::policy;
use crate::{
    accounts::model::Principal,
    errors::FieldErrors,
    ids::{HospitalId, UserId},
};

/// A hospital as the API shows it (the reference's `Hospital`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Hospital {
    #[schema(value_type = i64)]
    pub id: HospitalId,
    #[schema(value_type = i64)]
    pub user: UserId,
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
    #[schema(value_type = Option<i64>)]
    pub approved_by: Option<UserId>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The hospital's login name and e-mail are for its owner and admins only.
pub fn hide_account(caller: Option<&Principal>, mut hospital: Hospital) -> Hospital {
    if !caller.is_some_and(|p| policy::may_edit_hospital(p, hospital.id)) {
        hospital.user_username.clear();
        hospital.user_email.clear();
    }
    hospital
}

/// A hospital's own fields, as written.
#[derive(Debug, Clone)]
pub struct HospitalFields {
    pub name: String,
    pub license_number: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub location: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
    /// IANA zone; only used on insert (registration takes the configured default).
    pub time_zone: String,
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HospitalListQuery {
    /// Admins only: `true` or `false` (`1`/`0`, any case; empty: both).
    #[param(pattern = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?$")]
    pub is_approved: Option<String>,
    /// Part of the name, location or address.
    pub search: Option<String>,
}

impl HospitalListQuery {
    /// The approval state asked for (`None`: both).
    pub fn approved(&self) -> Result<Option<bool>, FieldErrors> {
        match self.is_approved.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(FieldErrors::single("is_approved", "Must be true or false.")),
        }
    }

    /// The search text, trimmed and cut to 100 characters (`None`: no search).
    pub fn search(&self) -> Option<String> {
        self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(100).collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse_coordinate;

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
}
