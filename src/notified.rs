//! Per-process caches that a Postgres notification channel keeps honest.
//!
//! Triggers `NOTIFY` a channel when what a cache holds changes, and each process's one listening
//! connection per channel empties the caches on every notification (a notification is sent when
//! its transaction commits). While that connection is down (or not yet listening) nothing is read
//! from the caches, and they are emptied again once it is back, since notifications sent
//! meanwhile are lost. A read that raced a change does not put what it read into a cache (a
//! generation count, bumped by every emptying). Changes a process makes itself also empty its
//! caches directly ([`Watch::changed`]), before their answer is sent, so the caller's next
//! request sees them whatever the notification's timing. The caches' time limits are only a
//! backstop.

use std::{
    future::Future,
    hash::Hash,
    sync::{
        Arc, Once,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::{PgPool, postgres::PgListener};

/// A cache a [`Watch`] empties.
type Emptying = Box<dyn Fn() + Send + Sync>;

/// One notification channel and the caches it keeps honest. Shared (`Arc`) by its owner and its
/// listening task. Its reads are counted on `/metrics` (`cache_reads_total{cache, result}`:
/// `hit`, `miss`, or `bypassed` while not listening) and its listening connections
/// (`cache_listeners{cache}`), `cache` being the channel.
pub struct Watch {
    channel: &'static str,
    hits: metrics::Counter,
    misses: metrics::Counter,
    bypassed: metrics::Counter,
    /// Bumped by every emptying: a read that started under an older one is not cached.
    generation: AtomicU64,
    /// The listening connection is up: only then is a cache read or filled.
    listening: AtomicBool,
    started: Once,
    enabled: bool,
    caches: Vec<Emptying>,
}

impl Watch {
    /// A watch of `channel`; a disabled one reads nothing from its caches (every request reads
    /// the database) and listens to nothing.
    pub fn new(channel: &'static str, enabled: bool) -> Self {
        let reads =
            |result: &'static str| metrics::counter!("cache_reads_total", "cache" => channel, "result" => result);
        Self {
            channel,
            hits: reads("hit"),
            misses: reads("miss"),
            bypassed: reads("bypassed"),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            started: Once::new(),
            enabled,
            caches: Vec::new(),
        }
    }

    /// Adds `cache` to the caches this watch empties.
    #[must_use]
    pub fn keeping<K, V>(mut self, cache: &moka::sync::Cache<K, V>) -> Self
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let cache = cache.clone();
        self.caches.push(Box::new(move || cache.invalidate_all()));
        self
    }

    /// `key` of `cache` if the cache can be trusted, else what `load` reads, kept unless the
    /// caches were emptied while it read.
    pub async fn cached<K, V>(
        self: &Arc<Self>,
        db: &PgPool,
        cache: &moka::sync::Cache<K, V>,
        key: K,
        load: impl Future<Output = sqlx::Result<Option<V>>>,
    ) -> sqlx::Result<Option<V>>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if !self.enabled {
            return load.await;
        }
        self.start(db);
        let trusted = self.listening.load(Ordering::Acquire);
        if trusted && let Some(value) = cache.get(&key) {
            self.hits.increment(1);
            return Ok(Some(value));
        }
        if trusted { &self.misses } else { &self.bypassed }.increment(1);
        let generation = self.generation.load(Ordering::Acquire);
        let value = load.await?;
        if let Some(value) = &value
            && trusted
            && self.generation.load(Ordering::Acquire) == generation
        {
            cache.insert(key.clone(), value.clone());
            // An emptying that ran between the check and the insert: undo the insert.
            if self.generation.load(Ordering::Acquire) != generation {
                cache.invalidate(&key);
            }
        }
        Ok(value)
    }

    /// What the caches hold changed: forget all of it.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for empty in &self.caches {
            empty();
        }
    }

    /// Starts this process's listening connection (once; from a request, inside the runtime).
    fn start(self: &Arc<Self>, db: &PgPool) {
        self.started.call_once(|| {
            tokio::spawn(listen(Arc::clone(self), db.clone()));
        });
    }
}

/// Distrusts the caches when the listening task ends for any reason (its runtime shutting down
/// included): nothing is read from them again, since nothing would empty them.
struct Distrust(Arc<Watch>);

impl Drop for Distrust {
    fn drop(&mut self) {
        self.0.listening.store(false, Ordering::Release);
        self.0.changed();
    }
}

/// A listening connection, counted on `/metrics` while it lives (however its task ends).
struct Listening(metrics::Gauge);

impl Listening {
    fn new(channel: &'static str) -> Self {
        let gauge = metrics::gauge!("cache_listeners", "cache" => channel);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

async fn listen(watch: Arc<Watch>, db: PgPool) {
    let _distrust = Distrust(Arc::clone(&watch));
    let channel = watch.channel;
    let redacted = |err: sqlx::Error| carehub_workers::redact::Redacted(&anyhow::Error::from(err)).to_string();
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&db).await?;
            listener.listen(channel).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(channel, error = %redacted(err), "cannot listen; the cache is bypassed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever was notified before this point was not heard.
        watch.changed();
        watch.listening.store(true, Ordering::Release);
        let _counted = Listening::new(channel);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => watch.changed(),
                Ok(None) => {
                    tracing::warn!(channel, "the listener lost its connection; the cache is bypassed until it is back");
                    break;
                }
                Err(err) => {
                    tracing::warn!(channel, error = %redacted(err), "the listener failed; the cache is bypassed until it is back");
                    break;
                }
            }
        }
        watch.listening.store(false, Ordering::Release);
        watch.changed();
    }
}
