//! The public directory's pages, cached per process and emptied on every change to
//! `hospitals`. Knows nothing of HTTP: `AppState` holds one, and the directory route reads it.

use std::sync::Arc;

use sqlx::PgPool;

use super::{
    model::{Hospital, hide_account},
    repo,
};
use crate::notified::Watch;

/// The channel the `hospitals` triggers notify on every change.
pub const CHANNEL: &str = "carehub_directory";

/// A page of the public directory and the number of approved hospitals.
#[derive(Debug)]
pub struct Listed {
    pub rows: Vec<Hospital>,
    pub count: i64,
}

/// The public directory's pages (approved hospitals, account fields hidden, no search), kept per
/// process for `hospitals.directory_cache_seconds`: the directory is what anonymous traffic
/// reads, and a page from here costs no round trip. Every change to `hospitals` notifies
/// [`CHANNEL`], which empties it in every process (see [`crate::notified`]); this process's own
/// changes empty it before they answer. Bounded by the rows it holds.
pub struct DirectoryCache {
    pages: moka::sync::Cache<(i64, i64), Arc<Listed>>,
    watch: Arc<Watch>,
}

impl DirectoryCache {
    /// Rows held at most, over every page (a few hundred bytes each).
    const ROWS: u64 = 5_000;

    /// A cache keeping pages for `ttl` (zero: no cache).
    pub fn new(ttl: std::time::Duration) -> Arc<Self> {
        let pages = moka::sync::Cache::builder()
            .max_capacity(Self::ROWS)
            .weigher(|_, listed: &Arc<Listed>| u32::try_from(listed.rows.len()).unwrap_or(u32::MAX).saturating_add(1))
            .time_to_live(ttl)
            .build();
        let watch = Watch::new(CHANNEL, !ttl.is_zero()).keeping(&pages);
        Arc::new(Self { pages, watch: Arc::new(watch) })
    }

    /// The public page at `offset` of `limit` rows, from the cache when it can be trusted. A page
    /// past the end (a 404) is read but not kept: any number of them could be asked for, and they
    /// would push the real pages out. `None` only if the read gave nothing at all (a bug).
    pub async fn page(&self, db: &PgPool, limit: i64, offset: i64) -> sqlx::Result<Option<Arc<Listed>>> {
        let mut past_the_end = None;
        let load = async {
            let mut conn = db.acquire().await?;
            let (rows, count) = repo::list_hospitals(&mut conn, false, None, None, limit, offset).await?;
            let rows: Vec<_> = rows.into_iter().map(|h| hide_account(None, h)).collect();
            if rows.is_empty() && offset > 0 {
                past_the_end = Some(Arc::new(Listed { rows, count }));
                return Ok::<_, sqlx::Error>(None);
            }
            Ok(Some(Arc::new(Listed { rows, count })))
        };
        let listed = self.watch.cached(db, &self.pages, (limit, offset), load).await?;
        Ok(listed.or(past_the_end))
    }

    /// Hospitals changed: forget every page.
    pub fn changed(&self) {
        self.watch.changed();
    }
}
