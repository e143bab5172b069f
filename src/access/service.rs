//! What every access rule shares: the limits and the code key it runs with ([`AccessRules`]),
//! and why a change was refused ([`AccessError`], which knows nothing of HTTP). The rules
//! themselves: codes in [`super::otp`] (issuing, verifying, the failed-try budgets), grants in
//! [`super::grants`]; each one transaction under the patient's advisory lock (so they hold
//! across web processes), run through the patient's desk ([`super::desk`]).

use std::sync::Arc;

use carehub_workers::redact::Redacted;

use super::otp::code::{OtpKey, OtpRefusal};
use crate::config::AccessSettings;

/// What the access rules need besides the database: the limits and the code key.
pub struct AccessRules {
    pub settings: AccessSettings,
    pub key: OtpKey,
}

/// Shared by the desks of this process.
pub type Rules = Arc<AccessRules>;

/// Why an access change was refused.
#[derive(thiserror::Error)]
pub enum AccessError {
    /// No such grant of this patient.
    #[error("not found")]
    NotFound,
    /// Too many codes for this patient (or from this doctor); try again after this many seconds.
    #[error("throttled")]
    Throttled { retry_after_secs: u64 },
    /// The code was not accepted.
    #[error("code refused: {}", .0.code())]
    Refused(OtpRefusal),
    #[error("internal: {}", Redacted(.0))]
    Internal(anyhow::Error),
}

impl std::fmt::Debug for AccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl From<sqlx::Error> for AccessError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<anyhow::Error> for AccessError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}
