//! The sections of [`super::Settings`], one struct each, as `config/default.toml` lays them out.

use secrecy::SecretString;
use serde::Deserialize;

/// Medicine recommendations.
#[derive(Debug, Clone, Deserialize)]
pub struct RecommendationSettings {
    /// How long `POST /api/recommendations/` waits for the answer before a 202.
    pub wait_seconds: u64,
    /// Uncached requests per doctor per hour.
    pub per_hour: i64,
    /// One model call may take this long.
    pub llm_timeout_seconds: u64,
    /// Model calls per recommendation (timeouts, 429 and 5xx are retried with backoff).
    pub llm_attempts: u32,
    pub llm_backoff_ms: u64,
    pub concurrency: usize,
    /// Answers kept in each process's memory in front of the shared cache table.
    pub memory_cache_entries: u64,
}

/// The operations console at `/console/` (admins only, with a second factor).
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSettings {
    /// A signed-in console session ends after this long without a request.
    pub idle_minutes: i64,
    /// ... and this long after its login, whatever its use.
    pub absolute_hours: i64,
    /// A password accepted, the second factor must follow within this long.
    pub second_factor_minutes: i64,
}

/// One-time codes and the access grants they give (`access` context).
#[derive(Debug, Clone, Deserialize)]
pub struct AccessSettings {
    /// A code works this long after it was asked for.
    pub otp_ttl_minutes: i64,
    /// The wrong try that kills a code (the 5th).
    pub otp_max_attempts: i32,
    /// At most this many codes per patient per `otp_patient_window_minutes`, across processes.
    pub otp_per_patient: i64,
    pub otp_patient_window_minutes: i64,
    /// At most this many codes asked for by one doctor per `otp_doctor_window_minutes`.
    pub otp_per_doctor: i64,
    pub otp_doctor_window_minutes: i64,
    /// A verified code gives its doctor access for this long.
    pub grant_minutes: i64,
    /// At most this many codes a patient makes to share per `otp_share_window_minutes`: a budget
    /// of their own, which doctors' requests never use up.
    pub otp_share_per_patient: i64,
    pub otp_share_window_minutes: i64,
    /// Failed code verifications per `otp_failure_window_minutes`, counted in Postgres: of one
    /// doctor (whatever the patients), of all the doctors of one hospital together (what bounds
    /// the guessing of shared codes, README), and from one client address. Past one: 429.
    pub otp_failures_per_doctor: i64,
    pub otp_failures_per_hospital: i64,
    pub otp_failures_per_address: i64,
    pub otp_failure_window_minutes: i64,
}

/// Medical records: uploads and their scanning.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordSettings {
    /// A doctor assigned to a patient's confirmed or completed appointment may write into the
    /// patient's record (a prescription) within this many days of the appointment's time; any
    /// other time, only with a live grant of their login.
    pub prescribe_days_after_appointment: i64,
    /// The largest file accepted (the file, not the whole multipart body), in bytes.
    pub upload_limit_bytes: u64,
    /// File-scan jobs running at once per worker process.
    pub scan_concurrency: usize,
    /// How long one clamd scan may take before it is retried.
    pub scan_timeout_seconds: u64,
    /// How long a signed download link (`file_url`) stays valid.
    pub download_link_seconds: u64,
}

/// Virus scans that get no verdict.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanSettings {
    /// Scans of one file that clamd answered without a verdict (a refusal, an error, no answer in
    /// time) before the file is FAILED for good.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HospitalSettings {
    pub default_time_zone: String,
    /// Seconds a page of the public directory is kept per process (0: not cached). Every change
    /// to a hospital empties it at once; the limit is only a backstop.
    pub directory_cache_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub max_connections: u32,
    /// Connections the pool opens at start and keeps open, so a first burst of requests does not
    /// wait for connection set-up.
    pub min_connections: u32,
    pub acquire_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub cors_origins: Vec<String>,
    pub body_limit_bytes: usize,
    pub trust_proxy: bool,
    pub workers: usize,
    pub shutdown_timeout_seconds: u64,
    pub metrics_token: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub access_ttl_minutes: i64,
    pub refresh_ttl_days: i64,
    pub failed_login_burst_per_username: u32,
    pub failed_login_replenish_seconds_per_username: u64,
    pub failed_login_burst_per_ip: u32,
    pub failed_login_replenish_seconds_per_ip: u64,
    /// How long a device cookie (set at login) exempts its client from address throttling.
    pub device_cookie_days: i64,
    /// How long a generated password (a doctor's, made by the hospital) works before only a
    /// password change accepts it (ASVS 2.3.1).
    pub generated_password_hours: i64,
    /// Threads that hash and verify passwords, each keeping one 19 MiB argon2 block (0: one per
    /// core); at most this many hashes run at once and the rest queue.
    pub hashing_threads: usize,
    /// The hashing threads' nice value (0 to 19): above 0 they yield to the process's other
    /// threads, so a login storm cannot starve the rest of the API.
    pub hashing_nice: i32,
    /// How long a login's state (live, account active, password to change) may be served from
    /// this process's memory; every change empties it at once (see `accounts::sessions`). 0: read
    /// the database on every request.
    pub session_cache_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobSettings {
    pub namespace: String,
    pub poll_interval_ms: u64,
    pub sms_concurrency: usize,
    pub max_attempts: usize,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    pub shutdown_timeout_seconds: u64,
    /// A worker silent this long is dead, and its fetched jobs run elsewhere.
    pub orphan_seconds: u64,
    pub relay_batch_size: i64,
    pub relay_idle_ms: u64,
    pub purge_sessions_schedule: String,
    pub reminder_sweep_schedule: String,
    pub access_sweep_schedule: String,
    /// Queues another scan of files still PENDING a minute after upload (their job may be dead).
    pub rescan_pending_schedule: String,
    pub reminder_lead_minutes: i32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    pub seal_interval_ms: u64,
    pub seal_batch_size: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountSettings {
    pub default_phone_region: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}
