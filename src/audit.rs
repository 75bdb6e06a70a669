//! The audit trail: an append-only event for everything that happens to a
//! secret or a request, and staff sign-ins (the event types live in
//! [`crate::domain::audit`]). Each event is written at once as one log line
//! with target `audit` (for the vendor's SIEM) and kept in the store for the
//! retention period, beyond the life of the secret itself.
//!
//! Store writes are batched by a background task so that auditing costs a
//! request no extra round trip. The log line is written synchronously, so a
//! crash can lose at most the last batch from the store, never from the log.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub use crate::domain::audit::{Actor, AuditEvent, AuditQuery, Kind};
use crate::store::AuditStore;
use crate::webhook::{DeliveryOutcome, DeliveryReport};

/// Events waiting for the store; beyond this, recording waits.
const QUEUE: usize = 4096;
const BATCH: usize = 256;

enum Message {
    Event(AuditEvent),
    /// Write everything queued so far, then answer.
    Flush(oneshot::Sender<()>),
}

/// Records events: a log line now, the store soon after.
#[derive(Clone)]
pub struct Audit {
    queue: mpsc::Sender<Message>,
}

impl Audit {
    /// Starts the background writer on the current runtime. It holds the
    /// store weakly, so that dropping the service closes the store.
    #[must_use]
    pub fn start(store: Weak<dyn AuditStore>) -> Self {
        let (queue, messages) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, messages));
        Self { queue }
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
            let audit = audit.clone();
            tokio::spawn(async move {
                audit
                    .record(AuditEvent::new(kind, &Actor::System).detail(detail))
                    .await;
            });
        }
    }

    /// Waits until every event recorded so far is in the store (used at
    /// shutdown).
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }

    pub async fn record(&self, event: AuditEvent) {
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
        if self.queue.send(Message::Event(event)).await.is_err() {
            tracing::error!("the audit writer has stopped; the event is only in the log");
        }
    }
}

async fn write_batches(store: Weak<dyn AuditStore>, mut messages: mpsc::Receiver<Message>) {
    let mut received = Vec::with_capacity(BATCH);
    while messages.recv_many(&mut received, BATCH).await > 0 {
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
        // Retry a failing store rather than drop the batch; the queue fills
        // meanwhile and recording waits (back-pressure).
        let mut delay = Duration::from_millis(100);
        while !events.is_empty() {
            match store.append_audit(&events).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, events = events.len(), "cannot store audit events; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
