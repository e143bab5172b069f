//! "Verify the chain" from the console: an admin's request opens a verification and queues its
//! job ([`VerifyAuditChain`], run by a worker holding `AUDIT_KEY`) in one transaction with the
//! outbox row and the audit row; the console then lists the latest verdicts.
//!
//! At most one verification waits or runs at a time (a unique index on open rows): a request
//! while one is open answers that one's id and queues nothing, however many arrive at once.

use carehub_workers::outbox;
use sqlx::PgPool;

use super::{
    jobs::VerifyAuditChain,
    model::{AuditEvent, RequestMeta},
    repo::verifications::{self, Verification},
};
use crate::{accounts::model::Principal, http::error::ApiError, state::AppState};

/// Queues a verification of the chain (admins only) and returns its id, or the id of the one
/// already waiting or running.
pub async fn request_verification(state: &AppState, caller: &Principal, meta: &RequestMeta) -> Result<i64, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("Only administrators can verify the audit chain."));
    }
    // Two tries: an open verification seen as a conflict may finish before it is read back.
    for _ in 0..2 {
        let mut tx = state.db.begin().await?;
        verifications::close_abandoned(&mut tx).await?;
        if let Some(id) = verifications::open(&mut tx, caller.user_id).await? {
            outbox::enqueue(&mut tx, &VerifyAuditChain { verification_id: id }, Some(&format!("audit-verify:{id}")))
                .await?;
            let event =
                AuditEvent::new("audit_chain_verification_requested").by(caller).target("audit_verification", id);
            super::record(&mut tx, meta, event).await?;
            tx.commit().await?;
            tracing::info!(audit_verification.id = id, "chain verification queued");
            return Ok(id);
        }
        if let Some(id) = verifications::open_id(&mut tx).await? {
            tx.commit().await?;
            return Ok(id);
        }
        tx.rollback().await?;
    }
    Err(ApiError::Internal(anyhow::anyhow!("no verification could be opened or found open")))
}

/// The latest `limit` verifications, newest first (with their verdicts once they have one).
pub async fn latest_verifications(db: &PgPool, limit: i64) -> sqlx::Result<Vec<Verification>> {
    verifications::latest(db, limit).await
}
