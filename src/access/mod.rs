//! Access to a patient's records: one-time codes (OTP) a patient passes on to a doctor, and the
//! access grants a verified code gives. Where each thing lives:
//!
//! - [`otp`]: the codes: [`otp::code`] (make, seal, compare), [`otp::issue`], [`otp::verify`],
//!   [`otp::budgets`] (request limits and failed-try budgets).
//! - [`grants`]: a patient's grants (list, revoke) and the live-grant check `records::policy`
//!   asks before a doctor reads.
//! - [`service`]: what both share: [`service::AccessRules`] (limits, code key) and
//!   [`service::AccessError`].
//! - [`desk`]: the per-patient actor that serializes issuing, verifying and revoking inside a
//!   process; across processes each is one transaction under an advisory lock on the patient.
//! - [`repo`]: all SQL, one file per aggregate (requests, delivery, unmatched, failures, grants,
//!   patients) and the advisory locks.
//! - [`model`]: request and response bodies, [`model::Grant`], masked phone numbers.
//! - [`routes`]: `/api/accounts/otp/...` and `/api/accounts/access-grants/...`, and the
//!   context's OpenAPI paths.
//! - [`jobs`]: `SendOtp` (the SMS, its code made at send time) and the access sweep.

pub mod desk;
pub mod grants;
pub mod jobs;
pub mod model;
pub mod otp;
pub mod repo;
pub mod routes;
pub mod service;
