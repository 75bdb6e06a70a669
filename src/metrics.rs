//! Prometheus metrics for `/metrics`: tenant secret expiries (so the
//! vendor's alerting pages someone before customers notice), and counters
//! and latency histograms for requests, reveals, applies and errors. Labels
//! are route templates, codes and tenant slugs: never ids or secrets.
//!
//! Each service owns its recorder (no process-wide global), so several
//! servers in one process keep separate numbers.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::http::Method;
use metrics::{Counter, Histogram, Key, Label, Metadata, Recorder as _};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

const METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    http: Arc<RwLock<HashMap<Box<str>, RouteHandles>>>,
    /// Counted on every push and reveal: registered once (see
    /// [`RouteHandles`]).
    secrets_created: Counter,
    reveals: Counter,
}

/// One route template's handles, registered on its first request: building
/// the label keys and looking them up in the recorder on every request was
/// a measurable share of its CPU. Bounded: route templates are the
/// router's, methods the nine standard ones or `other`, statuses three
/// digits.
#[derive(Default)]
struct RouteHandles {
    requests: Vec<(&'static str, u16, Counter)>,
    durations: Vec<(&'static str, Histogram)>,
    errors: Vec<(&'static str, Counter)>,
}

impl RouteHandles {
    /// Counts and times one request; false (recording nothing) if a
    /// handle it needs is not yet registered.
    fn record(&self, method: &str, status: u16, seconds: f64) -> bool {
        let Some((_, _, requests)) = self
            .requests
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        else {
            return false;
        };
        let Some((_, duration)) = self.durations.iter().find(|(m, _)| *m == method) else {
            return false;
        };
        let errors = if status >= 500 {
            let Some((_, errors)) = self.errors.iter().find(|(m, _)| *m == method) else {
                return false;
            };
            Some(errors)
        } else {
            None
        };
        requests.increment(1);
        duration.record(seconds);
        if let Some(errors) = errors {
            errors.increment(1);
        }
        true
    }
}

/// A method's label: the standard ones by name, any other as `other`, so
/// that a client inventing methods cannot add series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
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
        let counter = |name| recorder.register_counter(&Key::from_name(name), &METADATA);
        Self {
            secrets_created: counter("handoff_secrets_created_total"),
            reveals: counter("handoff_reveals_total"),
            recorder: Arc::new(recorder),
            http: Arc::default(),
        }
    }

    fn count(&self, name: &'static str, labels: &[(&'static str, String)]) {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
            .increment(1);
    }

    /// One HTTP request, by route template, method and status.
    pub fn http_request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let seconds = elapsed.as_secs_f64();
        {
            let routes = self.http.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(handles) = routes.get(route)
                && handles.record(method, status, seconds)
            {
                return;
            }
        }
        let mut routes = self.http.write().unwrap_or_else(PoisonError::into_inner);
        let handles = routes.entry(route.into()).or_default();
        self.register_http(handles, route, method, status);
        handles.record(method, status, seconds);
    }

    /// Adds to `handles` whatever a request of `method` and `status` on
    /// `route` needs and it has not yet got.
    fn register_http(
        &self,
        handles: &mut RouteHandles,
        route: &str,
        method: &'static str,
        status: u16,
    ) {
        let labels = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.to_string()),
        ];
        if !handles
            .requests
            .iter()
            .any(|(m, s, _)| *m == method && *s == status)
        {
            let counter = self
                .recorder
                .register_counter(&key("handoff_http_requests_total", &labels), &METADATA);
            handles.requests.push((method, status, counter));
        }
        if !handles.durations.iter().any(|(m, _)| *m == method) {
            let histogram = self.recorder.register_histogram(
                &key("handoff_http_request_duration_seconds", &labels[..2]),
                &METADATA,
            );
            handles.durations.push((method, histogram));
        }
        if status >= 500 && !handles.errors.iter().any(|(m, _)| *m == method) {
            let counter = self
                .recorder
                .register_counter(&key("handoff_http_errors_total", &labels[..2]), &METADATA);
            handles.errors.push((method, counter));
        }
    }

    pub fn secret_created(&self) {
        self.secrets_created.increment(1);
    }

    pub fn secret_revealed(&self) {
        self.reveals.increment(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_and_reveals_are_counted_on_their_registered_handles() {
        let metrics = Metrics::new();
        metrics.secret_created();
        metrics.secret_created();
        metrics.secret_revealed();
        let scraped = metrics.render();
        assert!(
            scraped.contains("handoff_secrets_created_total 2"),
            "{scraped}"
        );
        assert!(scraped.contains("handoff_reveals_total 1"), "{scraped}");
    }
}
