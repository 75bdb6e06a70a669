//! Outbound webhooks: tells the vendor's systems that something happened
//! (a customer answered a request link, a request locked, a secret expires
//! soon) with a `POST` of a JSON event, signed as the Standard Webhooks spec
//! says (<https://www.standardwebhooks.com>), so that any of its reference
//! libraries can check it.
//!
//! Delivery runs in the background and retries on a schedule; the caller
//! learns how each event ended through a report callback and records it in
//! the audit trail. Events carry ids, tenants and outcomes, never secret
//! material, but nothing here logs a body anyway: the callers' promise is
//! not this module's to test. Neither the signing secret nor the target URL
//! (which may carry a token of the vendor's) is ever logged.
//!
//! Every event goes through the store's outbox ([`OutboxStore`]), so that a
//! pending retry survives a restart and, with several instances on one
//! Redis, one instance makes each attempt. `send` never waits: it hands the
//! event to a bounded queue (`try_send`; a full queue reports the event
//! failed). A dispatcher puts each event in the outbox, held by this
//! instance for the length of one attempt (a lease), and makes the first
//! attempt at once; a failed attempt is rescheduled in the outbox, and a
//! poller claims whatever is due — this instance's retries, another's
//! whose lease lapsed, those left by a stopped server. Attempts in flight
//! are bounded by a semaphore, the outbox by a capacity. The receiver sees
//! the same `webhook-id` on every try, and at least one try per event:
//! one that succeeded but was not yet marked so when its server died is
//! sent again, which the id lets the receiver recognise.
//!
//! The same outbox, dispatcher and poller carry other kinds of item (mail):
//! an [`OutboxKind`] owns the items whose target starts with its prefix,
//! makes their attempts and hears how they ended, while leases, retries
//! and bounds stay the ones here. The outbox runs whenever webhooks or such
//! a kind are configured.

use crate::outbound::redacted_url;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::TryRng as _;
use rand::rngs::SysRng;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use zeroize::Zeroizing;

use crate::store::{OutboxItem, OutboxStore};

/// Events waiting to be put in the outbox. Beyond this `send` reports the
/// event as failed instead of making a request handler wait.
const QUEUE: usize = 1024;

/// Attempts in flight at once. Events waiting for a retry wait in the
/// outbox, not here.
const MAX_IN_FLIGHT: usize = 256;

/// Events kept for delivery or retry at most. A vendor endpoint that is down
/// holds each event for the whole schedule (about 43 minutes with the
/// standard one); beyond this, new events are reported failed.
pub const OUTBOX_CAPACITY: usize = 10_000;

/// The poller looks for due items at least this often: retries of other
/// instances and of before a restart. This instance's own retries wake it
/// at their time.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Targets of items that are not webhook events (mail), whether or not
/// this instance carries their kind.
const OTHER_KINDS: &str = "mail:";

/// How long an item this instance cannot deliver waits before it is
/// claimed again (by whichever instance).
const PUT_BACK_FOR: Duration = Duration::from_secs(60);

/// Items claimed per round at most.
const CLAIM_BATCH: usize = 64;

/// A claim's lease outlasts one attempt (bounded by the timeout) by this,
/// for the store round trips around it.
const LEASE_MARGIN: Duration = Duration::from_secs(15);

const SECRET_PREFIX: &str = "whsec_";

/// The spec asks for 24 to 64 random bytes; shorter keys are guessable and
/// the reference libraries generate 24 or 32.
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;

/// Errors from the HTTP stack end up in the audit trail; they are short in
/// practice, and this keeps a pathological one from bloating it.
const MAX_ERROR_CHARS: usize = 200;

/// The signing secret shared with the vendor, `whsec_<base64>`. Only the
/// decoded key is kept, and it is wiped on drop.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// Accepts `whsec_` followed by standard (padded) base64 of 24 to 64
    /// bytes, the form the reference libraries read, so that a secret
    /// accepted here also works on the vendor's side. The message never
    /// repeats the secret.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let Some(encoded) = text.strip_prefix(SECRET_PREFIX) else {
            return Err(format!("must start with {SECRET_PREFIX}"));
        };
        let key = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| {
            format!("must be {SECRET_PREFIX} followed by standard base64 (A-Z a-z 0-9 + / =)")
        })?);
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(format!(
                "must encode {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, not {}",
                key.len()
            ));
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("whsec_***")
    }
}

/// Where events go and how they are signed.
#[derive(Clone)]
pub struct WebhookTarget {
    /// An absolute `http` or `https` URL; build with [`WebhookTarget::parse`].
    pub url: String,
    pub secret: WebhookSecret,
}

impl WebhookTarget {
    /// Checks that `url` is an absolute `http(s)` URL with a host. Plain
    /// `http` is allowed for endpoints inside the vendor's own network.
    pub fn parse(url: &str, secret: WebhookSecret) -> Result<Self, String> {
        let url = parse_url(url.trim())?;
        Ok(Self {
            url: url.to_string(),
            secret,
        })
    }
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &redacted_url(&self.url))
            .field("secret", &self.secret)
            .finish()
    }
}

fn parse_url(text: &str) -> Result<reqwest::Url, String> {
    // url's messages describe the problem without repeating the input,
    // which may carry a token.
    let url = reqwest::Url::parse(text).map_err(|error| format!("is not a URL: {error}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    Ok(url)
}

/// How a delivery ended, for the audit trail (the caller records it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub message_id: String,
    pub event_type: String,
    /// Requests made; 0 when the event never left the queue.
    pub attempts: u32,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        status: u16,
    },
    /// `last_error` is e.g. `HTTP 500`, `timed out`, `could not connect: …`
    /// or `queue full`; never a body.
    Failed {
        last_error: String,
    },
}

/// The retry schedule: the delay before each retry after the first attempt.
#[derive(Debug, Clone)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// 5 s, 30 s, 2 min, 10 min, 30 min: six attempts over about 43 minutes,
    /// long enough to ride out a vendor's deployment or short outage.
    #[must_use]
    pub fn standard() -> Self {
        Self(vec![
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(2 * 60),
            Duration::from_secs(10 * 60),
            Duration::from_secs(30 * 60),
        ])
    }

    /// An empty schedule makes one attempt and no retries.
    #[must_use]
    pub fn new(delays: Vec<Duration>) -> Self {
        Self(delays)
    }

    /// Attempts in all, the first one included.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.0.len()).map_or(u32::MAX, |retries| retries.saturating_add(1))
    }

    /// The wait after the `attempts`-th failed attempt, or `None` when that
    /// was the last. Counts kept in the outbox may exceed a schedule that was
    /// shortened since; those are given up.
    #[must_use]
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
        self.0.get(index).copied()
    }
}

type Report = Arc<dyn Fn(DeliveryReport) + Send + Sync>;

/// A tenant's `after_apply` URL as configured now (`None`: it has none).
type HookLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where an event goes. The outbox keeps this name rather than the URL,
/// which may carry the vendor's token; the URL is looked up at each
/// attempt, so a reload's change applies to pending retries too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `HANDOFF_WEBHOOK_URL`.
    Events,
    /// A tenant's `after_apply` hook.
    AfterApply { tenant: String },
}

impl Destination {
    fn encode(&self) -> String {
        match self {
            Self::Events => "events".to_owned(),
            Self::AfterApply { tenant } => format!("after_apply:{tenant}"),
        }
    }

    fn decode(text: &str) -> Option<Self> {
        match text.split_once(':') {
            None if text == "events" => Some(Self::Events),
            Some(("after_apply", tenant)) => Some(Self::AfterApply {
                tenant: tenant.to_owned(),
            }),
            _ => None,
        }
    }
}

/// Why an attempt at an item of another kind failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptFailure {
    /// Worth another try on the kind's schedule.
    Retry(String),
    /// Given up at once.
    Final(String),
}

/// Items of another kind that the outbox carries (mail): their targets
/// start with [`OutboxKind::prefix`]. Their payloads must hold no secret
/// material in clear, as webhook events do not.
#[async_trait::async_trait]
pub trait OutboxKind: Send + Sync + 'static {
    /// The start of every target this kind owns, e.g. `mail:`.
    fn prefix(&self) -> &'static str;
    /// Delays between its retries.
    fn schedule(&self) -> &RetrySchedule;
    /// The longest one attempt takes; the lease outlasts it.
    fn timeout(&self) -> Duration;
    /// One attempt; `Ok` with the receiver's answer.
    async fn attempt(&self, item: &OutboxItem) -> Result<String, AttemptFailure>;
    /// Called once per item when it is delivered (`Ok` with the answer) or
    /// given up (`Err` with the last error); must not block.
    fn finished(&self, item: &OutboxItem, attempts: u32, outcome: Result<String, String>);
}

/// Sends events in the background; cheap to clone. Without a target `send`
/// does nothing, so callers need no `if`.
#[derive(Clone)]
pub struct Webhooks {
    enabled: Option<Arc<Enabled>>,
}

struct Enabled {
    /// Whether webhook events have a target (the outbox may run for
    /// another kind alone).
    events: bool,
    queue: mpsc::Sender<OutboxItem>,
    worker: Arc<Worker>,
    stop: watch::Sender<bool>,
    /// Turns true once the dispatcher has put what was queued in the outbox.
    drained: watch::Receiver<bool>,
}

/// What the dispatcher, the poller and every attempt share.
struct Worker {
    outbox: Weak<dyn OutboxStore>,
    delivery: Result<Delivery, String>,
    /// Webhook events have a target here.
    events: bool,
    other: Option<Arc<dyn OutboxKind>>,
    after_apply: HookLookup,
    report: Report,
    in_flight: Arc<Semaphore>,
    lease: Duration,
    /// The earliest retry this instance scheduled (Unix ms; `i64::MAX`:
    /// none), so that the poller wakes for it rather than at its next tick.
    next_retry_ms: AtomicI64,
    wake: Notify,
}

/// What every delivery needs, shared by all of them.
struct Delivery {
    client: reqwest::Client,
    events_url: reqwest::Url,
    secret: WebhookSecret,
    schedule: RetrySchedule,
    timeout: Duration,
}

impl Webhooks {
    #[must_use]
    pub fn disabled() -> Self {
        Self { enabled: None }
    }

    /// Spawns the dispatcher and the outbox poller on the current tokio
    /// runtime (and panics outside one, like `tokio::spawn`). `report` is
    /// called once per event when it is finally delivered or given up: from
    /// a background task, or from `send` itself when the queue is full, so
    /// it must not block. `outbox` is held weakly: when the store is gone,
    /// delivery stops. `after_apply` names a tenant's hook URL as
    /// configured now.
    ///
    /// `timeout` bounds each attempt, from connecting to the response's
    /// status line. If no HTTPS client can be built (a container without CA
    /// certificates), the error is logged once and every event is reported
    /// failed at once, rather than refusing to start.
    pub fn start(
        target: WebhookTarget,
        schedule: RetrySchedule,
        timeout: Duration,
        outbox: Weak<dyn OutboxStore>,
        after_apply: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
        report: impl Fn(DeliveryReport) + Send + Sync + 'static,
    ) -> Self {
        Self::start_outbox(
            Some(target),
            schedule,
            timeout,
            outbox,
            after_apply,
            report,
            None,
        )
    }

    /// [`Webhooks::start`], with webhook events optional and another kind
    /// of item (mail) carried by the same outbox. Without a target, `send`
    /// does nothing and only `other`'s items are delivered.
    pub fn start_outbox(
        target: Option<WebhookTarget>,
        schedule: RetrySchedule,
        timeout: Duration,
        outbox: Weak<dyn OutboxStore>,
        after_apply: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
        report: impl Fn(DeliveryReport) + Send + Sync + 'static,
        other: Option<Arc<dyn OutboxKind>>,
    ) -> Self {
        let has_events = target.is_some();
        let delivery = match target {
            Some(target) => prepare(target, schedule, timeout).map_err(|reason| {
                tracing::error!(error = %reason, "webhooks cannot be delivered");
                reason
            }),
            None => Err("no webhook URL is configured".to_owned()),
        };
        let longest = other
            .as_ref()
            .map_or(timeout, |other| other.timeout().max(timeout));
        let worker = Arc::new(Worker {
            outbox,
            delivery,
            events: has_events,
            other,
            after_apply: Arc::new(after_apply),
            report: Arc::new(report),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            lease: longest + LEASE_MARGIN,
            next_retry_ms: AtomicI64::new(i64::MAX),
            wake: Notify::new(),
        });
        let (queue, events) = mpsc::channel(QUEUE);
        let (stop, stopping) = watch::channel(false);
        let (drained_tx, drained) = watch::channel(false);
        tokio::spawn(dispatch(
            Arc::clone(&worker),
            events,
            stopping.clone(),
            drained_tx,
        ));
        tokio::spawn(poll(Arc::clone(&worker), stopping));
        Self {
            enabled: Some(Arc::new(Enabled {
                events: has_events,
                queue,
                worker,
                stop,
                drained,
            })),
        }
    }

    /// Whether webhook events go anywhere.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled.as_ref().is_some_and(|enabled| enabled.events)
    }

    /// Queues an item of the other kind (its target starts with that
    /// kind's prefix) and returns at once; `false` (and nothing queued)
    /// when the outbox does not run or its queue is full.
    pub fn enqueue(&self, item: OutboxItem) -> bool {
        let Some(enabled) = &self.enabled else {
            return false;
        };
        match enabled.queue.try_send(item) {
            Ok(()) => true,
            Err(error) => {
                let item = error.into_inner();
                tracing::warn!(
                    event_type = item.event_type,
                    message_id = item.id,
                    "outbox queue full or stopped; item dropped"
                );
                false
            }
        }
    }

    /// Queues an event for `HANDOFF_WEBHOOK_URL`; see [`Webhooks::send_to`].
    pub fn send(&self, event_type: &str, data: serde_json::Value) {
        self.send_to(&Destination::Events, event_type, data);
    }

    /// Queues an event and returns at once. `data` must hold no secret
    /// material: it goes to the vendor as is, and into the store's outbox
    /// until delivered. A full queue reports the event failed instead of
    /// waiting, so a slow vendor or store never slows a request.
    pub fn send_to(&self, destination: &Destination, event_type: &str, data: serde_json::Value) {
        let Some(enabled) = self.enabled.as_ref().filter(|enabled| enabled.events) else {
            return;
        };
        let message_id = new_message_id();
        let failed = |last_error: &str| {
            (enabled.worker.report)(DeliveryReport {
                message_id: message_id.clone(),
                event_type: event_type.to_owned(),
                attempts: 0,
                outcome: DeliveryOutcome::Failed {
                    last_error: last_error.to_owned(),
                },
            });
        };
        let Some(payload) = envelope(event_type, data) else {
            tracing::warn!(event_type, message_id, "could not encode a webhook event");
            failed("could not encode the event");
            return;
        };
        let event = OutboxItem {
            id: message_id.clone(),
            target: destination.encode(),
            event_type: event_type.to_owned(),
            payload,
            due_ms: 0,
            attempts: 0,
            created_at: crate::domain::now(),
        };
        match enabled.queue.try_send(event) {
            Ok(()) => tracing::debug!(event_type, message_id, "queued a webhook event"),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(event_type, message_id, "webhook queue full; event dropped");
                failed("queue full");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!(
                    event_type,
                    message_id,
                    "webhook delivery has stopped; event dropped"
                );
                failed("delivery stopped");
            }
        }
    }

    /// Stops taking events and claiming retries, puts what is still queued
    /// in the outbox (due at once, for the next start or another instance),
    /// and waits for the attempts in flight. Callers bound it with the
    /// shutdown timeout: an attempt cut off stays in the outbox and is made
    /// again once its lease lapses.
    pub async fn stop(&self) {
        let Some(enabled) = &self.enabled else {
            return;
        };
        let _ = enabled.stop.send(true);
        let mut drained = enabled.drained.clone();
        let _ = drained.wait_for(|drained| *drained).await;
        let all = u32::try_from(MAX_IN_FLIGHT).unwrap_or(u32::MAX);
        let _ = enabled.worker.in_flight.acquire_many(all).await;
    }

    /// Attempts under way, for the shutdown log line.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.enabled.as_ref().map_or(0, |enabled| {
            MAX_IN_FLIGHT - enabled.worker.in_flight.available_permits()
        })
    }
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

/// The `webhook-signature` value for one attempt: `v1,` and the standard
/// base64 of HMAC-SHA256(key, `{message_id}.{timestamp}.{body}`).
#[must_use]
pub fn sign(secret: &WebhookSecret, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(&secret.0).expect("HMAC takes any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// `msg_` and 16 random bytes: the receiver deduplicates retries by this id,
/// so it must never repeat across events.
fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    // An OS without a working RNG cannot run this service safely at all.
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    format!("msg_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The spec's envelope. The timestamp is when the event happened, which
/// stays put across retries; `webhook-timestamp` is per attempt.
fn envelope(event_type: &str, data: serde_json::Value) -> Option<String> {
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        timestamp: String,
        data: serde_json::Value,
    }
    // Whole seconds: receivers parse RFC 3339 with fractions unevenly.
    let now =
        OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).ok()?;
    let envelope = Envelope {
        event_type,
        timestamp: now.format(&Rfc3339).ok()?,
        data,
    };
    serde_json::to_string(&envelope).ok()
}

fn prepare(
    target: WebhookTarget,
    schedule: RetrySchedule,
    timeout: Duration,
) -> Result<Delivery, String> {
    let url = parse_url(&target.url).map_err(|reason| format!("the webhook URL {reason}"))?;
    Ok(Delivery {
        client: build_client(timeout)?,
        events_url: url,
        secret: target.secret,
        schedule,
        timeout,
    })
}

fn build_client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::outbound::client(timeout).map_err(|error| format!("webhooks: {error}"))
}

/// Unix milliseconds, the outbox's clock.
fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(now).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Takes events off the queue: each goes into the outbox and gets its first
/// attempt at once, in a task of its own, so that one event waiting for the
/// vendor holds up no other. On stop, what is still queued goes into the
/// outbox for later.
async fn dispatch(
    worker: Arc<Worker>,
    mut events: mpsc::Receiver<OutboxItem>,
    mut stopping: watch::Receiver<bool>,
    drained: watch::Sender<bool>,
) {
    loop {
        let event = tokio::select! {
            biased;
            _ = stopping.wait_for(|stop| *stop) => break,
            event = events.recv() => event,
        };
        let Some(event) = event else {
            break;
        };
        worker.take(event).await;
    }
    events.close();
    let mut kept = 0_usize;
    while let Ok(mut event) = events.try_recv() {
        event.due_ms = now_ms();
        match worker.keep(&event).await {
            Ok(()) => kept += 1,
            Err(reason) => worker.give_up(&event, 0, reason),
        }
    }
    if kept > 0 {
        tracing::info!(
            events = kept,
            "kept queued webhook events in the outbox for later"
        );
    }
    let _ = drained.send(true);
}

/// Claims due items from the outbox and attempts each: retries of this
/// instance, of another whose lease lapsed, of a server that stopped.
async fn poll(worker: Arc<Worker>, mut stopping: watch::Receiver<bool>) {
    let mut unreachable = false;
    loop {
        let now = now_ms();
        let wake_at = worker
            .next_retry_ms
            .load(Ordering::Relaxed)
            .min(now.saturating_add(millis(POLL_EVERY)));
        let wait = Duration::from_millis(u64::try_from(wake_at - now).unwrap_or(0));
        tokio::select! {
            biased;
            _ = stopping.wait_for(|stop| *stop) => return,
            () = worker.wake.notified() => continue,
            () = tokio::time::sleep(wait) => {}
        }
        loop {
            let free = worker.in_flight.available_permits().min(CLAIM_BATCH);
            if free == 0 {
                break;
            }
            let Some(outbox) = worker.outbox.upgrade() else {
                return; // the service is gone
            };
            let now = now_ms();
            // This instance's retries due by now are about to be claimed.
            let _ = worker
                .next_retry_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |at| {
                    (at <= now).then_some(i64::MAX)
                });
            let claimed = outbox
                .claim_outbox(now, now.saturating_add(millis(worker.lease)), free)
                .await;
            drop(outbox);
            let claimed = match claimed {
                Ok(claimed) => claimed,
                Err(error) => {
                    if !unreachable {
                        tracing::warn!(%error, "cannot read the webhook outbox; trying again every second");
                        unreachable = true;
                    }
                    break;
                }
            };
            if unreachable {
                tracing::info!("the webhook outbox can be read again");
                unreachable = false;
            }
            let full = claimed.len() == free;
            for item in claimed {
                let Ok(permit) = Arc::clone(&worker.in_flight).acquire_owned().await else {
                    return; // the semaphore is never closed
                };
                tokio::spawn(Arc::clone(&worker).attempt(item, true, permit));
            }
            if !full {
                break;
            }
        }
    }
}

/// What a successful attempt got back.
enum Sent {
    Status(u16),
    Answer(String),
}

/// Why an attempt failed, and whether trying again could help.
enum Failure {
    Retry(String),
    Final(String),
}

impl Worker {
    /// Puts a new event in the outbox, held by this instance for its first
    /// attempt, and makes that attempt. A store that cannot take it does
    /// not stop the attempt, which then runs from memory alone.
    async fn take(self: &Arc<Self>, mut event: OutboxItem) {
        let Some(outbox) = self.outbox.upgrade() else {
            return;
        };
        event.due_ms = now_ms().saturating_add(millis(self.lease));
        let persisted = match outbox.enqueue_outbox(&event, OUTBOX_CAPACITY).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(
                    event_type = event.event_type,
                    message_id = event.id,
                    "webhook outbox full; event dropped"
                );
                self.give_up(&event, 0, "outbox full".to_owned());
                return;
            }
            Err(error) => {
                tracing::warn!(%error, event_type = event.event_type, message_id = event.id, "cannot keep a webhook event in the outbox; trying it from memory");
                false
            }
        };
        drop(outbox);
        let Ok(permit) = Arc::clone(&self.in_flight).acquire_owned().await else {
            return; // the semaphore is never closed
        };
        tokio::spawn(Arc::clone(self).attempt(event, persisted, permit));
    }

    /// Adds `event` to the outbox as it is (used at stop, and for the retry
    /// of an event the outbox could not take at first).
    async fn keep(&self, event: &OutboxItem) -> Result<(), String> {
        let outbox = self
            .outbox
            .upgrade()
            .ok_or_else(|| "the store is gone".to_owned())?;
        match outbox.enqueue_outbox(event, OUTBOX_CAPACITY).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("outbox full".to_owned()),
            Err(error) => Err(format!("could not be kept for a retry: {error}")),
        }
    }

    /// One attempt at an event this instance holds (its `due_ms` is the
    /// lease); then it is done, rescheduled or given up. The permit bounds
    /// attempts in flight, store updates included.
    async fn attempt(
        self: Arc<Self>,
        mut event: OutboxItem,
        persisted: bool,
        permit: OwnedSemaphorePermit,
    ) {
        let lease_ms = event.due_ms;
        if !self.handles(&event) {
            self.put_back(event, lease_ms).await;
            drop(permit);
            return;
        }
        event.attempts += 1;
        let (event_type, message_id, attempt) =
            (event.event_type.as_str(), event.id.as_str(), event.attempts);
        let other = self.other_kind(&event);
        let outcome = match &other {
            Some(other) => other
                .attempt(&event)
                .await
                .map(Sent::Answer)
                .map_err(|failure| match failure {
                    AttemptFailure::Retry(error) => Failure::Retry(error),
                    AttemptFailure::Final(error) => Failure::Final(error),
                }),
            None => self.send_once(&event).await.map(Sent::Status),
        };
        let error = match outcome {
            Ok(sent) => {
                tracing::info!(event_type, message_id, attempt, "delivered an outbox item");
                self.forget(&event).await;
                match (sent, &other) {
                    (Sent::Answer(answer), Some(other)) => {
                        other.finished(&event, event.attempts, Ok(answer));
                    }
                    (Sent::Status(status), _) => (self.report)(DeliveryReport {
                        message_id: event.id.clone(),
                        event_type: event.event_type.clone(),
                        attempts: event.attempts,
                        outcome: DeliveryOutcome::Delivered { status },
                    }),
                    (Sent::Answer(_), None) => {}
                }
                drop(permit);
                return;
            }
            Err(error) => error,
        };
        let delay = match (&error, &other, &self.delivery) {
            (Failure::Retry(_), Some(other), _) => other.schedule().delay_after(event.attempts),
            (Failure::Retry(_), None, Ok(delivery)) => {
                delivery.schedule.delay_after(event.attempts)
            }
            _ => None,
        };
        let (Failure::Retry(error) | Failure::Final(error)) = error;
        tracing::warn!(event_type, message_id, attempt, %error, "webhook attempt failed");
        if let Some(delay) = delay {
            self.retry_later(event, lease_ms, delay, persisted, error)
                .await;
        } else {
            tracing::warn!(event_type, message_id, attempts = attempt, %error, "gave up on a webhook");
            self.forget(&event).await;
            let attempts = event.attempts;
            self.give_up(&event, attempts, error);
        }
        drop(permit);
    }

    /// Stores the next attempt. If the lease lapsed and someone else holds
    /// the event now, it is theirs; if the store cannot take the update,
    /// the event is attempted again once the lease lapses.
    async fn retry_later(
        &self,
        mut event: OutboxItem,
        lease_ms: i64,
        delay: Duration,
        persisted: bool,
        error: String,
    ) {
        event.due_ms = now_ms().saturating_add(millis(delay));
        let Some(outbox) = self.outbox.upgrade() else {
            return;
        };
        let kept = if persisted {
            outbox.reschedule_outbox(&event, lease_ms).await
        } else {
            outbox.enqueue_outbox(&event, OUTBOX_CAPACITY).await
        };
        drop(outbox);
        match kept {
            Ok(true) => {
                self.next_retry_ms
                    .fetch_min(event.due_ms, Ordering::Relaxed);
                self.wake.notify_one();
            }
            Ok(false) if persisted => tracing::debug!(
                message_id = event.id,
                "another claim holds the webhook event now"
            ),
            Ok(false) => {
                let attempts = event.attempts;
                self.give_up(&event, attempts, format!("{error}; outbox full"));
            }
            Err(store) if persisted => tracing::warn!(
                error = %store,
                message_id = event.id,
                "cannot reschedule a webhook retry; it is tried again when its lease lapses"
            ),
            Err(store) => {
                let attempts = event.attempts;
                self.give_up(
                    &event,
                    attempts,
                    format!("{error}; no retry could be kept: {store}"),
                );
            }
        }
    }

    /// Removes a delivered or given-up event. Should the store not answer,
    /// the event is tried again after its lease: a repeat, which the
    /// receiver recognises by its `webhook-id`.
    async fn forget(&self, event: &OutboxItem) {
        let Some(outbox) = self.outbox.upgrade() else {
            return;
        };
        if let Err(error) = outbox.remove_outbox(&event.id).await {
            tracing::warn!(%error, message_id = event.id, "cannot remove a finished webhook event from the outbox");
        }
    }

    fn give_up(&self, event: &OutboxItem, attempts: u32, last_error: String) {
        if let Some(other) = self.other_kind(event) {
            other.finished(event, attempts, Err(last_error));
            return;
        }
        (self.report)(DeliveryReport {
            message_id: event.id.clone(),
            event_type: event.event_type.clone(),
            attempts,
            outcome: DeliveryOutcome::Failed { last_error },
        });
    }

    /// Whether this instance can deliver `event` at all: a webhook event
    /// needs a webhook URL, a mail item the mail settings. Another
    /// instance (or a later start) may be set up for what this one is not.
    fn handles(&self, event: &OutboxItem) -> bool {
        if self.other_kind(event).is_some() {
            return true;
        }
        self.events && !event.target.starts_with(OTHER_KINDS)
    }

    /// Gives back an item this instance cannot deliver, untried, for a
    /// minute from now: it stays in the outbox for one that can.
    async fn put_back(&self, mut event: OutboxItem, lease_ms: i64) {
        event.due_ms = now_ms().saturating_add(millis(PUT_BACK_FOR));
        let Some(outbox) = self.outbox.upgrade() else {
            return;
        };
        if let Err(error) = outbox.reschedule_outbox(&event, lease_ms).await {
            tracing::debug!(%error, message_id = event.id, "cannot put back an outbox item; it lapses back by itself");
        }
    }

    /// The other kind that owns `event`, if it is not a webhook event.
    fn other_kind(&self, event: &OutboxItem) -> Option<Arc<dyn OutboxKind>> {
        self.other
            .as_ref()
            .filter(|other| event.target.starts_with(other.prefix()))
            .cloned()
    }

    /// Where `event` goes now.
    fn url_for(&self, delivery: &Delivery, event: &OutboxItem) -> Result<reqwest::Url, String> {
        match Destination::decode(&event.target) {
            Some(Destination::Events) => Ok(delivery.events_url.clone()),
            Some(Destination::AfterApply { tenant }) => {
                let url = (self.after_apply)(&tenant)
                    .ok_or_else(|| "the tenant no longer has an after_apply hook".to_owned())?;
                parse_url(&url).map_err(|reason| format!("the after_apply URL {reason}"))
            }
            None => Err("an unknown destination".to_owned()),
        }
    }

    /// One signed POST; any 2xx is delivered. The response body is not
    /// read: the spec gives it no meaning.
    async fn send_once(&self, event: &OutboxItem) -> Result<u16, Failure> {
        let delivery = self
            .delivery
            .as_ref()
            .map_err(|reason| Failure::Final(reason.clone()))?;
        let url = self.url_for(delivery, event).map_err(Failure::Final)?;
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = sign(
            &delivery.secret,
            &event.id,
            timestamp,
            event.payload.as_bytes(),
        );
        let response = delivery
            .client
            .post(url)
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(event.payload.clone())
            .send()
            .await
            .map_err(|error| Failure::Retry(describe(&error, delivery.timeout)))?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(Failure::Retry(format!("HTTP {}", status.as_u16())))
        }
    }
}

/// What went wrong, for the log and the audit trail. Only the causes are
/// kept: reqwest's own message repeats the URL, which may hold a token.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    crate::outbound::describe_failure(error, timeout)
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 bytes of key.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";

    #[test]
    fn a_secret_parses_with_its_prefix_and_surrounding_space() {
        let secret = WebhookSecret::parse(&format!("  {SECRET}\n")).unwrap();
        assert_eq!(secret.0.len(), 32);
    }

    #[test]
    fn the_spec_example_signs_as_published() {
        // The Standard Webhooks reference implementations' test vector.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_message_id_is_msg_and_22_base64url_characters() {
        let id = new_message_id();
        let random = id.strip_prefix("msg_").unwrap();
        assert_eq!(random.len(), 22);
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(id, new_message_id());
    }

    #[test]
    fn a_target_needs_an_http_url_with_a_host() {
        let secret = || WebhookSecret::parse(SECRET).unwrap();
        assert!(WebhookTarget::parse("https://vendor.example/hooks", secret()).is_ok());
        assert!(WebhookTarget::parse("ftp://vendor.example/hooks", secret()).is_err());
        assert!(WebhookTarget::parse("vendor.example/hooks", secret()).is_err());
        assert!(WebhookTarget::parse("", secret()).is_err());
    }

    #[test]
    fn a_target_prints_without_credentials_query_or_secret() {
        let target = WebhookTarget::parse(
            "https://user:pa55@vendor.example/hooks?token=t0ken",
            WebhookSecret::parse(SECRET).unwrap(),
        )
        .unwrap();
        let printed = format!("{target:?}");
        assert!(
            printed.contains("https://***@vendor.example/hooks?***"),
            "{printed}"
        );
        for hidden in ["user", "pa55", "t0ken", "MfKQ"] {
            assert!(!printed.contains(hidden), "{printed}");
        }
    }

    #[test]
    fn the_standard_schedule_makes_six_attempts() {
        assert_eq!(RetrySchedule::standard().attempts(), 6);
        assert_eq!(RetrySchedule::new(Vec::new()).attempts(), 1);
        let standard = RetrySchedule::standard();
        assert_eq!(standard.delay_after(1), Some(Duration::from_secs(5)));
        assert_eq!(standard.delay_after(5), Some(Duration::from_secs(30 * 60)));
        assert_eq!(standard.delay_after(6), None);
        assert_eq!(standard.delay_after(0), None);
    }

    #[test]
    fn a_destination_is_kept_by_name_and_read_back() {
        for destination in [
            Destination::Events,
            Destination::AfterApply {
                tenant: "contoso".into(),
            },
        ] {
            assert_eq!(
                Destination::decode(&destination.encode()),
                Some(destination)
            );
        }
        assert_eq!(Destination::decode("https://vendor.example/hooks"), None);
    }
}
