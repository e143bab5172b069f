//! Forms posted to the console. Every one carries a CSRF token in its hidden `csrf` field: the
//! session's own for a signed-in form ([`Posted`]), and for the login form (no session yet) the
//! token of a cookie set with the form ([`LoginForm`], the double-submit pattern). A form sent
//! by a browser from another site is refused before its token is even looked at (`Origin`,
//! `Sec-Fetch-Site`); `SameSite=Strict` cookies are a third line.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures::future::LocalBoxFuture;
use serde::{Deserialize, de::DeserializeOwned};
use sha2::{Digest as _, Sha256};

use super::{Admin, HasCsrf, login_cookie_name};
use crate::{console::error::ConsoleError, http::error::ApiError, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// Equal tokens, compared through their digests (no early exit on the first differing byte of
/// the token itself).
fn same_token(sent: &str, expected: &str) -> bool {
    !sent.is_empty() && Sha256::digest(sent.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// Refuses a request a browser says came from another site, or whose `Origin` is not this host.
fn same_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(ConsoleError::Forgery);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| ConsoleError::Forgery)?;
        let host = origin.split_once("://").map(|(_, host)| host).ok_or(ConsoleError::Forgery)?;
        if !host.eq_ignore_ascii_case(req.connection_info().host()) {
            return Err(ConsoleError::Forgery);
        }
    }
    Ok(())
}

fn unreadable(_: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::Api(ApiError::Malformed("the form could not be read".into()))
}

/// A form posted by a console session `S` (the signed-in [`Admin`] unless said otherwise): the
/// session, and the form's fields as `T` once its CSRF token matched the session's.
pub struct Posted<T, S = Admin> {
    pub session: S,
    pub form: T,
}

impl<T, S> FromRequest for Posted<T, S>
where
    T: DeserializeOwned + 'static,
    S: FromRequest<Error = ConsoleError> + HasCsrf + 'static,
{
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            same_origin(&req)?;
            let session = S::from_request(&req, &mut Payload::None).await?;
            let body = body.await.map_err(unreadable)?;
            let sent: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            if !same_token(&sent.csrf, session.csrf()) {
                return Err(ConsoleError::Forgery);
            }
            let form = serde_urlencoded::from_bytes(&body).map_err(unreadable)?;
            Ok(Self { session, form })
        })
    }
}

/// The login form: username and password, its token matching the login cookie's.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

impl FromRequest for LoginForm {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            same_origin(&req)?;
            let state = req.app_data::<web::Data<AppState>>().ok_or(ConsoleError::Forgery)?;
            let expected = req.cookie(login_cookie_name(&state.settings)).ok_or(ConsoleError::Forgery)?;
            let body = body.await.map_err(unreadable)?;
            let sent: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            if !same_token(&sent.csrf, expected.value()) {
                return Err(ConsoleError::Forgery);
            }
            serde_urlencoded::from_bytes(&body).map_err(unreadable)
        })
    }
}
