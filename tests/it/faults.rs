//! Faults in the store under load, with real processes: Redis stalls
//! (SIGSTOP for longer than the server's response timeout) under concurrent
//! reveals, and Redis crashes (`kill -9`, append-only file with `fsync` on
//! every write) under a create load. Each test starts its own Redis and
//! servers, runs for seconds and stops by itself; the figures are printed
//! (`cargo nextest run --no-capture -E 'test(/faults::/)'`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::stream;
use handoff::crypto::ServerKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    Pushed, RedisOptions, RedisServer, ServerProcess, install_crypto_provider, pushed,
};

/// Longer than the 2 s Redis response timeout in `src/store/redis.rs`.
const STALL: Duration = Duration::from_secs(4);
/// Far beyond any answer the server should take; reaching it is a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a reveal may take to settle, retries included, before the test
/// gives up on it (well inside the one-minute replay window).
const SETTLE_WITHIN: Duration = Duration::from_secs(45);

fn server(redis: &RedisServer, server_key: &str) -> ServerProcess {
    ServerProcess::start(&[
        ("HANDOFF_STORE", &redis.url()),
        ("HANDOFF_SERVER_KEY", server_key),
        ("HANDOFF_FAILED_REVEALS_PER_MINUTE", "0"),
    ])
}

fn http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

async fn create(http: &reqwest::Client, base: &str, secret: &str) -> Pushed {
    let response = http
        .post(format!("{base}/api/v1/secrets"))
        .json(&json!({ "secret": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    pushed(response.json().await.unwrap())
}

#[derive(Default)]
struct RevealFigures {
    attempts: AtomicUsize,
    unclear: AtomicUsize,
    /// 503 `outcome_unknown`: the consume was sent, its answer not seen.
    outcome_unknown: AtomicUsize,
    retries: AtomicUsize,
    /// Delivered to a recipient whose earlier try had an unclear answer.
    delivered_after_unclear: AtomicUsize,
}

/// One recipient's click on Reveal, retried with the same idempotency key
/// (alternating between the servers) until it is settled: `true` if it
/// got the secret, `false` if it found it already revealed.
async fn reveal_until_settled(
    http: &reqwest::Client,
    bases: &[String],
    secret: &Pushed,
    value: &str,
    recipient: usize,
    figures: &RevealFigures,
) -> bool {
    let idempotency = format!("{}-recipient-{recipient}", secret.id);
    let started = Instant::now();
    let mut unclear = false;
    for attempt in 0.. {
        assert!(
            started.elapsed() < SETTLE_WITHIN,
            "a reveal did not settle within {SETTLE_WITHIN:?}"
        );
        if attempt > 0 {
            figures.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        figures.attempts.fetch_add(1, Ordering::Relaxed);
        let base = &bases[(recipient + attempt) % bases.len()];
        let sent = http
            .post(format!("{base}/api/v1/secrets/{}/reveal", secret.id))
            .header("idempotency-key", &idempotency)
            .json(&json!({ "key": secret.key }))
            .send()
            .await;
        let Ok(response) = sent else {
            // No answer at all: as unclear as a 503.
            figures.unclear.fetch_add(1, Ordering::Relaxed);
            unclear = true;
            continue;
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            StatusCode::OK => {
                assert_eq!(body["secret"], value, "the right secret");
                if unclear {
                    figures
                        .delivered_after_unclear
                        .fetch_add(1, Ordering::Relaxed);
                }
                return true;
            }
            StatusCode::NOT_FOUND if body["error"] == "already_revealed" => return false,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(
                    body["error"] == "outcome_unknown" || body["error"] == "unavailable",
                    "{body}"
                );
                if body["error"] == "outcome_unknown" {
                    figures.outcome_unknown.fetch_add(1, Ordering::Relaxed);
                }
                figures.unclear.fetch_add(1, Ordering::Relaxed);
                unclear = true;
            }
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_stall_under_concurrent_reveals_loses_no_reveal() {
    const SECRETS: usize = 400;
    const IN_FLIGHT: usize = 96;
    let redis = RedisServer::start();
    let server_key = ServerKey::generate().encode();
    let servers = [server(&redis, &server_key), server(&redis, &server_key)];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let http = http();

    let values: Vec<String> = (0..SECRETS).map(|n| format!("secret-{n}")).collect();
    let secrets: Vec<Pushed> = stream::iter(values.iter().enumerate())
        .map(|(n, value)| {
            let (http, base) = (&http, &bases[n % 2]);
            async move { create(http, base, value).await }
        })
        .buffered(16)
        .collect()
        .await;

    // Two recipients per secret (two tabs, two people), each with its own
    // idempotency key, all at once; Redis stalls half-way through.
    let figures = RevealFigures::default();
    let reveals = stream::iter((0..SECRETS).flat_map(|n| [(n, 0), (n, 1)]))
        .map(|(n, recipient)| {
            let (http, bases, figures) = (&http, &bases, &figures);
            let (secret, value) = (&secrets[n], &values[n]);
            async move {
                let got =
                    reveal_until_settled(http, bases, secret, value, recipient, figures).await;
                (n, got)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>();
    let stall = async {
        while figures.attempts.load(Ordering::Relaxed) < SECRETS / 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        redis.pause();
        tokio::time::sleep(STALL).await;
        redis.resume();
    };
    let started = Instant::now();
    let (outcomes, ()) = tokio::join!(reveals, stall);
    let took = started.elapsed();

    let mut delivered = vec![0usize; SECRETS];
    for (n, got) in outcomes {
        delivered[n] += usize::from(got);
    }
    let lost = delivered.iter().filter(|d| **d == 0).count();
    let twice = delivered.iter().filter(|d| **d > 1).count();

    // Each secret shows one view on the sender's status page.
    for secret in &secrets {
        let status: Value = http
            .get(format!("{}/api/v1/secrets/{}/status", bases[0], secret.id))
            .bearer_auth(&secret.manage_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["state"], "revealed", "{status}");
        assert_eq!(status["views"].as_array().unwrap().len(), 1, "{status}");
    }
    // The servers log each reveal they repeated for a lost answer.
    let repeated: usize = servers
        .iter()
        .map(|s| {
            s.logs()
                .matches("secret reveal repeated for its idempotency key")
                .count()
        })
        .sum();

    println!(
        "redis stall of {STALL:?} under {IN_FLIGHT} concurrent reveals, {SECRETS} one-view secrets x 2 recipients, 2 servers, {took:.1?}: \
         {} reveal requests, {} unclear answers (503 or no answer; {} of them outcome_unknown), {} retries with the same idempotency key, \
         {} delivered after an unclear answer ({repeated} of them repeats of a consume whose answer was lost); \
         consumed but not delivered: {lost}; delivered to two keys: {twice}",
        figures.attempts.load(Ordering::Relaxed),
        figures.unclear.load(Ordering::Relaxed),
        figures.outcome_unknown.load(Ordering::Relaxed),
        figures.retries.load(Ordering::Relaxed),
        figures.delivered_after_unclear.load(Ordering::Relaxed),
    );
    assert!(
        figures.unclear.load(Ordering::Relaxed) > 0,
        "the stall was felt"
    );
    assert_eq!(lost, 0, "no secret consumed without being delivered");
    assert_eq!(twice, 0, "no secret delivered to two idempotency keys");
}

#[derive(Default)]
struct CreateFigures {
    acknowledged: std::sync::Mutex<Vec<(Pushed, String, Instant)>>,
    unavailable: AtomicUsize,
    /// Anything but 201, or 503 with Retry-After: 500s, hangs, 503s
    /// without Retry-After.
    wrong: std::sync::Mutex<Vec<String>>,
    slowest: std::sync::Mutex<Duration>,
}

async fn create_until(
    http: &reqwest::Client,
    base: &str,
    worker: usize,
    stop: &AtomicBool,
    figures: &CreateFigures,
) {
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let value = format!("acknowledged-{worker}-{n}");
        let started = Instant::now();
        let sent = http
            .post(format!("{base}/api/v1/secrets"))
            .json(&json!({ "secret": value }))
            .send()
            .await;
        let took = started.elapsed();
        {
            let mut slowest = figures.slowest.lock().unwrap();
            *slowest = (*slowest).max(took);
        }
        match sent {
            Ok(response) if response.status() == StatusCode::CREATED => {
                let created = pushed(response.json().await.unwrap());
                figures
                    .acknowledged
                    .lock()
                    .unwrap()
                    .push((created, value, Instant::now()));
            }
            Ok(response)
                if response.status() == StatusCode::SERVICE_UNAVAILABLE
                    && response.headers().contains_key("retry-after") =>
            {
                figures.unavailable.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                figures
                    .wrong
                    .lock()
                    .unwrap()
                    .push(format!("{status}: {body}"));
            }
            Err(error) => figures
                .wrong
                .lock()
                .unwrap()
                .push(format!("no answer after {took:?}: {error}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_crash_under_create_load_loses_no_acknowledged_secret() {
    const WORKERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start_with(RedisOptions {
        dir: Some(dir.path().to_owned()),
        append_only: true,
        ..RedisOptions::default()
    });
    let server_key = ServerKey::generate().encode();
    let app = server(&redis, &server_key);
    let http = http();

    let stop = Arc::new(AtomicBool::new(false));
    let figures = Arc::new(CreateFigures::default());
    let load = futures::future::join_all((0..WORKERS).map(|worker| {
        let (http, base, stop, figures) = (&http, &app.base, &stop, &figures);
        async move { create_until(http, base, worker, stop, figures).await }
    }));
    let faults = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        tokio::task::block_in_place(|| redis.crash());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokio::task::block_in_place(|| redis.restart());
        let back = Instant::now();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stop.store(true, Ordering::Relaxed);
        back
    };
    let (_, back) = tokio::join!(load, faults);

    let acknowledged = std::mem::take(&mut *figures.acknowledged.lock().unwrap());
    let serving_again = acknowledged
        .iter()
        .map(|(_, _, at)| *at)
        .filter(|at| *at > back)
        .min()
        .map(|at| at.duration_since(back));
    let wrong = figures.wrong.lock().unwrap().clone();

    let lost = stream::iter(&acknowledged)
        .map(|(created, value, _)| {
            let (http, base) = (&http, &app.base);
            async move {
                let response = http
                    .post(format!("{base}/api/v1/secrets/{}/reveal", created.id))
                    .json(&json!({ "key": created.key }))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                status != StatusCode::OK || body["secret"] != *value
            }
        })
        .buffer_unordered(32)
        .filter(|lost| std::future::ready(*lost))
        .count()
        .await;

    println!(
        "redis kill -9 (appendonly, fsync always) under {WORKERS} concurrent creates: {} acknowledged (201), \
         {} answered 503 with Retry-After, {} other answers, slowest answer {:.2?}; \
         serving again {} after Redis was back; acknowledged but lost: {lost}",
        acknowledged.len(),
        figures.unavailable.load(Ordering::Relaxed),
        wrong.len(),
        *figures.slowest.lock().unwrap(),
        serving_again.map_or_else(|| "never".to_owned(), |d| format!("{d:.2?}")),
    );
    assert!(
        wrong.is_empty(),
        "only 201 or 503 with Retry-After: {wrong:#?}"
    );
    assert!(
        figures.unavailable.load(Ordering::Relaxed) > 0,
        "the crash was felt"
    );
    assert_eq!(lost, 0, "every acknowledged secret survives the crash");
    let serving_again = serving_again.expect("creates succeed again after the restart");
    assert!(
        serving_again < Duration::from_secs(10),
        "serving again {serving_again:?} after Redis was back"
    );
    assert!(
        *figures.slowest.lock().unwrap() < Duration::from_secs(10),
        "no answer waits much beyond the store's timeouts"
    );
}
