//! Login, refresh-token rotation and logout: the rules and transactions behind `/api/token/...`
//! (the handlers are `routes::tokens`).

use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::super::{
    device::TrustedDevice,
    model::{Password, Principal, TokenPair, UserType, generated_password_expired},
    repo,
    throttle::Client,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    http::error::ApiError,
    ids::UserId,
    state::AppState,
};

/// The principal a login opens: hospital and doctor accounts carry their hospital's id.
async fn principal_for(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
    user_type: UserType,
    session_id: Uuid,
) -> Result<Principal, ApiError> {
    let hospital_id = match user_type {
        UserType::Hospital | UserType::Doctor => repo::hospital_of_user(conn, user_id).await?,
        UserType::Admin | UserType::Patient => None,
    };
    Ok(Principal { user_id, user_type, hospital_id, session_id })
}

/// A login's answer: the token pair, and the device token again for the cookie.
pub struct LoggedIn {
    pub pair: TokenPair,
    pub device_token: String,
}

/// Logs `username` in with `password`. `presented` is the device token the client sent (header
/// or cookie), if any.
///
/// Wrong password, unknown user and inactive account (a hospital awaiting approval) get the
/// same 401, after the same work (an unknown user is verified against a dummy hash). Failed
/// attempts are throttled per username and per client address (429); a client presenting the
/// device token an earlier login of this account was given is exempt from the address budget and
/// draws from its own. A generated password past its window is a 401 `password_expired`.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    username: &str,
    password: &str,
    presented: Option<String>,
) -> Result<LoggedIn, ApiError> {
    let ip = meta.ip.clone().unwrap_or_default();
    let device: Option<TrustedDevice> = presented.and_then(|token| state.device_cookies.verify(&token, username));
    let client = device.as_ref().map_or(Client::Address(&ip), Client::Device);
    let throttled = |retry_after_secs| ApiError::Throttled { retry_after_secs };
    state.login_throttle.check(username, client).map_err(throttled)?;

    let candidate = repo::find_login_candidate(&state.db, username).await?;
    let password_ok = state
        .hasher
        .verify(&Password::unchecked(password), candidate.as_ref().map(|c| c.password_hash.as_str()))
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
                None => json!({ "username_hmac": state.pseudonyms.username(username), "reason": "unknown_user" }),
            };
            audit::record_alone(&state.db, meta, event.details(details)).await?;
            tracing::info!(trusted_device = device.is_some(), "login failed");
            state.login_throttle.record_failure(username, client).map_err(throttled)?;
            return Err(ApiError::BadCredentials);
        }
    };

    // A generated password past its window opens nothing but a password change (ASVS 2.3.1).
    let window = state.settings.auth.generated_password_hours;
    if generated_password_expired(user.must_change_password, user.password_changed_at, window, Utc::now()) {
        let event =
            AuditEvent::new("login_refused").target("user", user.id).details(json!({ "reason": "password_expired" }));
        audit::record_alone(&state.db, meta, event).await?;
        return Err(ApiError::PasswordExpired);
    }

    let ttl = Duration::days(state.settings.auth.refresh_ttl_days);
    // One statement: the login, its first refresh token, `last_login` and the audit row.
    let opened = repo::open_login(&mut *state.db.acquire().await?, user.id, user.user_type, ttl, meta).await?;
    let principal = Principal {
        user_id: user.id,
        user_type: user.user_type,
        hospital_id: opened.hospital_id,
        session_id: opened.session_id,
    };
    tracing::info!(user.id = user.id.get(), "login succeeded");

    let access = state.tokens.issue_access(&principal)?;
    let device_token = state.device_cookies.issue(&user.username);
    let pair = TokenPair { access, refresh: opened.refresh, device_token: Some(device_token.clone()) };
    Ok(LoggedIn { pair, device_token })
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

/// Rotates a refresh token: the presented token is spent and a new pair is issued. A spent
/// token presented again revokes the whole login (it was stolen or replayed).
pub async fn refresh(state: &AppState, meta: &RequestMeta, token: &str) -> Result<TokenPair, ApiError> {
    let mut tx = state.db.begin().await?;
    let presented = lock_live(&mut tx, token).await?;
    let principal = principal_for(&mut tx, presented.user_id, presented.user_type, presented.family_id).await?;
    if presented.spent {
        repo::revoke_family(&mut *tx, presented.family_id, "refresh_token_reuse").await?;
        audit::record(
            &mut tx,
            meta,
            AuditEvent::new("refresh_token_reused")
                .target("user", presented.user_id)
                .details(json!({ "session_id": presented.family_id })),
        )
        .await?;
        tx.commit().await?;
        // Logins were revoked or an account changed: this process forgets what it cached now.
        state.sessions.changed();
        tracing::warn!(user.id = presented.user_id.get(), "spent refresh token presented again; login revoked");
        return Err(ApiError::InvalidToken);
    }
    let refresh = repo::rotate_refresh_token(&mut tx, token, presented.family_id, presented.family_expires_at).await?;
    tx.commit().await?;

    let access = state.tokens.issue_access(&principal)?;
    Ok(TokenPair { access, refresh, device_token: None })
}

/// Logs out: revokes the login the refresh token belongs to (its access tokens stop working too).
pub async fn logout(state: &AppState, meta: &RequestMeta, token: &str) -> Result<(), ApiError> {
    let mut tx = state.db.begin().await?;
    let presented = lock_live(&mut tx, token).await?;
    let principal = principal_for(&mut tx, presented.user_id, presented.user_type, presented.family_id).await?;
    repo::revoke_family(&mut *tx, presented.family_id, "logout").await?;
    audit::record(
        &mut tx,
        meta,
        AuditEvent::new("logout")
            .by(&principal)
            .target("user", presented.user_id)
            .details(json!({ "session_id": presented.family_id })),
    )
    .await?;
    tx.commit().await?;
    // Logins were revoked or an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(())
}
