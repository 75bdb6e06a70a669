//! Apply: a secret goes into the tenant's sink without anyone seeing it,
//! and every failure leaves it where it was.

use std::os::unix::fs::PermissionsExt as _;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    Bao, CONTOSO_APP, GOOD_SECRET, NEW_SECRET, Pushed, Vendor, WEBHOOK_SECRET, client, json_of,
};

/// A vendor whose tenant `contoso` lives in a `file` sink (env format) in
/// the returned folder, and whose tenant `nosink` has no sink. Microsoft
/// accepts any secret.
async fn vendor(settings: &str) -> (Vendor, tempfile::TempDir) {
    let sink_dir = tempfile::tempdir().unwrap();
    let contoso = format!(
        "sink = \"files\"\nsink_path = \"contoso\"\n\n\
         [sinks.files]\nkind = \"file\"\ndir = \"{}\"\n\n\
         [tenants.nosink]\nname = \"No Sink\"\nentra_tenant = \"nosink.onmicrosoft.com\"\n\
         client_id = \"{CONTOSO_APP}\"\nverify = \"off\"",
        sink_dir.path().display()
    );
    let vendor = Vendor::start(settings, &contoso).await;
    vendor.microsoft.accepts().await;
    (vendor, sink_dir)
}

fn sink_file(sink_dir: &tempfile::TempDir) -> Option<String> {
    std::fs::read_to_string(sink_dir.path().join("contoso.env")).ok()
}

#[tokio::test]
async fn staff_apply_a_pushed_secret_without_seeing_it_and_it_is_gone_here() {
    let (vendor, sinks) = vendor("").await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let (status, applied) = json_of(vendor.apply(&pushed, "contoso").await).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["written"], true);
    assert_eq!(applied["verification"]["verified"], true);
    assert!(
        !applied.to_string().contains(GOOD_SECRET),
        "the answer does not show the secret"
    );

    let file = sink_file(&sinks).expect("the sink file exists");
    assert!(
        file.contains(GOOD_SECRET) && file.contains(CONTOSO_APP),
        "{file}"
    );
    let mode = std::fs::metadata(sinks.path().join("contoso.env"))
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
    let (vendor, _sinks) = vendor("metrics_token = \"scrape-token-0123456789\"").await;
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
    let (vendor, sinks) = vendor("").await;
    vendor.microsoft.reset().await;
    vendor.microsoft.says_the_secret_expired().await;
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
    assert!(sink_file(&sinks).is_none());
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
    let (vendor, sinks) = vendor("").await;
    // The sink's folder is gone: the write fails.
    std::fs::remove_dir_all(sinks.path()).unwrap();
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
    let (vendor, _sinks) = vendor("").await;
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
    let (vendor, _sinks) = vendor("").await;
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
    let wrong = Pushed {
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

#[tokio::test]
async fn an_answered_request_is_applied_at_once_and_never_kept() {
    let (vendor, sinks) = vendor("").await;
    let request = vendor.request().await;
    let (status, accepted) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["delivered"], true);
    assert!(sink_file(&sinks).unwrap().contains(GOOD_SECRET));

    let details = vendor
        .staff_get(&format!("/api/v1/requests/{}/details", request.id))
        .await;
    assert_eq!(details["state"], "applied");
    let retrieve = vendor.retrieve(&request, &request.retrieve_key).await;
    assert_eq!(
        retrieve.status(),
        StatusCode::CONFLICT,
        "nothing left to retrieve"
    );
}

#[tokio::test]
async fn when_auto_apply_fails_the_answer_is_kept_for_staff_to_apply_later() {
    let (vendor, sinks) = vendor("").await;
    let sink = sinks.path().to_owned();
    std::fs::remove_dir_all(&sink).unwrap();
    let request = vendor.request().await;
    let (status, accepted) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::CREATED, "the customer's part is done");
    assert_eq!(accepted["delivered"], false);

    std::fs::create_dir(&sink).unwrap();
    let applied = vendor
        .app
        .http
        .post(
            vendor
                .app
                .url(&format!("/api/v1/requests/{}/apply", request.id)),
        )
        .bearer_auth(&vendor.token)
        .json(&json!({ "key": request.retrieve_key }))
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);
    assert!(sink_file(&sinks).unwrap().contains(GOOD_SECRET));
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
    let secret = WebhookSecret::parse(WEBHOOK_SECRET).unwrap();
    let target = WebhookTarget::parse(&format!("{}/hooks", receiver.uri()), secret).unwrap();
    let store: SharedStore = std::sync::Arc::new(MemoryStore::new());
    let service = Service::with_tenants(
        store.clone(),
        handoff::crypto::ServerKey::generate(),
        SharedDirectory::default(),
        Verifier::new(Verifier::DEFAULT_TIMEOUT),
    )
    .with_webhooks(Webhooks::start(
        target,
        RetrySchedule::new(Vec::new()),
        std::time::Duration::from_secs(5),
        SharedStore::downgrade(&store),
        |_| None,
        |_| {},
    ));

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
        auto_request: None,
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
async fn vendor_with_openbao(bao: &Bao) -> (Vendor, tempfile::TempDir) {
    let sink = format!(
        "\n[sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\ntimeout = \"3s\"\n",
        bao.address, bao.root
    );
    let (vendor, sinks) = vendor("").await;
    // Re-point contoso at OpenBao: a new config, same Microsoft stand-in.
    let text = vendor.config.text().replace(
        "sink = \"files\"\nsink_path = \"contoso\"",
        "sink = \"vault\"\nsink_path = \"tenants/contoso/entra\"",
    );
    vendor.config.write(&format!("{text}{sink}"));
    (vendor.restart().await, sinks)
}

#[tokio::test]
async fn applies_land_in_openbao_and_a_stopped_openbao_loses_nothing() {
    let mut bao = Bao::start().await;
    let (vendor, _sinks) = vendor_with_openbao(&bao).await;

    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let (status, applied) = json_of(vendor.apply(&pushed, "contoso").await).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let stored = bao.kv("tenants/contoso/entra").await;
    assert_eq!(stored["data"]["client_secret"], GOOD_SECRET);
    assert_eq!(stored["data"]["client_id"], CONTOSO_APP);
    assert_eq!(stored["data"]["expires_on"], "2027-05-22");

    bao.stop();
    let second = vendor.app.push(json!({ "secret": NEW_SECRET })).await;
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
    assert_eq!(revealed["secret"], NEW_SECRET, "nothing was lost");
}

#[tokio::test]
async fn after_a_good_apply_the_tenants_reload_hook_is_told_without_the_secret() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let extra = format!(
        "webhook_url = \"{}/events\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"",
        receiver.uri()
    );
    let (vendor, _sinks) = vendor(&extra).await;
    let text = vendor.config.text().replace(
        "sink_path = \"contoso\"",
        &format!(
            "sink_path = \"contoso\"\nafter_apply = \"{}/reload\"",
            receiver.uri()
        ),
    );
    vendor.config.write(&text);
    let vendor = vendor.restart().await;

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
    standardwebhooks::Webhook::new(WEBHOOK_SECRET)
        .unwrap()
        .verify(&reload.body, &reload.headers)
        .unwrap();
    let body: Value = serde_json::from_slice(&reload.body).unwrap();
    assert_eq!(body["type"], "tenant.secret_applied");
    assert_eq!(body["data"]["tenant"], "contoso");
    assert!(!String::from_utf8_lossy(&reload.body).contains(GOOD_SECRET));
}
