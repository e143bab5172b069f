//! Virus scanning of one uploaded file: the object streamed to clamd and its verdict written once
//! as a [`ScanStatus`], by a compare-and-set, with its audit row. (The jobs that run it are in
//! [`super::jobs`].)
//!
//! A file is CLEAN only when clamd read it to its end and found nothing. The other answers:
//! a signature → INFECTED; a limit reached (`Heuristics.Limits.Exceeded.*`, which clamd reports
//! with `AlertExceedsMax yes`: the file was not read whole) → FAILED at once, the same answer
//! would come again; a refusal or error answer (`INSTREAM size limit exceeded`) or no answer in
//! time → retried, and FAILED at the `scan.max_attempts`-th such answer, so such a file is never
//! rescanned forever. clamd unreachable is retried without counting: the file waits for clamd.
//! [`check_clamd_takes`] checks at the worker's start that clamd takes a file of the upload limit.
//!
//! clamd's own answer is a [`Verdict`] of the workers crate (the clamd client lives there, and
//! the workers crate cannot see this one); turning it into a [`ScanStatus`] happens here only.

use carehub_workers::scan::{Clamd, ScanError, Verdict};
use serde_json::json;
use sqlx::PgPool;

use super::{model::ScanStatus, repo, storage::Storage};
use crate::audit::{self, AuditEvent, RequestMeta};

/// The outcome of one scan run, for tests and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The row is gone, or its result was already written.
    Nothing,
    /// This run wrote the status.
    Wrote(ScanStatus),
}

/// Scans one file: a file no longer PENDING (or gone) is done; a missing object is FAILED; clamd
/// down is an error the platform retries (the file stays PENDING, and the rescan schedule queues
/// it again later if the retries run out); clamd answering without a verdict (a refusal, an
/// error, too slow) is retried too, until the `max_attempts`-th such answer makes it FAILED.
pub async fn scan(
    db: &PgPool,
    storage: &Storage,
    clamd: &Clamd,
    max_attempts: u32,
    file_id: i64,
) -> Result<Outcome, ScanJobError> {
    let Some((key, status)) = repo::start_scan(db, file_id).await? else {
        return Ok(Outcome::Nothing);
    };
    if status != ScanStatus::Pending {
        return Ok(Outcome::Nothing);
    }
    let Some((_, bytes)) = storage.read(&key).await.map_err(ScanJobError::Store)? else {
        tracing::error!(file_id, "stored file missing; scan FAILED");
        return record(db, file_id, ScanStatus::Failed, Some("the stored object is missing"), None).await;
    };
    match clamd.scan(bytes).await {
        Ok(Verdict::Clean) => record(db, file_id, ScanStatus::Clean, None, None).await,
        Ok(Verdict::Infected(signature)) => {
            tracing::warn!(file_id, signature = %signature, "infected upload");
            record(db, file_id, ScanStatus::Infected, Some(&signature), Some(&signature)).await
        }
        Ok(Verdict::Unscanned(signature)) => {
            tracing::warn!(file_id, signature = %signature, "clamd could not scan the whole file; FAILED");
            let detail = format!("clamd could not scan the whole file: {signature}");
            record(db, file_id, ScanStatus::Failed, Some(&detail), None).await
        }
        Err(ScanError::Unavailable(err)) => {
            tracing::warn!(file_id, error = %err, clamd = clamd.addr(), "clamd unavailable; will retry");
            Err(ScanJobError::Clamd(ScanError::Unavailable(err)))
        }
        Err(err) => {
            let Some(refusals) = repo::count_refusal(db, file_id).await? else {
                return Ok(Outcome::Nothing);
            };
            if refusals >= i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX) {
                tracing::warn!(file_id, refusals, error = %err, "clamd gave no verdict; scan FAILED");
                let detail = format!("clamd gave no verdict {refusals} times: {err}");
                return record(db, file_id, ScanStatus::Failed, Some(&detail), None).await;
            }
            tracing::warn!(file_id, refusals, error = %err, clamd = clamd.addr(), "scan not done; will retry");
            Err(ScanJobError::Clamd(err))
        }
    }
}

/// At a worker's start: clamd must take a file of `upload_limit` bytes whole, or every upload
/// near the limit would end FAILED. A refusal (`StreamMaxLength`) or a reached limit
/// (`MaxFileSize`, `MaxScanSize` with `AlertExceedsMax`) is an error naming both settings; a
/// clamd that cannot be reached now is a warning (its readiness check reports it).
pub async fn check_clamd_takes(clamd: &Clamd, upload_limit: u64) -> anyhow::Result<()> {
    match clamd.probe(upload_limit).await {
        Ok(Verdict::Clean | Verdict::Infected(_)) => Ok(()),
        Ok(Verdict::Unscanned(answer)) => anyhow::bail!(
            "records.upload_limit_bytes is {upload_limit} bytes but clamd at {} stops before the end of a file that \
             large ({answer}): raise MaxFileSize and MaxScanSize in clamd.conf, or lower the upload limit",
            clamd.addr()
        ),
        Err(ScanError::Refused(answer)) => anyhow::bail!(
            "records.upload_limit_bytes is {upload_limit} bytes but clamd at {} refuses a stream that large \
             ({answer}): raise StreamMaxLength (and MaxFileSize, MaxScanSize) in clamd.conf, or lower the upload limit",
            clamd.addr()
        ),
        Err(err) => {
            tracing::warn!(clamd = clamd.addr(), error = %err, upload_limit, "could not check clamd's stream limit at start");
            Ok(())
        }
    }
}

async fn record(
    db: &PgPool,
    file_id: i64,
    status: ScanStatus,
    detail: Option<&str>,
    signature: Option<&str>,
) -> Result<Outcome, ScanJobError> {
    let mut tx = db.begin().await?;
    if !repo::finish_scan(&mut tx, file_id, status, detail).await? {
        return Ok(Outcome::Nothing);
    }
    let event = AuditEvent::new("file_scanned")
        .target("stored_file", file_id)
        .details(json!({ "status": status, "signature": signature }));
    audit::record(&mut tx, &RequestMeta::default(), event).await.map_err(ScanJobError::Audit)?;
    tx.commit().await?;
    tracing::info!(file_id, status = %status, "file scanned");
    Ok(Outcome::Wrote(status))
}

/// Why a scan run failed (each retried by the platform).
#[derive(Debug, thiserror::Error)]
pub enum ScanJobError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("object store: {0}")]
    Store(anyhow::Error),
    #[error("audit: {0}")]
    Audit(anyhow::Error),
    #[error(transparent)]
    Clamd(#[from] carehub_workers::scan::ScanError),
}
