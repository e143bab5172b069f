//! What a recommendation request got: an answer, a pending id, or why it was refused.

use carehub_workers::redact::Redacted;

use crate::{errors::FieldErrors, medicines::recommendations::model::Stored};

/// Why a request was not answered.
#[derive(thiserror::Error)]
pub enum RecommendError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("throttled")]
    Throttled { retry_after_secs: u64 },
    /// The model failed within the wait: 502 with the row's id.
    #[error("the model failed")]
    Failed { id: i64, reason: String },
    #[error("internal: {}", Redacted(.0))]
    Internal(anyhow::Error),
}

impl std::fmt::Debug for RecommendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl From<sqlx::Error> for RecommendError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<anyhow::Error> for RecommendError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

impl From<FieldErrors> for RecommendError {
    fn from(errors: FieldErrors) -> Self {
        Self::Invalid(errors)
    }
}

/// What a request got.
pub enum Outcome {
    /// Answered (from the cache, or by the worker within the wait).
    Done(Box<Stored>),
    /// Still with the worker: poll `GET /api/recommendations/{id}/`.
    Pending(i64),
}
