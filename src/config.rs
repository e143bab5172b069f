//! Configuration: `config/default.toml` (compiled in, so the binary runs from any directory),
//! then `config/{CAREHUB_ENV}.toml`, then the environment ([`env`]): the documented Heroku-style
//! names (`DATABASE_URL`, `PORT`, `SMS_PROVIDER`, `TWILIO_FROM`, ...) win; the rest come as
//! `CAREHUB__SECTION__KEY`. Environment values are taken as written.
//!
//! Production is the default: without `CAREHUB_ENV` (or with any value but `development` and
//! `test`) a process refuses the development secrets of `config/default.toml`, the console SMS
//! provider and an open `/metrics`, naming every variable to set in one message. Only the
//! processes that seal or verify the audit chain read `AUDIT_KEY` ([`AuditKeyUse`]).

pub mod env;

use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use self::env::EnvSource;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Everything a CareHub process needs to know at start-up.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub env: String,
    pub database_url: SecretString,
    pub redis_url: SecretString,
    pub port: u16,
    pub worker_port: u16,
    pub jwt_secret: SecretString,
    pub otp_secret: SecretString,
    /// Key of the audit chain's HMAC (`AUDIT_KEY`): loaded only by the processes that seal or
    /// verify the chain (`work`, `dev`, `audit-verify`; see [`AuditKeyUse`]), `None` in every
    /// other, so a web process cannot re-seal an edited trail.
    pub audit_key: Option<SecretString>,
    /// Key of the keyed hashes that web processes write into the trail (a typed username that
    /// names no account; `AUDIT_LOOKUP_KEY`): separate from `AUDIT_KEY`, which seals.
    pub audit_lookup_key: SecretString,
    /// `HOST`: the address the web server listens on; unset, `serve` listens on every interface
    /// (0.0.0.0) and `dev` on 127.0.0.1 only (see [`Settings::listen_host`]).
    #[serde(default)]
    pub host: Option<String>,
    pub sms_provider: String,
    pub twilio_account_sid: String,
    pub twilio_auth_token: SecretString,
    pub twilio_from: String,
    pub twilio_api_base: String,
    /// Where uploaded files live (`STORAGE_URL`): `file://<dir>` (a relative dir is taken from the
    /// working directory) or `s3://bucket/prefix` (credentials and region from the usual AWS
    /// variables).
    pub storage_url: String,
    /// `SCAN_PROVIDER`: `clamd` (the only one; a file is served only once clamd calls it clean).
    pub scan_provider: String,
    /// `CLAMD_ADDR`: clamd's TCP address (`host:port`).
    pub clamd_addr: String,
    /// `LLM_PROVIDER`: `mock` (deterministic answers from the formulary) or `openai` (any
    /// OpenAI-compatible chat API at `LLM_API_BASE`).
    pub llm_provider: String,
    pub llm_api_base: String,
    /// `LLM_API_KEY` (or `GROQ_API_KEY`).
    pub llm_api_key: SecretString,
    pub llm_model: String,
    pub database: DatabaseSettings,
    pub jobs: JobSettings,
    pub audit: AuditSettings,
    pub http: HttpSettings,
    pub auth: AuthSettings,
    pub hospitals: HospitalSettings,
    pub accounts: AccountSettings,
    pub access: AccessSettings,
    pub records: RecordSettings,
    pub scan: ScanSettings,
    pub recommendations: RecommendationSettings,
    pub log: LogSettings,
}

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

/// Whether a process holds `AUDIT_KEY`, the key that seals the audit chain. Only the sealer's
/// processes (`carehub work`, `carehub dev`) and `carehub audit-verify` do; every other one
/// (`serve` first of all) neither reads it nor needs it, so a web process that is taken over
/// cannot re-seal an edited trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKeyUse {
    /// Reads `AUDIT_KEY` (required in production).
    Seals,
    /// Never reads `AUDIT_KEY`, even when it is set.
    Unused,
}

/// The development values that no production process accepts (or a secret shorter than this).
pub const MIN_SECRET_LEN: usize = 32;

/// The environments that accept the development defaults (secrets, console SMS, open /metrics).
/// Any other `CAREHUB_ENV`, and none at all, runs with production's checks.
pub const DEVELOPMENT_ENVS: [&str; 2] = ["development", "test"];

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A production process missing what only development may do without: every variable to set,
    /// in one message.
    #[error("{}", production_refusal(env, set))]
    Production { env: String, set: Vec<String> },
    #[error("refusing to start: {0}")]
    Sms(&'static str),
    #[error("refusing to start: SMS_PROVIDER=twilio needs {0} to be set")]
    TwilioIncomplete(String),
    #[error("jobs.namespace \"{0}\" must not contain '{{' or '}}' (queue names carry Redis hash tags)")]
    Namespace(String),
    #[error("refusing to start: {0}")]
    Setting(&'static str),
    #[error("hospitals.default_time_zone \"{0}\" is not an IANA time zone")]
    TimeZone(String),
}

/// The refusal of a production process: what to set, each variable named once.
fn production_refusal(env: &str, set: &[String]) -> String {
    let why = if env == "production" {
        "CAREHUB_ENV is unset or \"production\"".to_owned()
    } else {
        format!("CAREHUB_ENV=\"{env}\" runs with production's checks")
    };
    format!(
        "refusing to start in production ({why}; only CAREHUB_ENV=development or test accepts the development defaults). Set: {}",
        set.join("; ")
    )
}

impl Settings {
    /// Loads the layered configuration for `CAREHUB_ENV` (unset: `production`), for a process
    /// that does or does not hold `AUDIT_KEY`.
    pub fn load(audit_key: AuditKeyUse) -> Result<Self, ConfigError> {
        Self::load_from(&EnvSource::from_process(), audit_key)
    }

    /// Loads the layered configuration with `vars` as the environment. Without `CAREHUB_ENV` the
    /// process is a production one: it refuses the development secrets, the console SMS provider
    /// and an open `/metrics`, naming every variable to set.
    pub fn load_from(vars: &EnvSource, audit_key: AuditKeyUse) -> Result<Self, ConfigError> {
        let env = vars.get("CAREHUB_ENV").unwrap_or("production").to_owned();
        let vars = match audit_key {
            AuditKeyUse::Seals => vars.clone(),
            AuditKeyUse::Unused => vars.without_setting("audit_key"),
        };
        let dir = vars.get("CAREHUB_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);
        let figment = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .merge(Toml::file(dir.join(format!("{env}.toml"))))
            .merge(vars);
        // Lossy: a number or boolean setting accepts "8000" or "true" from the environment, while
        // every string setting keeps its value as written.
        let mut settings: Self = figment.extract_lossy().map_err(Box::new)?;
        // CAREHUB_ENV decides, even when its file is absent: a production process must never
        // run its checks as "development" because a config file was not deployed.
        settings.env = env;
        if audit_key == AuditKeyUse::Unused {
            settings.audit_key = None;
        }
        settings.check()?;
        Ok(settings)
    }

    /// Settings for tests: the compiled-in defaults with the `test` environment's changes.
    pub fn for_tests() -> Result<Self, ConfigError> {
        let figment = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .merge(Toml::string(include_str!("../config/test.toml")))
            .merge(EnvSource::from_pairs(std::env::var("REDIS_URL").ok().map(|url| ("REDIS_URL", url))));
        Ok(figment.extract_lossy().map_err(Box::new)?)
    }

    /// Every environment but `development` and `test` is a production one (unset included).
    pub fn is_production(&self) -> bool {
        !DEVELOPMENT_ENVS.contains(&self.env.as_str())
    }

    /// The address the web server listens on: `HOST`, else every interface for `serve`
    /// (`local_by_default` false) and loopback only for `dev`, which runs on development
    /// secrets and prints demo passwords.
    pub fn listen_host(&self, local_by_default: bool) -> &str {
        match self.host.as_deref() {
            Some(host) => host,
            None if local_by_default => "127.0.0.1",
            None => "0.0.0.0",
        }
    }

    /// The audit chain's key, in a process that loaded it ([`AuditKeyUse::Seals`]).
    pub fn sealing_key(&self) -> anyhow::Result<crate::audit::AuditKey> {
        self.audit_key
            .as_ref()
            .map(crate::audit::AuditKey::new)
            .ok_or_else(|| anyhow::anyhow!("this process does not load AUDIT_KEY (only work, dev and audit-verify do)"))
    }

    /// How the job workers run, from this configuration (which kinds run, and how many at a
    /// time, is the job registry's: [`crate::jobs::registry`]).
    pub fn worker_settings(&self) -> anyhow::Result<carehub_workers::WorkerSettings> {
        use std::time::Duration;
        let jobs = &self.jobs;
        Ok(carehub_workers::WorkerSettings {
            redis_url: self.redis_url.expose_secret().to_owned(),
            namespace: jobs.namespace.clone(),
            poll_interval: Duration::from_millis(jobs.poll_interval_ms),
            max_attempts: jobs.max_attempts.max(1),
            backoff_initial: Duration::from_millis(jobs.backoff_initial_ms),
            backoff_max: Duration::from_millis(jobs.backoff_max_ms.max(jobs.backoff_initial_ms)),
            shutdown_timeout: Duration::from_secs(jobs.shutdown_timeout_seconds),
            relay_batch: jobs.relay_batch_size.max(1),
            relay_idle: Duration::from_millis(jobs.relay_idle_ms),
        })
    }

    /// The SMS provider the job handlers that send SMS are registered with
    /// ([`crate::jobs::registry`]).
    pub fn sms_provider(&self) -> anyhow::Result<carehub_workers::sms::SmsProvider> {
        Ok(if self.sms_provider == "twilio" {
            carehub_workers::sms::SmsProvider::twilio(carehub_workers::sms::TwilioConfig {
                account_sid: self.twilio_account_sid.clone(),
                auth_token: self.twilio_auth_token.clone(),
                from: self.twilio_from.clone(),
                api_base: self.twilio_api_base.clone(),
            })?
        } else {
            carehub_workers::sms::SmsProvider::Console
        })
    }

    /// Who answers recommendations: the mock, or the OpenAI-compatible API configured here.
    pub fn recommendation_provider(&self) -> crate::medicines::recommendations::jobs::Provider {
        use crate::medicines::recommendations::jobs::Provider;
        if self.llm_provider != "openai" {
            return Provider::Mock;
        }
        let config = carehub_workers::llm::LlmConfig {
            api_base: self.llm_api_base.clone(),
            api_key: self.llm_api_key.clone(),
            model: self.llm_model.clone(),
            timeout: std::time::Duration::from_secs(self.recommendations.llm_timeout_seconds.max(1)),
            attempts: self.recommendations.llm_attempts.max(1),
            backoff: std::time::Duration::from_millis(self.recommendations.llm_backoff_ms),
        };
        match carehub_workers::llm::ChatClient::new(config) {
            Ok(client) => Provider::Llm(Box::new(client)),
            Err(err) => {
                // Building a reqwest client fails only without a TLS backend: a broken build.
                tracing::error!(error = %err, "the LLM client could not be built; answering with the mock");
                Provider::Mock
            }
        }
    }

    /// The clamd client of the file-scan jobs and of the worker's readiness check.
    pub fn clamd(&self) -> carehub_workers::scan::Clamd {
        carehub_workers::scan::Clamd::new(
            self.clamd_addr.clone(),
            std::time::Duration::from_secs(self.records.scan_timeout_seconds.max(1)),
        )
    }

    /// How the clock runs, from this configuration (its schedules are the job registry's:
    /// [`crate::jobs::registry`]).
    pub fn clock_settings(&self) -> carehub_workers::ClockSettings {
        carehub_workers::ClockSettings {
            shutdown_timeout: std::time::Duration::from_secs(self.jobs.shutdown_timeout_seconds),
        }
    }

    /// How the audit sealer runs, from this configuration.
    pub fn sealer_settings(&self) -> anyhow::Result<crate::audit::SealerSettings> {
        Ok(crate::audit::SealerSettings {
            key: self.sealing_key()?,
            interval: std::time::Duration::from_millis(self.audit.seal_interval_ms.max(10)),
            batch: self.audit.seal_batch_size.max(1),
        })
    }

    /// A production process must not run on a secret anyone can read in this repository.
    fn check(&self) -> Result<(), ConfigError> {
        if self.hospitals.default_time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ConfigError::TimeZone(self.hospitals.default_time_zone.clone()));
        }
        match self.sms_provider.as_str() {
            "console" | "twilio" => {}
            _ => return Err(ConfigError::Sms("SMS_PROVIDER must be \"console\" or \"twilio\"")),
        }
        if self.scan_provider != "clamd" {
            return Err(ConfigError::Setting("SCAN_PROVIDER must be \"clamd\""));
        }
        if !matches!(self.llm_provider.as_str(), "mock" | "openai") {
            return Err(ConfigError::Setting("LLM_PROVIDER must be \"mock\" or \"openai\""));
        }
        if self.llm_provider == "openai" && self.llm_api_key.expose_secret().is_empty() {
            return Err(ConfigError::Setting("LLM_PROVIDER=openai needs LLM_API_KEY (or GROQ_API_KEY)"));
        }
        if !(self.storage_url.starts_with("file://") || self.storage_url.starts_with("s3://")) {
            return Err(ConfigError::Setting("STORAGE_URL must start with file:// or s3://"));
        }
        let twilio_missing: Vec<&str> = if self.sms_provider == "twilio" {
            [
                ("TWILIO_ACCOUNT_SID", self.twilio_account_sid.is_empty()),
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token.expose_secret().is_empty()),
                ("TWILIO_FROM", self.twilio_from.is_empty()),
            ]
            .into_iter()
            .filter_map(|(name, empty)| empty.then_some(name))
            .collect()
        } else {
            Vec::new()
        };
        if self.jobs.namespace.contains(['{', '}']) {
            return Err(ConfigError::Namespace(self.jobs.namespace.clone()));
        }
        if !self.is_production() {
            if !twilio_missing.is_empty() {
                return Err(ConfigError::TwilioIncomplete(twilio_missing.join(", ")));
            }
            return Ok(());
        }
        let set = self.production_missing(&twilio_missing)?;
        if set.is_empty() { Ok(()) } else { Err(ConfigError::Production { env: self.env.clone(), set }) }
    }

    /// What a production process still needs, each item naming the variables to set: the
    /// secrets still at their development value (or short), an open `/metrics`, an SMS provider
    /// that sends nothing, an incomplete Twilio.
    fn production_missing(&self, twilio_missing: &[&str]) -> Result<Vec<String>, ConfigError> {
        let defaults: Self = Figment::new().merge(Toml::string(DEFAULT_TOML)).extract().map_err(Box::new)?;
        let weak = |value: &SecretString, default: &SecretString| {
            value.expose_secret() == default.expose_secret() || value.expose_secret().len() < MIN_SECRET_LEN
        };
        let mut secrets = Vec::new();
        if weak(&self.jwt_secret, &defaults.jwt_secret) {
            secrets.push("JWT_SECRET");
        }
        if weak(&self.otp_secret, &defaults.otp_secret) {
            secrets.push("OTP_SECRET");
        }
        if weak(&self.audit_lookup_key, &defaults.audit_lookup_key) {
            secrets.push("AUDIT_LOOKUP_KEY");
        }
        let mut set = Vec::new();
        if let (Some(key), Some(default)) = (&self.audit_key, &defaults.audit_key) {
            if weak(key, default) {
                secrets.push("AUDIT_KEY");
            } else if key.expose_secret() == self.audit_lookup_key.expose_secret() {
                set.push(
                    "AUDIT_LOOKUP_KEY to a value other than AUDIT_KEY (web processes hold it; they must not be able to seal the audit trail)"
                        .to_owned(),
                );
            }
        }
        if !secrets.is_empty() {
            set.insert(
                0,
                format!(
                    "{} (each a secret of at least {MIN_SECRET_LEN} characters, not the development default)",
                    secrets.join(", ")
                ),
            );
        }
        if self.http.metrics_token.expose_secret().is_empty() {
            set.push("CAREHUB__HTTP__METRICS_TOKEN (/metrics is otherwise public)".to_owned());
        }
        if self.sms_provider == "console" {
            set.push(
                "SMS_PROVIDER=twilio with TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM (the console provider sends nothing)"
                    .to_owned(),
            );
        } else if !twilio_missing.is_empty() {
            set.push(format!("{} (SMS_PROVIDER=twilio needs them)", twilio_missing.join(", ")));
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A development process's settings (`CAREHUB_ENV=development` unless `pairs` name one).
    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env = (!pairs.iter().any(|(name, _)| *name == "CAREHUB_ENV")).then_some(("CAREHUB_ENV", "development"));
        load_as(AuditKeyUse::Seals, &pairs.iter().copied().chain(env).collect::<Vec<_>>())
    }

    fn load_as(audit_key: AuditKeyUse, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load_from(&EnvSource::from_pairs(pairs.iter().copied()), audit_key)
    }

    /// Every variable a production process needs set, with values that pass.
    const PRODUCTION: [(&str, &str); 9] = [
        ("JWT_SECRET", "production-jwt-secret-0123456789abcdef-0123456789"),
        ("OTP_SECRET", "production-otp-secret-0123456789abcdef-0123456789"),
        ("AUDIT_KEY", "production-audit-key-0123456789abcdef-0123456789"),
        ("AUDIT_LOOKUP_KEY", "production-lookup-key-0123456789abcdef-0123456789"),
        ("CAREHUB__HTTP__METRICS_TOKEN", "scrape-token"),
        ("SMS_PROVIDER", "twilio"),
        ("TWILIO_ACCOUNT_SID", "AC0042"),
        ("TWILIO_AUTH_TOKEN", "000123456789"),
        ("TWILIO_FROM", "+15005550006"),
    ];

    fn production_without(names: &[&str]) -> Vec<(&'static str, &'static str)> {
        PRODUCTION.into_iter().filter(|(name, _)| !names.contains(name)).collect()
    }

    #[test]
    fn documented_names_configure_twilio_with_values_as_written() {
        let settings = load(&[
            ("SMS_PROVIDER", "twilio"),
            ("TWILIO_ACCOUNT_SID", "0012345678"),
            ("TWILIO_AUTH_TOKEN", "000123456789"),
            ("TWILIO_FROM", "+15005550006"),
            ("TWILIO_API_BASE", "http://127.0.0.1:9"),
        ])
        .expect("loads");

        assert_eq!(settings.sms_provider, "twilio");
        assert_eq!(settings.twilio_account_sid, "0012345678");
        assert_eq!(settings.twilio_auth_token.expose_secret(), "000123456789");
        assert_eq!(settings.twilio_from, "+15005550006");
        assert_eq!(settings.twilio_api_base, "http://127.0.0.1:9");
    }

    #[test]
    fn prefixed_names_keep_strings_and_still_read_numbers_booleans_and_lists() {
        let settings = load(&[
            ("CAREHUB__TWILIO_FROM", "+15005550006"),
            ("JWT_SECRET", "12345678901234567890123456789012345"),
            ("PORT", "8001"),
            ("CAREHUB__HTTP__TRUST_PROXY", "true"),
            ("CAREHUB__AUTH__ACCESS_TTL_MINUTES", "30"),
            ("CAREHUB__HTTP__CORS_ORIGINS", r#"["https://app.example"]"#),
        ])
        .expect("loads");

        assert_eq!(settings.twilio_from, "+15005550006");
        assert_eq!(settings.jwt_secret.expose_secret(), "12345678901234567890123456789012345");
        assert_eq!(settings.port, 8001);
        assert!(settings.http.trust_proxy);
        assert_eq!(settings.auth.access_ttl_minutes, 30);
        assert_eq!(settings.http.cors_origins, ["https://app.example"]);
    }

    #[test]
    fn bare_names_win_over_prefixed_ones() {
        let settings = load(&[("CAREHUB__PORT", "1111"), ("PORT", "8000"), ("CAREHUB__SMS_PROVIDER", "nope")]);
        let err = settings.expect_err("CAREHUB__SMS_PROVIDER alone is used");
        assert!(err.to_string().contains("SMS_PROVIDER"), "{err}");

        let settings = load(&[
            ("CAREHUB__PORT", "1111"),
            ("PORT", "8000"),
            ("CAREHUB__SMS_PROVIDER", "nope"),
            ("SMS_PROVIDER", "console"),
        ])
        .expect("loads");
        assert_eq!(settings.port, 8000);
        assert_eq!(settings.sms_provider, "console");
    }

    #[test]
    fn a_half_configured_twilio_is_refused_by_the_missing_name() {
        let err = load(&[("SMS_PROVIDER", "twilio"), ("TWILIO_ACCOUNT_SID", "AC1"), ("TWILIO_FROM", "+15005550006")])
            .expect_err("refused");

        assert_eq!(err.to_string(), "refusing to start: SMS_PROVIDER=twilio needs TWILIO_AUTH_TOKEN to be set");
    }

    #[test]
    fn a_bad_number_names_its_variable() {
        let err = load(&[("PORT", "eighty")]).expect_err("refused");

        assert!(err.to_string().contains("PORT"), "{err}");
    }

    #[test]
    fn compiled_in_defaults_parse() {
        let settings = Settings::for_tests().expect("defaults parse");
        assert_eq!(settings.port, 8000);
        assert_eq!(settings.auth.access_ttl_minutes, 60);
        assert!(!settings.is_production());
    }

    #[test]
    fn without_carehub_env_a_process_is_production_and_refuses_naming_every_variable_to_set() {
        let err = load_as(AuditKeyUse::Seals, &[]).expect_err("the development defaults are refused");
        let message = err.to_string();

        for name in [
            "CAREHUB_ENV",
            "JWT_SECRET",
            "OTP_SECRET",
            "AUDIT_KEY",
            "AUDIT_LOOKUP_KEY",
            "CAREHUB__HTTP__METRICS_TOKEN",
            "SMS_PROVIDER=twilio",
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_FROM",
        ] {
            assert!(message.contains(name), "{name} in: {message}");
        }
        assert_eq!(message.lines().count(), 1, "one message: {message}");
        assert!(matches!(err, ConfigError::Production { ref env, .. } if env == "production"), "{err:?}");

        let settings = load_as(AuditKeyUse::Seals, &PRODUCTION).expect("every variable set");
        assert!(settings.is_production());
        assert_eq!(settings.env, "production");
    }

    #[test]
    fn explicit_development_and_test_accept_the_development_defaults() {
        for env in ["development", "test"] {
            let settings = load_as(AuditKeyUse::Seals, &[("CAREHUB_ENV", env)]).expect("development defaults");

            assert!(!settings.is_production(), "{env}");
            assert_eq!(settings.sms_provider, "console");
            assert!(settings.audit_key.is_some() && settings.http.metrics_token.expose_secret().is_empty());
        }
    }

    #[test]
    fn any_other_environment_name_runs_with_productions_checks() {
        for env in ["production", "staging", "Development", "dev"] {
            let err = load_as(AuditKeyUse::Unused, &[("CAREHUB_ENV", env)]).expect_err(env);
            assert!(err.to_string().contains("JWT_SECRET"), "{env}: {err}");
        }
        let settings =
            load_as(AuditKeyUse::Unused, &[&[("CAREHUB_ENV", "staging")], &PRODUCTION[..]].concat()).expect("staging");
        assert!(settings.is_production());
    }

    #[test]
    fn production_names_only_what_is_missing_weak_or_shared() {
        let only = |pairs: &[(&'static str, &'static str)]| {
            load_as(AuditKeyUse::Seals, pairs).expect_err("refused").to_string()
        };

        let message = only(&[&production_without(&["OTP_SECRET"])[..], &[("JWT_SECRET", "short")]].concat());
        assert!(message.contains("JWT_SECRET, OTP_SECRET (each a secret of at least 32"), "{message}");
        assert!(!message.contains("AUDIT") && !message.contains("SMS") && !message.contains("METRICS"), "{message}");

        let message = only(&production_without(&["TWILIO_AUTH_TOKEN", "TWILIO_FROM", "CAREHUB__HTTP__METRICS_TOKEN"]));
        assert!(message.contains("TWILIO_AUTH_TOKEN, TWILIO_FROM") && message.contains("METRICS_TOKEN"), "{message}");
        assert!(!message.contains("TWILIO_ACCOUNT_SID") && !message.contains("JWT_SECRET"), "{message}");

        let dev_audit_key = ("AUDIT_KEY", "dev-only-audit-key-change-me-0123456789abcdef");
        let message = only(&[&production_without(&["AUDIT_KEY"])[..], &[dev_audit_key]].concat());
        assert!(message.contains("Set: AUDIT_KEY (each a secret"), "the development key is refused: {message}");

        let shared = ("AUDIT_LOOKUP_KEY", "production-audit-key-0123456789abcdef-0123456789");
        let message = only(&[&production_without(&["AUDIT_LOOKUP_KEY"])[..], &[shared]].concat());
        assert!(message.contains("AUDIT_LOOKUP_KEY to a value other than AUDIT_KEY"), "{message}");

        let message = only(&production_without(&["SMS_PROVIDER"]));
        assert!(message.contains("the console provider sends nothing"), "{message}");
    }

    #[test]
    fn a_process_that_does_not_seal_neither_reads_nor_needs_the_audit_key() {
        let web = load_as(AuditKeyUse::Unused, &production_without(&["AUDIT_KEY"])).expect("serve needs no AUDIT_KEY");
        assert!(web.audit_key.is_none());
        assert!(web.sealing_key().is_err());

        let web = load_as(AuditKeyUse::Unused, &[&PRODUCTION[..], &[("CAREHUB__AUDIT_KEY", "x")]].concat())
            .expect("an AUDIT_KEY in the environment is not read");
        assert!(web.audit_key.is_none());

        let err = load_as(AuditKeyUse::Unused, &production_without(&["AUDIT_LOOKUP_KEY"])).expect_err("lookup key");
        assert!(err.to_string().contains("AUDIT_LOOKUP_KEY"), "{err}");

        let err = load_as(AuditKeyUse::Seals, &production_without(&["AUDIT_KEY"])).expect_err("the sealer needs it");
        assert!(err.to_string().contains("Set: AUDIT_KEY"), "{err}");
        let sealer = load_as(AuditKeyUse::Seals, &PRODUCTION).expect("sealer");
        assert_eq!(
            sealer.audit_key.as_ref().map(|k| k.expose_secret().to_owned()).as_deref(),
            Some("production-audit-key-0123456789abcdef-0123456789")
        );
    }

    #[test]
    fn dev_listens_on_loopback_and_serve_on_every_interface_unless_host_says_otherwise() {
        let settings = load(&[]).expect("loads");
        assert_eq!(settings.listen_host(true), "127.0.0.1");
        assert_eq!(settings.listen_host(false), "0.0.0.0");

        let settings = load(&[("HOST", "0.0.0.0")]).expect("loads");
        assert_eq!(settings.listen_host(true), "0.0.0.0");
        let settings = load(&[("HOST", "127.0.0.1")]).expect("loads");
        assert_eq!(settings.listen_host(false), "127.0.0.1");
    }
}
