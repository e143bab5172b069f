//! Login, refresh-token rotation and logout (`/api/token/...`, the simplejwt paths).

use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use serde_json::json;

use super::{
    dto::{TokenObtainPairRequest, TokenPair, TokenRefreshRequest, required},
    model::{Password, Principal, UserId, UserType, generated_password_expired},
    repo,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        extract::Body,
        resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/token/").route(web::post().to(obtain_pair)))
        .service(resource("/api/token/refresh/").route(web::post().to(refresh)))
        .service(resource("/api/token/blacklist/").route(web::post().to(blacklist)));
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
        UserType::Hospital | UserType::Doctor => crate::hospitals::repo::hospital_of_user(conn, user_id).await?,
        UserType::Admin | UserType::Patient => None,
    };
    Ok(Principal { user_id: UserId(user_id), user_type, hospital_id, session_id })
}

/// Obtain an access and refresh token pair.
///
/// Wrong password, unknown user and inactive account (a hospital awaiting approval) get the
/// same 401. Failed attempts are throttled per username and per client address (429). A
/// generated password past its window is a 401 `password_expired`: change it first.
#[utoipa::path(post, path = "/api/token/", tag = "auth",
    request_body = TokenObtainPairRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, description = "A field is missing"),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many failed logins"),
    ))]
pub async fn obtain_pair(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<TokenObtainPairRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = required(&mut errors, "username", body.username);
    let password = required(&mut errors, "password", body.password);
    errors.into_result()?;

    let ip = meta.ip.clone().unwrap_or_default();
    state.login_throttle.check(&username, &ip).map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;

    let candidate = repo::find_login_candidate(&state.db, &username).await?;
    let password_ok = state
        .hasher
        .verify(&Password::unchecked(&password), candidate.as_ref().map(|c| c.password_hash.as_str()))
        .await?;

    let user = match candidate {
        Some(user) if password_ok && user.is_active => user,
        candidate => {
            let reason = match &candidate {
                None => "unknown_user",
                Some(_) if !password_ok => "wrong_password",
                Some(_) => "inactive_account",
            };
            // Capped: a password typed into the username field must not sit in the trail in full.
            let typed: String = username.chars().take(150).collect();
            let mut event = AuditEvent::new("login_failed").details(json!({ "username": typed, "reason": reason }));
            if let Some(user) = &candidate {
                event = event.target("user", user.id);
            }
            audit::record_alone(&state.db, &meta, event).await?;
            tracing::info!(reason, "login failed");
            state
                .login_throttle
                .record_failure(&username, &ip)
                .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
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
    let mut tx = state.db.begin().await?;
    let (session_id, refresh) =
        repo::start_session(&mut tx, UserId(user.id), ttl, meta.ip.as_deref(), meta.user_agent.as_deref()).await?;
    let principal = principal_for(&mut tx, user.id, &user.user_type, session_id).await?;
    audit::record(&mut tx, &meta, AuditEvent::new("login_succeeded").by(&principal).target("user", user.id)).await?;
    tx.commit().await?;
    tracing::info!(user.id = user.id, "login succeeded");

    let access = state.tokens.issue_access(&principal)?;
    Ok(HttpResponse::Ok().json(TokenPair { access, refresh }))
}

fn refresh_field(body: TokenRefreshRequest) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required(&mut errors, "refresh", body.refresh);
    errors.into_result().map(|()| token)
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
        tracing::warn!(user.id = presented.user_id, "spent refresh token presented again; login revoked");
        return Err(ApiError::InvalidToken);
    }
    let refresh = repo::rotate_refresh_token(&mut tx, &token, presented.family_id, presented.family_expires_at).await?;
    tx.commit().await?;

    let access = state.tokens.issue_access(&principal)?;
    Ok(HttpResponse::Ok().json(TokenPair { access, refresh }))
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
    Ok(HttpResponse::Ok().json(json!({})))
}
