//! The scan's jobs: [`ScanFile`] (queued through the outbox with the upload's transaction) scans
//! one file ([`super::scan::scan`]); the [`RescanPending`] schedule queues a new scan for every
//! file still PENDING a minute after its upload, so a file whose job went dead while clamd was
//! down is scanned once clamd is back. Payloads carry the file's id only.

use std::sync::Arc;

use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue, Scheduled},
    outbox,
    scan::Clamd,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{repo, scan::scan, storage::Storage};

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
    for file_id in repo::pending_since(db, RESCAN_AFTER_SECONDS, RESCAN_LIMIT).await? {
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
