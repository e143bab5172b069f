//! Chain verifications asked for from the console (`audit_verifications`): opening one (at most
//! one waits or runs at a time), a worker's run of it (marked running, then its verdict written
//! once), and the latest as the console lists them.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::ids::UserId;

/// A verification older than this that never got a verdict (its worker died mid-run, its job was
/// discarded) no longer blocks a new one.
const ABANDONED_AFTER_MINUTES: i32 = 60;

/// Where a verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Queued; no worker has started it.
    Pending,
    /// A worker is checking the chain.
    Running,
    /// Every sealed row checked out.
    Intact,
    /// A row's position, link or hash is wrong (`broken_row_id`, `reason`).
    Broken,
    /// The check could not finish (`reason`).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Intact => "INTACT",
            Self::Broken => "BROKEN",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Intact, Self::Broken, Self::Failed].into_iter().find(|o| o.as_str() == raw)
    }

    /// Still waiting for its verdict.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }
}

/// A verification as the console shows it.
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: i64,
    /// Null once that account is gone.
    pub requested_by: Option<UserId>,
    pub requested_by_username: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    /// Rows whose seal checked out before the verdict (all of them when intact).
    pub rows_checked: Option<i64>,
    /// INTACT: the chain's head (null for an empty chain).
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    /// BROKEN: the first wrong row and its position.
    pub broken_row_id: Option<i64>,
    pub broken_position: Option<i64>,
    /// BROKEN: what is wrong with it; FAILED: a short error.
    pub reason: Option<String>,
}

struct VerificationRow {
    id: i64,
    requested_by: Option<UserId>,
    requested_by_username: Option<String>,
    requested_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    outcome: String,
    rows_checked: Option<i64>,
    head_position: Option<i64>,
    head_hash: Option<String>,
    broken_row_id: Option<i64>,
    broken_position: Option<i64>,
    reason: Option<String>,
}

impl TryFrom<VerificationRow> for Verification {
    type Error = sqlx::Error;

    fn try_from(row: VerificationRow) -> sqlx::Result<Self> {
        let outcome = Outcome::parse(&row.outcome)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown verification outcome {:?}", row.outcome).into()))?;
        Ok(Self {
            id: row.id,
            requested_by: row.requested_by,
            requested_by_username: row.requested_by_username,
            requested_at: row.requested_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            outcome,
            rows_checked: row.rows_checked,
            head_position: row.head_position,
            head_hash: row.head_hash,
            broken_row_id: row.broken_row_id,
            broken_position: row.broken_position,
            reason: row.reason,
        })
    }
}

/// What a finished run found, as it is stored.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub rows_checked: Option<i64>,
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    pub broken_row_id: Option<i64>,
    pub broken_position: Option<i64>,
    pub reason: Option<String>,
}

/// Gives up on open verifications that have waited or run for over an hour (FAILED); how many.
pub async fn close_abandoned(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update audit_verifications set outcome = 'FAILED', finished_at = now(), \
                reason = 'abandoned: no verdict within ' || $1::int || ' minutes' \
         where outcome in ('PENDING', 'RUNNING') \
           and coalesce(started_at, requested_at) < now() - make_interval(mins => $1::int)",
        ABANDONED_AFTER_MINUTES,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Opens a PENDING verification; `None` when one is already open (the unique index on open
/// rows: this waits for a concurrent open to commit or roll back).
pub async fn open(conn: &mut PgConnection, requested_by: UserId) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "insert into audit_verifications (requested_by) values ($1) on conflict do nothing returning id",
        requested_by.get(),
    )
    .fetch_optional(conn)
    .await
}

/// The open verification, if any.
pub async fn open_id(conn: &mut PgConnection) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("select id from audit_verifications where outcome in ('PENDING', 'RUNNING')")
        .fetch_optional(conn)
        .await
}

/// Marks verification `id` RUNNING unless it already has its verdict; whether it is to run.
pub async fn start(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let started = sqlx::query!(
        "update audit_verifications set outcome = 'RUNNING', started_at = now() \
         where id = $1 and outcome in ('PENDING', 'RUNNING')",
        id,
    )
    .execute(db)
    .await?;
    Ok(started.rows_affected() == 1)
}

/// Writes the verdict of a RUNNING verification, once; whether this call wrote it.
pub async fn finish(db: impl PgExecutor<'_>, id: i64, outcome: Outcome, verdict: &Verdict) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update audit_verifications set outcome = $2, finished_at = now(), rows_checked = $3, head_position = $4, \
                head_hash = $5, broken_row_id = $6, broken_position = $7, reason = left($8, 500) \
         where id = $1 and outcome = 'RUNNING'",
        id,
        outcome.as_str(),
        verdict.rows_checked,
        verdict.head_position,
        verdict.head_hash,
        verdict.broken_row_id,
        verdict.broken_position,
        verdict.reason,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The latest `limit` verifications, newest first.
pub async fn latest(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Verification>> {
    let rows = sqlx::query_as!(
        VerificationRow,
        r#"select v.id, v.requested_by as "requested_by: UserId", u.username as "requested_by_username?",
                  v.requested_at, v.started_at, v.finished_at, v.outcome, v.rows_checked, v.head_position,
                  v.head_hash, v.broken_row_id, v.broken_position, v.reason
           from audit_verifications v left join users u on u.id = v.requested_by
           order by v.id desc limit $1"#,
        limit,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Verification::try_from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back_as_itself() {
        for outcome in [Outcome::Pending, Outcome::Running, Outcome::Intact, Outcome::Broken, Outcome::Failed] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::parse("intact"), None);
        assert!(Outcome::Running.is_open() && !Outcome::Broken.is_open());
    }
}
