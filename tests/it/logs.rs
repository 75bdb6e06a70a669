//! Logs at TRACE carry no secret, link key, passphrase or manage token.

use handoff::crypto::ServerKey;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{RedisServer, ServerProcess, client, pushed};

/// Create, look, reveal, fail a passphrase, reveal with it, check status,
/// revoke: every code path that handles secret material.
async fn full_flow(base: &str) -> Vec<String> {
    let http = client();
    let api = |path: &str| format!("{base}/api/v1{path}");
    let secret = "abc8Q~LogCanarySecret_0123456789abcdefgh";
    let passphrase = "canary-passphrase-7781";

    let plain = pushed(
        http.post(api("/secrets"))
            .json(&json!({ "secret": secret, "views": 2, "note": "canary note" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    let meta = http
        .get(api(&format!("/secrets/{}", plain.id)))
        .header("x-handoff-key", &plain.key)
        .send()
        .await
        .unwrap();
    assert_eq!(meta.status(), StatusCode::OK);
    let reveal = http
        .post(api(&format!("/secrets/{}/reveal", plain.id)))
        .json(&json!({ "key": plain.key }))
        .send()
        .await
        .unwrap();
    assert_eq!(reveal.status(), StatusCode::OK);
    let status = http
        .get(api(&format!("/secrets/{}/status", plain.id)))
        .bearer_auth(&plain.manage_token)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let revoke = http
        .delete(api(&format!("/secrets/{}", plain.id)))
        .bearer_auth(&plain.manage_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);

    let guarded = pushed(
        http.post(api("/secrets"))
            .json(&json!({ "secret": secret, "passphrase": passphrase }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    let wrong = http
        .post(api(&format!("/secrets/{}/reveal", guarded.id)))
        .json(&json!({ "key": guarded.key, "passphrase": "canary-wrong-pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = http
        .post(api(&format!("/secrets/{}/reveal", guarded.id)))
        .json(&json!({ "key": guarded.key, "passphrase": passphrase }))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);

    vec![
        secret.into(),
        "LogCanarySecret".into(),
        passphrase.into(),
        "canary-wrong-pass".into(),
        "canary note".into(),
        plain.key,
        plain.manage_token,
        guarded.key,
        guarded.manage_token,
    ]
}

fn assert_clean(logs: &str, needles: &[String]) {
    assert!(
        logs.contains("DEBUG"),
        "the most verbose filter was in force"
    );
    assert!(logs.contains("secret revealed"), "the flow was logged");
    for needle in needles {
        assert!(
            !logs.contains(needle.as_str()),
            "the log contains {needle:?}"
        );
    }
}

#[tokio::test]
async fn trace_logs_hold_no_secret_material_with_the_memory_store() {
    let server = ServerProcess::start(&[("HANDOFF_LOG", "trace")]);
    let needles = full_flow(&server.base).await;
    assert_clean(&server.logs(), &needles);
}

#[tokio::test]
async fn trace_logs_hold_no_secret_material_with_redis() {
    let redis = RedisServer::start();
    let server_key = ServerKey::generate().encode();
    let server = ServerProcess::start(&[
        ("HANDOFF_LOG", "trace"),
        ("HANDOFF_STORE", &redis.url()),
        ("HANDOFF_SERVER_KEY", &server_key),
    ]);
    let mut needles = full_flow(&server.base).await;
    needles.push(server_key.to_string());
    assert_clean(&server.logs(), &needles);
}

#[tokio::test]
async fn audit_events_are_json_lines_with_target_audit_for_a_siem() {
    let server = ServerProcess::start(&[("HANDOFF_LOG_FORMAT", "json")]);
    let needles = full_flow(&server.base).await;
    let logs = server.logs();
    let audit: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON"))
        .filter(|line| line["target"] == "audit")
        .collect();
    let kinds: Vec<&str> = audit.iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in [
        "secret.created",
        "secret.viewed",
        "secret.revealed",
        "secret.revoked",
        "secret.passphrase_failed",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let revealed = audit
        .iter()
        .find(|e| e["kind"] == "secret.revealed")
        .unwrap();
    assert_eq!(revealed["actor"], "link holder");
    assert_eq!(revealed["ip"], "127.0.0.1");
    for needle in &needles {
        assert!(
            !logs.contains(needle.as_str()),
            "the log contains {needle:?}"
        );
    }
}
