//! What a process refuses to start with: a bad value, an incomplete Twilio, and in production
//! (the default) the development secrets, the console SMS provider and an open `/metrics`.

use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};

use super::{DEFAULT_TOML, Settings};

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
    /// A production process must not run on a secret anyone can read in this repository.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
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
