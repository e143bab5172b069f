//! The one error type of the HTTP layer and its JSON shapes, as Django REST Framework clients
//! expect them: `{"detail": ..., "code": ...}` for errors, `{"field": ["message", ...]}` for
//! validation. A 5xx never carries its cause (which may hold patient data): the cause is logged
//! once, here, with the request's id in the surrounding span.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde_json::json;

use carehub_workers::redact::Redacted;

use crate::errors::FieldErrors;
use crate::{
    appointments::service::AppointmentError,
    errors::{Conflict, Duplicate, Violation},
};

/// The body of every error that is not a validation error (for the OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub detail: String,
    pub code: String,
}

/// Every way a request can fail. Each variant's doc gives its status and stable `code`.
///
/// Its `Debug` and `Display` never show a database error's message or detail (`Failing row
/// contains (...)` carries the row: patient data), wherever the error ends up being printed.
#[derive(thiserror::Error)]
pub enum ApiError {
    /// 400, field lists: the request's fields broke the rules.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// 400 `parse_error`: the body could not be read at all.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 400 with its own `code` (`otp_invalid`, `otp_expired`, ...): the request was understood and
    /// refused as a whole.
    #[error("refused: {code}")]
    Refused { code: &'static str, detail: &'static str },
    /// 401 `not_authenticated`: no credentials were sent.
    #[error("not authenticated")]
    NotAuthenticated,
    /// 401 `token_not_valid`: a token was sent but is expired, forged, spent or revoked.
    #[error("token not valid")]
    InvalidToken,
    /// 401 `no_active_account`: wrong username or password, or an inactive account (one answer
    /// for all, so that a client learns nothing about which accounts exist).
    #[error("bad credentials")]
    BadCredentials,
    /// 403 `permission_denied`.
    #[error("permission denied")]
    Forbidden(&'static str),
    /// 401 `password_expired`: the right password, but a generated one past its window; only
    /// `POST /api/accounts/change-password/` takes it now.
    #[error("password expired")]
    PasswordExpired,
    /// 403 `password_change_required`: a generated password must be changed first.
    #[error("password change required")]
    PasswordChangeRequired,
    /// 404 `not_found`: absent, or another tenant's.
    #[error("not found")]
    NotFound,
    /// 404 `not_found` with DRF's pagination message.
    #[error("invalid page")]
    InvalidPage,
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed(String),
    /// 409, the kind's own `code` (`doctor_slot_taken`, `invalid_transition`, … see
    /// `errors::Conflict`): the request is valid but the current state forbids it.
    #[error("conflict: {}", .0.code())]
    Conflict(Conflict),
    /// 413 `payload_too_large`.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 429 `throttled`, with `Retry-After`.
    #[error("throttled")]
    Throttled { retry_after_secs: u64 },
    /// 503 `service_unavailable`: a dependency (Redis) does not answer.
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// 500 `server_error`: the cause is logged (redacted), never sent.
    #[error("server error: {}", Redacted(.0))]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    fn from(cause: anyhow::Error) -> Self {
        Self::Internal(cause)
    }
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Internal(cause) => f.debug_tuple("Internal").field(&format_args!("{}", Redacted(cause))).finish(),
            other => f.debug_struct("ApiError").field("code", &other.code()).finish(),
        }
    }
}

/// What a 503 asks the client to wait before trying again, in seconds.
const RETRY_UNAVAILABLE_SECS: u64 = 5;

/// Whether a server error's cause is the database out of reach (restarting, failing over, the
/// pool unable to connect within `database.acquire_timeout_seconds`): the client gets 503
/// `service_unavailable` with `Retry-After`, as for any dependency that does not answer, not a
/// 500.
fn database_out_of_reach(cause: &anyhow::Error) -> bool {
    cause.chain().any(|err| {
        err.downcast_ref::<sqlx::Error>().is_some_and(|err| match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
            // Class 08: connection exceptions; 57P01-03: shutting down, crashed, starting up.
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
            }
            _ => false,
        })
    })
}

impl ApiError {
    /// A dependency does not answer: [`Self::Unavailable`], or a server error caused by it.
    fn unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Internal(cause) => database_out_of_reach(cause),
            _ => false,
        }
    }

    pub fn code(&self) -> &'static str {
        if self.unavailable() {
            return "service_unavailable";
        }
        match self {
            Self::Validation(_) => "invalid",
            Self::Malformed(_) => "parse_error",
            Self::Refused { code, .. } => code,
            Self::NotAuthenticated => "not_authenticated",
            Self::InvalidToken => "token_not_valid",
            Self::BadCredentials => "no_active_account",
            Self::Forbidden(_) => "permission_denied",
            Self::PasswordExpired => "password_expired",
            Self::PasswordChangeRequired => "password_change_required",
            Self::NotFound | Self::InvalidPage => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict(kind) => kind.code(),
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Throttled { .. } => "throttled",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "server_error",
        }
    }

    pub fn detail(&self) -> String {
        if let Self::Internal(_) = self
            && self.unavailable()
        {
            return "The database is not reachable. Try again shortly.".into();
        }
        match self {
            Self::Validation(_) => "Invalid input.".into(),
            Self::Malformed(reason) => format!("Malformed request - {reason}"),
            Self::NotAuthenticated => "Authentication credentials were not provided.".into(),
            Self::InvalidToken => "Given token not valid for any token type".into(),
            Self::BadCredentials => "No active account found with the given credentials".into(),
            Self::Forbidden(detail) | Self::Unavailable(detail) | Self::Refused { detail, .. } => (*detail).into(),
            Self::Conflict(kind) => kind.detail().into(),
            Self::PasswordExpired => {
                "Your password has expired and must be changed at /api/accounts/change-password/.".into()
            }
            Self::PasswordChangeRequired => "You must change your password before using this endpoint.".into(),
            Self::NotFound => "Not found.".into(),
            Self::InvalidPage => "Invalid page.".into(),
            Self::MethodNotAllowed(method) => format!("Method \"{method}\" not allowed."),
            Self::PayloadTooLarge => "Request body is too large.".into(),
            Self::UnsupportedMediaType(media) => format!("Unsupported media type \"{media}\" in request."),
            Self::Throttled { retry_after_secs } => {
                format!("Request was throttled. Expected available in {retry_after_secs} seconds.")
            }
            Self::Internal(_) => "A server error occurred.".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        if self.unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self {
            Self::Validation(_) | Self::Malformed(_) | Self::Refused { .. } => StatusCode::BAD_REQUEST,
            Self::NotAuthenticated | Self::InvalidToken | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::PasswordExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::NotFound | Self::InvalidPage => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.unavailable() {
            response.insert_header((header::RETRY_AFTER, RETRY_UNAVAILABLE_SECS.to_string()));
        }
        match self {
            Self::Validation(fields) => return response.json(fields.fields()),
            Self::Internal(cause) if database_out_of_reach(cause) => {
                tracing::warn!(error.cause = %Redacted(cause), "request failed: the database is out of reach");
            }
            Self::Internal(cause) => {
                tracing::error!(error.cause = %Redacted(cause), "request failed with a server error");
            }
            Self::Throttled { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::NotAuthenticated | Self::InvalidToken => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"api\""));
            }
            _ => {}
        }
        response.json(json!({ "detail": self.detail(), "code": self.code() }))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<crate::accounts::model::policy::Denied> for ApiError {
    fn from(denied: crate::accounts::model::policy::Denied) -> Self {
        Self::Forbidden(denied.0)
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<Conflict> for ApiError {
    fn from(kind: Conflict) -> Self {
        Self::Conflict(kind)
    }
}

impl From<Duplicate> for ApiError {
    fn from(duplicate: Duplicate) -> Self {
        Self::Validation(duplicate.into())
    }
}

impl From<Violation> for ApiError {
    fn from(violation: Violation) -> Self {
        match violation {
            Violation::Conflict(kind) => kind.into(),
            Violation::Duplicate(duplicate) => duplicate.into(),
        }
    }
}

impl From<AppointmentError> for ApiError {
    fn from(err: AppointmentError) -> Self {
        match err {
            AppointmentError::NotFound => Self::NotFound,
            AppointmentError::Forbidden(detail) => Self::Forbidden(detail),
            AppointmentError::Invalid(fields) => Self::Validation(fields),
            AppointmentError::Conflict(kind) => Self::Conflict(kind),
            AppointmentError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<crate::records::policy::Refusal> for ApiError {
    fn from(refusal: crate::records::policy::Refusal) -> Self {
        match refusal {
            crate::records::policy::Refusal::Forbidden(detail) => Self::Forbidden(detail),
            crate::records::policy::Refusal::NotFound => Self::NotFound,
        }
    }
}

/// A database error as the client should see it: a known constraint's meaning (`errors::CONSTRAINTS`),
/// anything else a 500.
pub fn from_database(err: sqlx::Error) -> ApiError {
    crate::errors::violation(&err).map_or_else(|| err.into(), ApiError::from)
}
