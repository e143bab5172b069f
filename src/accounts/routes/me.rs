//! `/api/accounts/me/` and `/api/accounts/change-password/`: the caller's own account.

use actix_web::{FromRequest as _, HttpRequest, http::header, web};

use super::super::{
    model::{ChangePasswordRequest, MessageResponse, PendingPrincipal, Principal, User, UserUpdateRequest, required},
    service::{password, profile},
};
use crate::{
    audit::RequestMeta,
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
    },
    state::AppState,
};

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
    profile::update_me(&state, &caller, &meta, body, true).await.map(web::Json)
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
    profile::update_me(&state, &caller, &meta, body, false).await.map(web::Json)
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

    password::change(&state, &meta, password::Change { caller, username, old, new, confirm }).await?;
    Ok(web::Json(MessageResponse { message: "Password changed successfully.".into() }))
}
