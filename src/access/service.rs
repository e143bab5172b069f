//! The access rules, each one transaction under the patient's advisory lock (so they hold across
//! web processes): issuing a code within the limits, verifying one within the failed-try budgets
//! (single use, an SMS code killed by the 5th wrong try, at most one grant per code), revoking a
//! grant. Run through the patient's desk ([`super::desk`]); refusals are an [`AccessError`],
//! which knows nothing of HTTP.

use std::sync::Arc;

use carehub_workers::{outbox, redact::Redacted};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::{
    jobs::SendOtp,
    model::{OtpCode, OtpKey, OtpRefusal},
    repo::{self, Channel},
};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    config::AccessSettings,
};

/// What the access rules need besides the database: the limits and the code key.
pub struct AccessRules {
    pub settings: AccessSettings,
    pub key: OtpKey,
}

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

/// Who asks for a code: a doctor (the code goes to the patient by SMS) or the patient (the code is
/// shown to them, to pass on to any one doctor).
#[derive(Debug, Clone, Copy)]
pub enum Requester {
    Doctor { doctor_id: i64 },
    Patient,
}

/// A code request made.
#[derive(Debug)]
pub struct Issued {
    pub request_id: i64,
    pub expires_at: DateTime<Utc>,
    /// The code, for a patient's own request only.
    pub code: Option<OtpCode>,
}

use crate::errors::retry_after_secs as retry_after;

/// What was counted within a window, with when its oldest leaves it (as the `repo::recent_for_*`
/// statements answer).
type Counted = (i64, Option<DateTime<Utc>>);

/// [`AccessError::Throttled`] once the count has reached `limit`.
fn within(limit: i64, counted: Counted) -> Result<(), AccessError> {
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

/// Issues a code for `patient_id`, counted from rows under the patient's lock: for a doctor at
/// most `otp_per_patient` SMS codes per window and `otp_per_doctor` per window from the doctor;
/// for the patient, at most `otp_share_per_patient` codes to share per window, a budget of
/// their own that doctors' requests never use up.
pub async fn issue(
    db: &PgPool,
    rules: &AccessRules,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: i64,
    requester: Requester,
) -> Result<Issued, AccessError> {
    let limits = &rules.settings;
    let mut tx = db.begin().await?;
    repo::lock_patient(&mut tx, patient_id).await?;
    let doctor_id = match requester {
        Requester::Doctor { doctor_id } => {
            let (window, channel) = (limits.otp_patient_window_minutes, Channel::Sms);
            within(limits.otp_per_patient, repo::recent_for_patient(&mut tx, patient_id, channel, window).await?)?;
            within_doctors_budget(&mut tx, limits, doctor_id).await?;
            Some(doctor_id)
        }
        Requester::Patient => {
            let (window, channel) = (limits.otp_share_window_minutes, Channel::Share);
            let made = repo::recent_for_patient(&mut tx, patient_id, channel, window).await?;
            within(limits.otp_share_per_patient, made)?;
            None
        }
    };
    let (request_id, expires_at) = repo::insert_request(&mut tx, patient_id, doctor_id, limits.otp_ttl_minutes).await?;
    let code = if doctor_id.is_some() {
        // The code is made by the worker when it sends the SMS: none exists until then.
        outbox::enqueue(&mut tx, &SendOtp { otp_request_id: request_id }, Some(&format!("otp:{request_id}"))).await?;
        None
    } else {
        let code = OtpCode::generate_shared();
        repo::set_code(&mut tx, request_id, &rules.key.seal(request_id, &code)).await?;
        Some(code)
    };
    let channel = if doctor_id.is_some() { "sms" } else { "share" };
    let event = AuditEvent::new("otp_requested")
        .by(caller)
        .target("patient", patient_id)
        .details(json!({ "otp_request_id": request_id, "channel": channel }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(Issued { request_id, expires_at, code })
}

/// Fails with [`AccessError::Throttled`] once the doctor asked for `otp_per_doctor` codes within
/// the window (requests that named nobody included); else holds the doctor's lock for the rest of
/// `tx`, so that concurrent requests naming other patients count this one.
async fn within_doctors_budget(
    tx: &mut sqlx::PgConnection,
    limits: &AccessSettings,
    doctor_id: i64,
) -> Result<(), AccessError> {
    repo::lock_doctor(tx, doctor_id).await?;
    within(limits.otp_per_doctor, repo::recent_for_doctor(tx, doctor_id, limits.otp_doctor_window_minutes).await?)
}

/// A doctor asked for a code that can reach nobody: no patient has what was typed, or the
/// patient has no phone, or several patients share the typed phone. Nothing is made or sent, but
/// the request is held to the same limits as one for a patient who exists (the subject's
/// `otp_per_patient` per window, the doctor's budget) and counted, so that neither the answer
/// nor a later one tells the cases apart. Audited, as a probe for patients may be one (the row
/// does not say which case it was). `subject` is [`OtpKey::subject`] of what was typed. When the
/// code would have expired, computed as a real one's is.
pub async fn issue_to_nobody(
    db: &PgPool,
    rules: &AccessRules,
    caller: &Principal,
    meta: &RequestMeta,
    doctor_id: i64,
    subject: &[u8; 32],
) -> Result<DateTime<Utc>, AccessError> {
    let limits = &rules.settings;
    let mut tx = db.begin().await?;
    repo::lock_subject(&mut tx, subject).await?;
    within(
        limits.otp_per_patient,
        repo::recent_for_subject(&mut tx, subject, limits.otp_patient_window_minutes).await?,
    )?;
    within_doctors_budget(&mut tx, limits, doctor_id).await?;
    let expires_at = repo::insert_unmatched(&mut tx, doctor_id, subject, limits.otp_ttl_minutes).await?;
    let event = AuditEvent::new("otp_requested_for_nobody").by(caller).details(json!({ "doctor_id": doctor_id }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(expires_at)
}

/// A verified code: the grant it gave.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub grant_id: i64,
    pub expires_at: DateTime<Utc>,
}

/// The doctor who verifies, with the hospital the grant is recorded under.
#[derive(Debug, Clone, Copy)]
pub struct Verifier {
    pub doctor_id: i64,
    pub hospital_id: i64,
    /// [`super::model::OtpKey::subject`] of what the doctor typed to name the patient: wrong
    /// tries count against requests this doctor made for nobody under it too (a patient without
    /// a phone is asked for as nobody is).
    pub subject: [u8; 32],
}

/// Whose budgets of failed verifications a try draws on: the doctor's and their hospital's.
#[derive(Debug, Clone, Copy)]
pub struct FailedTry {
    pub doctor_id: i64,
    pub hospital_id: i64,
}

impl From<&Verifier> for FailedTry {
    fn from(verifier: &Verifier) -> Self {
        Self { doctor_id: verifier.doctor_id, hospital_id: verifier.hospital_id }
    }
}

/// The client address the failed-try budgets count (what the audit trail records).
fn address_of(meta: &RequestMeta) -> &str {
    meta.ip.as_deref().unwrap_or("unknown")
}

/// Fails with [`AccessError::Throttled`] once the doctor, their hospital or the client address
/// has spent its budget of failed verifications (`otp_failures_per_*` per
/// `otp_failure_window_minutes`); else holds the hospital's and the address's locks for the rest
/// of `tx` (after the patient's, when there is one), so that concurrent tries, through any
/// number of processes, cannot overshoot a budget.
async fn within_verify_budgets(
    tx: &mut sqlx::PgConnection,
    limits: &AccessSettings,
    tried_by: FailedTry,
    address: &str,
) -> Result<(), AccessError> {
    let FailedTry { doctor_id, hospital_id } = tried_by;
    repo::lock_verifying_hospital(tx, hospital_id).await?;
    repo::lock_verifying_address(tx, address).await?;
    let window = limits.otp_failure_window_minutes;
    let failed = repo::failed_verifications(tx, doctor_id, hospital_id, address, window).await?;
    within_all(&[
        (limits.otp_failures_per_doctor, (failed.doctor, failed.doctor_until)),
        (limits.otp_failures_per_hospital, (failed.hospital, failed.hospital_until)),
        (limits.otp_failures_per_address, (failed.address, failed.address_until)),
    ])
}

/// Verifies `code` for `patient_id` typed by `verifier`, once the doctor, their hospital and the
/// client address are within their budgets of failed tries (else 429: nothing compared, nothing
/// written). Only the codes this doctor asked for, and the patient's shared ones, are compared
/// (another doctor's code is just `otp_invalid`, and a wrong try does not count against it). A
/// wrong code counts against the doctor's budgets and every live SMS code this doctor asked
/// for; the `otp_max_attempts`th kills it. It never counts against a shared code: any doctor may
/// try one, so counting would let any doctor kill it for the doctor the patient gave it to;
/// the hospitals' budgets and its length bound its guessing instead. The right code of a used,
/// expired or killed request is told apart. Under the patient's lock, so two concurrent right
/// answers give one grant.
pub async fn verify(
    db: &PgPool,
    rules: &AccessRules,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: i64,
    verifier: Verifier,
    code: &OtpCode,
) -> Result<Verified, AccessError> {
    let mut tx = db.begin().await?;
    repo::lock_patient(&mut tx, patient_id).await?;
    let tried_by = FailedTry::from(&verifier);
    within_verify_budgets(&mut tx, &rules.settings, tried_by, address_of(meta)).await?;
    let candidates = repo::candidates(&mut tx, patient_id, verifier.doctor_id).await?;
    let matching =
        candidates.iter().find(|c| c.code_hmac.as_deref().is_some_and(|sealed| rules.key.matches(c.id, code, sealed)));
    if let Some(request) = matching {
        let refusal = match request.status.as_str() {
            "USED" => Some(OtpRefusal::Used),
            "LOCKED" => Some(OtpRefusal::Locked),
            _ if request.expired => Some(OtpRefusal::Expired),
            _ => None,
        };
        if let Some(refusal) = refusal {
            let event = AuditEvent::new("otp_refused")
                .by(caller)
                .target("patient", patient_id)
                .details(json!({ "otp_request_id": request.id, "reason": refusal.code() }));
            audit::record(&mut tx, meta, event).await?;
            tx.commit().await?;
            return Err(AccessError::Refused(refusal));
        }
        let (grant_id, expires_at) = repo::redeem(
            &mut tx,
            request.id,
            patient_id,
            verifier.doctor_id,
            verifier.hospital_id,
            // The grant is the login's that typed the code, not the account's.
            caller.session_id,
            rules.settings.grant_minutes,
        )
        .await?;
        let event = AuditEvent::new("access_granted")
            .by(caller)
            .target("patient", patient_id)
            .details(json!({ "grant_id": grant_id, "otp_request_id": request.id, "expires_at": expires_at }));
        audit::record(&mut tx, meta, event).await?;
        tx.commit().await?;
        return Ok(Verified { grant_id, expires_at });
    }
    let live: Vec<i64> = candidates.iter().filter(|c| c.is_live() && c.channel == "SMS").map(|c| c.id).collect();
    let still_live =
        if live.is_empty() { 0 } else { repo::count_failure(&mut tx, &live, rules.settings.otp_max_attempts).await? };
    let refusal =
        refusal_after_failure(&mut tx, &rules.settings, verifier.doctor_id, &verifier.subject, live.len(), still_live)
            .await?;
    repo::insert_failed_verification(&mut tx, tried_by.doctor_id, tried_by.hospital_id, address_of(meta)).await?;
    let event = AuditEvent::new("otp_refused")
        .by(caller)
        .target("patient", patient_id)
        .details(json!({ "reason": refusal.code(), "counted_against": live }));
    audit::record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Err(AccessError::Refused(refusal))
}

/// The refusal of a wrong try, once it was counted against `counted` live SMS codes (of which
/// `still_live` remain) and against this doctor's live requests for nobody under `subject`:
/// `otp_locked` when it killed the last live one it counted against, else `otp_invalid`. A
/// request for nobody dies on the same try as a real code would, so the answers never tell the
/// two apart.
async fn refusal_after_failure(
    tx: &mut sqlx::PgConnection,
    limits: &AccessSettings,
    doctor_id: i64,
    subject: &[u8; 32],
    counted: usize,
    still_live: i64,
) -> Result<OtpRefusal, AccessError> {
    let (unmatched, unmatched_live) =
        repo::count_unmatched_failure(tx, doctor_id, subject, limits.otp_ttl_minutes, limits.otp_max_attempts).await?;
    if counted == 0 && unmatched == 0 {
        return Ok(OtpRefusal::Invalid);
    }
    Ok(if still_live + unmatched_live == 0 { OtpRefusal::Locked } else { OtpRefusal::Invalid })
}

/// A doctor verified a code for nobody a code can be asked for (no patient has the typed id or
/// phone, or several share the phone): always `otp_invalid`, but within and counted against the
/// same budgets as a wrong try for a patient, and audited the same way, so that past a budget
/// the two get the same 429 (else 429 would mean somebody and 400 nobody).
pub async fn verify_nobody(
    db: &PgPool,
    rules: &AccessRules,
    caller: &Principal,
    meta: &RequestMeta,
    tried_by: FailedTry,
    subject: &[u8; 32],
) -> AccessError {
    let refused = async {
        let mut tx = db.begin().await?;
        within_verify_budgets(&mut tx, &rules.settings, tried_by, address_of(meta)).await?;
        repo::insert_failed_verification(&mut tx, tried_by.doctor_id, tried_by.hospital_id, address_of(meta)).await?;
        let refusal = refusal_after_failure(&mut tx, &rules.settings, tried_by.doctor_id, subject, 0, 0).await?;
        let event = AuditEvent::new("otp_refused")
            .by(caller)
            .details(json!({ "reason": refusal.code(), "counted_against": [] }));
        audit::record(&mut tx, meta, event).await?;
        tx.commit().await?;
        Ok::<_, AccessError>(AccessError::Refused(refusal))
    };
    refused.await.unwrap_or_else(|err| err)
}

/// The patient ends one of their grants now; a grant that already ended is left as it was.
pub async fn revoke(
    db: &PgPool,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: i64,
    grant_id: i64,
) -> Result<(), AccessError> {
    let mut tx = db.begin().await?;
    repo::lock_patient(&mut tx, patient_id).await?;
    match repo::revoke(&mut tx, patient_id, grant_id).await? {
        None => return Err(AccessError::NotFound),
        Some(false) => {}
        Some(true) => {
            let event = AuditEvent::new("access_revoked")
                .by(caller)
                .target("access_grant", grant_id)
                .details(json!({ "patient_id": patient_id }));
            audit::record(&mut tx, meta, event).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Shared by the desks of this process.
pub type Rules = Arc<AccessRules>;
