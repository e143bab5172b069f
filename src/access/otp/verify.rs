//! Verifying a typed code within the failed-try budgets: single use, an SMS code killed by the
//! `otp_max_attempts`th wrong try, at most one grant per code; and a try for nobody, refused as
//! a wrong one is and counted alike.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{
    budgets::{FailedTry, address_of, within_verify_budgets},
    code::{OtpCode, OtpRefusal},
};
use crate::{
    access::{
        repo,
        service::{AccessError, AccessRules},
    },
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    config::AccessSettings,
    ids::{DoctorId, HospitalId, PatientId},
};

/// A verified code: the grant it gave.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub grant_id: i64,
    pub expires_at: DateTime<Utc>,
}

/// The doctor who verifies, with the hospital the grant is recorded under.
#[derive(Debug, Clone, Copy)]
pub struct Verifier {
    pub doctor_id: DoctorId,
    pub hospital_id: HospitalId,
    /// [`super::code::OtpKey::subject`] of what the doctor typed to name the patient: wrong
    /// tries count against requests this doctor made for nobody under it too (a patient without
    /// a phone is asked for as nobody is).
    pub subject: [u8; 32],
}

impl From<&Verifier> for FailedTry {
    fn from(verifier: &Verifier) -> Self {
        Self { doctor_id: verifier.doctor_id, hospital_id: verifier.hospital_id }
    }
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
    patient_id: PatientId,
    verifier: Verifier,
    code: &OtpCode,
) -> Result<Verified, AccessError> {
    let mut tx = db.begin().await?;
    repo::lock_patient(&mut tx, patient_id).await?;
    let tried_by = FailedTry::from(&verifier);
    within_verify_budgets(&mut tx, &rules.settings, tried_by, address_of(meta)).await?;
    let candidates = repo::requests::candidates(&mut tx, patient_id, verifier.doctor_id).await?;
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
        let (grant_id, expires_at) = repo::grants::redeem(
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
    let max_attempts = rules.settings.otp_max_attempts;
    let still_live =
        if live.is_empty() { 0 } else { repo::requests::count_failure(&mut tx, &live, max_attempts).await? };
    let refusal =
        refusal_after_failure(&mut tx, &rules.settings, verifier.doctor_id, &verifier.subject, live.len(), still_live)
            .await?;
    repo::failures::insert_failed_verification(&mut tx, tried_by.doctor_id, tried_by.hospital_id, address_of(meta))
        .await?;
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
    tx: &mut PgConnection,
    limits: &AccessSettings,
    doctor_id: DoctorId,
    subject: &[u8; 32],
    counted: usize,
    still_live: i64,
) -> Result<OtpRefusal, AccessError> {
    let (ttl, max_attempts) = (limits.otp_ttl_minutes, limits.otp_max_attempts);
    let (unmatched, unmatched_live) =
        repo::unmatched::count_unmatched_failure(tx, doctor_id, subject, ttl, max_attempts).await?;
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
        let FailedTry { doctor_id, hospital_id } = tried_by;
        repo::failures::insert_failed_verification(&mut tx, doctor_id, hospital_id, address_of(meta)).await?;
        let refusal = refusal_after_failure(&mut tx, &rules.settings, doctor_id, subject, 0, 0).await?;
        let event = AuditEvent::new("otp_refused")
            .by(caller)
            .details(json!({ "reason": refusal.code(), "counted_against": [] }));
        audit::record(&mut tx, meta, event).await?;
        tx.commit().await?;
        Ok::<_, AccessError>(AccessError::Refused(refusal))
    };
    refused.await.unwrap_or_else(|err| err)
}
