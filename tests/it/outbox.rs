//! Webhook delivery that survives a restart: the real binary, its pending
//! retries kept in the store (the embedded folder, or Redis shared by two
//! instances), and a receiver (wiremock) that refuses every try until the
//! test lets it accept. Each event must then be delivered exactly once as
//! a success, with the same `webhook-id` and body on every try.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{
    GOOD_SECRET, RedisServer, ServerProcess, VendorConfig, WEBHOOK_SECRET, client, send_signal,
};

/// One try a second for 30 s: room for a restart on a slow machine.
const RETRIES: &str =
    "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s";
/// Far beyond the schedule's first retries, and the 25 s lease of an
/// attempt cut off by a kill.
const WAIT: Duration = Duration::from_secs(90);

/// Refuses (503) until told to accept, then answers 204; records every try.
#[derive(Clone, Default)]
struct Receiver {
    accept: Arc<AtomicBool>,
    tries: Arc<Mutex<Vec<Try>>>,
}

#[derive(Clone)]
struct Try {
    id: String,
    accepted: bool,
    body: Vec<u8>,
}

impl Respond for Receiver {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        standardwebhooks::Webhook::new(WEBHOOK_SECRET)
            .unwrap()
            .verify(&request.body, &request.headers)
            .expect("every try is validly signed");
        let accepted = self.accept.load(Ordering::SeqCst);
        let id = request.headers["webhook-id"].to_str().unwrap().to_owned();
        self.tries.lock().unwrap().push(Try {
            id,
            accepted,
            body: request.body.clone(),
        });
        ResponseTemplate::new(if accepted { 204 } else { 503 })
    }
}

impl Receiver {
    async fn start() -> (Self, MockServer) {
        let receiver = Self::default();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(receiver.clone())
            .mount(&server)
            .await;
        (receiver, server)
    }

    /// Tries per `webhook-id`.
    fn by_id(&self) -> HashMap<String, Vec<Try>> {
        let mut by_id: HashMap<String, Vec<Try>> = HashMap::new();
        for attempt in self.tries.lock().unwrap().iter() {
            by_id
                .entry(attempt.id.clone())
                .or_default()
                .push(attempt.clone());
        }
        by_id
    }

    /// Waits until `events` ids have each had a try that `matches`.
    async fn wait_for(&self, events: usize, what: &str, matches: impl Fn(&Try) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let done = self
                .by_id()
                .values()
                .filter(|tries| tries.iter().any(&matches))
                .count();
            if done >= events {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{done} of {events} events {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// After a pause long enough for any repeat to arrive: `events` ids,
    /// each tried at least `at_least` times, with one body, and accepted
    /// exactly once.
    async fn assert_each_delivered_once(&self, events: usize, at_least: usize) {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let by_id = self.by_id();
        assert_eq!(by_id.len(), events, "one webhook-id per event");
        for (id, tries) in &by_id {
            let accepted = tries.iter().filter(|t| t.accepted).count();
            assert_eq!(accepted, 1, "{id} was accepted {accepted} times");
            assert!(tries.len() >= at_least, "{id}: {} tries", tries.len());
            assert!(
                tries.iter().all(|t| t.body == tries[0].body),
                "{id}: the event never changes"
            );
            let body: Value = serde_json::from_slice(&tries[0].body).unwrap();
            assert_eq!(body["type"], "request.answered");
        }
        let tries: Vec<usize> = by_id.values().map(Vec::len).collect();
        eprintln!("tries per event: {tries:?}");
    }
}

/// A settings file with staff alice, contoso (no verification, so answers
/// need no Microsoft) and webhooks to `receiver`.
fn vendor_config(receiver: &MockServer) -> VendorConfig {
    VendorConfig::new(
        &format!(
            "webhook_url = \"{}/hooks\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\nwebhook_retries = \"{RETRIES}\"",
            receiver.uri()
        ),
        "verify = \"off\"",
    )
}

/// Staff ask contoso for a secret and the customer answers: one
/// `request.answered` event.
async fn answer_a_request(base: &str, token: &str) -> String {
    let http = client();
    let created: Value = http
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(token)
        .json(&json!({ "tenant": "contoso" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let submit_key = created["submit_url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1;
    let answered = http
        .post(format!("{base}/api/v1/requests/{id}/answer"))
        .json(&json!({ "key": submit_key, "secret": GOOD_SECRET }))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::CREATED);
    id
}

/// How many events both instances made attempts at (read from their logs).
fn tried_by_both(first: &ServerProcess, second: &ServerProcess) -> usize {
    let ids = |server: &ServerProcess| -> std::collections::HashSet<String> {
        server
            .logs()
            .lines()
            .filter(|line| {
                line.contains("webhook attempt failed") || line.contains("delivered a webhook")
            })
            .filter_map(|line| line.split("message_id=").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(|id| id.trim_matches('"').to_owned())
            .collect()
    };
    ids(first).intersection(&ids(second)).count()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn webhook_retries_pending_when_the_server_is_killed_are_delivered_after_a_restart() {
    let (receiver, mock) = Receiver::start().await;
    let config = vendor_config(&mock);
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("HANDOFF_STORE", data.path().display().to_string()),
        ("HANDOFF_CONFIG", config.path.display().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = ServerProcess::start(&env);
    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(answer_a_request(&server.base, &config.token).await);
    }
    receiver.wait_for(3, "were tried", |_| true).await;

    send_signal(server.process_id(), "KILL");
    server.wait_for_exit(Duration::from_secs(10)).unwrap();
    // The retries are in the file, without the secret.
    let file = std::fs::read(data.path().join("secrets.redb")).unwrap();
    assert!(contains(&file, "request.answered"), "the outbox is kept");
    assert!(requests.iter().all(|id| contains(&file, id)));
    assert!(!contains(&file, GOOD_SECRET), "no secret in the store");

    let restarted = ServerProcess::start(&env);
    receiver.accept.store(true, Ordering::SeqCst);
    receiver.wait_for(3, "were delivered", |t| t.accepted).await;
    receiver.assert_each_delivered_once(3, 2).await;
    drop(restarted);
}

#[tokio::test]
async fn two_instances_on_one_redis_deliver_each_event_once_and_one_takes_over_from_the_other() {
    let (receiver, mock) = Receiver::start().await;
    let config = vendor_config(&mock);
    let redis = RedisServer::start();
    let server_key = handoff::crypto::ServerKey::generate().encode();
    let env = [
        ("HANDOFF_STORE", redis.url()),
        ("HANDOFF_SERVER_KEY", server_key.as_str().to_owned()),
        ("HANDOFF_CONFIG", config.path.display().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut first = ServerProcess::start(&env);
    let second = ServerProcess::start(&env);
    for _ in 0..3 {
        answer_a_request(&first.base, &config.token).await;
        answer_a_request(&second.base, &config.token).await;
    }
    // Each event retried at least once while both instances claim.
    receiver
        .wait_for(6, "were retried", {
            let receiver = receiver.clone();
            move |t| receiver.by_id()[&t.id].len() >= 2
        })
        .await;
    receiver.accept.store(true, Ordering::SeqCst);
    receiver.wait_for(6, "were delivered", |t| t.accepted).await;
    receiver.assert_each_delivered_once(6, 2).await;
    let shared = tried_by_both(&first, &second);
    eprintln!("events tried by both instances: {shared} of 6");

    // A rolling restart: events sent through the first instance, which
    // stops, are delivered by the second.
    receiver.accept.store(false, Ordering::SeqCst);
    receiver.tries.lock().unwrap().clear();
    for _ in 0..3 {
        answer_a_request(&first.base, &config.token).await;
    }
    receiver.wait_for(3, "were tried", |_| true).await;
    send_signal(first.process_id(), "TERM");
    first.wait_for_exit(Duration::from_secs(30)).unwrap();
    receiver.accept.store(true, Ordering::SeqCst);
    receiver.wait_for(3, "were delivered", |t| t.accepted).await;
    receiver.assert_each_delivered_once(3, 2).await;
    drop(second);
}
