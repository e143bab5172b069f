//! The live state of logins, read on every authenticated request, and the accounts' profiles
//! (`GET /api/accounts/me/`), kept per process for `auth.session_cache_seconds` so that a request
//! costs one round trip fewer (`me`, none).
//!
//! Nothing is served stale on purpose: triggers on `refresh_token_families` (revocations,
//! deletions) and on the session and profile fields of `users` (`is_active`,
//! `must_change_password`, `password_changed_at`, `password_hash`, `user_type`, `username`,
//! `email`, `first_name`, `last_name`, `phone_number`) `NOTIFY carehub_sessions` when their
//! transaction commits, and each process's one listening connection empties its cache on every
//! notification.
//! While that connection is down (or not yet listening) nothing is read from the cache, and it is
//! emptied again once the connection is back, since notifications sent meanwhile are lost. A
//! request whose read raced a change does not put what it read into the cache (a generation
//! count, bumped by every emptying). Changes made by this process also empty it directly, before
//! their answer is sent, so the caller's next request sees them whatever the notification's
//! timing. The time limit is only a backstop.

use std::{
    sync::{
        Arc, Once,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::{PgPool, postgres::PgListener};
use uuid::Uuid;

use super::{
    model::{User, UserId},
    repo,
};

/// The channel the triggers notify.
pub const CHANNEL: &str = "carehub_sessions";

/// A login's state as stored; whether it is live is decided at each use, against the clock.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct SessionState {
    pub is_active: bool,
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
}

impl SessionState {
    /// Not revoked, not expired, its account active.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at > now && self.is_active
    }
}

/// This process's cache of login states, and of the accounts' profiles `GET /api/accounts/me/`
/// answers with. Cheap to share (`Arc`).
pub struct SessionCache {
    entries: moka::sync::Cache<(Uuid, i64), SessionState>,
    profiles: moka::sync::Cache<i64, User>,
    /// Bumped by every emptying: a read that started under an older one is not cached.
    generation: AtomicU64,
    /// The listening connection is up: only then is the cache read or filled.
    listening: AtomicBool,
    started: Once,
    enabled: bool,
}

impl SessionCache {
    /// A cache keeping states for `ttl` (zero: no cache, every request reads the database).
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            entries: moka::sync::Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
            profiles: moka::sync::Cache::builder().max_capacity(20_000).time_to_live(ttl).build(),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            started: Once::new(),
            enabled: !ttl.is_zero(),
        })
    }

    /// The state of login `session` of `user`, from the cache when it can be trusted.
    pub async fn state(
        self: &Arc<Self>,
        db: &PgPool,
        session: Uuid,
        user: UserId,
    ) -> sqlx::Result<Option<SessionState>> {
        self.cached(db, &self.entries, (session, user.0), repo::session_state(db, session, user)).await
    }

    /// The profile of account `user`, from the cache when it can be trusted. The triggers notify on
    /// every change of the fields it holds.
    pub async fn profile(self: &Arc<Self>, db: &PgPool, user: UserId) -> sqlx::Result<Option<User>> {
        self.cached(db, &self.profiles, user.0, repo::get_user(db, user)).await
    }

    /// `key` of `cache` if the cache can be trusted, else what `load` reads, kept unless the cache
    /// was emptied while it read.
    async fn cached<K, V>(
        self: &Arc<Self>,
        db: &PgPool,
        cache: &moka::sync::Cache<K, V>,
        key: K,
        load: impl Future<Output = sqlx::Result<Option<V>>>,
    ) -> sqlx::Result<Option<V>>
    where
        K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if !self.enabled {
            return load.await;
        }
        self.start(db);
        let trusted = self.listening.load(Ordering::Acquire);
        if trusted && let Some(value) = cache.get(&key) {
            return Ok(Some(value));
        }
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

    /// Something about logins or accounts changed: forget every cached state.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
        self.profiles.invalidate_all();
    }

    /// Starts this process's listening connection (once; from a request, inside the runtime).
    fn start(self: &Arc<Self>, db: &PgPool) {
        self.started.call_once(|| {
            tokio::spawn(listen(Arc::clone(self), db.clone()));
        });
    }
}

/// Distrusts the cache when the listening task ends for any reason (its runtime shutting down
/// included): nothing is read from it again, since nothing would empty it.
struct Distrust(Arc<SessionCache>);

impl Drop for Distrust {
    fn drop(&mut self) {
        self.0.listening.store(false, Ordering::Release);
        self.0.changed();
    }
}

async fn listen(cache: Arc<SessionCache>, db: PgPool) {
    let _distrust = Distrust(Arc::clone(&cache));
    let redacted = |err: sqlx::Error| crate::http::error::Redacted(&anyhow::Error::from(err)).to_string();
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&db).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %redacted(err), "session listener: cannot listen; the cache is bypassed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever was notified before this point was not heard.
        cache.changed();
        cache.listening.store(true, Ordering::Release);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => cache.changed(),
                Ok(None) => {
                    tracing::warn!("session listener lost its connection; the cache is bypassed until it is back");
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %redacted(err), "session listener failed; the cache is bypassed until it is back");
                    break;
                }
            }
        }
        cache.listening.store(false, Ordering::Release);
        cache.changed();
    }
}
