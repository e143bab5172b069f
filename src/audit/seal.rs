//! The sealer: gives committed, unsealed audit rows their position in the chain and their keyed
//! hash, in batches, and publishes each new chain head (an INFO log line with the whole head,
//! `POSITION:HASH`, and two `/metrics` gauges) for witnesses outside the database.
//!
//! It lives here, in the audit context, rather than in `carehub-workers`: the SQL over
//! `audit_log` belongs to this context, the workers crate cannot call into this crate (this crate
//! depends on it, not the other way round), and the sealer is no job (nothing is queued, Redis is
//! not involved) but a loop like the outbox relay. `carehub work` (and `carehub dev`) start
//! [`run`] beside the workers with the same shutdown token.
//!
//! Order: a row is sealed once its transaction has committed, since only then can the sealer see
//! it. Each round takes the visible unsealed rows by id and numbers them after the current head,
//! so a transaction that began early (low id) and committed late is sealed in a later round at a
//! later position; positions, not ids, are the chain's order. One sealer at a time: each round
//! holds an advisory lock for its transaction, and a sealer that finds it taken skips the round.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::chain::{AuditKey, ChainHead, GENESIS, StoredRow, row_columns};
use crate::locks::{self, LockSpace};

/// How the sealer runs (built by the `carehub` binary from its configuration).
#[derive(Debug, Clone)]
pub struct SealerSettings {
    pub key: AuditKey,
    /// Pause between rounds that found nothing more to seal.
    pub interval: Duration,
    /// Most rows sealed per transaction.
    pub batch: i64,
}

/// What one sealing round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Another sealer holds the lock.
    Busy,
    /// Nothing committed is waiting.
    Idle,
    /// Sealed `rows` rows; `head` is the new last one.
    Sealed { rows: usize, head: ChainHead },
}

/// The last sealed row, if any.
pub async fn head(db: &PgPool) -> anyhow::Result<Option<ChainHead>> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("select seq, hash from audit_log where seq is not null order by seq desc limit 1")
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(position, hash)| ChainHead { position, hash }))
}

/// Seals up to `batch` committed rows in one transaction, oldest id first.
pub async fn seal_batch(db: &PgPool, key: &AuditKey, batch: i64) -> anyhow::Result<Round> {
    let mut tx = db.begin().await?;
    // Held by the sealing transaction only; appending takes no lock at all.
    let locked = locks::try_xact_lock(&mut tx, LockSpace::AuditSealer, locks::Key::Id(0)).await?;
    if !locked {
        return Ok(Round::Busy);
    }
    // Each statement reads a fresh snapshot taken after the lock was granted, so the previous
    // sealer's batch (committed before it let go of the lock) is visible here.
    let rows: Vec<StoredRow> =
        sqlx::query_as(concat!("select ", row_columns!(), " from audit_log where seq is null order by id limit $1"))
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
    if rows.is_empty() {
        return Ok(Round::Idle);
    }
    let previous: Option<(i64, Vec<u8>)> =
        sqlx::query_as("select seq, hash from audit_log where seq is not null order by seq desc limit 1")
            .fetch_optional(&mut *tx)
            .await?;
    let (mut position, mut prev_hash) = previous.unwrap_or((0, GENESIS.to_vec()));
    let (mut ids, mut positions, mut prevs, mut hashes) = (vec![], vec![], vec![], vec![]);
    for row in &rows {
        position += 1;
        let hash = key.seal(&prev_hash, &row.canonical(Some(position))?);
        ids.push(row.id);
        positions.push(position);
        prevs.push(std::mem::replace(&mut prev_hash, hash.clone()));
        hashes.push(hash);
    }
    let updated = sqlx::query(
        "update audit_log a set seq = v.seq, prev_hash = v.prev_hash, hash = v.hash \
         from unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[]) as v(id, seq, prev_hash, hash) \
         where a.id = v.id and a.seq is null",
    )
    .bind(&ids)
    .bind(&positions)
    .bind(&prevs)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    anyhow::ensure!(updated == rows.len() as u64, "sealed {updated} of {} audit rows; rolled back", rows.len());
    tx.commit().await?;
    Ok(Round::Sealed { rows: rows.len(), head: ChainHead { position, hash: prev_hash } })
}

/// Seals every row committed before the call (waiting for another sealer's round if one is
/// running) and returns the head. For tests and tools; the worker process runs [`run`].
pub async fn seal_pending(db: &PgPool, key: &AuditKey) -> anyhow::Result<Option<ChainHead>> {
    loop {
        match seal_batch(db, key, 1000).await? {
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
    let mut backoff = Duration::from_millis(250);
    while !shutdown.is_cancelled() {
        let pause = match seal_batch(&db, &settings.key, settings.batch).await {
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
