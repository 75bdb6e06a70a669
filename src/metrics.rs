//! Prometheus metrics for `/metrics`: tenant secret expiries (so the
//! vendor's alerting pages someone before customers notice), and counters
//! and latency histograms for requests, reveals, applies and errors. Labels
//! are route templates, codes and tenant slugs: never ids or secrets.
//!
//! Each service owns its recorder (no process-wide global), so several
//! servers in one process keep separate numbers.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Key, Label, Metadata, Recorder as _};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

const METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn key(name: &'static str, labels: &[(&'static str, String)]) -> Key {
    Key::from_parts(
        name,
        labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.clone()))
            .collect::<Vec<_>>(),
    )
}

impl Metrics {
    #[must_use]
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ])
            .expect("the bucket list is not empty")
            .build_recorder();
        Self {
            recorder: Arc::new(recorder),
        }
    }

    fn count(&self, name: &'static str, labels: &[(&'static str, String)]) {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
            .increment(1);
    }

    /// One HTTP request, by route template, method and status.
    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.to_string()),
        ];
        self.count("handoff_http_requests_total", &labels);
        self.recorder
            .register_histogram(
                &key("handoff_http_request_duration_seconds", &labels[..2]),
                &METADATA,
            )
            .record(elapsed.as_secs_f64());
        if status >= 500 {
            self.count("handoff_http_errors_total", &labels[..2]);
        }
    }

    pub fn secret_created(&self) {
        self.count("handoff_secrets_created_total", &[]);
    }

    pub fn secret_revealed(&self) {
        self.count("handoff_reveals_total", &[]);
    }

    pub fn request_answered(&self, tenant: &str, outcome: &str) {
        self.count(
            "handoff_request_answers_total",
            &[
                ("tenant", tenant.to_owned()),
                ("outcome", outcome.to_owned()),
            ],
        );
    }

    /// A successful apply; `expires_on` (YYYY-MM-DD) sets the tenant's gauge.
    pub fn applied(&self, tenant: &str, expires_on: Option<&str>) {
        self.count("handoff_applies_total", &[("tenant", tenant.to_owned())]);
        if let Some(at) = expires_on.and_then(|d| crate::domain::ExpiryDate::parse(d, 0).ok()) {
            self.tenant_expiry(tenant, at.unix_time());
        }
    }

    pub fn apply_failed(&self, step: &str) {
        self.count("handoff_apply_failures_total", &[("step", step.to_owned())]);
    }

    /// Audit events left out of the store (they are in the log), by
    /// reason: `queue_full`, `store_failed` or `stopped`.
    pub fn audit_dropped(&self, reason: &'static str, events: u64) {
        self.recorder
            .register_counter(
                &key(
                    "handoff_audit_dropped_total",
                    &[("reason", reason.to_owned())],
                ),
                &METADATA,
            )
            .increment(events);
    }

    /// When the tenant's current secret expires, as Unix seconds.
    #[allow(clippy::cast_precision_loss)] // Unix seconds stay exact in f64 for millions of years
    pub fn tenant_expiry(&self, tenant: &str, expires_at: i64) {
        self.recorder
            .register_gauge(
                &key(
                    "handoff_tenant_secret_expiry_timestamp_seconds",
                    &[("tenant", tenant.to_owned())],
                ),
                &METADATA,
            )
            .set(expires_at as f64);
    }

    /// Drains the histograms' buffered samples into their buckets. Without
    /// it they grow until `/metrics` is scraped; startup runs it every few
    /// seconds.
    pub fn upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }

    /// The Prometheus text format.
    #[must_use]
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}
