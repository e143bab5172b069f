//! A department, the request that makes or changes one, and its checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{accounts::model::required, errors::FieldErrors, ids::HospitalId};

/// A department (the reference's `Department`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Department {
    pub id: i64,
    #[schema(value_type = i64)]
    pub hospital: HospitalId,
    pub hospital_name: String,
    pub name: String,
    pub description: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DepartmentRequest {
    /// Ignored: a department always belongs to the caller's hospital.
    #[schema(value_type = Option<i64>)]
    pub hospital: Option<HospitalId>,
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
}

/// A department's fields, checked.
#[derive(Debug, Clone)]
pub struct DepartmentFields {
    pub name: String,
    pub description: String,
    pub is_active: bool,
}

impl DepartmentRequest {
    /// Checks the body; `current` fills what a partial update leaves out.
    pub fn fields(self, current: Option<&Department>) -> Result<DepartmentFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = match (self.name, current) {
            (None, Some(current)) => current.name.clone(),
            (name, _) => required(&mut errors, "name", name).trim().to_owned(),
        };
        if name.chars().count() > 255 {
            errors.add("name", "Ensure this field has no more than 255 characters.");
        }
        let description =
            self.description.map(|d| d.trim().to_owned()).or_else(|| current.map(|c| c.description.clone()));
        if description.as_ref().is_some_and(|d| d.chars().count() > 5000) {
            errors.add("description", "Ensure this field has no more than 5000 characters.");
        }
        let is_active = self.is_active.or(current.map(|c| c.is_active)).unwrap_or(true);
        errors.into_result()?;
        Ok(DepartmentFields { name, description: description.unwrap_or_default(), is_active })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartmentListQuery {
    /// Departments of this hospital only (callers other than hospitals).
    #[param(value_type = Option<i64>)]
    pub hospital_id: Option<HospitalId>,
}
