//! Forms posted to the console. Every one carries a CSRF token in its hidden `csrf` field: the
//! session's own for a signed-in form ([`Posted`]), and for the login form (no session yet) the
//! token of a cookie set with the form ([`LoginForm`], the double-submit pattern). A form sent
//! by a browser from another site is refused before its token is even looked at (`Origin`,
//! `Sec-Fetch-Site`); `SameSite=Strict` cookies are a third line.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use bytes::BytesMut;
use futures::{StreamExt as _, future::LocalBoxFuture};
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
    // `Origin: null` is what a browser sends from a page under `Referrer-Policy: no-referrer`
    // (every console page): it says nothing, and `Sec-Fetch-Site` and the token decide.
    if let Some(origin) = headers.get(header::ORIGIN).filter(|origin| origin.as_bytes() != b"null") {
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

/// The most a console form may carry; the longest field, a rejection's reason, is far shorter.
const FORM_LIMIT: usize = 64 * 1024;

/// A form's body as sent, up to [`FORM_LIMIT`]. A browser never compresses what it posts, so a
/// body with a `Content-Encoding` is refused rather than decoded.
async fn read_form(req: &HttpRequest, mut payload: Payload) -> Result<BytesMut, ConsoleError> {
    if req.headers().get(header::CONTENT_ENCODING).is_some_and(|coding| coding.as_bytes() != b"identity") {
        return Err(unreadable("a compressed form"));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if body.len() + chunk.len() > FORM_LIMIT {
            return Err(ConsoleError::Api(ApiError::PayloadTooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
        let payload = payload.take();
        Box::pin(async move {
            same_origin(&req)?;
            let session = S::from_request(&req, &mut Payload::None).await?;
            let body = read_form(&req, payload).await?;
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
        let payload = payload.take();
        Box::pin(async move {
            same_origin(&req)?;
            let state = req.app_data::<web::Data<AppState>>().ok_or(ConsoleError::Forgery)?;
            let expected = req.cookie(login_cookie_name(&state.settings)).ok_or(ConsoleError::Forgery)?;
            let body = read_form(&req, payload).await?;
            let sent: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            if !same_token(&sent.csrf, expected.value()) {
                return Err(ConsoleError::Forgery);
            }
            serde_urlencoded::from_bytes(&body).map_err(unreadable)
        })
    }
}
