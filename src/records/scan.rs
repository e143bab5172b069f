//! Virus scanning of uploaded files: the [`ScanFile`] job (queued through the outbox with the
//! upload's transaction) streams the object to clamd and writes the verdict once, by a
//! compare-and-set; the [`RescanPending`] schedule queues a new scan for every file still
//! PENDING a minute after its upload, so a file whose job went dead while clamd was down is
//! scanned once clamd is back. Payloads carry the file's id only.
//!
//! A file is CLEAN only when clamd read it to its end and found nothing. The other answers:
//! a signature → INFECTED; a limit reached (`Heuristics.Limits.Exceeded.*`, which clamd reports
//! with `AlertExceedsMax yes`: the file was not read whole) → FAILED at once, the same answer
//! would come again; a refusal or error answer (`INSTREAM size limit exceeded`) or no answer in
//! time → retried, and FAILED at the `scan.max_attempts`-th such answer, so such a file is never
//! rescanned forever. clamd unreachable is retried without counting: the file waits for clamd.
//! [`check_clamd_takes`] checks at the worker's start that clamd takes a file of the upload limit.

use std::sync::Arc;

use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue, Scheduled},
    outbox,
    scan::{Clamd, ScanError, Verdict},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use super::{files, storage::Storage};
use crate::audit::{self, AuditEvent, RequestMeta};

/// Files still PENDING this long after their upload are queued again by [`RescanPending`].
pub const RESCAN_AFTER_SECONDS: i64 = 60;
/// Files one rescan tick queues at most.
const RESCAN_LIMIT: i64 = 1000;

/// Scan one stored file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScanFile {
    pub file_id: i64,
}

impl Job for ScanFile {
    const QUEUE: Queue = Queue::new("carehub:file-scan");
    const NAME: &'static str = "ScanFile";
}

/// The dedupe key of a file's first scan job.
pub fn scan_key(file_id: i64) -> String {
    format!("scan:{file_id}")
}

/// Queues the scan of `file_id` inside the caller's transaction (the upload's).
pub async fn enqueue(conn: &mut sqlx::PgConnection, file_id: i64) -> sqlx::Result<bool> {
    outbox::enqueue(conn, &ScanFile { file_id }, Some(&scan_key(file_id))).await
}

/// The outcome of one scan run, for tests and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The row is gone, or its result was already written.
    Nothing,
    /// This run wrote the status.
    Wrote(&'static str),
}

/// The handler of [`ScanFile`], reading from the store of `storage_url` (opened at its first
/// job, so that building the registry opens nothing) and scanning with `clamd`; a file clamd
/// answers without a verdict `max_attempts` times is FAILED.
pub fn scan_file(storage_url: String, clamd: Clamd, max_attempts: u32) -> impl Handler<ScanFile> {
    let storage: Arc<tokio::sync::OnceCell<Storage>> = Arc::default();
    move |job: ScanFile, ctx: JobContext| {
        let (storage, clamd, url) = (storage.clone(), clamd.clone(), storage_url.clone());
        async move {
            let storage = storage.get_or_try_init(|| async { Storage::from_url(&url) }).await?;
            scan(&ctx.db, storage, &clamd, max_attempts, job.file_id).await?;
            JobResult::Ok(())
        }
    }
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
    let Some((key, status)) = files::start_scan(db, file_id).await? else {
        return Ok(Outcome::Nothing);
    };
    if status != "PENDING" {
        return Ok(Outcome::Nothing);
    }
    let Some((_, bytes)) = storage.read(&key).await.map_err(ScanJobError::Store)? else {
        tracing::error!(file_id, "stored file missing; scan FAILED");
        return record(db, file_id, "FAILED", Some("the stored object is missing"), None).await;
    };
    match clamd.scan(bytes).await {
        Ok(Verdict::Clean) => record(db, file_id, "CLEAN", None, None).await,
        Ok(Verdict::Infected(signature)) => {
            tracing::warn!(file_id, signature = %signature, "infected upload");
            record(db, file_id, "INFECTED", Some(&signature), Some(&signature)).await
        }
        Ok(Verdict::Unscanned(signature)) => {
            tracing::warn!(file_id, signature = %signature, "clamd could not scan the whole file; FAILED");
            let detail = format!("clamd could not scan the whole file: {signature}");
            record(db, file_id, "FAILED", Some(&detail), None).await
        }
        Err(ScanError::Unavailable(err)) => {
            tracing::warn!(file_id, error = %err, clamd = clamd.addr(), "clamd unavailable; will retry");
            Err(ScanJobError::Clamd(ScanError::Unavailable(err)))
        }
        Err(err) => {
            let Some(refusals) = files::count_refusal(db, file_id).await? else {
                return Ok(Outcome::Nothing);
            };
            if refusals >= i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX) {
                tracing::warn!(file_id, refusals, error = %err, "clamd gave no verdict; scan FAILED");
                let detail = format!("clamd gave no verdict {refusals} times: {err}");
                return record(db, file_id, "FAILED", Some(&detail), None).await;
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
    status: &'static str,
    detail: Option<&str>,
    signature: Option<&str>,
) -> Result<Outcome, ScanJobError> {
    let mut tx = db.begin().await?;
    if !files::finish_scan(&mut tx, file_id, status, detail).await? {
        return Ok(Outcome::Nothing);
    }
    let event = AuditEvent::new("file_scanned")
        .target("stored_file", file_id)
        .details(json!({ "status": status, "signature": signature }));
    audit::record(&mut tx, &RequestMeta::default(), event).await.map_err(ScanJobError::Audit)?;
    tx.commit().await?;
    tracing::info!(file_id, status, "file scanned");
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

/// The rescan of one clock tick.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RescanPending {
    pub tick: String,
}

impl Job for RescanPending {
    const QUEUE: Queue = Queue::new("carehub:file-rescan");
    const NAME: &'static str = "RescanPending";
}

impl Scheduled for RescanPending {
    fn at(tick: DateTime<Utc>) -> Self {
        Self { tick: tick.to_rfc3339() }
    }
}

/// The handler of [`RescanPending`].
pub async fn rescan_pending(job: RescanPending, ctx: JobContext) -> JobResult {
    let queued = rescan(&ctx.db, &job.tick).await?;
    if queued > 0 {
        tracing::info!(tick = %job.tick, queued, "pending files queued for another scan");
    }
    Ok(())
}

/// Queues a scan of every file PENDING for over [`RESCAN_AFTER_SECONDS`], once per file and tick.
pub async fn rescan(db: &PgPool, tick: &str) -> sqlx::Result<usize> {
    let mut queued = 0;
    for file_id in files::pending_since(db, RESCAN_AFTER_SECONDS, RESCAN_LIMIT).await? {
        let mut tx = db.begin().await?;
        if outbox::enqueue(&mut tx, &ScanFile { file_id }, Some(&format!("rescan:{file_id}:{tick}"))).await? {
            queued += 1;
        }
        tx.commit().await?;
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_payload_is_the_file_id_only() {
        assert_eq!(serde_json::to_string(&ScanFile { file_id: 7 }).expect("json"), r#"{"file_id":7}"#);
        assert_eq!(scan_key(7), "scan:7");
    }
}
