//! `/api/token/...` (the simplejwt paths): login, refresh-token rotation and logout.

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    web,
};
use serde_json::json;

use super::super::{
    device,
    model::{TokenObtainPairRequest, TokenPair, TokenRefreshRequest, required},
    service::login,
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

/// Obtain an access and refresh token pair.
///
/// Wrong password, unknown user and inactive account (a hospital awaiting approval) get the
/// same 401. Failed attempts are throttled per username and per client address (429); a client
/// presenting the device cookie an earlier login of this account set is exempt from the address
/// budget and draws from its own. A generated password past its window is a 401
/// `password_expired`: change it first.
#[utoipa::path(post, path = "/api/token/", tag = "auth",
    request_body = TokenObtainPairRequest,
    responses(
        (status = 200, body = TokenPair, description = "Logged in; sets the `carehub_device` cookie"),
        (status = 400, description = "A field is missing"),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many failed logins"),
    ))]
pub async fn obtain_pair(
    req: HttpRequest,
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<TokenObtainPairRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = required(&mut errors, "username", body.username);
    let password = required(&mut errors, "password", body.password);
    errors.into_result()?;

    let presented = req
        .headers()
        .get(device::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.cookie(device::COOKIE).map(|cookie| cookie.value().to_owned()));
    let logged_in = login::login(&state, &meta, &username, &password, presented).await?;
    let cookie = Cookie::build(device::COOKIE, logged_in.device_token)
        .path(device::COOKIE_PATH)
        .http_only(true)
        .secure(state.settings.is_production())
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(state.settings.auth.device_cookie_days))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(logged_in.pair))
}

fn refresh_field(body: TokenRefreshRequest) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required(&mut errors, "refresh", body.refresh);
    errors.into_result()?;
    Ok(token)
}

/// Rotate a refresh token: the presented token is spent and a new pair is issued. A spent
/// token presented again revokes the whole login (it was stolen or replayed).
#[utoipa::path(post, path = "/api/token/refresh/", tag = "auth",
    request_body = TokenRefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, description = "The field is missing"),
        (status = 401, body = ErrorBody, description = "Invalid, expired, revoked or spent token"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<TokenRefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_field(body)?;
    Ok(HttpResponse::Ok().json(login::refresh(&state, &meta, &token).await?))
}

/// Log out: revoke the login the refresh token belongs to (its access tokens stop working too).
#[utoipa::path(post, path = "/api/token/blacklist/", tag = "auth",
    request_body = TokenRefreshRequest,
    responses(
        (status = 200, description = "Logged out"),
        (status = 400, description = "The field is missing"),
        (status = 401, body = ErrorBody, description = "Invalid or expired token"),
    ))]
pub async fn blacklist(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<TokenRefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_field(body)?;
    login::logout(&state, &meta, &token).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
