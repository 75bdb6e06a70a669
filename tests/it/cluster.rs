//! Handoff on a real local Redis Cluster: several instances, and a master
//! killed under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::{StreamExt as _, stream};
use handoff::crypto::ServerKey;
use handoff::domain::{SecretId, now};
use handoff::store::{RedisStore, RequestStore as _, SecretStore as _};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Pushed, RedisCluster, ServerProcess, install_crypto_provider, pushed};
use crate::store_conformance::{request_record, short_lived_record};

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

/// Reveals `secret` once: the status and the body.
async fn reveal_once(http: &reqwest::Client, base: &str, secret: &Pushed) -> (StatusCode, Value) {
    let response = http
        .post(format!("{base}/api/v1/secrets/{}/reveal", secret.id))
        .json(&json!({ "key": secret.key }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A TCP proxy in front of one Redis node. Once armed with a marker, it
/// passes on the first chunk a client sends that contains it, gives Redis
/// a moment to run it, then cuts that connection without passing the
/// answer on: a reply lost on the way back, after the command ran. Every
/// other byte goes through as it is.
struct ReplyCutter {
    port: u16,
    armed: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    cuts: Arc<AtomicUsize>,
}

impl ReplyCutter {
    fn start(listener: tokio::net::TcpListener, upstream: u16) -> Self {
        let port = listener.local_addr().unwrap().port();
        let armed: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
        let cuts = Arc::new(AtomicUsize::new(0));
        let (task_armed, task_cuts) = (armed.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (armed, cuts) = (task_armed.clone(), task_cuts.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    Self::relay(client, server, &armed, &cuts).await;
                });
            }
        });
        Self { port, armed, cuts }
    }

    async fn relay(
        mut client: tokio::net::TcpStream,
        mut server: tokio::net::TcpStream,
        armed: &std::sync::Mutex<Option<Vec<u8>>>,
        cuts: &AtomicUsize,
    ) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut from_client, mut to_client) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
        loop {
            tokio::select! {
                read = client.read(&mut from_client) => {
                    let Ok(n @ 1..) = read else { return };
                    let chunk = &from_client[..n];
                    let cut = {
                        let mut armed = armed.lock().unwrap();
                        let hit = armed
                            .as_ref()
                            .is_some_and(|marker| chunk.windows(marker.len()).any(|w| w == marker));
                        if hit {
                            *armed = None;
                        }
                        hit
                    };
                    if server.write_all(chunk).await.is_err() {
                        return;
                    }
                    if cut {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        cuts.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
                read = server.read(&mut to_client) => {
                    let Ok(n @ 1..) = read else { return };
                    if client.write_all(&to_client[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Cuts the connection that next runs a script on `key` alone, after
    /// passing the script on: the bytes of the key as a script's one key,
    /// then `first`, the start of its first argument as sent (a read, or a
    /// script on several keys, is let through).
    fn cut_after_script_on(&self, key: &str, first: &str) {
        self.cut_after(&format!(
            "\r\n$1\r\n1\r\n${}\r\n{key}\r\n{first}",
            key.len()
        ));
    }

    /// ... a command whose bytes hold `marker`.
    fn cut_after(&self, marker: &str) {
        *self.armed.lock().unwrap() = Some(marker.as_bytes().to_vec());
    }

    /// ... a view of `secret`: its first argument is the time, ten digits.
    fn cut_after_view_of(&self, secret: &Pushed) {
        self.cut_after_script_on(&format!("handoff:{{{}}}", secret.id), "$10\r\n");
    }
}

/// A reveal whose answer is lost on the way back from Redis (the
/// connection cut after Redis ran it) is sent again by the cluster client,
/// and Redis runs that copy too. It still takes one view: it delivers the
/// secret while its payload is there, and says that the outcome is unknown
/// (not that someone else revealed it) once the first copy took the last
/// view. A wrong passphrase sent again counts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_the_cluster_client_sends_again_changes_a_secret_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cluster = tokio::task::block_in_place(|| {
        RedisCluster::one_node_announced_at(listener.local_addr().unwrap().port())
    });
    let proxy = ReplyCutter::start(listener, cluster.ports[0]);
    let key = ServerKey::generate().encode();
    let server = ServerProcess::start(&[
        (
            "HANDOFF_STORE",
            &format!("redis+cluster://127.0.0.1:{}", proxy.port),
        ),
        ("HANDOFF_SERVER_KEY", &key),
        ("HANDOFF_FAILED_REVEALS_PER_MINUTE", "0"),
    ]);
    let http = http();
    let status_of = |secret: &Pushed| {
        let request = http
            .get(format!("{}/api/v1/secrets/{}", server.base, secret.id))
            .header("x-handoff-key", &secret.key);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // Redis has the scripts already (a first run loads them), as it has
    // but for the first use of each.
    let warm = create(&http, &server.base, json!({ "secret": "warm" })).await;
    assert_eq!(
        reveal_once(&http, &server.base, &warm).await.0,
        StatusCode::OK
    );

    let thrice = create(
        &http,
        &server.base,
        json!({ "secret": "thrice", "views": 3 }),
    )
    .await;
    proxy.cut_after_view_of(&thrice);
    let (status, body) = reveal_once(&http, &server.base, &thrice).await;
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the answer was cut off"
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["secret"], "thrice");
    assert_eq!(body["views_remaining"], 2, "one reveal, one view: {body}");
    assert_eq!(status_of(&thrice).await["views_remaining"], 2);

    // The last view: taken by the first copy, its payload gone with it.
    let once = create(&http, &server.base, json!({ "secret": "once" })).await;
    proxy.cut_after_view_of(&once);
    let (status, body) = reveal_once(&http, &server.base, &once).await;
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 2);
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("outcome_unknown")),
        "a reveal whose answer was lost says so: {body}"
    );

    // A wrong passphrase: one failed attempt, however many copies ran.
    let guarded = create(
        &http,
        &server.base,
        json!({ "secret": "guarded", "passphrase": "right horse" }),
    )
    .await;
    let wrong = |passphrase: &'static str| {
        http.post(format!(
            "{}/api/v1/secrets/{}/reveal",
            server.base, guarded.id
        ))
        .json(&json!({ "key": guarded.key, "passphrase": passphrase }))
        .send()
    };
    let first: Value = wrong("wrong one").await.unwrap().json().await.unwrap();
    // A failed passphrase's script starts with the attempts allowed.
    proxy.cut_after_script_on(&format!("handoff:{{{}}}", guarded.id), "$1\r\n5\r\n");
    let second: Value = wrong("wrong two").await.unwrap().json().await.unwrap();
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 3);
    let left = |answer: &Value| answer["attempts_remaining"].as_u64();
    assert_eq!(
        left(&first).map(|n| n - 1),
        left(&second),
        "each wrong passphrase counts once: {first} then {second}"
    );

    // A request's compare-and-swap (an answer, a retrieval) sent again
    // finds its own write, not a change by someone else.
    let store = RedisStore::connect(
        &format!("redis+cluster://127.0.0.1:{}", proxy.port),
        Duration::from_secs(86_400),
    )
    .await
    .unwrap();
    let id = SecretId::generate();
    let request = request_record(now() + 3600);
    store.insert_request(&id, &request).await.unwrap();
    let warm_up = SecretId::generate();
    store.insert_request(&warm_up, &request).await.unwrap();
    assert!(store.replace_request(&warm_up, 1, &request).await.unwrap());
    proxy.cut_after_script_on(&format!("handoff:{{{id}}}:request"), "$1\r\n1\r\n");
    assert!(
        store.replace_request(&id, 1, &request).await.unwrap(),
        "the write this call made is its own"
    );
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 4);
    assert_eq!(store.load_request(&id).await.unwrap().unwrap().version, 2);

    a_claim_sent_again_reports_what_it_took(&proxy, &store).await;
}

/// A sweeper's claim of due entries sent again answers with what the first
/// copy popped: every secret that expired is reported, once. (Forty
/// secrets, so that the first bucket claimed, the one cut, holds some.)
async fn a_claim_sent_again_reports_what_it_took(proxy: &ReplyCutter, store: &RedisStore) {
    let expiring: Vec<SecretId> = (0..40).map(|_| SecretId::generate()).collect();
    for id in &expiring {
        store.insert(id, &short_lived_record()).await.unwrap();
    }
    // The claim script alone has the cursor key followed by another key.
    proxy.cut_after(":swept\r\n$");
    let mut reported: Vec<SecretId> = store
        .purge_expired(now() + 120)
        .await
        .unwrap()
        .into_iter()
        .filter(|expired| expired.unused)
        .map(|expired| expired.id)
        .collect();
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 5);
    let mut expected = expiring;
    reported.sort_by_key(ToString::to_string);
    expected.sort_by_key(ToString::to_string);
    assert_eq!(
        (reported.len(), reported == expected),
        (expected.len(), true),
        "each expired secret reported once"
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
            let (status, body) = reveal_once(http, base, created).await;
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
