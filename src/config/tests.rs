//! The configuration's loading and refusals, from a given environment.

use secrecy::ExposeSecret as _;

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
    let only =
        |pairs: &[(&'static str, &'static str)]| load_as(AuditKeyUse::Seals, pairs).expect_err("refused").to_string();

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
