//! The console's cookie session. The cookie carries a random token (the row keeps only its
//! SHA-256); every request looks the session up in one statement that also checks it is not idle
//! or too old and that its account is still an active admin, and moves `last_seen_at`.
//!
//! The cookie is `__Host-carehub_console`: `Secure`, `HttpOnly`, `SameSite=Strict`, path `/`, no
//! domain. Only in development (`CAREHUB_ENV=development`, where the console may be opened over
//! plain HTTP on another address than loopback) is it `carehub_console` without `Secure`.
//! Browsers treat `http://127.0.0.1` and `http://localhost` as secure, so tests get the real one.

pub mod forms;

use actix_web::{
    FromRequest, HttpRequest,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    dev::Payload,
    web,
};
use base64::Engine as _;
use futures::future::LocalBoxFuture;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub use self::forms::{LoginForm, Posted};
pub use super::admin::{Admin, HasCsrf};
use super::{
    error::ConsoleError,
    repo::sessions::{self, Lifetimes, SessionRow},
};
use crate::{
    accounts::model::{Principal, UserType},
    config::Settings,
    ids::UserId,
    state::AppState,
};

/// A random token for a cookie or a form (256 bits, base64url).
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What the session row keeps of a cookie's token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether the console's cookies are `Secure` (and `__Host-` prefixed): everywhere but development.
fn secure(settings: &Settings) -> bool {
    settings.env != "development"
}

/// The session cookie's name.
pub fn session_cookie_name(settings: &Settings) -> &'static str {
    if secure(settings) { "__Host-carehub_console" } else { "carehub_console" }
}

/// The login form's CSRF cookie's name (a session does not exist yet when it is shown).
pub fn login_cookie_name(settings: &Settings) -> &'static str {
    if secure(settings) { "__Host-carehub_console_login" } else { "carehub_console_login" }
}

/// A console cookie holding `value` (a session cookie: it ends with the browser, and the server
/// ends the session itself after its idle and absolute limits).
pub fn cookie(settings: &Settings, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value).path("/").http_only(true).secure(secure(settings)).same_site(SameSite::Strict).finish()
}

/// The cookie that removes `name` from the browser.
pub fn removal(settings: &Settings, name: &'static str) -> Cookie<'static> {
    let mut gone = cookie(settings, name, String::new());
    gone.set_max_age(CookieDuration::ZERO);
    gone
}

pub fn lifetimes(settings: &Settings) -> Lifetimes {
    let console = &settings.console;
    Lifetimes {
        idle_minutes: console.idle_minutes.max(1),
        absolute_minutes: console.absolute_hours.max(1).saturating_mul(60),
        second_factor_minutes: console.second_factor_minutes.max(1),
    }
}

/// The live session of the request's cookie, if any.
pub async fn current(req: &HttpRequest) -> Result<Option<SessionRow>, ConsoleError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or(ConsoleError::SignIn)?;
    let Some(cookie) = req.cookie(session_cookie_name(&state.settings)) else {
        return Ok(None);
    };
    if cookie.value().is_empty() || cookie.value().len() > 128 {
        return Ok(None);
    }
    Ok(sessions::touch(&state.db, &token_hash(cookie.value()), lifetimes(&state.settings)).await?)
}

impl FromRequest for Admin {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let row = current(&req).await?.filter(|row| row.stage == "ACTIVE").ok_or(ConsoleError::SignIn)?;
            Ok(Self {
                principal: Principal {
                    user_id: row.user_id,
                    user_type: UserType::Admin,
                    hospital_id: None,
                    session_id: row.id,
                },
                username: row.username,
                csrf: row.csrf,
                session_id: row.id,
            })
        })
    }
}

/// A login whose password was accepted and whose second factor is awaited.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub session_id: Uuid,
    pub user_id: UserId,
    pub username: String,
    pub csrf: String,
    pub enrolled: bool,
    pub pending_secret: Option<Vec<u8>>,
    pub failed_codes: i32,
}

impl HasCsrf for PendingLogin {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl FromRequest for PendingLogin {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let row = current(&req).await?.filter(|row| row.stage == "PASSWORD").ok_or(ConsoleError::SignIn)?;
            Ok(Self {
                session_id: row.id,
                user_id: row.user_id,
                username: row.username,
                csrf: row.csrf,
                enrolled: row.enrolled,
                pending_secret: row.pending_secret,
                failed_codes: row.failed_codes,
            })
        })
    }
}
