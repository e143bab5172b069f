//! The budgets a code request or a verification draws on, counted from rows under advisory
//! locks so that they hold across processes: codes per patient, per doctor and per unknown
//! subject per window ([`within`]); failed verifications per doctor, hospital and client
//! address ([`within_verify_budgets`]). Past a budget: [`AccessError::Throttled`] with when the
//! window has room again.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::{
    access::{repo, service::AccessError},
    audit::RequestMeta,
    config::AccessSettings,
    errors::retry_after_secs as retry_after,
    ids::{DoctorId, HospitalId},
};

/// What was counted within a window, with when its oldest leaves it (as the `recent_for_*`
/// statements of [`repo`] answer).
pub type Counted = (i64, Option<DateTime<Utc>>);

/// [`AccessError::Throttled`] once the count has reached `limit`.
pub fn within(limit: i64, counted: Counted) -> Result<(), AccessError> {
    within_all(&[(limit, counted)])
}

/// [`within`] for several budgets at once: throttled once any is spent, until the last of the
/// spent ones has room again.
fn within_all(budgets: &[(i64, Counted)]) -> Result<(), AccessError> {
    let spent = budgets.iter().filter(|(limit, (count, _))| count >= limit).map(|(_, (_, until))| retry_after(*until));
    match spent.max() {
        Some(retry_after_secs) => Err(AccessError::Throttled { retry_after_secs }),
        None => Ok(()),
    }
}

/// Fails with [`AccessError::Throttled`] once the doctor asked for `otp_per_doctor` codes within
/// the window (requests that named nobody included); else holds the doctor's lock for the rest of
/// `tx`, so that concurrent requests naming other patients count this one.
pub async fn within_doctors_budget(
    tx: &mut PgConnection,
    limits: &AccessSettings,
    doctor_id: DoctorId,
) -> Result<(), AccessError> {
    repo::lock_doctor(tx, doctor_id).await?;
    let asked = repo::requests::recent_for_doctor(tx, doctor_id, limits.otp_doctor_window_minutes).await?;
    within(limits.otp_per_doctor, asked)
}

/// Whose budgets of failed verifications a try draws on: the doctor's and their hospital's.
#[derive(Debug, Clone, Copy)]
pub struct FailedTry {
    pub doctor_id: DoctorId,
    pub hospital_id: HospitalId,
}

/// The client address the failed-try budgets count (what the audit trail records).
pub fn address_of(meta: &RequestMeta) -> &str {
    meta.ip.as_deref().unwrap_or("unknown")
}

/// Fails with [`AccessError::Throttled`] once the doctor, their hospital or the client address
/// has spent its budget of failed verifications (`otp_failures_per_*` per
/// `otp_failure_window_minutes`); else holds the hospital's and the address's locks for the rest
/// of `tx` (after the patient's, when there is one), so that concurrent tries, through any
/// number of processes, cannot overshoot a budget.
pub async fn within_verify_budgets(
    tx: &mut PgConnection,
    limits: &AccessSettings,
    tried_by: FailedTry,
    address: &str,
) -> Result<(), AccessError> {
    let FailedTry { doctor_id, hospital_id } = tried_by;
    repo::lock_verifying_hospital(tx, hospital_id).await?;
    repo::lock_verifying_address(tx, address).await?;
    let window = limits.otp_failure_window_minutes;
    let failed = repo::failures::failed_verifications(tx, doctor_id, hospital_id, address, window).await?;
    within_all(&[
        (limits.otp_failures_per_doctor, (failed.doctor, failed.doctor_until)),
        (limits.otp_failures_per_hospital, (failed.hospital, failed.hospital_until)),
        (limits.otp_failures_per_address, (failed.address, failed.address_until)),
    ])
}
