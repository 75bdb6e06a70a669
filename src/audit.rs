//! The audit trail: an append-only event for everything that happens to a
//! secret or a request, and staff sign-ins (the event types live in
//! [`crate::domain::audit`]). Each event is written at once as one log line
//! with target `audit` (for the vendor's SIEM) and kept in the store for the
//! retention period, beyond the life of the secret itself.
//!
//! Store writes are batched by a background task so that auditing costs a
//! request no extra round trip. The log line is written synchronously, so a
//! crash can lose at most the last batch from the store, never from the log.
//!
//! Recording never waits: an event the queue cannot take, or a batch the
//! store refuses a few times over, is left out of the store (it is in the
//! log), counted in `handoff_audit_dropped_total` and reported in a warning
//! at most every few seconds. A store that is down thus costs the audit
//! trail some events, never a request its answer.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

pub use crate::domain::audit::{Actor, AuditEvent, AuditQuery, Kind};
use crate::metrics::Metrics;
use crate::store::AuditStore;
use crate::webhook::{DeliveryOutcome, DeliveryReport};

/// Events waiting for the store; beyond this, events go to the log only.
const QUEUE: usize = 4096;
const BATCH: usize = 256;
/// After a batch that did not fill, how long the writer lets the next one
/// gather: under load, one store write (and one wake-up of the writer) per
/// this many events instead of one per event or two; idle, an event reaches
/// the store this much later. Requests never wait for it.
const GATHER: Duration = Duration::from_millis(2);
/// Tries to store one batch before it is left to the log.
const TRIES: u32 = 4;
/// The wait after the first failed try; it doubles after each.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// Bounds one store write whatever the backend's own timeouts are.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most one warning about dropped events this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

enum Message {
    Event(AuditEvent),
    /// Write everything queued so far, then answer.
    Flush(oneshot::Sender<()>),
}

/// Records events: a log line now, the store soon after.
#[derive(Clone)]
pub struct Audit {
    queue: mpsc::Sender<Message>,
    dropped: Arc<Dropped>,
    /// Events queued or being written, not yet in the store nor given up.
    unwritten: Arc<AtomicUsize>,
}

impl Audit {
    /// Starts the background writer on the current runtime. It holds the
    /// store weakly, so that dropping the service closes the store.
    #[must_use]
    pub fn start(store: Weak<dyn AuditStore>, metrics: Metrics) -> Self {
        let (queue, messages) = mpsc::channel(QUEUE);
        let dropped = Arc::new(Dropped::new(metrics));
        let unwritten = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write_batches(
            store,
            messages,
            Arc::clone(&dropped),
            Arc::clone(&unwritten),
        ));
        Self {
            queue,
            dropped,
            unwritten,
        }
    }

    /// A webhook delivery reporter: every delivery, good or given up, goes
    /// into the audit trail, which is where staff see failures.
    pub fn delivery_reporter(&self) -> impl Fn(DeliveryReport) + Send + Sync + 'static {
        let audit = self.clone();
        move |report: DeliveryReport| {
            let (kind, detail) = match &report.outcome {
                DeliveryOutcome::Delivered { status } => (
                    Kind::WebhookDelivered,
                    format!(
                        "{} {} (HTTP {status}, attempt {})",
                        report.event_type, report.message_id, report.attempts
                    ),
                ),
                DeliveryOutcome::Failed { last_error } => (
                    Kind::WebhookFailed,
                    format!(
                        "{} {} gave up after {} attempts: {last_error}",
                        report.event_type, report.message_id, report.attempts
                    ),
                ),
            };
            audit.log_and_queue(AuditEvent::new(kind, &Actor::System).detail(detail));
        }
    }

    /// Waits until every event recorded so far is in the store or given up
    /// (used at shutdown, under the shutdown timeout: with the store down
    /// this takes the writer's tries for every queued batch).
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }

    /// Events recorded but neither in the store nor given up yet, for the
    /// shutdown log line.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.unwritten.load(Ordering::Relaxed)
    }

    /// Logs the event and queues it for the store; never waits. (`async`
    /// because every use case awaits it among its steps; nothing in it
    /// waits.)
    #[allow(clippy::unused_async)]
    pub async fn record(&self, event: AuditEvent) {
        self.log_and_queue(event);
    }

    /// [`Audit::record`] from code that is not async (a delivery's report).
    pub fn record_now(&self, event: AuditEvent) {
        self.log_and_queue(event);
    }

    fn log_and_queue(&self, event: AuditEvent) {
        tracing::info!(
            target: "audit",
            kind = %event.kind,
            actor = %event.actor,
            ip = event.ip.as_deref().unwrap_or(""),
            user_agent = event.user_agent.as_deref().unwrap_or(""),
            subject = event.subject.as_deref().unwrap_or(""),
            tenant = event.tenant.as_deref().unwrap_or(""),
            detail = event.detail.as_deref().unwrap_or(""),
            aadsts = event.aadsts,
            event_id = %event.event_id,
            "audit event"
        );
        // Counted before it is queued, so the writer never counts it down first.
        self.unwritten.fetch_add(1, Ordering::Relaxed);
        let refused = match self.queue.try_send(Message::Event(event)) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => ("queue_full", "the audit queue is full"),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                ("stopped", "the audit writer has stopped")
            }
        };
        self.unwritten.fetch_sub(1, Ordering::Relaxed);
        self.dropped.count(1, refused.0, refused.1);
    }
}

/// Counts events left out of the store, and warns about them at most every
/// [`WARN_EVERY`] rather than once per event.
struct Dropped {
    metrics: Metrics,
    since_warning: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

impl Dropped {
    fn new(metrics: Metrics) -> Self {
        // Present from the start, so an alert on its rate needs no "absent".
        for reason in REASONS {
            metrics.audit_dropped(reason, 0);
        }
        Self {
            metrics,
            since_warning: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        }
    }

    fn count(&self, events: u64, reason: &'static str, cause: &str) {
        self.metrics.audit_dropped(reason, events);
        self.since_warning.fetch_add(events, Ordering::Relaxed);
        let mut last = self
            .last_warning
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < WARN_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let dropped = self.since_warning.swap(0, Ordering::Relaxed);
        tracing::warn!(
            dropped,
            reason,
            cause,
            "audit events were left out of the store (each is in the log); counted in handoff_audit_dropped_total"
        );
    }
}

/// The `reason` label of `handoff_audit_dropped_total`.
const REASONS: [&str; 3] = ["queue_full", "store_failed", "stopped"];

async fn write_batches(
    store: Weak<dyn AuditStore>,
    mut messages: mpsc::Receiver<Message>,
    dropped: Arc<Dropped>,
    unwritten: Arc<AtomicUsize>,
) {
    let mut received = Vec::with_capacity(BATCH);
    while messages.recv_many(&mut received, BATCH).await > 0 {
        let gather = received.len() < BATCH;
        let mut events = Vec::with_capacity(received.len());
        let mut flushes = Vec::new();
        for message in received.drain(..) {
            match message {
                Message::Event(event) => events.push(event),
                Message::Flush(done) => flushes.push(done),
            }
        }
        let Some(store) = store.upgrade() else {
            return; // the service is gone; the log has every event
        };
        if !events.is_empty() {
            write_with_retries(store.as_ref(), &events, &dropped).await;
            unwritten.fetch_sub(events.len(), Ordering::Relaxed);
        }
        drop(store);
        for done in flushes {
            let _ = done.send(());
        }
        if gather {
            tokio::time::sleep(GATHER).await;
        }
    }
}

/// Stores one batch, retrying a failing store a few times with a growing
/// wait; after the last try the batch is left to the log and counted. The
/// queue fills meanwhile, and what it cannot take is counted too: bounded
/// either way, and no request waits.
async fn write_with_retries(store: &dyn AuditStore, events: &[AuditEvent], dropped: &Dropped) {
    let mut delay = FIRST_RETRY;
    for attempt in 1..=TRIES {
        let error = match tokio::time::timeout(WRITE_TIMEOUT, store.append_audit(events)).await {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {}s", WRITE_TIMEOUT.as_secs()),
        };
        if attempt == TRIES {
            dropped.count(events.len() as u64, "store_failed", &error);
            return;
        }
        tracing::debug!(%error, attempt, events = events.len(), "cannot store audit events; retrying");
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UnixTime;
    use crate::store::{MemoryStore, StoreError};
    use async_trait::async_trait;

    /// A store that never answers, as Redis does while it is stopped.
    struct Stalled;

    #[async_trait]
    impl AuditStore for Stalled {
        async fn append_audit(&self, _: &[AuditEvent]) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn query_audit(&self, _: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
            std::future::pending().await
        }
        async fn purge_audit(&self, _: UnixTime) -> Result<u64, StoreError> {
            std::future::pending().await
        }
    }

    fn dropped_total(metrics: &Metrics) -> u64 {
        metrics
            .render()
            .lines()
            .filter(|line| line.starts_with("handoff_audit_dropped_total"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    #[tokio::test]
    async fn recording_never_waits_for_a_stalled_store_and_counts_what_it_drops() {
        let store: Arc<dyn AuditStore> = Arc::new(Stalled);
        let metrics = Metrics::new();
        let audit = Audit::start(Arc::downgrade(&store), metrics.clone());
        let events = QUEUE + BATCH + 1000;

        let recording = async {
            for _ in 0..events {
                audit
                    .record(AuditEvent::new(Kind::SecretCreated, &Actor::Anonymous))
                    .await;
                tokio::task::yield_now().await;
            }
        };
        // Without the fix the writer's queue fills and `record` waits forever.
        tokio::time::timeout(Duration::from_secs(30), recording)
            .await
            .expect("recording never waits for the store");

        let dropped = dropped_total(&metrics);
        assert!(dropped >= 1000, "{dropped} of {events} dropped");
        assert!(metrics.render().contains("reason=\"queue_full\""));
    }

    #[tokio::test]
    async fn a_batch_the_store_keeps_refusing_is_dropped_after_a_few_tries() {
        struct Down;
        #[async_trait]
        impl AuditStore for Down {
            async fn append_audit(&self, _: &[AuditEvent]) -> Result<(), StoreError> {
                Err(StoreError::Unavailable("down".into()))
            }
            async fn query_audit(&self, _: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
                Ok(Vec::new())
            }
            async fn purge_audit(&self, _: UnixTime) -> Result<u64, StoreError> {
                Ok(0)
            }
        }
        let store: Arc<dyn AuditStore> = Arc::new(Down);
        let metrics = Metrics::new();
        let audit = Audit::start(Arc::downgrade(&store), metrics.clone());

        audit
            .record(AuditEvent::new(Kind::SecretCreated, &Actor::Anonymous))
            .await;
        // The writer's waits add up to 1.4 s.
        tokio::time::timeout(Duration::from_secs(60), audit.flush())
            .await
            .expect("the flush ends once the batch is given up");

        assert_eq!(dropped_total(&metrics), 1);
        assert!(metrics.render().contains("reason=\"store_failed\""));
    }

    #[tokio::test]
    async fn a_working_store_gets_every_event() {
        let memory = Arc::new(MemoryStore::new());
        let store: Arc<dyn AuditStore> = memory.clone();
        let metrics = Metrics::new();
        let audit = Audit::start(Arc::downgrade(&store), metrics.clone());
        for _ in 0..10 {
            audit
                .record(AuditEvent::new(Kind::SecretCreated, &Actor::Anonymous))
                .await;
        }
        audit.flush().await;
        let query = AuditQuery {
            since: 0,
            until: crate::domain::now() + 10,
            tenant: None,
            subject: None,
            kind: None,
            limit: 100,
        };
        assert_eq!(memory.query_audit(&query).await.unwrap().len(), 10);
        assert_eq!(dropped_total(&metrics), 0);
    }
}
