//! Configuration: `config/default.toml` (compiled in, so the binary runs from any directory),
//! then `config/{CAREHUB_ENV}.toml`, then the environment ([`env`]): the documented Heroku-style
//! names (`DATABASE_URL`, `PORT`, `SMS_PROVIDER`, `TWILIO_FROM`, ...) win; the rest come as
//! `CAREHUB__SECTION__KEY`. Environment values are taken as written.
//!
//! Production is the default: without `CAREHUB_ENV` (or with any value but `development` and
//! `test`) a process refuses the development secrets of `config/default.toml`, the console SMS
//! provider and an open `/metrics`, naming every variable to set in one message. Only the
//! processes that seal or verify the audit chain read `AUDIT_KEY` ([`AuditKeyUse`]).
//!
//! Here: [`Settings`] and how it is loaded. The sections are in [`sections`], the refusals of a
//! production process in [`checks`], what each process builds from its settings in [`processes`].

mod checks;
pub mod env;
mod processes;
mod sections;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

pub use self::env::EnvSource;

pub use self::{
    checks::{ConfigError, DEVELOPMENT_ENVS, MIN_SECRET_LEN},
    sections::*,
};

const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

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
    pub console: ConsoleSettings,
    pub log: LogSettings,
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
            .merge(Toml::string(include_str!("../../config/test.toml")))
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
}
