//! Configuration: `config/default.toml` (compiled in, so the binary runs from any directory),
//! then `config/{CAREHUB_ENV}.toml`, then the environment. Heroku-style names win
//! (`DATABASE_URL`, `REDIS_URL`, `PORT`, `WORKER_PORT`, `JWT_SECRET`, `OTP_SECRET`); the rest
//! come as `CAREHUB__SECTION__KEY`.

use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Environment variables read under their bare (Heroku-style) names.
const PLAIN_ENV: [&str; 6] = ["DATABASE_URL", "REDIS_URL", "PORT", "WORKER_PORT", "JWT_SECRET", "OTP_SECRET"];

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
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub auth: AuthSettings,
    pub accounts: AccountSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub max_connections: u32,
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

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error(
        "refusing to start in production: {0} is the development default; set a strong secret (at least 32 characters)"
    )]
    DevelopmentSecret(&'static str),
}

impl Settings {
    /// Loads the layered configuration for `CAREHUB_ENV` (default `development`).
    pub fn load() -> Result<Self, ConfigError> {
        let env = std::env::var("CAREHUB_ENV").unwrap_or_else(|_| "development".into());
        let dir = std::env::var("CAREHUB_CONFIG_DIR").map_or_else(|_| PathBuf::from("config"), PathBuf::from);
        let figment = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .merge(Toml::file(dir.join(format!("{env}.toml"))))
            .merge(Env::prefixed("CAREHUB__").split("__"))
            .merge(Env::raw().only(&PLAIN_ENV));
        let mut settings: Self = figment.extract().map_err(Box::new)?;
        // CAREHUB_ENV decides, even when its file is absent: a production process must never
        // run its checks as "development" because a config file was not deployed.
        settings.env = env;
        settings.check()?;
        Ok(settings)
    }

    /// Settings for tests: the compiled-in defaults with the `test` environment's changes.
    pub fn for_tests() -> Result<Self, ConfigError> {
        let figment = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .merge(Toml::string(include_str!("../config/test.toml")))
            .merge(Env::raw().only(&["REDIS_URL"]));
        Ok(figment.extract().map_err(Box::new)?)
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// A production process must not run on a secret anyone can read in this repository.
    fn check(&self) -> Result<(), ConfigError> {
        if !self.is_production() {
            return Ok(());
        }
        let defaults: Self = Figment::new().merge(Toml::string(DEFAULT_TOML)).extract().map_err(Box::new)?;
        let weak = |value: &SecretString, default: &SecretString| {
            value.expose_secret() == default.expose_secret() || value.expose_secret().len() < 32
        };
        if weak(&self.jwt_secret, &defaults.jwt_secret) {
            return Err(ConfigError::DevelopmentSecret("JWT_SECRET"));
        }
        if weak(&self.otp_secret, &defaults.otp_secret) {
            return Err(ConfigError::DevelopmentSecret("OTP_SECRET"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_defaults_parse() {
        let settings = Settings::for_tests().expect("defaults parse");
        assert_eq!(settings.port, 8000);
        assert_eq!(settings.auth.access_ttl_minutes, 60);
        assert!(!settings.is_production());
    }

    #[test]
    fn production_refuses_the_development_jwt_secret() {
        let mut settings = Settings::for_tests().expect("defaults parse");
        settings.env = "production".into();
        let err = settings.check().expect_err("default secret refused");
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        settings.jwt_secret = SecretString::from("x".repeat(48));
        let err = settings.check().expect_err("default OTP secret refused");
        assert!(err.to_string().contains("OTP_SECRET"), "{err}");
        settings.otp_secret = SecretString::from("y".repeat(48));
        settings.check().expect("strong secrets accepted");
    }
}
