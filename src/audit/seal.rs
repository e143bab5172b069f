//! The sealer: gives committed audit rows their position in the chain and their keyed hash, in
//! batches, written beside them into `audit_seals` (the audit rows themselves are never
//! touched), and publishes each new chain head (an INFO log line with the whole head,
//! `POSITION:HASH`, and two `/metrics` gauges) for witnesses outside the database.
//!
//! It lives here, in the audit context, rather than in `carehub-workers`: the SQL over
//! `audit_log` belongs to this context, the workers crate cannot call into this crate (this crate
//! depends on it, not the other way round), and the sealer is no job (nothing is queued, Redis is
//! not involved) but a loop like the outbox relay. `carehub work` (and `carehub dev`) start
//! [`run`] beside the workers with the same shutdown token.
//!
//! Order: a row is sealed once its transaction has committed, since only then can the sealer see
//! it. Each round takes the visible rows without a seal by id (above the [`Floor`]) and numbers
//! them after the current head, so a transaction that began early (low id) and committed late is
//! sealed in a later round at a later position; positions, not ids, are the chain's order. One
//! sealer at a time: each round holds an advisory lock for its transaction, and a sealer that
//! finds it taken skips the round.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use super::floor::Floor;
pub use super::model::{Round, SealerSettings};
use super::{
    chain::{AuditKey, GENESIS},
    head::ChainHead,
    repo::seals,
};
use crate::locks::{self, LockSpace};

/// The last sealed row, if any.
pub async fn head(db: &PgPool) -> anyhow::Result<Option<ChainHead>> {
    Ok(seals::head(&mut *db.acquire().await?).await?)
}

/// Seals up to `batch` committed rows above `floor` in one transaction, oldest id first, and
/// moves the floor up when it may.
pub async fn seal_batch(db: &PgPool, key: &AuditKey, batch: i64, floor: &mut Floor) -> anyhow::Result<Round> {
    let mut tx = db.begin().await?;
    // Held by the sealing transaction only; appending takes no lock at all.
    let locked = locks::try_xact_lock(&mut tx, LockSpace::AuditSealer, locks::Key::Id(0)).await?;
    if !locked {
        return Ok(Round::Busy);
    }
    floor.start_round(&mut tx).await?;
    // Each statement reads a fresh snapshot taken after the lock was granted, so the previous
    // sealer's batch (committed before it let go of the lock) is visible here.
    let rows = seals::unsealed(&mut tx, floor.below, batch).await?;
    if rows.is_empty() {
        floor.end_round(&mut tx, true, None).await?;
        return Ok(Round::Idle);
    }
    let previous = seals::head(&mut tx).await?;
    let (mut position, mut prev_hash) = previous.map_or((0, GENESIS.to_vec()), |head| (head.position, head.hash));
    let (mut ids, mut positions, mut prevs, mut hashes) = (vec![], vec![], vec![], vec![]);
    for row in &rows {
        position += 1;
        let hash = key.seal(&prev_hash, &row.canonical(Some(position))?);
        ids.push(row.id);
        positions.push(position);
        prevs.push(std::mem::replace(&mut prev_hash, hash.clone()));
        hashes.push(hash);
    }
    let written = seals::append(&mut tx, &ids, &positions, &prevs, &hashes).await?;
    anyhow::ensure!(written == rows.len() as u64, "sealed {written} of {} audit rows; rolled back", rows.len());
    tx.commit().await?;
    let drained = (rows.len() as i64) < batch;
    floor.end_round(&mut *db.acquire().await?, drained, ids.last().copied()).await?;
    Ok(Round::Sealed { rows: rows.len(), head: ChainHead { position, hash: prev_hash } })
}

/// Seals every row committed before the call (waiting for another sealer's round if one is
/// running) and returns the head. For tests and tools; the worker process runs [`run`]. It
/// starts from a floor of 0, so it also finds rows a running sealer has not reached.
pub async fn seal_pending(db: &PgPool, key: &AuditKey) -> anyhow::Result<Option<ChainHead>> {
    let mut floor = Floor::default();
    loop {
        match seal_batch(db, key, 1000, &mut floor).await? {
            Round::Busy => tokio::time::sleep(Duration::from_millis(20)).await,
            Round::Idle => return head(db).await,
            Round::Sealed { rows, head } => publish(&head, rows),
        }
    }
}

/// Announces a new head: the log line and the gauges a witness records. The line carries the
/// whole head as `audit.head = POSITION:HASH` (all 64 hex digits), exactly what
/// `carehub audit-verify --head` takes; the gauges only the hash's first 48 bits.
fn publish(head: &ChainHead, rows: usize) {
    tracing::info!(
        audit.head = %head,
        audit.head.position = head.position,
        audit.head.hash = %head.hash_hex(),
        sealed = rows,
        "audit chain head"
    );
    metrics::counter!("audit_rows_sealed_total").increment(rows as u64);
    metrics::gauge!("audit_chain_head_hash_prefix").set(head.hash_prefix() as f64);
    metrics::gauge!("audit_chain_head_position").set(head.position as f64);
}

/// Seals until `shutdown`: a round every `interval` (and at once again after a full batch), so
/// a row is sealed well within a second of its commit. A round in progress finishes before the
/// function returns. Errors (the database away) are logged and retried with a growing pause.
pub async fn run(db: PgPool, settings: SealerSettings, shutdown: CancellationToken) {
    tracing::info!(interval_ms = settings.interval.as_millis() as u64, "audit sealer started");
    // A restarted sealer republishes the head it finds, so the gauges are never empty for long.
    if let Ok(Some(head)) = head(&db).await {
        publish(&head, 0);
    }
    let mut floor = Floor::default();
    let mut backoff = Duration::from_millis(250);
    while !shutdown.is_cancelled() {
        let pause = match seal_batch(&db, &settings.key, settings.batch, &mut floor).await {
            Ok(Round::Sealed { rows, head }) => {
                publish(&head, rows);
                backoff = Duration::from_millis(250);
                if rows as i64 >= settings.batch {
                    continue;
                }
                settings.interval
            }
            Ok(Round::Idle | Round::Busy) => {
                backoff = Duration::from_millis(250);
                settings.interval
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "audit sealing failed; will retry");
                let pause = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                pause
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => break,
        }
    }
    tracing::info!("audit sealer stopped");
}
