//! Handoff on a real local Redis Cluster: several instances, and a master
//! killed under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::{StreamExt as _, stream};
use handoff::crypto::ServerKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Pushed, RedisCluster, ServerProcess, install_crypto_provider, pushed};

fn server(cluster: &RedisCluster, server_key: &str, wait_replicas: &str) -> ServerProcess {
    ServerProcess::start(&[
        ("HANDOFF_STORE", &cluster.url()),
        ("HANDOFF_SERVER_KEY", server_key),
        ("HANDOFF_FAILED_REVEALS_PER_MINUTE", "0"),
        ("HANDOFF_REDIS_WAIT_REPLICAS", wait_replicas),
    ])
}

fn http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

async fn create(http: &reqwest::Client, base: &str, body: Value) -> Pushed {
    let response = http
        .post(format!("{base}/api/v1/secrets"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pushed(body)
}

/// `attempts` concurrent reveals spread over `bases`: how many answered 200.
async fn revealed(
    http: &reqwest::Client,
    bases: &[&str],
    secret: &Pushed,
    attempts: usize,
) -> Vec<StatusCode> {
    let requests = (0..attempts).map(|i| {
        http.post(format!(
            "{}/api/v1/secrets/{}/reveal",
            bases[i % bases.len()],
            secret.id
        ))
        .json(&json!({ "key": secret.key }))
        .send()
    });
    join_all(requests)
        .await
        .into_iter()
        .map(|r| r.map_or(StatusCode::REQUEST_TIMEOUT, |r| r.status()))
        .collect()
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_a_redis_cluster_reveal_a_one_view_secret_exactly_once() {
    let cluster = RedisCluster::start();
    let key = ServerKey::generate().encode();
    let (a, b) = (server(&cluster, &key, "0"), server(&cluster, &key, "0"));
    let http = http();

    let once = create(&http, &a.base, json!({ "secret": "once" })).await;
    let statuses = revealed(&http, &[&a.base, &b.base], &once, 64).await;
    assert_eq!(
        (
            count(&statuses, StatusCode::OK),
            count(&statuses, StatusCode::NOT_FOUND)
        ),
        (1, 63)
    );

    let thrice = create(&http, &b.base, json!({ "secret": "thrice", "views": 3 })).await;
    let statuses = revealed(&http, &[&a.base, &b.base], &thrice, 64).await;
    assert_eq!(
        (
            count(&statuses, StatusCode::OK),
            count(&statuses, StatusCode::NOT_FOUND)
        ),
        (3, 61)
    );
}

#[derive(Default)]
struct Figures {
    acknowledged: std::sync::Mutex<Vec<(Pushed, String)>>,
    unavailable: AtomicUsize,
    /// Anything but 201, or 503 with Retry-After.
    wrong: std::sync::Mutex<Vec<String>>,
}

async fn create_until(
    http: &reqwest::Client,
    bases: &[&str],
    worker: usize,
    stop: &AtomicBool,
    figures: &Figures,
) {
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let value = format!("acknowledged-{worker}-{n}");
        let sent = http
            .post(format!("{}/api/v1/secrets", bases[n % bases.len()]))
            .json(&json!({ "secret": value }))
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == StatusCode::CREATED => {
                let created = pushed(response.json().await.unwrap());
                figures.acknowledged.lock().unwrap().push((created, value));
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
                .push(format!("no answer: {error}")),
        }
    }
}

/// Reveals retried through the failover, as a recipient would: every
/// answer.
async fn keep_revealing(
    http: &reqwest::Client,
    bases: &[&str],
    secret: &Pushed,
) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.extend(revealed(http, bases, secret, 8).await);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    statuses
}

/// How many acknowledged secrets do not reveal their value.
async fn lost(http: &reqwest::Client, base: &str, acknowledged: &[(Pushed, String)]) -> usize {
    stream::iter(acknowledged)
        .map(|(created, value)| async move {
            let response = http
                .post(format!("{base}/api/v1/secrets/{}/reveal", created.id))
                .json(&json!({ "key": created.key }))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            status != StatusCode::OK || body["secret"] != *value
        })
        .buffer_unordered(16)
        .filter(|lost| std::future::ready(*lost))
        .count()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_killed_under_load_fails_over_with_no_acknowledged_secret_lost_or_revealed_twice()
{
    const WORKERS: usize = 6;
    let mut cluster = RedisCluster::start();
    let key = ServerKey::generate().encode();
    let (a, b) = (server(&cluster, &key, "1"), server(&cluster, &key, "1"));
    let bases = [a.base.as_str(), b.base.as_str()];
    let http = http();

    // One-view secrets revealed concurrently while the master goes.
    let mut contested = Vec::new();
    for n in 0..12 {
        contested.push(
            create(
                &http,
                bases[n % 2],
                json!({ "secret": format!("contested-{n}") }),
            )
            .await,
        );
    }
    let victim = cluster.master_of(&format!("handoff:{{{}}}", contested[0].id));
    let on_victim: Vec<&Pushed> = contested
        .iter()
        .filter(|p| cluster.master_of(&format!("handoff:{{{}}}", p.id)) == victim)
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let figures = Arc::new(Figures::default());
    let load = join_all((0..WORKERS).map(|worker| {
        let (http, bases, stop, figures) = (&http, &bases, &stop, &figures);
        async move { create_until(http, bases, worker, stop, figures).await }
    }));
    let reveals = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        join_all(
            contested
                .iter()
                .map(|secret| keep_revealing(&http, &bases, secret)),
        )
        .await
    };
    let faults = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        tokio::task::block_in_place(|| cluster.kill(victim));
        let killed = Instant::now();
        // The service answers again for what the dead master held: its
        // replica has taken over.
        let probe = on_victim.first().copied().unwrap_or(&contested[0]);
        let answering = loop {
            let response = http
                .get(format!("{}/api/v1/secrets/{}", bases[0], probe.id))
                .header("x-handoff-key", &probe.key)
                .send()
                .await;
            if response
                .is_ok_and(|r| r.status() == StatusCode::OK || r.status() == StatusCode::NOT_FOUND)
            {
                break killed.elapsed();
            }
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "never answered again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The old master comes back as a replica, so that writes to its
        // slots find a replica to wait for again.
        tokio::task::block_in_place(|| {
            cluster.restart(victim);
            cluster.wait_until_ok(Duration::from_secs(20));
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::Relaxed);
        answering
    };
    let (_, contested_statuses, answering) = tokio::join!(load, reveals, faults);

    let acknowledged = std::mem::take(&mut *figures.acknowledged.lock().unwrap());
    let lost = lost(&http, bases[0], &acknowledged).await;
    let wrong = figures.wrong.lock().unwrap().clone();
    let most_reveals = contested_statuses
        .iter()
        .map(|statuses| count(statuses, StatusCode::OK))
        .max()
        .unwrap();
    println!(
        "master killed under {WORKERS} concurrent creates (WAIT 1): {} acknowledged, {} answered 503, \
         {} other answers; answering again after {answering:.2?}; acknowledged but lost: {lost}; \
         most reveals of a one-view secret: {most_reveals}",
        acknowledged.len(),
        figures.unavailable.load(Ordering::Relaxed),
        wrong.len(),
    );
    assert!(
        wrong.is_empty(),
        "only 201 or 503 with Retry-After: {wrong:#?}"
    );
    assert!(!acknowledged.is_empty());
    assert_eq!(lost, 0, "every acknowledged secret survives the failover");
    assert!(
        most_reveals <= 1,
        "a one-view secret is revealed at most once"
    );
    assert!(
        answering < Duration::from_secs(15),
        "answering again {answering:?} after the master was killed"
    );
}
