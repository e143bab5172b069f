//! Login, refresh-token rotation and logout (`/api/token/...`, the simplejwt paths).

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    web,
};
use chrono::{Duration, Utc};
use serde_json::json;

use super::{
    device::{self, TrustedDevice},
    dto::{TokenObtainPairRequest, TokenPair, TokenRefreshRequest, required},
    model::{Password, Principal, UserId, UserType, generated_password_expired},
    repo,
    throttle::Client,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        extract::Body,
        routing::resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/token/").post(obtain_pair))
        .service(resource("/api/token/refresh/").post(refresh))
        .service(resource("/api/token/blacklist/").post(blacklist));
}

/// The principal a login opens: hospital and doctor accounts carry their hospital's id.
async fn principal_for(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    user_type: &str,
    session_id: uuid::Uuid,
) -> Result<Principal, ApiError> {
    let user_type = UserType::parse(user_type)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown user_type in the database")))?;
    let hospital_id = match user_type {
        UserType::Hospital | UserType::Doctor => repo::hospital_of_user(conn, user_id).await?,
        UserType::Admin | UserType::Patient => None,
    };
    Ok(Principal { user_id: UserId(user_id), user_type, hospital_id, session_id })
}

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

    let ip = meta.ip.clone().unwrap_or_default();
    let presented = req
        .headers()
        .get(device::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.cookie(device::COOKIE).map(|cookie| cookie.value().to_owned()));
    let device: Option<TrustedDevice> = presented.and_then(|token| state.device_cookies.verify(&token, &username));
    let client = device.as_ref().map_or(Client::Address(&ip), Client::Device);
    let throttled = |retry_after_secs| ApiError::Throttled { retry_after_secs };
    state.login_throttle.check(&username, client).map_err(throttled)?;

    let candidate = repo::find_login_candidate(&state.db, &username).await?;
    let password_ok = state
        .hasher
        .verify(&Password::unchecked(&password), candidate.as_ref().map(|c| c.password_hash.as_str()))
        .await?;

    let user = match candidate {
        Some(user) if password_ok && user.is_active => user,
        candidate => {
            let mut event = AuditEvent::new("login_failed");
            let details = match &candidate {
                // The account's own name, never what was typed: people type passwords into the
                // username field, and this trail is append-only.
                Some(user) => {
                    event = event.target("user", user.id);
                    let reason = if password_ok { "inactive_account" } else { "wrong_password" };
                    json!({ "username": user.username, "reason": reason })
                }
                // No account: a keyed hash, so that repeated attempts still correlate.
                None => json!({ "username_hmac": state.pseudonyms.username(&username), "reason": "unknown_user" }),
            };
            audit::record_alone(&state.db, &meta, event.details(details)).await?;
            tracing::info!(trusted_device = device.is_some(), "login failed");
            state.login_throttle.record_failure(&username, client).map_err(throttled)?;
            return Err(ApiError::BadCredentials);
        }
    };

    // A generated password past its window opens nothing but a password change (ASVS 2.3.1).
    let window = state.settings.auth.generated_password_hours;
    if generated_password_expired(user.must_change_password, user.password_changed_at, window, Utc::now()) {
        let event =
            AuditEvent::new("login_refused").target("user", user.id).details(json!({ "reason": "password_expired" }));
        audit::record_alone(&state.db, &meta, event).await?;
        return Err(ApiError::PasswordExpired);
    }

    let ttl = Duration::days(state.settings.auth.refresh_ttl_days);
    let user_type = UserType::parse(&user.user_type)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown user_type in the database")))?;
    // One statement: the login, its first refresh token, `last_login` and the audit row.
    let opened = repo::open_login(&mut *state.db.acquire().await?, UserId(user.id), user_type, ttl, &meta).await?;
    let principal = Principal {
        user_id: UserId(user.id),
        user_type,
        hospital_id: opened.hospital_id,
        session_id: opened.session_id,
    };
    let refresh = opened.refresh;
    tracing::info!(user.id = user.id, "login succeeded");

    let access = state.tokens.issue_access(&principal)?;
    let device_token = state.device_cookies.issue(&user.username);
    let cookie = Cookie::build(device::COOKIE, device_token.clone())
        .path(device::COOKIE_PATH)
        .http_only(true)
        .secure(state.settings.is_production())
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(state.settings.auth.device_cookie_days))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(TokenPair { access, refresh, device_token: Some(device_token) }))
}

fn refresh_field(body: TokenRefreshRequest) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required(&mut errors, "refresh", body.refresh);
    errors.into_result()?;
    Ok(token)
}

/// Locks the presented refresh token's row for this transaction; 401 unless its login is live
/// (not revoked, not expired, its user active). A *spent* token is returned: the caller decides.
async fn lock_live(conn: &mut sqlx::PgConnection, token: &str) -> Result<repo::PresentedRefresh, ApiError> {
    let presented = repo::lock_refresh_token(conn, token).await?.ok_or(ApiError::InvalidToken)?;
    if presented.family_revoked || presented.expired || !presented.user_active {
        return Err(ApiError::InvalidToken);
    }
    Ok(presented)
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
    let mut tx = state.db.begin().await?;
    let presented = lock_live(&mut tx, &token).await?;
    let principal = principal_for(&mut tx, presented.user_id, &presented.user_type, presented.family_id).await?;
    if presented.spent {
        repo::revoke_family(&mut *tx, presented.family_id, "refresh_token_reuse").await?;
        audit::record(
            &mut tx,
            &meta,
            AuditEvent::new("refresh_token_reused")
                .target("user", presented.user_id)
                .details(json!({ "session_id": presented.family_id })),
        )
        .await?;
        tx.commit().await?;
        // Logins were revoked or an account changed: this process forgets what it cached now.
        state.sessions.changed();
        tracing::warn!(user.id = presented.user_id, "spent refresh token presented again; login revoked");
        return Err(ApiError::InvalidToken);
    }
    let refresh = repo::rotate_refresh_token(&mut tx, &token, presented.family_id, presented.family_expires_at).await?;
    tx.commit().await?;

    let access = state.tokens.issue_access(&principal)?;
    Ok(HttpResponse::Ok().json(TokenPair { access, refresh, device_token: None }))
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
    let mut tx = state.db.begin().await?;
    let presented = lock_live(&mut tx, &token).await?;
    let principal = principal_for(&mut tx, presented.user_id, &presented.user_type, presented.family_id).await?;
    repo::revoke_family(&mut *tx, presented.family_id, "logout").await?;
    audit::record(
        &mut tx,
        &meta,
        AuditEvent::new("logout")
            .by(&principal)
            .target("user", presented.user_id)
            .details(json!({ "session_id": presented.family_id })),
    )
    .await?;
    tx.commit().await?;
    // Logins were revoked or an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(HttpResponse::Ok().json(json!({})))
}
