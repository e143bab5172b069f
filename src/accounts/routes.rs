//! `/api/accounts/...`: the caller's own account, password change, the user list and the admin
//! dashboard (patient registration is `registration`).

use actix_web::{FromRequest as _, HttpRequest, http::header, web};
use serde_json::json;

use super::{
    dto::{ChangePasswordRequest, MessageResponse, UserListQuery, UserUpdateRequest, bounded, required},
    model::{
        DashboardStats, Password, PendingPrincipal, PhoneNumber, Principal, User, UserId, UserType, Username, policy,
        validate_email,
    },
    repo,
    throttle::Client,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    errors::Duplicate,
    http::{
        error::{ApiError, ErrorBody, FieldErrors, from_database},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    state::AppState,
};

fn configure_account(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/accounts/me/").get(me).put(replace_me).patch(patch_me))
        .service(resource("/api/accounts/change-password/").post(change_password))
        .service(resource("/api/accounts/users/").get(list_users))
        .service(resource("/api/accounts/dashboard-stats/").get(dashboard_stats));
}

async fn load_user(state: &AppState, principal: &Principal) -> Result<User, ApiError> {
    repo::get_user(&state.db, principal.user_id).await?.ok_or(ApiError::InvalidToken)
}

/// The current user. Also answers a user who must still change a generated password.
#[utoipa::path(get, path = "/api/accounts/me/", tag = "accounts", security(("jwtAuth" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, caller: PendingPrincipal) -> Result<web::Json<User>, ApiError> {
    let user = state.sessions.profile(&state.db, caller.principal.user_id).await?;
    Ok(web::Json(user.ok_or(ApiError::InvalidToken)?))
}

/// Replace the current user's profile (`username` required).
#[utoipa::path(put, path = "/api/accounts/me/", tag = "accounts", security(("jwtAuth" = [])),
    request_body = UserUpdateRequest,
    responses((status = 200, body = User), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn replace_me(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<UserUpdateRequest>,
) -> Result<web::Json<User>, ApiError> {
    update_me(&state, &caller, &meta, body, true).await.map(web::Json)
}

/// Change some fields of the current user's profile.
#[utoipa::path(patch, path = "/api/accounts/me/", tag = "accounts", security(("jwtAuth" = [])),
    request_body = UserUpdateRequest,
    responses((status = 200, body = User), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn patch_me(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<UserUpdateRequest>,
) -> Result<web::Json<User>, ApiError> {
    update_me(&state, &caller, &meta, body, false).await.map(web::Json)
}

async fn update_me(
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

/// Change a password. Signed in: the caller's own (also a generated password past its
/// window); every other login of the user is revoked, the one making the change stays.
/// Without an `Authorization` header, `username` names an account whose password was generated
/// for it (a doctor's, which login refuses with `password_expired` once its window has passed;
/// without `username` the request is a 401): the old password is the credential, throttled
/// like a login, and every login of the account ends.
#[utoipa::path(post, path = "/api/accounts/change-password/", tag = "accounts", security((), ("jwtAuth" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 200, body = MessageResponse), (status = 400),
              (status = 401, body = ErrorBody, description = "Bad token, or (without one) wrong username or password"),
              (status = 403, body = ErrorBody, description = "Without a login: the password was not generated"),
              (status = 429, body = ErrorBody)))]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    Body(body): Body<ChangePasswordRequest>,
) -> Result<web::Json<MessageResponse>, ApiError> {
    // A bad token is a 401 as everywhere; only a request without credentials may name its
    // account, and one that names none is refused as unauthenticated.
    let caller = if req.headers().contains_key(header::AUTHORIZATION) {
        Some(PendingPrincipal::extract(&req).await?.principal)
    } else if body.username.is_some() {
        None
    } else {
        return Err(ApiError::NotAuthenticated);
    };
    let mut errors = FieldErrors::new();
    let username = caller.is_none().then(|| required(&mut errors, "username", body.username));
    let old = required(&mut errors, "old_password", body.old_password);
    let new = required(&mut errors, "new_password", body.new_password);
    let confirm = required(&mut errors, "new_password_confirm", body.new_password_confirm);
    errors.into_result()?;

    let ip = meta.ip.clone().unwrap_or_default();
    let user = match (&caller, &username) {
        (Some(caller), _) => signed_in_account(&state, caller, &old).await?,
        (None, username) => named_account(&state, username.as_deref().unwrap_or_default(), &old, &ip).await?,
    };

    let mut errors = FieldErrors::new();
    if new != confirm {
        errors.add("new_password_confirm", "The two password fields didn't match.");
    }
    if new == old {
        errors.add("new_password", "The new password must differ from the current one.");
    }
    let inputs = [user.username.as_str(), user.email.as_str(), user.first_name.as_str(), user.last_name.as_str()];
    let password = Password::parse(&new, &inputs)
        .map_err(|problems| problems.into_iter().for_each(|p| errors.add("new_password", p)))
        .ok();
    errors.into_result()?;
    let Some(password) = password else {
        return Err(ApiError::Internal(anyhow::anyhow!("password rules passed without a password")));
    };

    let hash = state.hasher.hash(&password).await?;
    let user_id = UserId(user.id);
    let mut tx = state.db.begin().await?;
    repo::set_password(&mut *tx, user_id, &hash).await?;
    let keep = caller.map(|caller| caller.session_id);
    let revoked = repo::revoke_other_families(&mut *tx, user_id, keep, "password_changed").await?;
    let actor = match &caller {
        Some(caller) => AuditEvent::new("password_changed").by(caller),
        None => AuditEvent {
            actor_id: Some(user.id.into()),
            actor_type: Some(user.user_type.as_str()),
            hospital_id: repo::hospital_of_user(&mut *tx, user.id).await?.map(Into::into),
            ..AuditEvent::new("password_changed")
        },
    };
    let event = actor
        .target("user", user.id)
        .details(json!({ "other_logins_revoked": revoked, "signed_in": caller.is_some() }));
    audit::record(&mut tx, &meta, event).await?;
    tx.commit().await?;
    // Logins were revoked or an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(web::Json(MessageResponse { message: "Password changed successfully.".into() }))
}

/// The signed-in caller's account, once `old` is its password (a wrong one is a 400 on
/// `old_password`: the caller is known).
async fn signed_in_account(state: &AppState, caller: &Principal, old: &str) -> Result<User, ApiError> {
    let user = load_user(state, caller).await?;
    // The old password is a credential: guessing it through this endpoint is throttled like a login.
    state
        .login_throttle
        .check(&user.username, Client::SignedIn)
        .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
    let stored = repo::password_hash(&state.db, caller.user_id).await?;
    if !state.hasher.verify(&Password::unchecked(old), stored.as_deref()).await? {
        state
            .login_throttle
            .record_failure(&user.username, Client::SignedIn)
            .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
        return Err(ApiError::Validation(FieldErrors::single("old_password", "Old password is incorrect.")));
    }
    Ok(user)
}

/// The account `username` names, for a change without a login: as a login would, the same 401
/// for an unknown user, a wrong password and an inactive account; and only a generated password
/// (whose owner may be locked out of login by its expiry) may be changed this way.
async fn named_account(state: &AppState, username: &str, old: &str, ip: &str) -> Result<User, ApiError> {
    state
        .login_throttle
        .check(username, Client::Address(ip))
        .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
    let candidate = repo::find_login_candidate(&state.db, username).await?;
    let password_ok =
        state.hasher.verify(&Password::unchecked(old), candidate.as_ref().map(|c| c.password_hash.as_str())).await?;
    let Some(candidate) = candidate.filter(|c| password_ok && c.is_active) else {
        state
            .login_throttle
            .record_failure(username, Client::Address(ip))
            .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
        return Err(ApiError::BadCredentials);
    };
    if !candidate.must_change_password {
        return Err(ApiError::Forbidden(
            "Sign in to change this password: only a generated password can be changed without signing in.",
        ));
    }
    repo::get_user(&state.db, UserId(candidate.id)).await?.ok_or(ApiError::BadCredentials)
}

/// Users: an admin sees every user (optionally of one `user_type`); anyone else gets a list
/// holding only themselves.
#[utoipa::path(get, path = "/api/accounts/users/", tag = "accounts", security(("jwtAuth" = [])),
    params(PageParams, UserListQuery),
    responses((status = 200, body = Page<User>), (status = 400), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "Invalid page")))]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    page: PageRequest,
    query: web::Query<UserListQuery>,
) -> Result<web::Json<Page<User>>, ApiError> {
    if !policy::may_list_all_users(&caller) {
        let me = load_user(&state, &caller).await?;
        let results = if page.page == 1 { vec![me] } else { Vec::new() };
        return Ok(web::Json(page.respond(1, results)?));
    }
    let user_type = match query.user_type.as_deref().filter(|t| !t.is_empty()) {
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
        .by(&caller)
        .details(json!({ "user_type": user_type.map(UserType::as_str), "page": page.page }));
    audit::record_alone(&state.db, &meta, event).await?;
    Ok(web::Json(body))
}

/// Counts for the admin dashboard.
#[utoipa::path(get, path = "/api/accounts/dashboard-stats/", tag = "accounts", security(("jwtAuth" = [])),
    responses((status = 200, body = DashboardStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn dashboard_stats(
    state: web::Data<AppState>,
    caller: Principal,
) -> Result<web::Json<DashboardStats>, ApiError> {
    policy::require(policy::may_view_dashboard(&caller), "Only administrators can view dashboard statistics.")?;
    Ok(web::Json(repo::dashboard_stats(&state.db).await?))
}

/// Every route of the accounts context: login and tokens, the caller's account, registration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    super::auth::configure(cfg);
    configure_account(cfg);
    super::registration::configure(cfg);
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::auth::obtain_pair,
    super::auth::refresh,
    super::auth::blacklist,
    me,
    replace_me,
    patch_me,
    change_password,
    super::registration::register_patient,
    list_users,
    dashboard_stats,
))]
pub struct Api;
