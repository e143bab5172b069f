//! A hospital's doctors: the profile fields checked (a department must be the hospital's own)
//! and the hospital's changes to a doctor, whose login follows the profile's `is_active`.

use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::{
    accounts::model::{PhoneNumber, Principal, bounded, required},
    audit::{self, AuditEvent, RequestMeta},
    errors::FieldErrors,
    hospitals::{
        model::{Doctor, DoctorFields, DoctorRequest, parse_timings, policy},
        repo,
    },
    http::error::ApiError,
    ids::{DoctorId, HospitalId},
    state::AppState,
};

/// The hospital a caller manages doctors of: its own; any other role is refused.
pub fn owner(caller: &Principal) -> Result<HospitalId, ApiError> {
    policy::own_hospital(caller).ok_or(ApiError::Forbidden("Only a hospital account can manage its doctors."))
}

/// Checks the profile fields into `errors`; `current` fills what a partial update leaves out.
pub async fn profile_fields(
    region: &str,
    conn: &mut PgConnection,
    errors: &mut FieldErrors,
    hospital_id: HospitalId,
    body: &DoctorRequest,
    current: Option<&Doctor>,
) -> sqlx::Result<DoctorFields> {
    let keep = |value: &Option<String>, old: Option<&String>| value.clone().or_else(|| old.cloned());
    let license_number = match keep(&body.license_number, current.map(|c| &c.license_number)) {
        Some(v) if !v.trim().is_empty() => bounded(errors, "license_number", Some(v), 100).unwrap_or_default(),
        other => required(errors, "license_number", other),
    };
    let specialization = match keep(&body.specialization, current.map(|c| &c.specialization)) {
        Some(v) if !v.trim().is_empty() => bounded(errors, "specialization", Some(v), 255).unwrap_or_default(),
        other => required(errors, "specialization", other),
    };
    let phone_number = match keep(&body.phone_number, current.map(|c| &c.phone_number)) {
        Some(raw) if !raw.trim().is_empty() => PhoneNumber::parse(&raw, region)
            .map(PhoneNumber::into_inner)
            .map_err(|m| errors.add("phone_number", m))
            .unwrap_or_default(),
        other => required(errors, "phone_number", other),
    };
    let cnic = bounded(errors, "cnic", keep(&body.cnic, current.map(|c| &c.cnic)), 20).unwrap_or_default();
    let address =
        bounded(errors, "address", keep(&body.address, current.map(|c| &c.address)), 2000).unwrap_or_default();
    let available_timings = match &body.available_timings {
        None => current.map_or_else(|| json!({}), |c| c.available_timings.clone()),
        Some(Value::Null) => json!({}),
        Some(raw) => parse_timings(raw).map_err(|m| errors.add("available_timings", m)).unwrap_or_default(),
    };
    let department_id = match &body.department {
        None => current.and_then(|c| c.department),
        Some(Value::Null) => None,
        Some(raw) => match raw.as_i64() {
            // Another hospital's department does not exist, as far as this hospital can tell.
            Some(id) if repo::get_department(&mut *conn, hospital_id, id).await?.is_some() => Some(id),
            _ => {
                errors.add("department", "No such department in this hospital.");
                None
            }
        },
    };
    let is_active = body.is_active.or(current.map(|c| c.is_active)).unwrap_or(true);
    Ok(DoctorFields {
        department_id,
        cnic,
        address,
        license_number,
        specialization,
        phone_number,
        available_timings,
        is_active,
    })
}

/// Replaces a doctor's profile (`partial`: changes only the fields given). A deactivated doctor
/// is signed out and cannot sign in; reactivation lets them back.
pub async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: DoctorId,
    body: DoctorRequest,
    partial: bool,
) -> Result<Doctor, ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    let current = repo::lock_doctor(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let region = &state.settings.accounts.default_phone_region;
    let fields = profile_fields(region, &mut tx, &mut errors, hospital_id, &body, partial.then_some(&current)).await?;
    errors.into_result()?;
    repo::update_doctor_profile(&mut *tx, hospital_id, id, &fields).await?;
    if fields.is_active != current.is_active {
        // A deactivated doctor is signed out and cannot sign in; reactivation lets them back.
        repo::set_doctor_login(&mut tx, current.user, fields.is_active).await?;
    }
    let event = AuditEvent::new("doctor_updated")
        .by(caller)
        .target("doctor", id)
        .details(json!({ "is_active": fields.is_active }));
    audit::record(&mut tx, meta, event).await?;
    let doctor = repo::get_doctor(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    // Logins were revoked or an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(doctor)
}
