//! What the console keeps in memory per web process: the overview's counts, read at most every
//! [`COUNTS_FOR`] (they scan tables: ~25 ms on 20 000 accounts and 50 000 SMS, which 32 admins
//! watching the overview would otherwise pay on every load). Each app has its own.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use super::repo::overview::Counts;

/// How long the overview's counts are shown before they are read again.
pub const COUNTS_FOR: Duration = Duration::from_secs(10);

/// Counts as read at a time.
#[derive(Debug, Clone)]
pub struct ReadCounts {
    pub read_at: DateTime<Utc>,
    pub counts: Arc<Counts>,
}

#[derive(Debug, Default)]
pub struct ConsoleCache {
    counts: Mutex<Option<(Instant, ReadCounts)>>,
}

impl ConsoleCache {
    /// The counts read less than [`COUNTS_FOR`] ago, if any.
    pub fn counts(&self) -> Option<ReadCounts> {
        let kept = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        kept.as_ref().filter(|(at, _)| at.elapsed() < COUNTS_FOR).map(|(_, read)| read.clone())
    }

    /// Keeps counts just read; returns them as kept.
    pub fn keep_counts(&self, counts: Counts) -> ReadCounts {
        let read = ReadCounts { read_at: Utc::now(), counts: Arc::new(counts) };
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), read.clone()));
        read
    }
}
