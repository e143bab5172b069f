//! The caller's own account (reading and changing its profile) and the admin's views: the user
//! list and the dashboard counts.

use serde_json::json;

use super::super::{
    model::{
        DashboardStats, PhoneNumber, Principal, User, UserType, UserUpdateRequest, Username, bounded, policy,
        validate_email,
    },
    repo,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    errors::{Duplicate, FieldErrors},
    http::{
        error::{ApiError, from_database},
        pagination::{Page, PageRequest},
    },
    state::AppState,
};

/// The caller's account; a 401 when it is gone.
pub async fn load_user(state: &AppState, principal: &Principal) -> Result<User, ApiError> {
    repo::get_user(&state.db, principal.user_id).await?.ok_or(ApiError::InvalidToken)
}

/// Changes the caller's profile: every field sent (with `replace`, `username` is required).
pub async fn update_me(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    body: UserUpdateRequest,
    replace: bool,
) -> Result<User, ApiError> {
    let current = load_user(state, caller).await?;
    let mut errors = FieldErrors::new();

    let username = match body.username {
        None if replace => {
            errors.add("username", "This field is required.");
            None
        }
        None => None,
        Some(raw) => Username::parse(&raw).map_err(|m| errors.add("username", m)).ok(),
    };
    if let Some(name) = &username
        && repo::username_taken(&state.db, name.as_str(), Some(caller.user_id)).await?
    {
        errors.add("username", Duplicate::Username.message());
    }
    let email = body.email.and_then(|raw| validate_email(&raw).map_err(|m| errors.add("email", m)).ok());
    let first_name = bounded(&mut errors, "first_name", body.first_name, 150);
    let last_name = bounded(&mut errors, "last_name", body.last_name, 150);
    let phone = match body.phone_number {
        None => None,
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => PhoneNumber::parse(&raw, &state.settings.accounts.default_phone_region)
            .map(|p| Some(p.into_inner()))
            .map_err(|m| errors.add("phone_number", m))
            .ok(),
    };
    if body.is_active.is_some_and(|active| active != current.is_active) {
        errors.add("is_active", "You cannot change the active status of your own account.");
    }
    errors.into_result()?;

    let change = repo::ProfileChange {
        username: username.map_or(current.username.clone(), |u| u.as_str().to_owned()),
        email: email.unwrap_or(current.email.clone()),
        first_name: first_name.unwrap_or(current.first_name.clone()),
        last_name: last_name.unwrap_or(current.last_name.clone()),
        phone_number: phone.unwrap_or_else(|| Some(current.phone_number.0.clone()).filter(|p| !p.is_empty())),
    };
    let changed: Vec<&str> = [
        ("username", change.username != current.username),
        ("email", change.email != current.email),
        ("first_name", change.first_name != current.first_name),
        ("last_name", change.last_name != current.last_name),
        ("phone_number", change.phone_number.as_deref().unwrap_or("") != current.phone_number.0),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();

    let mut tx = state.db.begin().await?;
    let updated = repo::update_profile(&mut *tx, caller.user_id, &change).await.map_err(from_database)?;
    if !changed.is_empty() {
        let event = AuditEvent::new("profile_updated")
            .by(caller)
            .target("user", caller.user_id)
            .details(json!({ "fields": changed }));
        audit::record(&mut tx, meta, event).await?;
    }
    tx.commit().await?;
    // The caller's next `me` shows the change, whatever the notification's timing.
    state.sessions.changed();
    Ok(updated)
}

/// A page of users: an admin's of every user (or of the role `user_type` names), audited; anyone
/// else's holds only themselves.
pub async fn list_users(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    page: &PageRequest,
    user_type: Option<&str>,
) -> Result<Page<User>, ApiError> {
    if !policy::may_list_all_users(caller) {
        let me = load_user(state, caller).await?;
        let results = if page.page == 1 { vec![me] } else { Vec::new() };
        return page.respond(1, results);
    }
    let user_type = match user_type.filter(|t| !t.is_empty()) {
        None => None,
        Some(raw) => Some(UserType::parse(raw).ok_or_else(|| {
            ApiError::Validation(FieldErrors::single(
                "user_type",
                "Select a valid choice: ADMIN, HOSPITAL, DOCTOR or PATIENT.",
            ))
        })?),
    };
    let mut conn = state.db.acquire().await?;
    let (users, count) = repo::list_users(&mut conn, user_type, page.limit(), page.offset()).await?;
    let body = page.respond(count, users)?;
    let event = AuditEvent::new("users_listed")
        .by(caller)
        .details(json!({ "user_type": user_type.map(UserType::as_str), "page": page.page }));
    audit::record_alone(&state.db, meta, event).await?;
    Ok(body)
}

/// The admin dashboard's counts.
pub async fn dashboard_stats(state: &AppState, caller: &Principal) -> Result<DashboardStats, ApiError> {
    policy::require(policy::may_view_dashboard(caller), "Only administrators can view dashboard statistics.")?;
    Ok(repo::dashboard_stats(&state.db).await?)
}
