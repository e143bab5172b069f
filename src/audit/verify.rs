//! Checking the trail (`carehub audit-verify`): the sealed chain recomputed in position order,
//! rows the sealer has left waiting too long, and heads witnessed earlier.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use sqlx::PgPool;

use super::{
    chain::{AuditKey, GENESIS, SealedRow, legacy_hash},
    head::{ChainHead, WitnessedHead},
    repo::seals,
};

/// What `verify_chain` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every sealed row's hash is right and links to the row before it; `head` is the last one.
    Intact { rows: u64, head: Option<ChainHead> },
    /// The first row whose position, link or hash is wrong.
    Broken { row_id: i64, position: i64, rows_checked: u64, reason: &'static str },
}

/// Recomputes the sealed chain from `audit_seals` joined to the rows they seal, position 1 first,
/// streaming (constant memory). A removed row or a removed seal leaves a gap in the positions. Rows chained
/// before sealing existed (those with legacy hashes, sealed first in id order) are also checked
/// against their old SHA-256 links, so an edit made before the change is still found.
pub async fn verify_chain(db: &PgPool, key: &AuditKey) -> anyhow::Result<ChainReport> {
    let mut rows = std::pin::pin!(seals::sealed_rows(db));
    let mut expected_prev = GENESIS.to_vec();
    let mut legacy_prev = Some(GENESIS.to_vec());
    let mut checked = 0u64;
    let mut head = None;
    while let Some(SealedRow { seq: position, prev_hash, hash, row }) = rows.try_next().await? {
        let broken = |reason| ChainReport::Broken { row_id: row.id, position, rows_checked: checked, reason };
        if position != i64::try_from(checked)? + 1 {
            return Ok(broken("the position before this row is empty (a row or its seal was removed)"));
        }
        if prev_hash != expected_prev {
            return Ok(broken("prev_hash does not match the row before it (a row was removed or reordered)"));
        }
        if key.seal(&prev_hash, &row.canonical(Some(position))?) != hash {
            return Ok(broken("the row's content does not match its hash (the row was edited or moved)"));
        }
        match (&row.legacy_hash, legacy_prev.take()) {
            (Some(legacy), Some(expected)) => {
                if row.legacy_prev_hash.as_deref() != Some(expected.as_slice())
                    || legacy_hash(&expected, &row.canonical(None)?) != *legacy
                {
                    return Ok(broken("the row's SHA-256 link from before sealing is wrong (edited before sealing)"));
                }
                legacy_prev = Some(legacy.clone());
            }
            (Some(_), None) => {
                return Ok(broken("a row chained before sealing follows rows sealed after it (reordered)"));
            }
            // The rows from before sealing have ended; none may follow.
            (None, _) => {}
        }
        head = Some(ChainHead { position, hash: hash.clone() });
        expected_prev = hash;
        checked += 1;
    }
    Ok(ChainReport::Intact { rows: checked, head })
}

/// Rows not yet sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsealed {
    pub rows: i64,
    pub oldest_id: Option<i64>,
    pub oldest_at: Option<DateTime<Utc>>,
}

/// The unsealed rows that occurred more than `age` ago (committed rows are sealed within about a
/// second, so these mean the sealer is not running or is failing); `rows` is 0 when there are none.
pub async fn unsealed_older_than(db: &PgPool, age: Duration) -> anyhow::Result<Unsealed> {
    let (rows, oldest_id, oldest_at) = seals::unsealed_older_than(db, age).await?;
    Ok(Unsealed { rows, oldest_id, oldest_at })
}

/// How many rows await the sealer and the age of the oldest, in seconds (for `/metrics`: a
/// growing age means the sealer is down).
pub async fn unsealed_backlog(db: &PgPool) -> anyhow::Result<(i64, f64)> {
    Ok(seals::backlog(db).await?)
}

/// Whether a head witnessed earlier is still in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The row at that position has that hash.
    InChain,
    /// The row at that position has another hash: the chain was rewritten up to there.
    Differs { actual: ChainHead },
    /// No row holds that position any more (or never did).
    Missing,
}

/// Compares a witnessed head with the row at its position. Meaningful together with an intact
/// [`verify_chain`]: each hash covers every row before it, so an unchanged hash at the witnessed
/// position means nothing up to it was edited, removed or reordered, even by someone holding the key.
pub async fn check_head(db: &PgPool, witnessed: &WitnessedHead) -> anyhow::Result<HeadCheck> {
    let hash = seals::hash_at(db, witnessed.position).await?;
    Ok(match hash {
        None => HeadCheck::Missing,
        Some(hash) => {
            let actual = ChainHead { position: witnessed.position, hash };
            if actual.hash_hex().starts_with(&witnessed.hash_hex) {
                HeadCheck::InChain
            } else {
                HeadCheck::Differs { actual }
            }
        }
    })
}
