//! `/console/mfa/`: the second factor of a console login. An admin without one enrols: a new
//! secret is shown as a QR code and as text, and the first code from it confirms it (ten
//! recovery codes are then shown, once). Later logins ask for a code, or a recovery code.
//!
//! A code is accepted once (its step is stored); failed codes draw from the same throttle as
//! failed passwords (a budget of the account's own), and the fifth on one login ends it.

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::{
    error::ConsoleError,
    layout,
    repo::{factors, sessions},
    session::{self, PendingLogin, Posted},
    totp::{self, FactorKeys},
};
use crate::{
    accounts::throttle::Client,
    audit::{self, AuditEvent, RequestMeta},
    http::error::ApiError,
    state::AppState,
};

/// Wrong codes that end a login awaiting its second factor.
const MAX_FAILED_CODES: i32 = 5;

fn keys(state: &AppState) -> Result<FactorKeys, ConsoleError> {
    Ok(FactorKeys::new(&state.settings.otp_secret)?)
}

/// The throttle's key for an account's second factor (its own budget, apart from passwords').
fn throttle_key(login: &PendingLogin) -> String {
    format!("console-second-factor:{}", login.username)
}

fn code_form(csrf: &str, label: &str) -> Markup {
    html! {
        form #second-factor .stacked method="post" action="/console/mfa/" {
            (layout::csrf_field(csrf))
            div {
                label for="code" { (label) }
                input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required
                    autocapitalize="none" spellcheck="false" maxlength="32";
            }
            button type="submit" { "Sign in" }
        }
    }
}

/// The page for `login`: enrolment (with the secret being enrolled, made now if need be) or the
/// code form.
async fn second_factor_page(
    state: &AppState,
    login: &PendingLogin,
    error: Option<&str>,
) -> Result<Markup, ConsoleError> {
    let alert = html! { @if let Some(error) = error { p #error role="alert" { (error) } } };
    if login.enrolled {
        return Ok(layout::bare_page(
            "Enter your code",
            html! {
                (alert)
                p { "Signed in as " strong { (login.username) } ". Enter the 6-digit code your authenticator app shows, or one of your recovery codes." }
                (code_form(&login.csrf, "Code"))
            },
        ));
    }
    let keys = keys(state)?;
    let secret = match login.pending_secret.as_deref().and_then(|sealed| keys.open(login.user_id, sealed)) {
        Some(secret) => secret,
        None => {
            let secret = totp::new_secret();
            sessions::set_pending_secret(&state.db, login.session_id, &keys.seal(login.user_id, &secret)?).await?;
            secret
        }
    };
    let uri = totp::otpauth_uri(&login.username, &secret);
    let qr = totp::qr_svg(&uri).ok_or_else(|| anyhow::anyhow!("the QR code could not be drawn"))?;
    Ok(layout::bare_page(
        "Set up your authenticator",
        html! {
            (alert)
            p { "The console asks for a second factor at every login. Scan this code with an authenticator app (any app for TOTP codes), or type the key below into it." }
            div.qr { (layout::trusted_svg(qr)) }
            p { "Key: " code #totp-secret { (totp::secret_base32(&secret)) } }
            (code_form(&login.csrf, "Code the app shows now"))
        },
    ))
}

/// `GET /console/mfa/`.
pub async fn page(state: web::Data<AppState>, login: PendingLogin) -> Result<HttpResponse, ConsoleError> {
    Ok(layout::html_response(second_factor_page(&state, &login, None).await?))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /console/mfa/`.
pub async fn submit(
    state: web::Data<AppState>,
    meta: RequestMeta,
    posted: Posted<CodeForm, PendingLogin>,
) -> Result<HttpResponse, ConsoleError> {
    let Posted { session: login, form } = posted;
    let key = throttle_key(&login);
    if let Err(retry_after_secs) = state.login_throttle.check(&key, Client::SignedIn) {
        return Err(ApiError::Throttled { retry_after_secs }.into());
    }
    let keys = keys(&state)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
    let code = form.code.trim();
    if !login.enrolled {
        let Some(secret) = login.pending_secret.as_deref().and_then(|sealed| keys.open(login.user_id, sealed)) else {
            return Ok(layout::redirect("/console/mfa/"));
        };
        return match totp::matching_step(&secret, code, now) {
            Some(step) => enrol(&state, &meta, &keys, &login, &secret, step).await,
            None => failed(&state, &meta, &login, "wrong_code").await,
        };
    }
    let method = if totp::is_recovery_code(code) {
        factors::use_recovery_code(&state.db, login.user_id, &keys.recovery_hash(code))
            .await?
            .then_some("recovery_code")
    } else {
        let secret = factors::sealed_secret(&state.db, login.user_id).await?.and_then(|s| keys.open(login.user_id, &s));
        match secret.and_then(|secret| totp::matching_step(&secret, code, now)) {
            Some(step) => factors::accept_step(&state.db, login.user_id, i64::try_from(step).unwrap_or(i64::MAX))
                .await?
                .then_some("totp"),
            None => None,
        }
    };
    match method {
        Some(method) => signed_in(&state, &meta, &login, method).await,
        None => failed(&state, &meta, &login, "wrong_code").await,
    }
}

/// The first code confirmed the secret: it is stored, recovery codes are made and shown once,
/// and the login is signed in.
async fn enrol(
    state: &AppState,
    meta: &RequestMeta,
    keys: &FactorKeys,
    login: &PendingLogin,
    secret: &[u8],
    step: u64,
) -> Result<HttpResponse, ConsoleError> {
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|code| keys.recovery_hash(code)).collect();
    let token = session::random_token();
    let mut tx = state.db.begin().await?;
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if !factors::enrol(&mut tx, login.user_id, &keys.seal(login.user_id, secret)?, step, &hashes).await? {
        // Enrolled from another login meanwhile: that one stands, and this login is asked for its code.
        return Ok(layout::redirect("/console/mfa/"));
    }
    if !sessions::activate(&mut *tx, login.session_id, &session::token_hash(&token), &session::random_token()).await? {
        return Err(ConsoleError::SignIn);
    }
    let actor = actor(login);
    audit::record(&mut tx, meta, AuditEvent::new("console_mfa_enrolled").by(&actor).target("user", login.user_id))
        .await?;
    let event = AuditEvent::new("console_login").by(&actor).target("user", login.user_id);
    audit::record(&mut tx, meta, event.details(json!({ "second_factor": "totp", "enrolled": true }))).await?;
    tx.commit().await?;
    let page = layout::bare_page(
        "Save your recovery codes",
        html! {
            p { "Each of these codes signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe, apart from your password." }
            ul #recovery-codes { @for code in &codes { li { code { (code) } } } }
            p { a #continue href="/console/" { "I have saved them: continue to the console" } }
        },
    );
    Ok(HttpResponse::Ok()
        .cookie(session::cookie(&state.settings, session::session_cookie_name(&state.settings), token))
        .content_type("text/html; charset=utf-8")
        .body(page.into_string()))
}

/// The caller as the audit trail names it (the console session is the "login").
fn actor(login: &PendingLogin) -> crate::accounts::model::Principal {
    crate::accounts::model::Principal {
        user_id: login.user_id,
        user_type: crate::accounts::model::UserType::Admin,
        hospital_id: None,
        session_id: login.session_id,
    }
}

/// The second factor passed: the session is signed in under a new token.
async fn signed_in(
    state: &AppState,
    meta: &RequestMeta,
    login: &PendingLogin,
    method: &'static str,
) -> Result<HttpResponse, ConsoleError> {
    let token = session::random_token();
    let mut tx = state.db.begin().await?;
    if !sessions::activate(&mut *tx, login.session_id, &session::token_hash(&token), &session::random_token()).await? {
        return Err(ConsoleError::SignIn);
    }
    let left = factors::recovery_codes_left(&mut *tx, login.user_id).await?;
    let event = AuditEvent::new("console_login").by(&actor(login)).target("user", login.user_id);
    audit::record(&mut tx, meta, event.details(json!({ "second_factor": method, "recovery_codes_left": left })))
        .await?;
    tx.commit().await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&state.settings, session::session_cookie_name(&state.settings), token))
        .insert_header((header::LOCATION, "/console/"))
        .finish())
}

/// A wrong (or replayed) code: counted, audited, throttled; the fifth ends the login.
async fn failed(
    state: &AppState,
    meta: &RequestMeta,
    login: &PendingLogin,
    reason: &'static str,
) -> Result<HttpResponse, ConsoleError> {
    let failures = sessions::count_failed_code(&state.db, login.session_id).await?;
    let event = AuditEvent::new("console_mfa_failed").by(&actor(login)).target("user", login.user_id);
    audit::record_alone(&state.db, meta, event.details(json!({ "reason": reason, "failures": failures }))).await?;
    let throttled = state.login_throttle.record_failure(&throttle_key(login), Client::SignedIn);
    if failures >= MAX_FAILED_CODES {
        sessions::delete(&state.db, login.session_id).await?;
        return Ok(HttpResponse::SeeOther()
            .cookie(session::removal(&state.settings, session::session_cookie_name(&state.settings)))
            .insert_header((header::LOCATION, "/console/login/"))
            .finish());
    }
    if let Err(retry_after_secs) = throttled {
        return Err(ApiError::Throttled { retry_after_secs }.into());
    }
    let page =
        second_factor_page(state, login, Some("That code is not right (or was used already). Try the next one."))
            .await?;
    Ok(HttpResponse::build(StatusCode::UNAUTHORIZED).content_type("text/html; charset=utf-8").body(page.into_string()))
}
