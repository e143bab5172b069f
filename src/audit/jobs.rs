//! The audit context's job: [`VerifyAuditChain`], the chain verification an admin asks for from
//! the console (`verifications::request_verification`). Web processes do not hold `AUDIT_KEY`,
//! so the check runs in a worker (`carehub work` or `dev`, which load it): the handler marks the
//! verification RUNNING, runs [`verify_chain`](super::verify_chain) and writes the verdict once
//! (a compare-and-set on RUNNING), so a job delivered twice writes one verdict. A worker without
//! the key fails the job at once, with a FAILED verdict saying so.

use carehub_workers::{
    Handler, JobContext, JobResult,
    apalis::prelude::AbortError,
    jobs::{Job, Queue},
};
use serde::{Deserialize, Serialize};

use super::{
    chain::AuditKey,
    head::ChainHead,
    repo::verifications::{self, Outcome, Verdict},
    verify::{ChainReport, verify_chain},
};

/// Verify the sealed chain for one `audit_verifications` row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyAuditChain {
    pub verification_id: i64,
}

impl Job for VerifyAuditChain {
    const QUEUE: Queue = Queue::new("carehub:audit");
    const NAME: &'static str = "VerifyAuditChain";
}

/// Why a verification could not run at all: retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CannotVerify(&'static str);

const NO_KEY: &str = "this worker does not hold AUDIT_KEY (only `carehub work` and `dev` load it)";

/// The handler of [`VerifyAuditChain`], checking with `key` (`None` in a process that did not
/// load `AUDIT_KEY`: every job then fails permanently).
pub fn verify_audit_chain(key: Option<AuditKey>) -> impl Handler<VerifyAuditChain> {
    move |job: VerifyAuditChain, ctx: JobContext| {
        let key = key.clone();
        async move { run(key.as_ref(), job.verification_id, &ctx).await }
    }
}

async fn run(key: Option<&AuditKey>, id: i64, ctx: &JobContext) -> JobResult {
    if !verifications::start(&ctx.db, id).await? {
        tracing::info!(audit_verification.id = id, "chain verification not run: it already has its verdict");
        return Ok(());
    }
    let Some(key) = key else {
        let verdict = Verdict { reason: Some(NO_KEY.to_owned()), ..Verdict::default() };
        verifications::finish(&ctx.db, id, Outcome::Failed, &verdict).await?;
        tracing::error!(audit_verification.id = id, "chain verification failed: {NO_KEY}");
        return Err(AbortError::new(CannotVerify(NO_KEY)).into());
    };
    let (outcome, verdict) = match verify_chain(&ctx.db, key).await {
        Ok(report) => judged(&report),
        Err(err) if ctx.is_last_attempt() => {
            tracing::error!(audit_verification.id = id, error = %err, "chain verification failed");
            (Outcome::Failed, Verdict { reason: Some(short_error(&err).to_owned()), ..Verdict::default() })
        }
        Err(err) => {
            tracing::warn!(audit_verification.id = id, error = %err, attempt = ctx.attempt(), "chain verification failed; retrying");
            return Err(err.into());
        }
    };
    verifications::finish(&ctx.db, id, outcome, &verdict).await?;
    tracing::info!(audit_verification.id = id, outcome = outcome.as_str(), rows = ?verdict.rows_checked, "chain verified");
    Ok(())
}

/// The verdict of a finished check.
fn judged(report: &ChainReport) -> (Outcome, Verdict) {
    match report {
        ChainReport::Intact { rows, head } => (
            Outcome::Intact,
            Verdict {
                rows_checked: Some(i64::try_from(*rows).unwrap_or(i64::MAX)),
                head_position: head.as_ref().map(|h| h.position),
                head_hash: head.as_ref().map(ChainHead::hash_hex),
                ..Verdict::default()
            },
        ),
        ChainReport::Broken { row_id, position, rows_checked, reason } => (
            Outcome::Broken,
            Verdict {
                rows_checked: Some(i64::try_from(*rows_checked).unwrap_or(i64::MAX)),
                broken_row_id: Some(*row_id),
                broken_position: Some(*position),
                reason: Some((*reason).to_owned()),
                ..Verdict::default()
            },
        ),
    }
}

/// What a FAILED verdict says of an error: its kind only (the log has the cause; a database
/// error's text can quote a row).
fn short_error(err: &anyhow::Error) -> &'static str {
    match err.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => "no database connection was available",
        Some(sqlx::Error::Io(_) | sqlx::Error::Tls(_)) => "the database connection was lost",
        Some(_) => "a database error stopped the check (see the worker's log)",
        None => "the check stopped on an error (see the worker's log)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_holds_the_verification_id_only() {
        let json = serde_json::to_string(&VerifyAuditChain { verification_id: 7 }).expect("json");
        assert_eq!(json, r#"{"verification_id":7}"#);
    }

    #[test]
    fn a_broken_chain_names_its_row_and_an_intact_one_its_head() {
        let broken = ChainReport::Broken { row_id: 9, position: 4, rows_checked: 3, reason: "edited" };
        let (outcome, verdict) = judged(&broken);
        assert_eq!(outcome, Outcome::Broken);
        assert_eq!((verdict.broken_row_id, verdict.broken_position, verdict.rows_checked), (Some(9), Some(4), Some(3)));
        assert_eq!(verdict.reason.as_deref(), Some("edited"));

        let head = ChainHead { position: 5, hash: vec![0xab; 32] };
        let (outcome, verdict) = judged(&ChainReport::Intact { rows: 5, head: Some(head) });
        assert_eq!(outcome, Outcome::Intact);
        assert_eq!((verdict.rows_checked, verdict.head_position), (Some(5), Some(5)));
        assert_eq!(verdict.head_hash, Some("ab".repeat(32)));
        assert_eq!(verdict.broken_row_id, None);
    }
}
