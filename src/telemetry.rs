//! Logging: `tracing` with JSON lines in production (one event per line, fields as keys) and
//! human-readable lines in development. `RUST_LOG` overrides the configured level.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogSettings;

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops), which
/// the test harness relies on.
pub fn init(settings: &LogSettings, production: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if production || settings.format == "json" {
        // The span list alone: with the current span too, every span field (the request id)
        // would be written twice per line.
        registry.with(fmt::layer().json().flatten_event(true).with_current_span(false).with_span_list(true)).try_init()
    } else {
        registry.with(fmt::layer().with_target(false)).try_init()
    };
    // An already-installed subscriber (tests spawning several apps) is fine.
    drop(result);
}

/// Logs for tests: silent unless `TEST_LOG` is set.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init(&LogSettings { format: "pretty".into(), level: "debug,sqlx=warn,h2=warn,hyper=warn".into() }, false);
    }
}
