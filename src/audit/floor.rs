//! The sealer's floor: an audit row id at or below which every row is sealed or can no longer
//! commit, so that a round reads only the short id range above it (an anti-join against
//! `audit_seals`) instead of the whole trail. Audit rows carry no "sealed" column any more (that
//! was the UPDATE this design removes), so the floor is what keeps the poll cheap.
//!
//! Why not simply "the newest sealed id": a transaction that took a low id and commits late (see
//! `seal.rs`) is invisible while it runs, and must still be found once it commits. The floor
//! advances in three steps, each at a later round:
//! 1. note `issued`, the last id the identity has handed out (every row with an id at or below
//!    it was begun by a transaction that exists now);
//! 2. once a second has passed, note `horizon`, the next transaction id: each of those
//!    transactions has had its id assigned by then (an INSERT takes its row id and its
//!    transaction id within one statement);
//! 3. once the oldest running transaction is at or past `horizon`, all of them have ended, and
//!    the round that saw it (having read every committed row above the floor) moves the floor
//!    to `issued`, or to the last row it sealed if the batch was full.
//!
//! The floor lives in the sealer's memory: a sealer starts at 0 (one full anti-join, then the
//! floor catches up within seconds). A row the floor ever stepped over unsealed would be reported
//! by `audit-verify` (which checks every row) and sealed by the next sealer to start.

use std::time::{Duration, Instant};

use sqlx::PgConnection;

use super::repo::seals;

/// How long after noting `issued` the horizon is taken.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Clone)]
pub struct Floor {
    /// Every row with an id at or below this is sealed (or will never commit).
    pub below: i64,
    pending: Option<Pending>,
    /// The oldest transaction running at the start of the round in progress.
    oldest_running: Option<i64>,
}

#[derive(Debug, Clone)]
struct Pending {
    issued: i64,
    noted: Instant,
    horizon: Option<i64>,
}

impl Floor {
    /// Called at the start of a round, before its rows are read.
    pub async fn start_round(&mut self, conn: &mut PgConnection) -> sqlx::Result<()> {
        let (xmin, _) = seals::transaction_horizon(conn).await?;
        self.oldest_running = Some(xmin);
        Ok(())
    }

    /// Called after the round's seals have committed (or when it found none): `drained` when
    /// the round read fewer rows than a batch, `last` the highest id it sealed.
    pub async fn end_round(&mut self, conn: &mut PgConnection, drained: bool, last: Option<i64>) -> sqlx::Result<()> {
        let oldest_running = self.oldest_running.take();
        match self.pending.take() {
            None => {
                let issued = seals::last_issued_id(conn).await?;
                self.pending = Some(Pending { issued, noted: Instant::now(), horizon: None });
            }
            Some(mut pending @ Pending { horizon: None, .. }) => {
                if pending.noted.elapsed() >= SETTLE {
                    pending.horizon = Some(seals::transaction_horizon(conn).await?.1);
                }
                self.pending = Some(pending);
            }
            Some(Pending { issued, horizon: Some(horizon), noted }) => {
                if oldest_running.is_some_and(|xmin| xmin >= horizon) {
                    let reached = if drained { issued } else { issued.min(last.unwrap_or(self.below)) };
                    self.below = self.below.max(reached);
                } else {
                    self.pending = Some(Pending { issued, horizon: Some(horizon), noted });
                }
            }
        }
        Ok(())
    }
}
