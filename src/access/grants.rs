//! Access grants, the rules after a code gave one: a patient's list of who can read their
//! records, and revocation (under the patient's advisory lock, as codes are). A grant is made
//! by a verified code ([`super::otp::verify`]); who may read records with one is decided by
//! `records::policy`, through [`live_grant`].

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{model::Grant, repo, service::AccessError};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    ids::{DoctorId, PatientId},
};

/// The patient's grants that are live or ended within the last 30 days, newest first; and their
/// count.
pub async fn of_patient(
    db: &PgPool,
    patient_id: PatientId,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<Grant>), AccessError> {
    let mut conn = db.acquire().await?;
    Ok(repo::grants::grants_of(&mut conn, patient_id, limit, offset).await?)
}

/// The live grant (`id`) `doctor_id` holds for `patient_id` through the caller's login (see
/// [`repo::grants::live_grant`]).
pub async fn live_grant(
    conn: &mut PgConnection,
    caller: &Principal,
    doctor_id: DoctorId,
    patient_id: PatientId,
) -> sqlx::Result<Option<i64>> {
    repo::grants::live_grant(conn, caller.session_id, doctor_id, patient_id).await
}

/// The patient ends one of their grants now; a grant that already ended is left as it was.
pub async fn revoke(
    db: &PgPool,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: PatientId,
    grant_id: i64,
) -> Result<(), AccessError> {
    let mut tx = db.begin().await?;
    repo::lock_patient(&mut tx, patient_id).await?;
    match repo::grants::revoke(&mut tx, patient_id, grant_id).await? {
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
