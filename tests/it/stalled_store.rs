//! A store that stops answering (Redis under `SIGSTOP`) costs the audit
//! trail some events, never a request its answer nor the process its exit:
//! the real binary on a private Redis, which the test stops.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{
    RedisServer, ServerProcess, VendorConfig, WEBHOOK_SECRET, client_without_redirects, free_port,
    send_signal,
};

/// Far above what a prompt answer takes (a store call times out after 2 s),
/// far below "stalled".
const PROMPT: Duration = Duration::from_secs(10);

struct Stalled {
    server: ServerProcess,
    config: VendorConfig,
    http: reqwest::Client,
    _redis: RedisServer,
}

impl Stalled {
    /// The binary on a Redis that has just been stopped.
    fn start() -> Self {
        let redis = RedisServer::start();
        // Webhooks too, so that their outbox poller runs on the stalled
        // store (nobody listens at the URL; no event is sent anyway).
        let config = VendorConfig::new(
            &format!(
                "webhook_url = \"http://127.0.0.1:{}/hooks\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"",
                free_port()
            ),
            "",
        );
        let server_key = handoff::crypto::ServerKey::generate().encode();
        let config_path = config.path.display().to_string();
        let server = ServerProcess::start(&[
            ("HANDOFF_STORE", &redis.url()),
            ("HANDOFF_SERVER_KEY", server_key.as_str()),
            ("HANDOFF_CONFIG", &config_path),
            ("HANDOFF_SHUTDOWN_TIMEOUT", "2s"),
        ]);
        send_signal(redis.process_id(), "STOP");
        Self {
            server,
            config,
            http: client_without_redirects(),
            _redis: redis,
        }
    }

    /// A sign-in audits without touching the store.
    async fn sign_in(&self) -> (StatusCode, Duration) {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/staff/sign-in", self.server.base))
            .form(&[("token", self.config.token.as_str())])
            .send()
            .await
            .unwrap();
        (response.status(), started.elapsed())
    }

    /// A push needs the store.
    async fn push(&self) -> (StatusCode, Duration) {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/api/v1/secrets", self.server.base))
            .json(&json!({ "secret": "s3cret" }))
            .send()
            .await
            .unwrap();
        (response.status(), started.elapsed())
    }

    /// Polls `/metrics` (no store needed) until some audit event has been
    /// counted as dropped.
    async fn dropped_audit_events(&self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let metrics = self
                .http
                .get(format!("{}/metrics", self.server.base))
                .bearer_auth(&self.config.token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let dropped: u64 = metrics
                .lines()
                .filter(|line| line.starts_with("handoff_audit_dropped_total"))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
                .sum();
            if dropped > 0 {
                return dropped;
            }
            assert!(
                Instant::now() < deadline,
                "no audit event was counted as dropped:\n{metrics}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn assert_prompt(answers: &[(StatusCode, Duration)], expected: StatusCode, what: &str) {
    let slowest = answers.iter().map(|a| a.1).max().unwrap_or_default();
    eprintln!("slowest {what} with Redis stopped: {slowest:?}");
    for (status, _) in answers {
        assert_eq!(*status, expected, "{what}");
    }
    assert!(slowest < PROMPT, "a {what} took {slowest:?}");
}

#[tokio::test]
async fn with_redis_stopped_requests_answer_audit_drops_are_counted_and_shutdown_is_bounded() {
    let mut stalled = Stalled::start();

    let (sign_ins, pushes) = futures::join!(
        join_all((0..20).map(|_| stalled.sign_in())),
        join_all((0..5).map(|_| stalled.push())),
    );
    assert_prompt(&sign_ins, StatusCode::SEE_OTHER, "sign-in");
    assert_prompt(&pushes, StatusCode::SERVICE_UNAVAILABLE, "push");

    // The writer gives the stalled store a few tries, then counts the batch.
    let dropped = stalled.dropped_audit_events().await;
    eprintln!("audit events counted as dropped while Redis was stopped: {dropped}");
    // One more, so that the writer holds a batch at SIGTERM.
    assert_eq!(stalled.sign_in().await.0, StatusCode::SEE_OTHER);

    let started = Instant::now();
    send_signal(stalled.server.process_id(), "TERM");
    let exited = stalled.server.wait_for_exit(Duration::from_secs(30));
    let took = started.elapsed();
    eprintln!("exit after SIGTERM with Redis stopped: {took:?} (shutdown timeout 2s)");
    assert!(exited.is_some(), "still running 30 s after SIGTERM");
    assert!(
        took < Duration::from_secs(12),
        "exit took {took:?} with a 2 s shutdown timeout"
    );
    let logs = stalled.server.logs();
    assert!(
        logs.contains("not yet in the store at the shutdown timeout"),
        "{logs}"
    );
}

#[test]
fn shutdown_cuts_off_a_request_that_never_finishes_at_the_timeout() {
    use std::io::Write as _;

    let mut server = ServerProcess::start(&[("HANDOFF_SHUTDOWN_TIMEOUT", "1s")]);
    let address = server.base.trim_start_matches("http://").to_owned();
    // A push whose body never comes: the handler waits for it.
    let mut stalled = std::net::TcpStream::connect(&address).unwrap();
    stalled
        .write_all(
            b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    send_signal(server.process_id(), "TERM");
    let exited = server.wait_for_exit(Duration::from_secs(30));
    let took = started.elapsed();
    eprintln!("exit after SIGTERM with a request open: {took:?} (shutdown timeout 1s)");
    assert!(exited.is_some(), "still running 30 s after SIGTERM");
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    let logs = server.logs();
    assert!(logs.contains("were cut off"), "{logs}");
    drop(stalled);
}
