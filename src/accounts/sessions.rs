//! The live state of logins, read on every authenticated request, and the accounts' profiles
//! (`GET /api/accounts/me/`), kept per process for `auth.session_cache_seconds` so that a request
//! costs one round trip fewer (`me`, none).
//!
//! Nothing is served stale on purpose: triggers on `refresh_token_families` (revocations,
//! deletions) and on the session and profile fields of `users` (`is_active`,
//! `must_change_password`, `password_changed_at`, `password_hash`, `user_type`, `username`,
//! `email`, `first_name`, `last_name`, `phone_number`) and on the account's hospital
//! (`doctor_profiles.hospital_id`, `hospitals.user_id`) `NOTIFY carehub_sessions`, which empties
//! every process's cache (see [`crate::notified`]: what happens while the listening connection is
//! down, reads that race a change, and this process's own changes).

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use uuid::Uuid;

use super::{
    model::{SessionState, User},
    repo,
};
use crate::{ids::UserId, notified::Watch};

/// The channel the triggers notify.
pub const CHANNEL: &str = "carehub_sessions";

/// This process's cache of login states, and of the accounts' profiles `GET /api/accounts/me/`
/// answers with, kept by a [`Watch`] of [`CHANNEL`]. Cheap to share (`Arc`).
pub struct SessionCache {
    entries: moka::sync::Cache<(Uuid, i64), SessionState>,
    profiles: moka::sync::Cache<i64, User>,
    watch: Arc<Watch>,
}

impl SessionCache {
    /// A cache keeping states for `ttl` (zero: no cache, every request reads the database).
    pub fn new(ttl: Duration) -> Arc<Self> {
        let entries = moka::sync::Cache::builder().max_capacity(100_000).time_to_live(ttl).build();
        let profiles = moka::sync::Cache::builder().max_capacity(20_000).time_to_live(ttl).build();
        let watch = Watch::new(CHANNEL, !ttl.is_zero()).keeping(&entries).keeping(&profiles);
        Arc::new(Self { entries, profiles, watch: Arc::new(watch) })
    }

    /// The state of login `session` of `user`, from the cache when it can be trusted.
    pub async fn state(&self, db: &PgPool, session: Uuid, user: UserId) -> sqlx::Result<Option<SessionState>> {
        self.watch.cached(db, &self.entries, (session, user.get()), repo::session_state(db, session, user)).await
    }

    /// The profile of account `user`, from the cache when it can be trusted. The triggers notify on
    /// every change of the fields it holds.
    pub async fn profile(&self, db: &PgPool, user: UserId) -> sqlx::Result<Option<User>> {
        self.watch.cached(db, &self.profiles, user.get(), repo::get_user(db, user)).await
    }

    /// Something about logins or accounts changed: forget every cached state.
    pub fn changed(&self) {
        self.watch.changed();
    }
}
