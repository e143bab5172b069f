//! Extractors: the request body (JSON or form, size-limited, errors naming the field), the
//! authenticated principal, and the request's origin for the audit trail.

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    dev::Payload,
    http::header::{self, HeaderMap},
    web,
};
use futures::{StreamExt as _, future::LocalBoxFuture};
use serde::de::DeserializeOwned;

use super::{error::ApiError, middleware::RequestId};
use crate::{
    accounts::model::{PendingPrincipal, Principal, generated_password_expired},
    audit::RequestMeta,
    state::AppState,
};

/// A request body read as JSON (`application/json`) or as a form
/// (`application/x-www-form-urlencoded`), as the reference accepts both. A type mismatch names
/// its field (`{"consent": ["invalid type: string, expected a boolean"]}`); an oversized body is a
/// 413; another media type a 415.
pub struct Body<T>(pub T);

/// What a request body is, by its `Content-Type` (none: JSON, as DRF assumes).
pub(crate) enum BodyKind {
    Json,
    Form,
}

/// The body's kind; a 415 naming the media type for anything but JSON or a form.
pub(crate) fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(BodyKind::Json);
    };
    let media = value.to_str().unwrap_or_default();
    let essence = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "application/x-www-form-urlencoded" => Ok(BodyKind::Form),
        other if other.ends_with("+json") => Ok(BodyKind::Json),
        _ => Err(ApiError::UnsupportedMediaType(essence.chars().take(100).collect())),
    }
}

fn field_error(path: &serde_path_to_error::Path, message: String) -> ApiError {
    let field = path.to_string();
    if field == "." || field.is_empty() {
        return ApiError::Malformed(message);
    }
    let mut errors = crate::errors::FieldErrors::new();
    errors.add(&field, message);
    ApiError::Validation(errors)
}

fn parse_body<T: DeserializeOwned>(kind: &BodyKind, bytes: &[u8]) -> Result<T, ApiError> {
    match kind {
        BodyKind::Json => {
            // No body is `{}`; a body of blanks is not JSON (DRF's parse error, as for any other).
            let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
            let mut de = serde_json::Deserializer::from_slice(bytes);
            serde_path_to_error::deserialize(&mut de).map_err(|err| {
                let inner = err.inner();
                if inner.is_syntax() || inner.is_eof() {
                    ApiError::Malformed(format!("JSON parse error - {inner}"))
                } else {
                    let message = inner.to_string();
                    // serde appends " at line L column C"; the field name says more.
                    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                    field_error(err.path(), message)
                }
            })
        }
        BodyKind::Form => {
            let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(bytes));
            serde_path_to_error::deserialize(de).map_err(|err| field_error(err.path(), err.inner().to_string()))
        }
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit =
            req.app_data::<web::Data<AppState>>().map_or(64 * 1024, |state| state.settings.http.body_limit_bytes);
        let kind = body_kind(req.headers());
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            let kind = kind?;
            if declared.is_some_and(|len| len > limit) {
                return Err(ApiError::PayloadTooLarge);
            }
            let mut bytes = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::Malformed(format!("could not read the body: {e}")))?;
                if bytes.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            parse_body(&kind, &bytes).map(Body)
        })
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

async fn authenticate(req: HttpRequest) -> Result<PendingPrincipal, ApiError> {
    if let Some(cached) = req.extensions().get::<PendingPrincipal>() {
        return Ok(*cached);
    }
    let state = state(&req)?;
    let token = bearer_token(&req).ok_or(ApiError::NotAuthenticated)?;
    let claims = state.tokens.decode_access(&token).ok_or(ApiError::InvalidToken)?;
    let principal = claims.principal();
    let session = state
        .sessions
        .state(&state.db, principal.session_id, principal.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if !session.live(chrono::Utc::now()) {
        return Err(ApiError::InvalidToken);
    }
    // The role and tenant are the account's as it is now: a token minted before a role or
    // hospital change (or claiming one it never had) is refused, not trusted.
    if session.user_type != principal.user_type || session.hospital_id != principal.hospital_id {
        return Err(ApiError::InvalidToken);
    }
    let password_expired = generated_password_expired(
        session.must_change_password,
        session.password_changed_at,
        state.settings.auth.generated_password_hours,
        chrono::Utc::now(),
    );
    let pending = PendingPrincipal { principal, must_change_password: session.must_change_password, password_expired };
    tracing::Span::current().record("user.id", principal.user_id.0);
    req.extensions_mut().insert(pending);
    Ok(pending)
}

impl FromRequest for PendingPrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// Every endpoint but the two that let a user change a generated password takes a `Principal`,
/// which refuses a user whose generated password has expired with `password_change_required`.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let pending = authenticate(req).await?;
            if pending.password_expired {
                return Err(ApiError::PasswordChangeRequired);
            }
            Ok(pending.principal)
        })
    }
}

impl FromRequest for crate::accounts::model::MaybePrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if !req.headers().contains_key(header::AUTHORIZATION) {
                return Ok(Self(None));
            }
            let pending = authenticate(req).await?;
            if pending.password_expired {
                return Err(ApiError::PasswordChangeRequired);
            }
            Ok(Self(Some(pending.principal)))
        })
    }
}

/// The client's address: the peer, or with `http.trust_proxy` the last `X-Forwarded-For` hop,
/// the one the trusted router appended (earlier hops are whatever the client sent).
pub fn client_ip(req: &HttpRequest) -> String {
    let trust_proxy = req.app_data::<web::Data<AppState>>().is_some_and(|state| state.settings.http.trust_proxy);
    if trust_proxy
        && let Some(forwarded) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return forwarded.chars().take(64).collect();
    }
    req.peer_addr().map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

impl FromRequest for RequestMeta {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user_agent =
            req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(512).collect());
        let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
        std::future::ready(Ok(Self { ip: Some(client_ip(req)), user_agent, request_id }))
    }
}
