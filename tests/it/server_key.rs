//! The server key: a store refuses a key other than the one its secrets
//! were sealed with, the embedded store refuses to make a new one when its
//! key file is gone, and nothing is destroyed on the way.

use std::sync::Arc;

use handoff::config::Settings;
use handoff::crypto::ServerKey;
use handoff::directory::SharedDirectory;
use handoff::domain::Ttl;
use handoff::service::{Answer, Client, NewRequest, Service, ServiceError};
use handoff::store::{MemoryStore, SharedStore};
use handoff::verify::Verifier;
use reqwest::StatusCode;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::common::{
    GOOD_SECRET, Pushed, RedisServer, ServerProcess, VendorConfig, client, json_of, pushed,
};

async fn push(base: &str, body: Value) -> Pushed {
    let response = client()
        .post(format!("{base}/api/v1/secrets"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    pushed(response.json().await.unwrap())
}

async fn reveal(base: &str, secret: &Pushed, passphrase: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "key": secret.key });
    if let Some(passphrase) = passphrase {
        body["passphrase"] = json!(passphrase);
    }
    json_of(
        client()
            .post(format!("{base}/api/v1/secrets/{}/reveal", secret.id))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Starts the binary expecting it to refuse: its exit is a failure and its
/// last line is `handoff: <message>`, which is returned.
fn refusal(env: &[(&str, &str)]) -> String {
    let Err(refused) = ServerProcess::try_start_or_exit(env) else {
        panic!("the server started");
    };
    let status = refused.status.expect("it exits by itself");
    assert!(!status.success(), "{status}: {}", refused.logs);
    let line = refused.logs.lines().last().unwrap_or_default().to_owned();
    assert!(line.starts_with("handoff: "), "{}", refused.logs);
    line
}

#[tokio::test]
async fn a_wrong_server_key_on_redis_is_refused_at_start_up_and_destroys_nothing() {
    let redis = RedisServer::start();
    let (right, wrong) = (
        ServerKey::generate().encode(),
        ServerKey::generate().encode(),
    );
    let url = redis.url();
    let first = ServerProcess::start(&[("HANDOFF_STORE", &url), ("HANDOFF_SERVER_KEY", &right)]);
    let plain = push(&first.base, json!({ "secret": "plain value" })).await;
    let guarded = push(
        &first.base,
        json!({ "secret": "guarded value", "passphrase": "correct horse" }),
    )
    .await;

    // A second instance with another key, while the first still serves.
    let line = refusal(&[("HANDOFF_STORE", &url), ("HANDOFF_SERVER_KEY", &wrong)]);
    assert!(
        line.starts_with("handoff: HANDOFF_SERVER_KEY: does not match the key this store's secrets were sealed with (fingerprint "),
        "{line}"
    );
    assert!(line.ends_with("use the original key"), "{line}");
    assert!(!line.contains(wrong.as_str()) && !line.contains(right.as_str()));
    drop(first);

    // Restarted with the right key, both secrets are still there, whole.
    let again = ServerProcess::start(&[("HANDOFF_STORE", &url), ("HANDOFF_SERVER_KEY", &right)]);
    let (status, body) = reveal(&again.base, &guarded, Some("correct horse")).await;
    assert_eq!(
        (status, body["secret"].as_str()),
        (StatusCode::OK, Some("guarded value"))
    );
    let (status, body) = reveal(&again.base, &plain, None).await;
    assert_eq!(
        (status, body["secret"].as_str()),
        (StatusCode::OK, Some("plain value"))
    );
}

#[tokio::test]
async fn the_embedded_store_refuses_to_start_when_its_key_file_is_gone() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("data");
    let store = store.to_str().unwrap();
    let key_file = folder.path().join("data").join("server.key");

    let first = ServerProcess::start(&[("HANDOFF_STORE", store)]);
    let secret = push(&first.base, json!({ "secret": "kept value" })).await;
    drop(first);
    let key = std::fs::read_to_string(&key_file).unwrap();

    // The database restored without its key file.
    std::fs::remove_file(&key_file).unwrap();
    let line = refusal(&[("HANDOFF_STORE", store)]);
    assert!(line.contains("server.key: missing"), "{line}");
    assert!(line.contains("restore server.key"), "{line}");
    assert!(line.contains("HANDOFF_SERVER_KEY"), "{line}");
    assert!(!key_file.exists(), "no new key was made");

    // Another key in the setting is refused by the store's fingerprint.
    let other = ServerKey::generate().encode();
    let line = refusal(&[("HANDOFF_STORE", store), ("HANDOFF_SERVER_KEY", &other)]);
    assert!(
        line.starts_with("handoff: HANDOFF_SERVER_KEY: does not match"),
        "{line}"
    );

    // Either fix brings the secret back: the original key in the setting…
    let configured =
        ServerProcess::start(&[("HANDOFF_STORE", store), ("HANDOFF_SERVER_KEY", key.trim())]);
    let (status, meta) = json_of(
        client()
            .get(format!("{}/api/v1/secrets/{}", configured.base, secret.id))
            .header("x-handoff-key", &secret.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    drop(configured);

    // …or the key file restored.
    std::fs::write(&key_file, &key).unwrap();
    let restored = ServerProcess::start(&[("HANDOFF_STORE", store)]);
    let (status, body) = reveal(&restored.base, &secret, None).await;
    assert_eq!(
        (status, body["secret"].as_str()),
        (StatusCode::OK, Some("kept value"))
    );
}

fn client_of_staff() -> Client {
    Client {
        ip: "192.0.2.7".into(),
        user_agent: "server-key tests".into(),
        staff: Some("alice".into()),
    }
}

#[tokio::test]
async fn a_request_answer_that_does_not_open_during_an_apply_is_given_back_at_once() {
    let sinks = tempfile::tempdir().unwrap();
    let config = VendorConfig::new(
        "",
        &format!(
            "verify = \"off\"\nsink = \"files\"\nsink_path = \"contoso\"\n\n\
             [sinks.files]\nkind = \"file\"\ndir = \"{}\"",
            sinks.path().display()
        ),
    );
    let settings = Settings::load(&config.args()).unwrap();
    let directory = SharedDirectory::new(settings.directory);
    let store: SharedStore = Arc::new(MemoryStore::new());
    let right = ServerKey::generate();
    let service = |key: &ServerKey| {
        Service::with_tenants(
            store.clone(),
            key.clone(),
            directory.clone(),
            Verifier::new(Verifier::DEFAULT_TIMEOUT),
        )
    };
    let (sealer, misconfigured) = (service(&right), service(&ServerKey::generate()));
    let request = sealer
        .create_request(NewRequest {
            tenant: "contoso".into(),
            note: None,
            ttl: Ttl::setting("1h").unwrap(),
            created_by: "alice".into(),
            auto_apply: Some(false),
            notify: false,
            certificate: None,
        })
        .await
        .unwrap();
    sealer
        .answer_request(
            &request.id,
            &request.submit_key,
            Answer {
                secret: Zeroizing::new(GOOD_SECRET.into()),
                expires_on: None,
                secret_id: None,
            },
            &client_of_staff(),
        )
        .await
        .unwrap();

    let applied = misconfigured
        .apply_request(&request.id, &request.retrieve_key, &client_of_staff())
        .await;
    assert!(
        matches!(applied, Err(ServiceError::Undecryptable)),
        "{applied:?}"
    );
    assert!(
        std::fs::read_dir(sinks.path()).unwrap().next().is_none(),
        "nothing was written"
    );

    // Not held for the lease: the right server takes the answer at once.
    let retrieved = sealer
        .retrieve_answer(&request.id, &request.retrieve_key, "alice")
        .await
        .unwrap();
    assert_eq!(retrieved.secret.expose(), GOOD_SECRET);
}
