//! Outbound webhooks, with wiremock playing the endpoint's endpoint and the
//! Standard Webhooks reference library checking the signatures, so that the
//! signing is tested against someone else's reading of the spec. Nothing
//! here leaves the machine.

use std::sync::Arc;
use std::time::Duration;

use handoff::store::{MemoryStore, OutboxStore};
use handoff::webhook::{
    DeliveryOutcome, DeliveryReport, RetrySchedule, WebhookSecret, WebhookTarget, Webhooks, sign,
};
use serde_json::{Value, json};
use standardwebhooks::Webhook;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::WEBHOOK_SECRET;

const OTHER_SECRET: &str = "whsec_dGhpcyBpcyBhbm90aGVyIGtleSwgMzIgYnl0ZXM=";
const HOOK_PATH: &str = "/hooks/handoff";
const TIMEOUT: Duration = Duration::from_millis(300);
/// Long enough for any report in these tests, short enough that a missing
/// one fails the test instead of hanging it.
const REPORT_WAIT: Duration = Duration::from_secs(5);

/// The endpoint's webhook endpoint.
struct Endpoint {
    server: MockServer,
}

impl Endpoint {
    async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    /// The next requests get `answer`, at most `times` of them.
    async fn answers_n(&self, answer: ResponseTemplate, times: u64) -> &Self {
        Mock::given(method("POST"))
            .and(path(HOOK_PATH))
            .respond_with(answer)
            .up_to_n_times(times)
            .mount(&self.server)
            .await;
        self
    }

    /// Every request from now on gets `answer` (after any earlier mocks).
    async fn answers(&self, answer: ResponseTemplate) -> &Self {
        Mock::given(method("POST"))
            .and(path(HOOK_PATH))
            .respond_with(answer)
            .mount(&self.server)
            .await;
        self
    }

    fn url(&self) -> String {
        format!("{}{HOOK_PATH}", self.server.uri())
    }

    async fn received(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("wiremock records requests")
    }
}

/// Webhooks to `url`, with an outbox in memory, whose reports land in the
/// returned receiver.
fn start_webhooks(url: &str, schedule: RetrySchedule) -> Started {
    start_webhooks_on(Arc::new(MemoryStore::new()), url, schedule)
}

fn start_webhooks_on(outbox: Arc<dyn OutboxStore>, url: &str, schedule: RetrySchedule) -> Started {
    let target = WebhookTarget::parse(url, secret()).expect("a valid target");
    let (reports, received) = mpsc::unbounded_channel();
    let webhooks = Webhooks::start(
        target,
        schedule,
        TIMEOUT,
        Arc::downgrade(&outbox),
        |_| None,
        move |report| {
            let _ = reports.send(report);
        },
    );
    Started {
        webhooks,
        reports: received,
        _outbox: outbox,
    }
}

/// Running webhooks, their reports, and the outbox they hold weakly.
struct Started {
    webhooks: Webhooks,
    reports: mpsc::UnboundedReceiver<DeliveryReport>,
    _outbox: Arc<dyn OutboxStore>,
}

fn secret() -> WebhookSecret {
    WebhookSecret::parse(WEBHOOK_SECRET).expect("a valid secret")
}

fn short_schedule() -> RetrySchedule {
    RetrySchedule::new(vec![Duration::from_millis(50), Duration::from_millis(50)])
}

async fn next_report(reports: &mut mpsc::UnboundedReceiver<DeliveryReport>) -> DeliveryReport {
    tokio::time::timeout(REPORT_WAIT, reports.recv())
        .await
        .expect("a report within the wait")
        .expect("the report channel stays open")
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("the {name} header"))
        .to_str()
        .expect("an ASCII header")
}

/// The reference library's verdict on a received request.
fn verify_with(secret: &str, request: &Request) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret)
        .expect("a valid reference secret")
        .verify(&request.body, &request.headers)
}

fn answered_data() -> Value {
    json!({ "request_id": "req_4f9c2a", "tenant": "contoso.onmicrosoft.com", "result": "verified" })
}

#[tokio::test]
async fn a_delivered_event_is_signed_as_the_spec_says() {
    let endpoint = Endpoint::start().await;
    endpoint.answers(ResponseTemplate::new(204)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    let received = endpoint.received().await;
    assert_eq!(received.len(), 1);
    let request = &received[0];
    verify_with(WEBHOOK_SECRET, request).expect("the reference library accepts the signature");
    assert_eq!(header(request, "content-type"), "application/json");
    let id = header(request, "webhook-id");
    assert!(id.starts_with("msg_") && id.len() == 26, "{id}");
    let sent_at: i64 = header(request, "webhook-timestamp").parse().unwrap();
    assert!((OffsetDateTime::now_utc().unix_timestamp() - sent_at).abs() < 60);
    assert!(header(request, "webhook-signature").starts_with("v1,"));

    let body: Value = request.body_json().expect("a JSON body");
    assert_eq!(body["type"], "request.answered");
    assert_eq!(body["data"], answered_data());
    let timestamp = body["timestamp"].as_str().expect("a timestamp string");
    OffsetDateTime::parse(timestamp, &Rfc3339).expect("an RFC 3339 timestamp");
    assert!(timestamp.ends_with('Z'), "{timestamp}");

    assert_eq!(
        report,
        DeliveryReport {
            message_id: id.to_owned(),
            event_type: "request.answered".to_owned(),
            attempts: 1,
            outcome: DeliveryOutcome::Delivered { status: 204 },
        }
    );
}

#[tokio::test]
async fn the_public_sign_matches_what_was_sent() {
    let endpoint = Endpoint::start().await;
    endpoint.answers(ResponseTemplate::new(200)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    webhooks.send("request.locked", json!({ "request_id": "req_1" }));
    next_report(&mut reports).await;

    let request = &endpoint.received().await[0];
    let timestamp: i64 = header(request, "webhook-timestamp").parse().unwrap();
    let expected = sign(
        &secret(),
        header(request, "webhook-id"),
        timestamp,
        &request.body,
    );
    assert_eq!(header(request, "webhook-signature"), expected);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_the_same_message_id() {
    let endpoint = Endpoint::start().await;
    endpoint.answers_n(ResponseTemplate::new(500), 2).await;
    endpoint.answers(ResponseTemplate::new(200)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    assert_eq!(report.attempts, 3);
    assert_eq!(report.outcome, DeliveryOutcome::Delivered { status: 200 });
    let received = endpoint.received().await;
    assert_eq!(received.len(), 3);
    for request in &received {
        assert_eq!(header(request, "webhook-id"), report.message_id);
        assert_eq!(
            request.body, received[0].body,
            "the event itself never changes"
        );
        verify_with(WEBHOOK_SECRET, request).expect("every attempt is validly signed");
    }
}

#[tokio::test]
async fn an_endpoint_that_always_fails_is_given_up_after_the_schedule() {
    let endpoint = Endpoint::start().await;
    endpoint.answers(ResponseTemplate::new(500)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    assert_eq!(report.attempts, 3);
    assert_eq!(
        report.outcome,
        DeliveryOutcome::Failed {
            last_error: "HTTP 500".to_owned()
        }
    );
    assert_eq!(endpoint.received().await.len(), 3);
}

#[tokio::test]
async fn a_slow_answer_counts_as_a_failed_attempt() {
    let endpoint = Endpoint::start().await;
    endpoint
        .answers_n(ResponseTemplate::new(200).set_delay(TIMEOUT * 4), 1)
        .await;
    endpoint.answers(ResponseTemplate::new(200)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    assert_eq!(report.attempts, 2);
    assert_eq!(report.outcome, DeliveryOutcome::Delivered { status: 200 });
}

#[tokio::test]
async fn an_endpoint_that_never_answers_in_time_fails_as_timed_out() {
    let endpoint = Endpoint::start().await;
    endpoint
        .answers(ResponseTemplate::new(200).set_delay(TIMEOUT * 4))
        .await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), RetrySchedule::new(Vec::new()));

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    assert_eq!(report.attempts, 1);
    let DeliveryOutcome::Failed { last_error } = report.outcome else {
        panic!("a timeout is no delivery");
    };
    assert!(last_error.starts_with("no answer within"), "{last_error}");
}

#[tokio::test]
async fn an_endpoint_nobody_listens_on_fails_as_could_not_connect() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}{HOOK_PATH}");
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&url, RetrySchedule::new(Vec::new()));

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    let DeliveryOutcome::Failed { last_error } = report.outcome else {
        panic!("nobody listens");
    };
    assert!(last_error.starts_with("could not connect"), "{last_error}");
    assert!(!last_error.contains(HOOK_PATH), "{last_error}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let endpoint = Endpoint::start().await;
    endpoint
        .answers(ResponseTemplate::new(307).insert_header("location", "/elsewhere"))
        .await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), RetrySchedule::new(Vec::new()));

    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    assert_eq!(
        report.outcome,
        DeliveryOutcome::Failed {
            last_error: "HTTP 307".to_owned()
        }
    );
    let received = endpoint.received().await;
    assert!(
        received
            .iter()
            .all(|request| request.url.path() == HOOK_PATH)
    );
}

#[tokio::test]
async fn an_event_waiting_for_a_retry_does_not_hold_up_the_next() {
    let endpoint = Endpoint::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({ "type": "request.locked" })))
        .respond_with(ResponseTemplate::new(503))
        .mount(&endpoint.server)
        .await;
    endpoint.answers(ResponseTemplate::new(200)).await;
    let long_wait = RetrySchedule::new(vec![REPORT_WAIT * 10]);
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), long_wait);

    webhooks.send("request.locked", json!({ "request_id": "req_1" }));
    webhooks.send("request.answered", answered_data());
    let report = next_report(&mut reports).await;

    assert_eq!(report.event_type, "request.answered");
    assert_eq!(report.outcome, DeliveryOutcome::Delivered { status: 200 });
}

#[tokio::test]
async fn a_full_queue_reports_the_event_failed_instead_of_waiting() {
    let endpoint = Endpoint::start().await;
    endpoint.answers(ResponseTemplate::new(200)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    // The test runtime has one thread and nothing below yields to it, so the
    // delivery task takes nothing off the queue meanwhile.
    for _ in 0..=1024 {
        webhooks.send("request.answered", json!({}));
    }
    let report = reports.try_recv().expect("a report without waiting");

    assert_eq!(report.attempts, 0);
    assert_eq!(
        report.outcome,
        DeliveryOutcome::Failed {
            last_error: "queue full".to_owned()
        }
    );
}

#[tokio::test]
async fn a_signature_made_with_another_secret_is_refused() {
    let endpoint = Endpoint::start().await;
    endpoint.answers(ResponseTemplate::new(200)).await;
    let Started {
        webhooks,
        mut reports,
        _outbox,
    } = start_webhooks(&endpoint.url(), short_schedule());

    webhooks.send("request.answered", answered_data());
    next_report(&mut reports).await;

    let request = &endpoint.received().await[0];
    assert!(matches!(
        verify_with(OTHER_SECRET, request),
        Err(standardwebhooks::WebhookError::InvalidSignature)
    ));
    let mut forged = request.clone();
    forged.body = tampered(&request.body);
    assert!(verify_with(WEBHOOK_SECRET, &forged).is_err());
}

/// The body with its result changed, as an attacker would.
fn tampered(body: &[u8]) -> Vec<u8> {
    String::from_utf8(body.to_vec())
        .expect("a UTF-8 body")
        .replace("verified", "refused")
        .into_bytes()
}

#[test]
fn a_secret_needs_the_whsec_prefix() {
    let error = WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err();
    assert!(error.contains("whsec_"), "{error}");
}

#[test]
fn a_secret_must_be_base64() {
    let error = WebhookSecret::parse("whsec_not base64 at all!!").unwrap_err();
    assert!(error.contains("base64"), "{error}");
    assert!(!error.contains("not base64 at all"), "{error}");
}

#[test]
fn a_secret_must_be_24_to_64_bytes() {
    // 16 and 65 bytes.
    for text in [
        "whsec_MDEyMzQ1Njc4OWFiY2RlZg==",
        "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjA=",
    ] {
        let error = WebhookSecret::parse(text).unwrap_err();
        assert!(error.contains("24 to 64 bytes"), "{error}");
    }
}

#[test]
fn a_secret_is_trimmed_and_never_printed() {
    let secret = WebhookSecret::parse(&format!(" {WEBHOOK_SECRET}\n")).expect("a valid secret");
    assert_eq!(format!("{secret:?}"), "whsec_***");
    let target = WebhookTarget::parse("https://endpoint.example/hooks", secret).unwrap();
    assert!(!format!("{target:?}").contains("MfKQ"));
}

#[test]
fn a_target_must_be_an_http_url() {
    for url in ["ftp://endpoint.example/hooks", "/hooks", "not a url"] {
        assert!(WebhookTarget::parse(url, secret()).is_err(), "{url}");
    }
}

#[test]
fn disabled_webhooks_send_nothing_and_need_no_runtime() {
    let webhooks = Webhooks::disabled();

    webhooks.send("request.answered", answered_data());

    assert!(!webhooks.is_enabled());
}
