//! Changing a password: the signed-in caller's own, or without a login the generated password
//! of the account a request names (its old password is the credential, throttled like a login).

use serde_json::json;

use super::super::{
    model::{Password, Principal, User},
    repo,
    throttle::Client,
};
use crate::{
    audit::{self, AuditEvent, RequestMeta},
    errors::FieldErrors,
    http::error::ApiError,
    state::AppState,
};

/// The password change a request asks for, its fields present.
pub struct Change {
    /// The signed-in caller; `None`: the account `username` names.
    pub caller: Option<Principal>,
    pub username: Option<String>,
    pub old: String,
    pub new: String,
    pub confirm: String,
}

/// Changes the password. Signed in, every other login of the user is revoked and the one making
/// the change stays; without a login every login of the account ends.
pub async fn change(state: &AppState, meta: &RequestMeta, change: Change) -> Result<(), ApiError> {
    let Change { caller, username, old, new, confirm } = change;
    let ip = meta.ip.clone().unwrap_or_default();
    let user = match (&caller, &username) {
        (Some(caller), _) => signed_in_account(state, caller, &old).await?,
        (None, username) => named_account(state, username.as_deref().unwrap_or_default(), &old, &ip).await?,
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
    let mut tx = state.db.begin().await?;
    repo::set_password(&mut *tx, user.id, &hash).await?;
    let keep = caller.map(|caller| caller.session_id);
    let revoked = repo::revoke_other_families(&mut *tx, user.id, keep, "password_changed").await?;
    let actor = match &caller {
        Some(caller) => AuditEvent::new("password_changed").by(caller),
        None => AuditEvent {
            actor_id: Some(user.id),
            actor_type: Some(user.user_type.as_str()),
            hospital_id: repo::hospital_of_user(&mut *tx, user.id).await?,
            ..AuditEvent::new("password_changed")
        },
    };
    let event = actor
        .target("user", user.id)
        .details(json!({ "other_logins_revoked": revoked, "signed_in": caller.is_some() }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    // Logins were revoked or an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(())
}

/// The signed-in caller's account, once `old` is its password (a wrong one is a 400 on
/// `old_password`: the caller is known).
async fn signed_in_account(state: &AppState, caller: &Principal, old: &str) -> Result<User, ApiError> {
    let user = repo::get_user(&state.db, caller.user_id).await?.ok_or(ApiError::InvalidToken)?;
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
/// for an unknown user, a wrong password and an inactive account (after the same hashing work);
/// and only a generated password (whose owner may be locked out of login by its expiry) may be
/// changed this way.
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
    repo::get_user(&state.db, candidate.id).await?.ok_or(ApiError::BadCredentials)
}
