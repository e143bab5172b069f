//! What every request handler shares: the pool, the settings and the long-lived services.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use crate::{
    accounts::{device::DeviceCookies, password::PasswordHasher, throttle::LoginThrottle, tokens::TokenKeys},
    audit::Pseudonyms,
    config::Settings,
};

pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub tokens: TokenKeys,
    pub hasher: PasswordHasher,
    pub login_throttle: LoginThrottle,
    /// Signs and checks the device cookies that exempt known clients from address throttling.
    pub device_cookies: DeviceCookies,
    /// Keyed hashes for the audit trail (usernames that name no account), under
    /// `AUDIT_LOOKUP_KEY`: never the sealing key, which web processes do not load.
    pub pseudonyms: Pseudonyms,
    pub redis: redis::Client,
    pub metrics: PrometheusHandle,
    /// This process's per-hospital appointment desks (actors).
    pub desks: crate::appointments::desk::DeskRegistry,
    /// This process's per-patient access desks (one-time codes, grants).
    pub patient_desks: crate::access::desk::PatientDesks,
    /// Medicine recommendations: in-memory answers and the requests waiting for theirs.
    pub recommender: std::sync::Arc<crate::medicines::recommendations::service::Recommender>,
    /// Where uploaded files live (`STORAGE_URL`).
    pub storage: Arc<crate::records::files::storage::Storage>,
    /// The state of logins, cached and emptied on every change (see `accounts::sessions`).
    pub sessions: Arc<crate::accounts::sessions::SessionCache>,
    /// The public directory's pages, cached and emptied on every change (see
    /// `hospitals::cache`).
    pub directory: Arc<crate::hospitals::cache::DirectoryCache>,
    /// The job registry's kinds (queues, names, schedules), built once: the queue statistics
    /// and the console read them. Its handlers never run in this process.
    pub job_kinds: Arc<carehub_workers::Registry>,
    /// The operations console's per-process memory (the overview's counts).
    pub console: crate::console::cache::ConsoleCache,
}

impl AppState {
    pub fn new(settings: Arc<Settings>, db: PgPool, metrics: PrometheusHandle) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret as _;
        Ok(Self {
            tokens: TokenKeys::new(&settings.jwt_secret, settings.auth.access_ttl_minutes),
            hasher: PasswordHasher::with_threads_at(settings.auth.hashing_threads, settings.auth.hashing_nice)?,
            login_throttle: LoginThrottle::new(&settings.auth),
            device_cookies: DeviceCookies::new(&settings.jwt_secret),
            pseudonyms: Pseudonyms::new(&settings.audit_lookup_key),
            redis: redis::Client::open(settings.redis_url.expose_secret())?,
            desks: crate::appointments::desk::DeskRegistry::new(db.clone()),
            recommender: crate::medicines::recommendations::service::Recommender::new(&settings, db.clone()),
            patient_desks: crate::access::desk::PatientDesks::new(
                db.clone(),
                std::sync::Arc::new(crate::access::service::AccessRules {
                    settings: settings.access.clone(),
                    key: crate::access::otp::code::OtpKey::new(&settings.otp_secret),
                }),
            ),
            storage: Arc::new(crate::records::files::storage::Storage::from_url(&settings.storage_url)?),
            sessions: crate::accounts::sessions::SessionCache::new(std::time::Duration::from_secs(
                settings.auth.session_cache_seconds,
            )),
            directory: crate::hospitals::cache::DirectoryCache::new(std::time::Duration::from_secs(
                settings.hospitals.directory_cache_seconds,
            )),
            job_kinds: Arc::new(crate::jobs::kinds(&settings)),
            console: crate::console::cache::ConsoleCache::default(),
            db,
            metrics,
            settings,
        })
    }
}
