//! Redis as the shared store of several server processes.

use std::time::Duration;

use futures::future::join_all;
use handoff::crypto::ServerKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Pushed, RedisServer, ServerProcess, TestCertificates, client, pushed};

fn server(redis: &RedisServer, server_key: &str) -> ServerProcess {
    ServerProcess::start(&[
        ("HANDOFF_STORE", &redis.url()),
        ("HANDOFF_SERVER_KEY", server_key),
        ("HANDOFF_FAILED_REVEALS_PER_MINUTE", "0"),
    ])
}

async fn create(base: &str, body: Value) -> Pushed {
    let response = client()
        .post(format!("{base}/api/v1/secrets"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    pushed(response.json().await.unwrap())
}

async fn reveal_statuses(bases: &[&str], secret: &Pushed, attempts: usize) -> (usize, usize) {
    let http = client();
    let requests = (0..attempts).map(|i| {
        http.post(format!(
            "{}/api/v1/secrets/{}/reveal",
            bases[i % bases.len()],
            secret.id
        ))
        .json(&json!({ "key": secret.key }))
        .send()
    });
    let statuses: Vec<StatusCode> = join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    (
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NOT_FOUND)
            .count(),
    )
}

#[tokio::test]
async fn two_servers_sharing_redis_reveal_a_one_view_secret_exactly_once() {
    let redis = RedisServer::start();
    let key = ServerKey::generate().encode();
    let (a, b) = (server(&redis, &key), server(&redis, &key));

    let once = create(&a.base, json!({ "secret": "once" })).await;
    assert_eq!(
        reveal_statuses(&[&a.base, &b.base], &once, 64).await,
        (1, 63)
    );

    let thrice = create(&b.base, json!({ "secret": "thrice", "views": 3 })).await;
    assert_eq!(
        reveal_statuses(&[&a.base, &b.base], &thrice, 64).await,
        (3, 61)
    );
}

#[tokio::test]
async fn redis_holds_no_secret_note_or_passphrase_in_clear() {
    let redis = RedisServer::start();
    let key = ServerKey::generate().encode();
    let app = server(&redis, &key);
    let secret = "abc8Q~SuperSecretValue_0123456789abcdefg";
    let created = create(
        &app.base,
        json!({ "secret": secret, "passphrase": "horse-battery", "note": "prod tenant note" }),
    )
    .await;

    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let mut everything = Vec::new();
    for name in &keys {
        everything.extend_from_slice(name.as_bytes());
        let kind: String = redis::cmd("TYPE")
            .arg(name)
            .query_async(&mut connection)
            .await
            .unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL")
                .arg(name)
                .query_async(&mut connection)
                .await
                .unwrap(),
            "list" => redis::cmd("LRANGE")
                .arg(name)
                .arg(0)
                .arg(-1)
                .query_async(&mut connection)
                .await
                .unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(name)
                .arg(0)
                .arg(-1)
                .query_async(&mut connection)
                .await
                .unwrap(),
            "stream" => {
                let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
                    .arg(name)
                    .arg("-")
                    .arg("+")
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                entries.into_iter().flat_map(|(_, fields)| fields).collect()
            }
            "string" => vec![
                redis::cmd("GET")
                    .arg(name)
                    .query_async(&mut connection)
                    .await
                    .unwrap(),
            ],
            other => panic!("unexpected key type {other}"),
        };
        for value in values {
            everything.extend_from_slice(&value);
        }
    }
    let dump = String::from_utf8_lossy(&everything);
    for needle in [
        secret,
        "SuperSecret",
        "horse-battery",
        "prod tenant note",
        &created.key,
        &created.manage_token,
        &key,
    ] {
        assert!(!dump.contains(needle), "found {needle:?} in Redis");
    }
}

#[tokio::test]
async fn store_outage_answers_503_with_retry_after_and_recovers() {
    let mut redis = RedisServer::start();
    let key = ServerKey::generate().encode();
    let app = server(&redis, &key);
    let http = client();
    let before = create(&app.base, json!({ "secret": "before" })).await;

    redis.stop();
    let down = http
        .post(format!("{}/api/v1/secrets", app.base))
        .json(&json!({ "secret": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().contains_key("retry-after"));
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    let ready = http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Refused, so certainly not taken: the store is unavailable, not the
    // reveal's outcome unknown.
    let reveal = http
        .post(format!("{}/api/v1/secrets/{}/reveal", app.base, before.id))
        .json(&json!({ "key": before.key }))
        .send()
        .await
        .unwrap();
    assert_eq!(reveal.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = reveal.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");

    // The data was in memory only, so the restarted Redis is empty; what
    // matters is that the server reconnects by itself.
    let _redis = RedisServer::start_on(redis.port);
    let mut recovered = false;
    for _ in 0..50 {
        let ready = http
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap();
        if ready.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the server reconnects when Redis comes back");
    let after = create(&app.base, json!({ "secret": "after" })).await;
    let revealed: Value = http
        .post(format!("{}/api/v1/secrets/{}/reveal", app.base, after.id))
        .json(&json!({ "key": after.key }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revealed["secret"], "after");
}

#[tokio::test]
async fn rediss_urls_use_tls_and_trust_the_system_certificate_store() {
    let certificates = TestCertificates::new();
    let redis = RedisServer::start_tls(&certificates);
    let key = ServerKey::generate().encode();
    let url = format!("rediss://localhost:{}", redis.port);
    let ca = certificates.path("ca.pem");

    let untrusted =
        ServerProcess::try_start(&[("HANDOFF_STORE", &url), ("HANDOFF_SERVER_KEY", &key)]);
    let message = untrusted
        .err()
        .expect("an untrusted certificate stops start-up");
    assert!(
        message.contains("HANDOFF_STORE: cannot connect to Redis"),
        "{message}"
    );

    // rustls-native-certs reads SSL_CERT_FILE, as OpenSSL does.
    let app = ServerProcess::start(&[
        ("HANDOFF_STORE", &url),
        ("HANDOFF_SERVER_KEY", &key),
        ("SSL_CERT_FILE", &ca),
    ]);
    let created = create(&app.base, json!({ "secret": "over tls" })).await;
    assert_eq!(reveal_statuses(&[&app.base], &created, 1).await, (1, 0));
}

/// Keys that may live without a TTL: each is bounded by something other
/// than traffic (one per deployment, per tenant, per bucket), and the
/// bucket indexes are trimmed by the sweeper. (The expiry lists, one per
/// bucket and minute, expire.)
fn bounded_without_ttl(name: &str) -> bool {
    name == "handoff:key-fingerprint"
        || name == "handoff:tenants"
        || name.starts_with("handoff:tenant:{")
        || name.starts_with("handoff:{req:")
        || name.starts_with("handoff:{outbox:")
}

#[tokio::test]
async fn every_redis_key_has_a_ttl_or_is_a_bounded_index() {
    let redis = RedisServer::start();
    let key = ServerKey::generate().encode();
    let app = server(&redis, &key);
    let http = client();
    for n in 0..6 {
        let secret = create(&app.base, json!({ "secret": format!("s{n}"), "views": 2 })).await;
        if n % 2 == 0 {
            assert_eq!(reveal_statuses(&[&app.base], &secret, 1).await, (1, 0));
        }
        // A wrong key: counted, audited, refused.
        let wrong = http
            .post(format!("{}/api/v1/secrets/{}/reveal", app.base, secret.id))
            .json(&json!({ "key": "AAAAAAAAAAAAAAAAAAAAAA" }))
            .send()
            .await
            .unwrap();
        assert!(wrong.status().is_client_error());
        let revoked = http
            .delete(format!("{}/api/v1/secrets/{}", app.base, secret.id))
            .bearer_auth(&secret.manage_token)
            .send()
            .await
            .unwrap();
        assert!(revoked.status().is_success() || revoked.status().is_client_error());
    }
    // The audit writer flushes in the background.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    for kind in ["handoff:{audit:", "handoff:{exp:"] {
        assert!(
            keys.iter().any(|k| k.starts_with(kind)),
            "the workload left {kind}…}} keys: {keys:?}"
        );
    }
    let mut forever = Vec::new();
    for name in &keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(name)
            .query_async(&mut connection)
            .await
            .unwrap();
        if ttl < 0 && !bounded_without_ttl(name) {
            forever.push(name.clone());
        }
    }
    assert!(forever.is_empty(), "keys without a TTL: {forever:?}");
}
