//! The outbox relay: moves committed outbox rows to their Redis queue, oldest first, in batches,
//! and marks them sent. `FOR UPDATE SKIP LOCKED` lets several relays run without pushing one
//! row twice; each row's task id is derived from the row (its creation time and id), so even a
//! row pushed again after a crash lands on the same task, which Redis keeps only once.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use apalis_redis::ConnectionManager;
use sqlx::{PgPool, postgres::PgListener};
use tokio_util::sync::CancellationToken;

use crate::{
    outbox::repo::{self, Pending},
    push::{Push, task_id},
    registry::Registry,
};

/// A producer for every registered kind, by the kind's stable name (the outbox's `job_type`).
#[derive(Clone)]
pub struct Pushers {
    by_type: BTreeMap<&'static str, Arc<dyn Push>>,
}

impl Pushers {
    pub fn new(registry: &Registry, conn: &ConnectionManager, namespace: &str) -> Self {
        let by_type =
            registry.entries().iter().map(|kind| (kind.info().name, kind.pusher(conn.clone(), namespace))).collect();
        Self { by_type }
    }

    /// The job types this relay moves to Redis.
    pub fn job_types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_type.keys().copied()
    }

    /// Pushes the row's job; `Ok(false)` for a job type this build does not know.
    async fn push(&self, row: &Pending) -> anyhow::Result<bool> {
        let Some(pusher) = self.by_type.get(row.job_type.as_str()) else {
            return Ok(false);
        };
        pusher.push(row.payload.clone(), task_id(row.id, row.created_at)).await?;
        Ok(true)
    }
}

/// Relays one batch; returns how many rows it marked sent. A Redis failure rolls the batch
/// back (rows pushed before it are pushed again later, harmlessly).
pub async fn relay_once(db: &PgPool, pushers: &Pushers, batch: i64) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    let rows = repo::lock_due(&mut tx, batch).await?;
    let mut sent = Vec::with_capacity(rows.len());
    for row in &rows {
        if pushers.push(row).await? {
            sent.push(row.id);
        } else {
            // Parked, not lost: a newer build that knows the type will pick it up.
            tracing::error!(outbox.id = row.id, job_type = %row.job_type, "unknown job type in the outbox; parked for an hour");
            repo::park_unknown(&mut tx, row.id).await?;
        }
    }
    repo::mark_sent(&mut tx, &sent).await?;
    tx.commit().await?;
    if !sent.is_empty() {
        metrics::counter!("outbox_relayed_total").increment(sent.len() as u64);
    }
    Ok(sent.len())
}

/// Relays until `shutdown`: woken by the outbox's NOTIFY as soon as a job commits, and by a
/// poll every `idle` in case a notification was missed (or Postgres restarted).
pub async fn run(db: PgPool, pushers: Pushers, batch: i64, idle: Duration, shutdown: CancellationToken) {
    let mut listener = match PgListener::connect_with(&db).await {
        Ok(mut listener) => match listener.listen("carehub_outbox").await {
            Ok(()) => Some(listener),
            Err(err) => {
                tracing::warn!(error = %err, "outbox LISTEN failed; relaying by polling only");
                None
            }
        },
        Err(err) => {
            tracing::warn!(error = %err, "outbox listener unavailable; relaying by polling only");
            None
        }
    };
    let mut backoff = Duration::from_millis(200);
    tracing::info!("outbox relay started");
    while !shutdown.is_cancelled() {
        match relay_once(&db, &pushers, batch).await {
            Ok(n) if n as i64 == batch => continue,
            Ok(_) => backoff = Duration::from_millis(200),
            Err(err) => {
                tracing::warn!(error = %crate::redact::Redacted(&err), retry_in_ms = backoff.as_millis() as u64, "outbox relay failed; will retry");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        }
        let wake = async {
            match listener.as_mut() {
                Some(listener) => {
                    if let Ok(Err(_)) = tokio::time::timeout(idle, listener.recv()).await {
                        // The listener lost its connection: poll until it is back.
                        tokio::time::sleep(idle).await;
                    }
                }
                None => tokio::time::sleep(idle).await,
            }
        };
        tokio::select! {
            () = wake => {}
            () = shutdown.cancelled() => break,
        }
    }
    tracing::info!("outbox relay stopped");
}
