//! The environment as a configuration layer: the documented Heroku-style names (one table,
//! [`BARE_NAMES`]) and `CAREHUB__SECTION__KEY` for everything else. Values are taken as written:
//! `TWILIO_FROM=+15005550006` stays the string `+15005550006`, a numeric-looking secret keeps its
//! leading zeros. Number and boolean settings still accept `8000` or `true` because the settings
//! are extracted with figment's `extract_lossy`, which reads such a string as a number or a bool
//! only where the setting is one. A `CAREHUB__` value starting with `[` or `{` is parsed as a
//! list or table (`CAREHUB__HTTP__CORS_ORIGINS='["https://app.example"]'`).

use std::collections::{BTreeMap, BTreeSet};

use figment::{
    Metadata, Profile, Provider,
    value::{Dict, Map, Value},
};

/// Each documented bare name and the setting (a dotted path) it fills. Bare names win over
/// `CAREHUB__` names. When several names fill one setting, the first one set (and not empty)
/// wins, so a fallback alias is one more line after its main name, e.g.
/// `("LLM_API_KEY", "llm.api_key"), ("GROQ_API_KEY", "llm.api_key")`.
pub const BARE_NAMES: &[(&str, &str)] = &[
    ("DATABASE_URL", "database_url"),
    ("REDIS_URL", "redis_url"),
    ("PORT", "port"),
    ("WORKER_PORT", "worker_port"),
    ("JWT_SECRET", "jwt_secret"),
    ("OTP_SECRET", "otp_secret"),
    ("AUDIT_KEY", "audit_key"),
    ("AUDIT_LOOKUP_KEY", "audit_lookup_key"),
    ("HOST", "host"),
    ("SMS_PROVIDER", "sms_provider"),
    ("TWILIO_ACCOUNT_SID", "twilio_account_sid"),
    ("TWILIO_AUTH_TOKEN", "twilio_auth_token"),
    ("TWILIO_FROM", "twilio_from"),
    ("TWILIO_API_BASE", "twilio_api_base"),
    ("STORAGE_URL", "storage_url"),
    ("SCAN_PROVIDER", "scan_provider"),
    ("CLAMD_ADDR", "clamd_addr"),
    ("LLM_PROVIDER", "llm_provider"),
    ("LLM_API_BASE", "llm_api_base"),
    // The first name set wins: LLM_API_KEY, else GROQ_API_KEY.
    ("LLM_API_KEY", "llm_api_key"),
    ("GROQ_API_KEY", "llm_api_key"),
    ("LLM_MODEL", "llm_model"),
];

const PREFIX: &str = "CAREHUB__";

/// A snapshot of environment variables, usable as a figment provider. Built from the process
/// environment, or from any `(name, value)` pairs (tests never touch the real environment).
#[derive(Debug, Clone, Default)]
pub struct EnvSource {
    vars: BTreeMap<String, String>,
}

impl EnvSource {
    /// The process's environment (names and values not in UTF-8 are read lossily).
    pub fn from_process() -> Self {
        Self::from_pairs(
            std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The variable's value, unless it is unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// This environment without any variable that fills the setting `path` (its bare names and
    /// its `CAREHUB__` spelling): what a process that must not hold that setting reads.
    #[must_use]
    pub fn without_setting(&self, path: &str) -> Self {
        let fills = |name: &str| {
            BARE_NAMES.iter().any(|&(bare, p)| bare == name && p == path)
                || prefixed_path(name).as_deref() == Some(path)
        };
        Self { vars: self.vars.iter().filter(|(name, _)| !fills(name)).map(|(k, v)| (k.clone(), v.clone())).collect() }
    }

    /// The bare name that fills each setting path, for the settings some bare name fills.
    fn bare_sources(&self, names: &[(&'static str, &'static str)]) -> BTreeMap<&'static str, &'static str> {
        let mut sources = BTreeMap::new();
        for &(name, path) in names {
            if !sources.contains_key(path) && self.get(name).is_some() {
                sources.insert(path, name);
            }
        }
        sources
    }

    /// The configuration the environment gives, as nested dictionaries.
    pub fn dict(&self) -> Dict {
        self.dict_with(BARE_NAMES)
    }

    fn dict_with(&self, names: &[(&'static str, &'static str)]) -> Dict {
        let mut dict = Dict::new();
        for (name, value) in &self.vars {
            if let Some(path) = prefixed_path(name) {
                insert(&mut dict, &path, structured(value));
            }
        }
        for (path, name) in self.bare_sources(names) {
            if let Some(value) = self.get(name) {
                insert(&mut dict, path, Value::from(value.to_owned()));
            }
        }
        dict
    }
}

/// `CAREHUB__HTTP__CORS_ORIGINS` -> `http.cors_origins`; `None` for other names or an empty part.
fn prefixed_path(name: &str) -> Option<String> {
    let head = name.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let parts: Vec<String> = name[PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
    if parts.iter().any(|p| p.is_empty() || p.contains('.')) {
        return None;
    }
    Some(parts.join("."))
}

/// A value as written, except a list or table, which is parsed.
fn structured(value: &str) -> Value {
    let trimmed = value.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let parsed: Value = value.parse().unwrap_or_else(|never: std::convert::Infallible| match never {});
        if matches!(parsed, Value::Array(..) | Value::Dict(..)) {
            return parsed;
        }
    }
    Value::from(value.to_owned())
}

/// Inserts `value` at the dotted `path`, creating the tables on the way.
fn insert(dict: &mut Dict, path: &str, value: Value) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let Some(rest) = rest else {
        dict.insert(head.to_owned(), value);
        return;
    };
    let entry = dict.entry(head.to_owned()).or_insert_with(|| Value::from(Dict::new()));
    if !matches!(entry, Value::Dict(..)) {
        *entry = Value::from(Dict::new());
    }
    if let Value::Dict(_, table) = entry {
        insert(table, rest, value);
    }
}

impl Provider for EnvSource {
    fn metadata(&self) -> Metadata {
        // Errors name the variable to fix: the bare name that was set, else the CAREHUB__ one.
        let bare: BTreeSet<(String, String)> =
            self.bare_sources(BARE_NAMES).into_iter().map(|(path, name)| (path.to_owned(), name.to_owned())).collect();
        Metadata::named("environment variable(s)").interpolater(move |_: &Profile, keys: &[&str]| {
            let path = keys.join(".");
            bare.iter().find(|(p, _)| *p == path).map_or_else(
                || format!("{PREFIX}{}", keys.iter().map(|k| k.to_ascii_uppercase()).collect::<Vec<_>>().join("__")),
                |(_, name)| name.clone(),
            )
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn a_value_is_a_string_as_written() {
        let dict = source(&[("TWILIO_FROM", "+15005550006"), ("CAREHUB__TWILIO_AUTH_TOKEN", "00123")]).dict();

        assert_eq!(dict["twilio_from"], Value::from("+15005550006".to_owned()));
        assert_eq!(dict["twilio_auth_token"], Value::from("00123".to_owned()));
    }

    #[test]
    fn prefixed_names_nest_and_lists_are_parsed() {
        let dict = source(&[
            ("CAREHUB__HTTP__CORS_ORIGINS", r#"["https://a.example", "https://b.example"]"#),
            ("CAREHUB__AUTH__ACCESS_TTL_MINUTES", "30"),
            ("CAREHUB_ENV", "production"),
            ("CAREHUB____BROKEN", "x"),
            ("UNRELATED", "y"),
        ])
        .dict();

        let http = dict["http"].as_dict().expect("http table");
        let origins: Vec<_> = http["cors_origins"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
        assert_eq!(origins, ["https://a.example", "https://b.example"]);
        assert_eq!(dict["auth"].as_dict().expect("auth")["access_ttl_minutes"], Value::from("30".to_owned()));
        assert_eq!(dict.len(), 2, "only CAREHUB__ and documented names: {dict:?}");
    }

    #[test]
    fn without_a_setting_drops_every_name_that_fills_it_and_nothing_else() {
        let dict = source(&[
            ("AUDIT_KEY", "a"),
            ("carehub__audit_key", "b"),
            ("CAREHUB__AUDIT_KEY", "c"),
            ("AUDIT_LOOKUP_KEY", "d"),
            ("JWT_SECRET", "e"),
        ])
        .without_setting("audit_key")
        .dict();

        assert!(!dict.contains_key("audit_key"), "{dict:?}");
        assert_eq!(dict["audit_lookup_key"], Value::from("d".to_owned()));
        assert_eq!(dict["jwt_secret"], Value::from("e".to_owned()));
    }

    #[test]
    fn bare_names_win_and_the_first_alias_set_fills_a_setting() {
        let dict =
            source(&[("CAREHUB__PORT", "1"), ("PORT", "8000"), ("CAREHUB__REDIS_URL", "redis://prefixed")]).dict();
        assert_eq!(dict["port"], Value::from("8000".to_owned()));
        assert_eq!(dict["redis_url"], Value::from("redis://prefixed".to_owned()));

        let aliases = [("LLM_API_KEY", "llm.api_key"), ("GROQ_API_KEY", "llm.api_key")];
        let key = |env: EnvSource| env.dict_with(&aliases)["llm"].as_dict().expect("llm")["api_key"].clone();
        let fallback = key(source(&[("GROQ_API_KEY", "gsk_1"), ("LLM_API_KEY", "")]));
        let main = key(source(&[("GROQ_API_KEY", "gsk_1"), ("LLM_API_KEY", "sk_2")]));
        assert_eq!(fallback, Value::from("gsk_1".to_owned()), "an empty variable is unset; the alias fills in");
        assert_eq!(main, Value::from("sk_2".to_owned()), "the main name wins over its alias");
    }
}
