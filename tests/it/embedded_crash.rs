//! The embedded store under a crash: the server is killed with SIGKILL in
//! the middle of a create load, restarted on the same folder, and every
//! secret it had acknowledged with a 201 must be there.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Pushed, ServerProcess, pushed};

/// Concurrent creators.
const WORKERS: usize = 16;
/// The kill comes once this many secrets are acknowledged, or at the
/// deadline, whichever is first.
const ACKNOWLEDGED_BEFORE_KILL: usize = 200;
const LOAD_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Tally {
    acknowledged: Mutex<Vec<(Pushed, String)>>,
    /// Requests whose outcome the kill made unclear (no answer, or half of
    /// one): they may or may not be stored, and are not counted as lost.
    unclear: AtomicUsize,
    other_status: AtomicUsize,
}

/// A client with a timeout, so that no request outlives the test.
fn http() -> reqwest::Client {
    // reqwest's rustls needs a provider, as `common::client` installs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn create_until_stopped(
    base: String,
    next: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let http = http();
    while !stop.load(Ordering::SeqCst) {
        let text = format!("crash test secret {}", next.fetch_add(1, Ordering::SeqCst));
        let sent = http
            .post(format!("{base}/api/v1/secrets"))
            .json(&json!({ "secret": text }))
            .send()
            .await;
        let Ok(response) = sent else {
            tally.unclear.fetch_add(1, Ordering::SeqCst);
            break; // the server is gone
        };
        if response.status() != StatusCode::CREATED {
            tally.other_status.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        // Acknowledged only once the whole answer (with its link) is here.
        let Ok(body) = response.json::<Value>().await else {
            tally.unclear.fetch_add(1, Ordering::SeqCst);
            break;
        };
        tally
            .acknowledged
            .lock()
            .unwrap()
            .push((pushed(body), text));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_under_a_create_load_loses_no_acknowledged_secret() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("data");
    let env = [
        ("HANDOFF_STORE", store.to_str().unwrap()),
        ("HANDOFF_FAILED_REVEALS_PER_MINUTE", "0"),
    ];
    let mut server = ServerProcess::start(&env);

    let (next, stop, tally) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
        Arc::new(Tally::default()),
    );
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            tokio::spawn(create_until_stopped(
                server.base.clone(),
                Arc::clone(&next),
                Arc::clone(&stop),
                Arc::clone(&tally),
            ))
        })
        .collect();
    let started = Instant::now();
    while tally.acknowledged.lock().unwrap().len() < ACKNOWLEDGED_BEFORE_KILL
        && started.elapsed() < LOAD_DEADLINE
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // `Child::kill` is SIGKILL: no shutdown, no flush, requests in flight.
    server.stop();
    let killed_after = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = std::mem::take(&mut *tally.acknowledged.lock().unwrap());
    assert!(!acknowledged.is_empty(), "the load created nothing");

    let restarted = ServerProcess::start(&env);
    let http = http();
    let revealed = futures::stream::iter(acknowledged.iter())
        .map(|(secret, text)| {
            let request = http
                .post(format!(
                    "{}/api/v1/secrets/{}/reveal",
                    restarted.base, secret.id
                ))
                .json(&json!({ "key": secret.key }))
                .send();
            async move {
                let response = request.await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or_default();
                status == StatusCode::OK && body["secret"].as_str() == Some(text)
            }
        })
        .buffer_unordered(WORKERS)
        .filter(|whole| std::future::ready(*whole))
        .count()
        .await;
    let lost = acknowledged.len() - revealed;
    println!(
        "embedded store, SIGKILL under {WORKERS} concurrent creators after {:.1} s: \
         {} acknowledged (201), {} unanswered at the kill, {} other answers; \
         after the restart {revealed} revealed, {lost} lost",
        killed_after.as_secs_f64(),
        acknowledged.len(),
        tally.unclear.load(Ordering::SeqCst),
        tally.other_status.load(Ordering::SeqCst),
    );
    assert_eq!(lost, 0, "acknowledged secrets were lost");
}
