//! The console's errors, answered as HTML pages (the API's JSON errors would mean nothing in a
//! browser): a missing or ended session sends the browser to the login page.

use actix_web::{HttpResponse, ResponseError, http::StatusCode, http::header};

use super::layout;
use crate::http::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No console session, or it ended (idle, too old, logged out, account deactivated).
    #[error("sign in required")]
    SignIn,
    /// A form without its CSRF token, or from another origin.
    #[error("form refused")]
    Forgery,
    #[error("not found")]
    NotFound,
    /// What a context's service refused, with its status and message.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<sqlx::Error> for ConsoleError {
    fn from(err: sqlx::Error) -> Self {
        Self::Api(err.into())
    }
}

impl From<anyhow::Error> for ConsoleError {
    fn from(err: anyhow::Error) -> Self {
        Self::Api(err.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::Forgery => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Api(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (title, detail, fields) = match self {
            Self::SignIn => {
                return HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/login/")).finish();
            }
            Self::Forgery => (
                "Form refused",
                "This form was not sent from a console page of this session (its security token is missing or \
                 wrong). Nothing was changed. Reload the page and try again."
                    .to_owned(),
                Vec::new(),
            ),
            Self::NotFound => ("Not found", "There is nothing at this address.".to_owned(), Vec::new()),
            Self::Api(err) => {
                if let ApiError::Internal(_) = err {
                    // Logged (redacted) by the API error's own response.
                    let _ = err.error_response();
                }
                let fields = match err {
                    ApiError::Validation(fields) => fields
                        .fields()
                        .iter()
                        .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
                        .collect(),
                    _ => Vec::new(),
                };
                (status.canonical_reason().unwrap_or("Error"), err.detail(), fields)
            }
        };
        let mut response = HttpResponse::build(status);
        if let Self::Api(ApiError::Throttled { retry_after_secs }) = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        response
            .content_type("text/html; charset=utf-8")
            .body(layout::error_page(title, &detail, &fields).into_string())
    }
}
