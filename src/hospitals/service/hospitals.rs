//! Hospitals as the directory shows them (with the context's visibility rule,
//! `model::policy::may_see_hospital`) and the owner's (or an admin's) changes to one.

use sqlx::PgExecutor;

use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    errors::FieldErrors,
    hospitals::{
        model::{Hospital, HospitalRequest, hide_account, hospital_fields, policy},
        repo,
    },
    http::error::{ApiError, from_database},
    ids::HospitalId,
    state::AppState,
};

/// A hospital the caller may see (approved ones for everyone, any for admins and its owner);
/// `None` when there is none or the caller may not see it.
pub async fn visible_hospital(
    db: impl PgExecutor<'_>,
    caller: Option<&Principal>,
    id: HospitalId,
) -> sqlx::Result<Option<Hospital>> {
    let hospital = repo::get_hospital(db, id).await?;
    Ok(hospital.filter(|h| policy::may_see_hospital(caller, h.id, h.is_approved)))
}

/// A page of the directory, newest first, and the number of hospitals it pages through:
/// approved hospitals for everyone; admins see all and may filter by `approved`. The public
/// directory without a search comes from the cache.
pub async fn list(
    state: &AppState,
    caller: Option<&Principal>,
    approved: Option<bool>,
    search: Option<String>,
    (limit, offset): (i64, i64),
) -> Result<(Vec<Hospital>, i64), ApiError> {
    let all = policy::sees_all_hospitals(caller);
    if search.is_none() && policy::sees_public_directory(caller) {
        let listed = state.directory.page(&state.db, limit, offset).await?;
        let listed = listed.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a directory page read nothing")))?;
        return Ok((listed.rows.clone(), listed.count));
    }
    let mut conn = state.db.acquire().await?;
    let (rows, count) =
        repo::list_hospitals(&mut conn, all, approved.filter(|_| all), search.as_deref(), limit, offset).await?;
    Ok((rows.into_iter().map(|h| hide_account(caller, h)).collect(), count))
}

/// Replaces the hospital's record (`partial`: changes only the fields given).
pub async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: HospitalId,
    body: HospitalRequest,
    partial: bool,
) -> Result<Hospital, ApiError> {
    // Someone else's hospital is not found, whatever the caller's role.
    if !policy::may_edit_hospital(caller, id) {
        return Err(ApiError::NotFound);
    }
    let mut tx = state.db.begin().await?;
    let current = repo::lock_hospital(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let fields = hospital_fields(
        &mut errors,
        body,
        partial.then_some(&current),
        &state.settings.accounts.default_phone_region,
        &state.settings.hospitals.default_time_zone,
        ["name", "email", "phone"],
    );
    errors.into_result()?;
    repo::update_hospital(&mut *tx, id, &fields).await.map_err(from_database)?;
    let event =
        AuditEvent { hospital_id: Some(id), ..AuditEvent::new("hospital_updated").by(caller).target("hospital", id) };
    audit::record(&mut tx, meta, event).await?;
    let hospital = repo::get_hospital(&mut *tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    // The directory shows the record: this process forgets its pages now.
    state.directory.changed();
    Ok(hospital)
}
