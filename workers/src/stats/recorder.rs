//! The writer of the per-minute counts ([`minutes`](super::minutes)), off the jobs' path: the
//! [`JobService`](crate::job_service::JobService) of every worker hands each attempt's outcome to
//! an [`OutcomeRecorder`] (a bounded channel: `try_send`, no await, no Redis round trip in the
//! job), and one task per worker process sums what has arrived by queue and minute and writes it
//! in one pipeline. Under load the writes batch themselves (whatever arrived while the previous
//! write ran goes in the next one).
//!
//! The counts are best effort: a failed write (Redis gone) is logged and its counts dropped, and
//! a full channel (the writer stuck behind Redis) drops an outcome; neither ever fails a job. On
//! shutdown the runtime [`finish`](RecorderTask::finish)es the task after the workers have
//! drained, so the last jobs' outcomes are written.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use apalis_redis::ConnectionManager;
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::minutes::{self, Counts, epoch_minute};
use crate::jobs::Queue;

/// Outcomes waiting for the writer; beyond this they are dropped.
const CAPACITY: usize = 4096;
/// Outcomes summed into one write at most.
const BATCH: usize = 10_000;
/// The longest a write may take before its counts are given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Failed: to be retried, or dead.
    Failed,
}

/// One attempt's end, as sent to the writer.
#[derive(Debug)]
struct Finished {
    queue: Queue,
    minute: i64,
    outcome: Outcome,
}

/// Where a worker reports each attempt's outcome (cheap to clone; one per worker process).
#[derive(Debug, Clone)]
pub struct OutcomeRecorder {
    tx: Option<mpsc::Sender<Finished>>,
    /// Set while outcomes are being dropped, so a full channel is logged once, not per job.
    dropping: Arc<AtomicBool>,
}

/// The writer task of an [`OutcomeRecorder`].
#[derive(Debug)]
pub struct RecorderTask {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl OutcomeRecorder {
    /// A recorder and its writer task, writing to `conn` within `namespace`.
    pub fn spawn(conn: ConnectionManager, namespace: String) -> (Self, RecorderTask) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let stop = CancellationToken::new();
        let task = tokio::spawn(write_loop(rx, conn, namespace, stop.clone()));
        (Self { tx: Some(tx), dropping: Arc::default() }, RecorderTask { stop, task })
    }

    /// A recorder that records nothing.
    pub fn disabled() -> Self {
        Self { tx: None, dropping: Arc::default() }
    }

    /// Records that an attempt of a `queue` job ended now with `outcome`. Never waits.
    pub fn record(&self, queue: Queue, outcome: Outcome) {
        let Some(tx) = &self.tx else { return };
        let finished = Finished { queue, minute: epoch_minute(Utc::now()), outcome };
        match tx.try_send(finished) {
            Ok(()) => {
                if self.dropping.load(Ordering::Relaxed) {
                    self.dropping.store(false, Ordering::Relaxed);
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("job_outcomes_dropped_total", "queue" => queue.name()).increment(1);
                if !self.dropping.swap(true, Ordering::Relaxed) {
                    tracing::warn!(queue = queue.name(), "job outcomes not counted: the per-minute writer is behind");
                }
            }
            // The writer has finished: the process is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl RecorderTask {
    /// Writes what has been recorded so far, then ends the task.
    pub async fn finish(self) {
        self.stop.cancel();
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "the per-minute writer failed");
        }
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<Finished>,
    mut conn: ConnectionManager,
    namespace: String,
    stop: CancellationToken,
) {
    loop {
        let mut counts = Counts::new();
        // Stopping (or every recorder dropped): write what is left, then end.
        let stopping = tokio::select! {
            received = rx.recv() => match received {
                Some(finished) => {
                    add(&mut counts, &finished);
                    false
                }
                None => true,
            },
            () = stop.cancelled() => true,
        };
        let mut taken = 1;
        while stopping || taken < BATCH {
            let Ok(finished) = rx.try_recv() else { break };
            add(&mut counts, &finished);
            taken += 1;
        }
        if !counts.is_empty() {
            write(&mut conn, &namespace, &counts).await;
        }
        if stopping {
            break;
        }
    }
}

fn add(counts: &mut Counts, finished: &Finished) {
    let entry = counts.entry((finished.queue, finished.minute)).or_default();
    match finished.outcome {
        Outcome::Done => entry.0 += 1,
        Outcome::Failed => entry.1 += 1,
    }
}

async fn write(conn: &mut ConnectionManager, namespace: &str, counts: &Counts) {
    match tokio::time::timeout(WRITE_TIMEOUT, minutes::add(conn, namespace, counts)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "writing the per-minute job counts failed; dropped"),
        Err(_) => tracing::warn!("writing the per-minute job counts timed out; dropped"),
    }
}
