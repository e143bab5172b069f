//! The process-wide Prometheus recorder (installed once, shared by every app in the process).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds, from 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The recorder's handle; installs the recorder on first use. Other threads wait for the
/// installation to finish, so no app records into the no-op recorder meanwhile.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(err) = metrics::set_global_recorder(recorder) {
                tracing::error!(error = %err, "another metrics recorder is installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("http_requests_total", "HTTP requests by method, route template and status");
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route template and status"
    );
    metrics::describe_gauge!("audit_chain_head_position", "Position of the last sealed audit row (the chain head)");
    metrics::describe_gauge!(
        "audit_chain_head_hash_prefix",
        "First 48 bits of the chain head's hash, as a number (audit-verify --head POSITION:%012x)"
    );
    metrics::describe_counter!("audit_rows_sealed_total", "Audit rows sealed into the chain");
    metrics::describe_counter!(
        "cache_reads_total",
        "Reads of a per-process cache by its notification channel: hit, miss, or bypassed (not listening)"
    );
    metrics::describe_gauge!(
        "cache_listeners",
        "Listening connections of a per-process cache; 0 while its reads bypass it"
    );
    metrics::describe_gauge!("audit_unsealed_rows", "Audit rows awaiting the sealer (read at scrape time)");
    metrics::describe_gauge!(
        "audit_unsealed_oldest_age_seconds",
        "Age of the oldest audit row awaiting the sealer; over a minute is a fault (read at scrape time)"
    );
}
