//! Apply: a secret goes into the tenant's sink without anyone seeing it,
//! and every failure leaves it where it was.

use crate::common;

use std::os::unix::fs::PermissionsExt as _;

use crate::common::{CONTOSO_APP, CONTOSO_TENANT, TestApp, client};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const GOOD_SECRET: &str = "abc8Q~abcdefghijklmnopqrstuvwxyz0123456.";

struct Vendor {
    app: TestApp,
    token: String,
    _microsoft: MockServer,
    sink_dir: tempfile::TempDir,
    config: tempfile::TempDir,
}

async fn microsoft(accepts: bool) -> MockServer {
    let microsoft = MockServer::start().await;
    let response = if accepts {
        let payload = URL_SAFE_NO_PAD.encode(
            json!({ "tid": "8d7a3c2e-1f4b-4e6a-9c5d-2b1a0f9e8d7c", "appid": CONTOSO_APP })
                .to_string(),
        );
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig"),
        }))
    } else {
        ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000222: The provided client secret keys for app '6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11' are expired.",
            "error_codes": [7_000_222], "timestamp": "2026-11-22 10:32:01Z",
            "trace_id": "0b6f1c2a-4d3e-4f5a-8b9c-0d1e2f3a4b5c", "correlation_id": "7c1e2d3f-5a4b-4c6d-9e8f-1a2b3c4d5e6f",
        }))
    };
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&microsoft)
        .await;
    microsoft
}

/// A vendor whose tenant `contoso` lives in a `file` sink (env format).
async fn vendor(accepts: bool, extra: &str) -> Vendor {
    let microsoft = microsoft(accepts).await;
    let sink_dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let (token, staff) = handoff::directory::new_staff_token("alice");
    let path = config.path().join("handoff.toml");
    std::fs::write(
        &path,
        format!(
            "vendor_name = \"Fabrikam\"\n{extra}\n{staff}\n\n[sinks.files]\nkind = \"file\"\ndir = \"{}\"\n\n\
             [tenants.contoso]\nname = \"Contoso Ltd\"\nentra_tenant = \"{CONTOSO_TENANT}\"\nclient_id = \"{CONTOSO_APP}\"\n\
             authority = \"{}\"\nsink = \"files\"\nsink_path = \"contoso\"\n\n\
             [tenants.nosink]\nname = \"No Sink\"\nentra_tenant = \"nosink.onmicrosoft.com\"\nclient_id = \"{CONTOSO_APP}\"\nverify = \"off\"\n",
            sink_dir.path().display(),
            microsoft.uri()
        ),
    )
    .unwrap();
    let mut args = common::args();
    args.config = Some(path);
    args.failed_reveals_per_minute = Some("0".into());
    Vendor {
        app: TestApp::spawn_with(args).await,
        token: token.to_string(),
        _microsoft: microsoft,
        sink_dir,
        config,
    }
}

impl Vendor {
    async fn apply(&self, pushed: &common::Pushed, tenant: &str) -> reqwest::Response {
        self.app
            .http
            .post(
                self.app
                    .url(&format!("/api/v1/secrets/{}/apply", pushed.id)),
            )
            .bearer_auth(&self.token)
            .json(&json!({ "key": pushed.key, "tenant": tenant, "expires_on": "2027-05-22" }))
            .send()
            .await
            .unwrap()
    }

    fn sink_file(&self) -> Option<String> {
        std::fs::read_to_string(self.sink_dir.path().join("contoso.env")).ok()
    }

    async fn staff_get(&self, path: &str) -> Value {
        self.app
            .http
            .get(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn staff_apply_a_pushed_secret_without_seeing_it_and_it_is_gone_here() {
    let vendor = vendor(true, "").await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let (status, applied) = json_of(vendor.apply(&pushed, "contoso").await).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["written"], true);
    assert_eq!(applied["verification"]["verified"], true);
    assert!(
        !applied.to_string().contains(GOOD_SECRET),
        "the answer does not show the secret"
    );

    let file = vendor.sink_file().expect("the sink file exists");
    assert!(
        file.contains(GOOD_SECRET) && file.contains(CONTOSO_APP),
        "{file}"
    );
    let mode = std::fs::metadata(vendor.sink_dir.path().join("contoso.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let (status, gone) = json_of(vendor.app.reveal_with_key(&pushed).await).await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("applied"))
    );

    let tenants = vendor.staff_get("/api/v1/tenants").await;
    let contoso = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "contoso")
        .unwrap();
    assert_eq!(contoso["expires_on"], "2027-05-22");
    assert_eq!(contoso["hint"], "abc");
    assert_eq!(contoso["applied_by"], "staff:alice");
    assert_eq!(contoso["status"], "ok");
    let nosink = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "nosink")
        .unwrap();
    assert_eq!(nosink["status"], "never_received");
}

#[tokio::test]
async fn metrics_export_the_tenants_expiry_for_staff_or_the_scrape_token() {
    let vendor = vendor(true, "metrics_token = \"scrape-token-0123456789\"").await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    assert_eq!(
        vendor.apply(&pushed, "contoso").await.status(),
        StatusCode::OK
    );

    let anonymous = client()
        .get(vendor.app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let scraped = client()
        .get(vendor.app.url("/metrics"))
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // 2027-05-22T00:00:00Z
    assert!(
        scraped.contains(
            "handoff_tenant_secret_expiry_timestamp_seconds{tenant=\"contoso\"} 1810944000"
        ),
        "{scraped}"
    );
    assert!(scraped.contains("handoff_applies_total{tenant=\"contoso\"} 1"));
    assert!(scraped.contains("handoff_http_request_duration_seconds_bucket"));
    assert!(!scraped.contains(&pushed.id), "no ids in labels");
}

#[tokio::test]
async fn a_refused_verification_writes_nothing_and_keeps_the_secret() {
    let vendor = vendor(false, "").await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let (status, body) = json_of(vendor.apply(&pushed, "contoso").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (body["error"].as_str(), body["step"].as_str()),
        (Some("apply_failed"), Some("verify"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert!(vendor.sink_file().is_none());
    let revealed: Value = vendor
        .app
        .reveal_with_key(&pushed)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revealed["secret"], GOOD_SECRET, "nothing was lost");
}

#[tokio::test]
async fn a_failing_sink_says_which_step_failed_and_keeps_the_secret() {
    let vendor = vendor(true, "").await;
    // The sink's folder is gone: the write fails.
    std::fs::remove_dir_all(vendor.sink_dir.path()).unwrap();
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let (status, body) = json_of(vendor.apply(&pushed, "contoso").await).await;
    assert!(
        status.is_server_error() || status == StatusCode::CONFLICT,
        "{status}"
    );
    assert_eq!(body["step"], "write", "{body}");
    assert!(!body.to_string().contains(GOOD_SECRET));
    let revealed: Value = vendor
        .app
        .reveal_with_key(&pushed)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revealed["secret"], GOOD_SECRET, "nothing was lost");
    let events = vendor.staff_get("/api/v1/audit").await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "apply.failed")
    );
}

#[tokio::test]
async fn concurrent_applies_of_one_secret_write_once() {
    let vendor = vendor(true, "").await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let applies = (0..6).map(|_| vendor.apply(&pushed, "contoso"));
    let statuses: Vec<StatusCode> = join_all(applies)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::OK, StatusCode::CONFLICT, StatusCode::NOT_FOUND].contains(s))
    );
}

#[tokio::test]
async fn apply_needs_staff_the_right_key_and_a_tenant_with_a_sink() {
    let vendor = vendor(true, "").await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let anonymous = client()
        .post(
            vendor
                .app
                .url(&format!("/api/v1/secrets/{}/apply", pushed.id)),
        )
        .json(&json!({ "key": pushed.key, "tenant": "contoso" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = common::Pushed {
        key: "A".repeat(43),
        ..pushed.clone()
    };
    assert_eq!(
        vendor.apply(&wrong, "contoso").await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, body) = json_of(vendor.apply(&pushed, "nosink").await).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("tenant"))
    );
    assert_eq!(
        vendor.app.reveal_with_key(&pushed).await.status(),
        StatusCode::OK
    );
}

/// Creates a request as staff and returns (id, submit key, retrieve key).
async fn request(vendor: &Vendor) -> (String, String, String) {
    let body: Value = vendor
        .app
        .http
        .post(vendor.app.url("/api/v1/requests"))
        .bearer_auth(&vendor.token)
        .json(&json!({ "tenant": "contoso" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_of = |url: &str| {
        body[url]
            .as_str()
            .unwrap()
            .split_once('#')
            .unwrap()
            .1
            .to_owned()
    };
    (
        body["id"].as_str().unwrap().to_owned(),
        key_of("submit_url"),
        key_of("retrieve_url"),
    )
}

async fn answer(vendor: &Vendor, id: &str, key: &str) -> (StatusCode, Value) {
    json_of(
        vendor
            .app
            .http
            .post(vendor.app.url(&format!("/api/v1/requests/{id}/answer")))
            .json(&json!({ "key": key, "secret": GOOD_SECRET, "expires_on": "2027-05-22" }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn an_answered_request_is_applied_at_once_and_never_kept() {
    let vendor = vendor(true, "").await;
    let (id, submit_key, retrieve_key) = request(&vendor).await;
    let (status, accepted) = answer(&vendor, &id, &submit_key).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["delivered"], true);
    assert!(vendor.sink_file().unwrap().contains(GOOD_SECRET));

    let details = vendor
        .staff_get(&format!("/api/v1/requests/{id}/details"))
        .await;
    assert_eq!(details["state"], "applied");
    let retrieve = vendor
        .app
        .http
        .post(vendor.app.url(&format!("/api/v1/requests/{id}/retrieve")))
        .bearer_auth(&vendor.token)
        .json(&json!({ "key": retrieve_key }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        retrieve.status(),
        StatusCode::CONFLICT,
        "nothing left to retrieve"
    );
}

#[tokio::test]
async fn when_auto_apply_fails_the_answer_is_kept_for_staff_to_apply_later() {
    let vendor = vendor(true, "").await;
    let sink = vendor.sink_dir.path().to_owned();
    std::fs::remove_dir_all(&sink).unwrap();
    let (id, submit_key, retrieve_key) = request(&vendor).await;
    let (status, accepted) = answer(&vendor, &id, &submit_key).await;
    assert_eq!(status, StatusCode::CREATED, "the customer's part is done");
    assert_eq!(accepted["delivered"], false);

    std::fs::create_dir(&sink).unwrap();
    let applied = vendor
        .app
        .http
        .post(vendor.app.url(&format!("/api/v1/requests/{id}/apply")))
        .bearer_auth(&vendor.token)
        .json(&json!({ "key": retrieve_key }))
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);
    assert!(vendor.sink_file().unwrap().contains(GOOD_SECRET));
}

#[tokio::test]
async fn expiry_reminders_fire_once_each() {
    use handoff::directory::SharedDirectory;
    use handoff::service::Service;
    use handoff::store::{MemoryStore, SharedStore, TenantRecord, VerificationRecord};
    use handoff::verify::Verifier;
    use handoff::webhook::{RetrySchedule, WebhookSecret, WebhookTarget, Webhooks};

    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let target =
        WebhookTarget::parse(&format!("{}/hooks", receiver.uri()), secret.clone()).unwrap();
    let store: SharedStore = std::sync::Arc::new(MemoryStore::new());
    let service = Service::with_tenants(
        store.clone(),
        handoff::crypto::ServerKey::generate(),
        SharedDirectory::default(),
        Verifier::new(Verifier::DEFAULT_TIMEOUT),
    )
    .with_webhooks(
        Webhooks::start(
            target,
            RetrySchedule::new(Vec::new()),
            std::time::Duration::from_secs(5),
            |_| {},
        ),
        &secret,
        RetrySchedule::new(Vec::new()),
    );

    let in_five_days = time::OffsetDateTime::now_utc().date() + time::Duration::days(5);
    let record = TenantRecord {
        applied_at: 0,
        applied_by: "staff:alice".into(),
        expires_on: Some(in_five_days.to_string()),
        hint: "abc".into(),
        secret_id: None,
        verification: VerificationRecord {
            verified: true,
            code: "verified".into(),
            message: String::new(),
            aadsts: None,
        },
        sink: "files".into(),
        reminded: Vec::new(),
    };
    assert!(
        store
            .replace_tenant_record("contoso", 0, &record)
            .await
            .unwrap()
    );

    service.remind_expiring(&[30, 7, 1]).await.unwrap();
    service.remind_expiring(&[30, 7, 1]).await.unwrap();
    // Wait for the delivery, then a little longer for any duplicate.
    for _ in 0..40 {
        if !receiver.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let deliveries = receiver.received_requests().await.unwrap();
    assert_eq!(
        deliveries.len(),
        1,
        "30 and 7 days are both due, announced once"
    );
    let body: Value = serde_json::from_slice(&deliveries[0].body).unwrap();
    assert_eq!(body["type"], "secret.expiring");
    assert_eq!(body["data"]["tenant"], "contoso");
    assert_eq!(body["data"]["days_left"], 5);
    let reminded = store
        .load_tenant_record("contoso")
        .await
        .unwrap()
        .unwrap()
        .value
        .reminded;
    assert_eq!(reminded, vec![30, 7], "the 1-day reminder is still to come");
}

#[test]
fn sink_check_proves_a_sink_writable_without_writing_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(
        &config,
        format!(
            "[sinks.files]\nkind = \"file\"\ndir = \"{}\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let run = |sink: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(["sink", "check", sink, "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    let ok = run("files");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("writable"));
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "only handoff.toml: nothing was written");
    let unknown = run("nope");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no [sinks.nope]"));
}

/// A vendor whose tenant `contoso` lives in `OpenBao` at `tenants/contoso/entra`.
async fn vendor_with_openbao(bao: &common::Bao) -> Vendor {
    let sink = format!(
        "\n[sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\ntimeout = \"3s\"\n",
        bao.address, bao.root
    );
    let vendor = vendor(true, "").await;
    // Re-point contoso at OpenBao: a new config, same Microsoft stand-in.
    let config = vendor.config.path().join("handoff.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "sink = \"files\"\nsink_path = \"contoso\"",
        "sink = \"vault\"\nsink_path = \"tenants/contoso/entra\"",
    );
    std::fs::write(&config, format!("{text}{sink}")).unwrap();
    let mut args = common::args();
    args.config = Some(config);
    Vendor {
        app: TestApp::spawn_with(args).await,
        ..vendor
    }
}

#[tokio::test]
async fn applies_land_in_openbao_and_a_stopped_openbao_loses_nothing() {
    let mut bao = common::Bao::start().await;
    let vendor = vendor_with_openbao(&bao).await;

    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let (status, applied) = json_of(vendor.apply(&pushed, "contoso").await).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let stored = bao.kv("tenants/contoso/entra").await;
    assert_eq!(stored["data"]["client_secret"], GOOD_SECRET);
    assert_eq!(stored["data"]["client_id"], CONTOSO_APP);
    assert_eq!(stored["data"]["expires_on"], "2027-05-22");

    bao.stop();
    let second = vendor
        .app
        .push(json!({ "secret": GOOD_SECRET.replace("abc", "xyz") }))
        .await;
    let (status, body) = json_of(vendor.apply(&second, "contoso").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["step"], "write");
    let revealed: Value = vendor
        .app
        .reveal_with_key(&second)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        revealed["secret"],
        GOOD_SECRET.replace("abc", "xyz"),
        "nothing was lost"
    );
}

#[tokio::test]
async fn after_a_good_apply_the_tenants_reload_hook_is_told_without_the_secret() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let extra = format!(
        "webhook_url = \"{}/events\"\nwebhook_secret = \"{secret}\"",
        receiver.uri()
    );
    let vendor = vendor(true, &extra).await;
    let config = vendor.config.path().join("handoff.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "sink_path = \"contoso\"",
        &format!(
            "sink_path = \"contoso\"\nafter_apply = \"{}/reload\"",
            receiver.uri()
        ),
    );
    std::fs::write(&config, text).unwrap();
    let mut args = common::args();
    args.config = Some(config);
    let vendor = Vendor {
        app: TestApp::spawn_with(args).await,
        ..vendor
    };

    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    assert_eq!(
        vendor.apply(&pushed, "contoso").await.status(),
        StatusCode::OK
    );
    let mut reload = None;
    for _ in 0..50 {
        let requests = receiver.received_requests().await.unwrap();
        reload = requests.into_iter().find(|r| r.url.path() == "/reload");
        if reload.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reload = reload.expect("the reload hook was called");
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&reload.body, &reload.headers)
        .unwrap();
    let body: Value = serde_json::from_slice(&reload.body).unwrap();
    assert_eq!(body["type"], "tenant.secret_applied");
    assert_eq!(body["data"]["tenant"], "contoso");
    assert!(!String::from_utf8_lossy(&reload.body).contains(GOOD_SECRET));
}
