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

use crate::outbound::redacted_url;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::TryRng as _;
use rand::rngs::SysRng;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{Semaphore, mpsc};
use zeroize::Zeroizing;

/// Events waiting to be picked up. Beyond this `send` reports the event as
/// failed instead of making a request handler wait for the vendor.
const QUEUE: usize = 1024;

/// Events being delivered or waiting for a retry at once. A vendor endpoint
/// that is down holds each event for the whole schedule (about 43 minutes
/// with the standard one); this bound keeps that from growing without limit.
/// When it is reached the queue fills up, and then `send` refuses.
const MAX_IN_FLIGHT: usize = 256;

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
}

type Report = Arc<dyn Fn(DeliveryReport) + Send + Sync>;

/// Sends events in the background; cheap to clone. Without a target `send`
/// does nothing, so callers need no `if`.
#[derive(Clone)]
pub struct Webhooks {
    enabled: Option<Enabled>,
}

#[derive(Clone)]
struct Enabled {
    queue: mpsc::Sender<Queued>,
    report: Report,
}

/// One event, signed afresh on every attempt because the timestamp is part
/// of the signature. No `Debug`, so that no body ends up in a log by way of
/// a stray `{:?}`.
struct Queued {
    message_id: String,
    event_type: String,
    body: Vec<u8>,
}

/// What every delivery needs, shared by all of them.
struct Delivery {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: WebhookSecret,
    schedule: RetrySchedule,
    timeout: Duration,
}

impl Webhooks {
    #[must_use]
    pub fn disabled() -> Self {
        Self { enabled: None }
    }

    /// Spawns the delivery task on the current tokio runtime (and panics
    /// outside one, like `tokio::spawn`). `report` is called once per event
    /// when it is finally delivered or given up: from a background task, or
    /// from `send` itself when the queue is full, so it must not block.
    ///
    /// `timeout` bounds each attempt, from connecting to the response's
    /// status line. If no HTTPS client can be built (a container without CA
    /// certificates), the error is logged once and every event is reported
    /// failed at once, rather than refusing to start.
    pub fn start(
        target: WebhookTarget,
        schedule: RetrySchedule,
        timeout: Duration,
        report: impl Fn(DeliveryReport) + Send + Sync + 'static,
    ) -> Self {
        let report: Report = Arc::new(report);
        let delivery = prepare(target, schedule, timeout).map_err(|reason| {
            tracing::error!(error = %reason, "webhooks cannot be delivered");
            reason
        });
        let (queue, events) = mpsc::channel(QUEUE);
        tokio::spawn(dispatch(events, Arc::new(delivery), Arc::clone(&report)));
        Self {
            enabled: Some(Enabled { queue, report }),
        }
    }

    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    /// Queues an event and returns at once. `data` must hold no secret
    /// material: it goes to the vendor as is. A full queue reports the event
    /// failed instead of waiting, so a slow vendor never slows a request.
    pub fn send(&self, event_type: &str, data: serde_json::Value) {
        let Some(enabled) = &self.enabled else {
            return;
        };
        let message_id = new_message_id();
        let failed = |last_error: &str| {
            (enabled.report)(DeliveryReport {
                message_id: message_id.clone(),
                event_type: event_type.to_owned(),
                attempts: 0,
                outcome: DeliveryOutcome::Failed {
                    last_error: last_error.to_owned(),
                },
            });
        };
        let Some(body) = envelope(event_type, data) else {
            tracing::warn!(event_type, message_id, "could not encode a webhook event");
            failed("could not encode the event");
            return;
        };
        let event = Queued {
            message_id: message_id.clone(),
            event_type: event_type.to_owned(),
            body,
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
fn envelope(event_type: &str, data: serde_json::Value) -> Option<Vec<u8>> {
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
    serde_json::to_vec(&envelope).ok()
}

fn prepare(
    target: WebhookTarget,
    schedule: RetrySchedule,
    timeout: Duration,
) -> Result<Delivery, String> {
    let url = parse_url(&target.url).map_err(|reason| format!("the webhook URL {reason}"))?;
    Ok(Delivery {
        client: build_client(timeout)?,
        url,
        secret: target.secret,
        schedule,
        timeout,
    })
}

fn build_client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::outbound::client(timeout).map_err(|error| format!("webhooks: {error}"))
}

/// Takes events off the queue and delivers each in a task of its own, so
/// that one event waiting out its retries holds up no other.
async fn dispatch(
    mut events: mpsc::Receiver<Queued>,
    delivery: Arc<Result<Delivery, String>>,
    report: Report,
) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(event) = events.recv().await {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            // The semaphore is never closed.
            return;
        };
        let delivery = Arc::clone(&delivery);
        let report = Arc::clone(&report);
        tokio::spawn(async move {
            let outcome = match delivery.as_ref() {
                Ok(delivery) => deliver(delivery, &event).await,
                Err(reason) => DeliveryReport {
                    message_id: event.message_id,
                    event_type: event.event_type,
                    attempts: 0,
                    outcome: DeliveryOutcome::Failed {
                        last_error: reason.clone(),
                    },
                },
            };
            drop(permit);
            report(outcome);
        });
    }
}

async fn deliver(delivery: &Delivery, event: &Queued) -> DeliveryReport {
    let event_type = event.event_type.as_str();
    let message_id = event.message_id.as_str();
    let mut delays = delivery.schedule.0.iter();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let error = match send_once(delivery, event).await {
            Ok(status) => {
                tracing::info!(
                    event_type,
                    message_id,
                    attempt,
                    status,
                    "delivered a webhook"
                );
                return DeliveryReport {
                    message_id: message_id.to_owned(),
                    event_type: event_type.to_owned(),
                    attempts: attempt,
                    outcome: DeliveryOutcome::Delivered { status },
                };
            }
            Err(error) => error,
        };
        tracing::warn!(event_type, message_id, attempt, %error, "webhook attempt failed");
        let Some(delay) = delays.next() else {
            tracing::warn!(event_type, message_id, attempts = attempt, %error, "gave up on a webhook");
            return DeliveryReport {
                message_id: message_id.to_owned(),
                event_type: event_type.to_owned(),
                attempts: attempt,
                outcome: DeliveryOutcome::Failed { last_error: error },
            };
        };
        tokio::time::sleep(*delay).await;
    }
}

/// One signed POST; any 2xx is delivered. The response body is not read:
/// the spec gives it no meaning.
async fn send_once(delivery: &Delivery, event: &Queued) -> Result<u16, String> {
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign(&delivery.secret, &event.message_id, timestamp, &event.body);
    let response = delivery
        .client
        .post(delivery.url.clone())
        .header("webhook-id", &event.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(event.body.clone())
        .send()
        .await
        .map_err(|error| describe(&error, delivery.timeout))?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(format!("HTTP {}", status.as_u16()))
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
    }
}
