//! A hospital's departments: created, changed and deleted by the hospital account only (another
//! hospital's department is not found).

use serde_json::json;

use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    hospitals::{
        model::{Department, DepartmentRequest, policy},
        repo,
    },
    http::error::{ApiError, from_database},
    ids::HospitalId,
    state::AppState,
};

/// The hospital a caller changes departments of: its own; any other role is refused.
fn owner(caller: &Principal) -> Result<HospitalId, ApiError> {
    policy::own_hospital(caller).ok_or(ApiError::Forbidden("Only a hospital account can manage its departments."))
}

/// Creates a department in the caller's hospital.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    body: DepartmentRequest,
) -> Result<Department, ApiError> {
    let hospital_id = owner(caller)?;
    let fields = body.fields(None)?;
    let mut tx = state.db.begin().await?;
    let id = repo::insert_department(&mut *tx, hospital_id, &fields.name, &fields.description)
        .await
        .map_err(from_database)?;
    let event = AuditEvent::new("department_created")
        .by(caller)
        .target("department", id)
        .details(json!({ "name": fields.name }));
    audit::record(&mut tx, meta, event).await?;
    let department = repo::get_department(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(department)
}

/// Replaces a department of the caller's hospital (`partial`: changes only the fields given).
pub async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: DepartmentRequest,
    partial: bool,
) -> Result<Department, ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    let current = repo::lock_department(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let fields = body.fields(partial.then_some(&current))?;
    repo::update_department(&mut *tx, hospital_id, id, &fields).await.map_err(from_database)?;
    audit::record(&mut tx, meta, AuditEvent::new("department_updated").by(caller).target("department", id)).await?;
    let department = repo::get_department(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(department)
}

/// Deletes a department of the caller's hospital. One that appointments refer to cannot be
/// deleted (409 `department_in_use`): deactivate it instead.
pub async fn delete(state: &AppState, caller: &Principal, meta: &RequestMeta, id: i64) -> Result<(), ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    // Appointments referring to it make this a 409 `department_in_use`.
    let deleted = repo::delete_department(&mut *tx, hospital_id, id).await.map_err(from_database)?;
    if !deleted {
        return Err(ApiError::NotFound);
    }
    audit::record(&mut tx, meta, AuditEvent::new("department_deleted").by(caller).target("department", id)).await?;
    tx.commit().await?;
    Ok(())
}
