//! Request links end to end: staff ask, the customer answers, Microsoft
//! (stood in for by wiremock, answering as documented) judges, staff
//! retrieve once.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    CONTOSO_APP, CONTOSO_TENANT, GOOD_SECRET, Request, Vendor, WEBHOOK_SECRET, client, json_of,
};

/// Turns off the re-checking of a brand-new secret that Microsoft refuses.
const NO_NEW_SECRET_WINDOW: &str = "new_secret_window = \"0s\"";

/// A vendor whose contoso tenant has `verify` set as given; Microsoft
/// answers as each test tells it.
async fn vendor(verify: &str) -> Vendor {
    vendor_with(verify, "").await
}

async fn vendor_with(verify: &str, settings: &str) -> Vendor {
    Vendor::start(settings, &format!("verify = \"{verify}\"")).await
}

#[tokio::test]
async fn the_customer_sees_who_asks_for_which_tenant_and_app() {
    let vendor = vendor("required").await;
    let request = vendor.request().await;
    let (status, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["vendor_name"], "Fabrikam");
    assert_eq!(view["tenant"]["name"], "Contoso Ltd");
    assert_eq!(view["tenant"]["entra_tenant"], CONTOSO_TENANT);
    assert_eq!(view["tenant"]["client_id"], CONTOSO_APP);
    assert_eq!(view["note"], "Q4 rotation");
    assert_eq!(view["state"], "open");
    assert_eq!(view["tries_remaining"], 10);
}

#[tokio::test]
async fn only_staff_create_requests_and_only_for_configured_tenants() {
    let vendor = vendor("required").await;
    let anonymous = client()
        .post(vendor.app.url("/api/v1/requests"))
        .json(&json!({ "tenant": "contoso" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = json_of(
        vendor
            .create_request(json!({ "tenant": "northwind" }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "tenant");
}

#[tokio::test]
async fn a_secret_id_is_refused_at_once_without_asking_microsoft() {
    let vendor = vendor("required").await;
    vendor.microsoft.accepts().await;
    let request = vendor.request().await;
    let (status, body) = json_of(
        vendor
            .answer(&request, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "secret_refused");
    assert_eq!(body["reason"], "secret_id_not_value");
    assert!(
        body["message"].as_str().unwrap().contains("Secret ID"),
        "{body}"
    );
    assert_eq!(body["tries_remaining"], 9);
    assert!(vendor.microsoft.received().await.is_empty());
}

#[tokio::test]
async fn a_verified_answer_is_retrieved_by_staff_exactly_once() {
    let vendor = vendor("required").await;
    vendor.microsoft.accepts().await;
    let request = vendor.request().await;

    let (status, accepted) =
        json_of(vendor.answer(&request, &format!("  {GOOD_SECRET}\n")).await).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["verified"], true);
    assert_eq!(accepted["verification"]["code"], "verified");
    assert!(
        accepted["verification"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Verified")
    );
    assert!(
        !accepted["notices"].as_array().unwrap().is_empty(),
        "the trimmed spaces are mentioned"
    );
    assert_eq!(accepted["hint"], "abc");

    let sent = &vendor.microsoft.received().await[0];
    let form = String::from_utf8_lossy(&sent.body);
    assert!(
        form.contains("grant_type=client_credentials")
            && form.contains(&format!("client_id={CONTOSO_APP}"))
    );

    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(view["state"], "answered");
    let (status, again) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_answered"))
    );

    let (status, wrong) = json_of(vendor.retrieve(&request, &request.submit_key).await).await;
    assert_eq!(
        (status, wrong["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "the customer's key opens nothing"
    );
    let (status, retrieved) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        retrieved["secret"], GOOD_SECRET,
        "trimmed as the customer was told"
    );
    assert_eq!(retrieved["expires_on"], "2028-11-22");
    let (status, gone) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("already_retrieved"))
    );
}

#[tokio::test]
async fn a_retrieval_retried_with_its_idempotency_key_gets_the_same_answer_again() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );
    for _ in 0..2 {
        let (status, retrieved) =
            json_of(vendor.retrieve_idempotent(&request, "tab-1").await).await;
        assert_eq!(status, StatusCode::OK, "{retrieved}");
        assert_eq!(retrieved["secret"], GOOD_SECRET);
    }
    let (status, other) = json_of(vendor.retrieve_idempotent(&request, "tab-2").await).await;
    assert_eq!(
        (status, other["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("already_retrieved"))
    );
    let (status, none) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(
        (status, none["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("already_retrieved"))
    );
    let (status, bad) = json_of(vendor.retrieve_idempotent(&request, "two words").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
}

#[tokio::test]
async fn retrieving_needs_a_staff_member_as_well_as_the_key() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );
    let anonymous = client()
        .post(
            vendor
                .app
                .url(&format!("/api/v1/requests/{}/retrieve", request.id)),
        )
        .json(&json!({ "key": request.retrieve_key }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        vendor
            .retrieve(&request, &request.retrieve_key)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_rejected_value_keeps_the_request_open_for_a_correction() {
    // A wrong value, not a new one still propagating: no re-checks.
    let vendor = vendor_with("required", NO_NEW_SECRET_WINDOW).await;
    vendor.microsoft.rejects_the_value().await;
    let request = vendor.request().await;
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "verification_failed");
    assert_eq!(body["reason"], "invalid_secret");
    assert_eq!(body["aadsts"], 7_000_215);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Secret ID was copied instead of the Value")
    );
    assert!(!body.to_string().contains(GOOD_SECRET));

    vendor.microsoft.reset().await;
    vendor.microsoft.accepts().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn with_required_verification_an_unreachable_microsoft_stores_nothing_and_counts_no_try() {
    let vendor = vendor("required").await;
    vendor.microsoft.is_down().await;
    let request = vendor.request().await;
    let response = vendor.answer(&request, GOOD_SECRET).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = json_of(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("verifier_unreachable")
        )
    );
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(
        (view["state"].as_str(), view["tries_remaining"].as_u64()),
        (Some("open"), Some(10))
    );
}

#[tokio::test]
async fn with_advisory_verification_an_unreachable_microsoft_accepts_the_answer_unverified() {
    let vendor = vendor("advisory").await;
    vendor.microsoft.is_down().await;
    let request = vendor.request().await;
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["verified"], false);
    assert_eq!(body["verification"]["code"], "unreachable");
}

#[tokio::test]
async fn ten_refused_answers_lock_the_request() {
    // A wrong value, not a new one still propagating: no re-checks.
    let vendor = vendor_with("required", NO_NEW_SECRET_WINDOW).await;
    vendor.microsoft.rejects_the_value().await;
    let request = vendor.request().await;
    for left in (0..10).rev() {
        let (_, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
        assert_eq!(body["tries_remaining"], left);
    }
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("locked"))
    );
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(view["state"], "locked");
    let details: Value = vendor
        .app
        .http
        .get(
            vendor
                .app
                .url(&format!("/api/v1/requests/{}/details", request.id)),
        )
        .bearer_auth(&vendor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details["state"], "locked", "staff see it");
}

#[tokio::test]
async fn concurrent_good_answers_are_accepted_once() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    let answers = (0..8).map(|_| vendor.answer(&request, GOOD_SECRET));
    let statuses: Vec<StatusCode> = join_all(answers)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7
    );
}

#[tokio::test]
async fn a_rotation_script_can_answer_with_a_plain_body() {
    let vendor = vendor("required").await;
    vendor.microsoft.accepts().await;
    let request = vendor.request().await;
    // `az ad app credential reset … -o tsv | curl --data-binary @- …`
    let response = vendor
        .app
        .http
        .post(vendor.app.url(&format!(
            "/api/v1/requests/{}/answer?expires_on=2027-11-22",
            request.id
        )))
        .header("x-handoff-key", &request.submit_key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{GOOD_SECRET}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, retrieved) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(retrieved["secret"], GOOD_SECRET);
    assert_eq!(retrieved["expires_on"], "2027-11-22");
}

#[tokio::test]
async fn wrong_keys_answer_the_same_404() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    let wrong = Request {
        id: request.id.clone(),
        submit_key: "A".repeat(43),
        retrieve_key: String::new(),
    };
    let (status, body) = json_of(vendor.view(&wrong).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = json_of(vendor.answer(&wrong, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(view["tries_remaining"], 10, "a wrong key counts no try");
}

#[tokio::test]
async fn bad_expiry_dates_and_secret_ids_are_422_naming_the_field() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    let answer = |extra: Value| {
        let mut body = json!({ "key": request.submit_key, "secret": GOOD_SECRET });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        vendor
            .app
            .http
            .post(
                vendor
                    .app
                    .url(&format!("/api/v1/requests/{}/answer", request.id)),
            )
            .json(&body)
            .send()
    };
    let (status, body) =
        json_of(answer(json!({ "expires_on": "2020-01-01" })).await.unwrap()).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_on"))
    );
    let (status, body) = json_of(answer(json!({ "secret_id": GOOD_SECRET })).await.unwrap()).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("secret_id"))
    );
}

#[tokio::test]
async fn every_step_is_in_the_audit_trail_without_the_secret() {
    // A wrong value, not a new one still propagating: no re-checks.
    let vendor = vendor_with("required", NO_NEW_SECRET_WINDOW).await;
    vendor.microsoft.rejects_the_value().await;
    let request = vendor.request().await;
    vendor.answer(&request, GOOD_SECRET).await;
    vendor.microsoft.reset().await;
    vendor.microsoft.accepts().await;
    vendor.answer(&request, GOOD_SECRET).await;
    vendor.retrieve(&request, &request.retrieve_key).await;

    let kinds = [
        "request.created",
        "verification.failed",
        "verification.passed",
        "request.answered",
        "request.retrieved",
    ];
    let events = vendor.audit_events("tenant=contoso", &kinds).await;
    let failed = events
        .iter()
        .find(|e| e["kind"] == "verification.failed")
        .unwrap();
    assert_eq!(failed["aadsts"], 7_000_215);
    assert_eq!(failed["actor"], "customer");
    assert_eq!(failed["subject"], request.id.as_str());
    assert_eq!(failed["ip"], "127.0.0.1");
    let created = events
        .iter()
        .find(|e| e["kind"] == "request.created")
        .unwrap();
    assert_eq!(created["actor"], "staff:alice");
    let retrieved = events
        .iter()
        .find(|e| e["kind"] == "request.retrieved")
        .unwrap();
    assert_eq!(retrieved["actor"], "staff:alice");
    let text = serde_json::to_string(&events).unwrap();
    for needle in [
        GOOD_SECRET,
        &request.submit_key,
        &request.retrieve_key,
        &vendor.token,
    ] {
        assert!(!text.contains(needle), "the audit trail holds {needle}");
    }
    let other = vendor.audit_events("tenant=northwind", &[]).await;
    assert!(other.is_empty(), "the tenant filter filters");
}

#[tokio::test]
async fn the_audit_api_is_for_staff_and_checks_its_parameters() {
    let vendor = vendor("off").await;
    let anonymous = client()
        .get(vendor.app.url("/api/v1/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bad = vendor
        .app
        .http
        .get(vendor.app.url("/api/v1/audit?since=yesterday"))
        .bearer_auth(&vendor.token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(bad).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("since"))
    );
}

#[tokio::test]
async fn an_answer_is_announced_by_a_signed_webhook_without_the_secret() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/handoff"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let extra = format!(
        "webhook_url = \"{}/hooks/handoff\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"",
        receiver.uri()
    );
    let vendor = vendor_with("required", &extra).await;
    vendor.microsoft.accepts().await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );

    let mut delivered = Vec::new();
    for _ in 0..50 {
        delivered = receiver.received_requests().await.unwrap();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let hook = delivered.first().expect("the webhook was called");
    standardwebhooks::Webhook::new(WEBHOOK_SECRET)
        .unwrap()
        .verify(&hook.body, &hook.headers)
        .expect("the reference implementation accepts the signature");
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(body["type"], "request.answered");
    assert_eq!(body["data"]["request_id"], request.id.as_str());
    assert_eq!(body["data"]["tenant"], "contoso");
    assert_eq!(body["data"]["verified"], true);
    assert!(!String::from_utf8_lossy(&hook.body).contains(GOOD_SECRET));
    vendor.audit_events("", &["webhook.delivered"]).await;
}

#[tokio::test]
async fn a_failed_webhook_delivery_is_visible_to_staff() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let extra = format!(
        "webhook_url = \"{}/hooks\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\nwebhook_retries = \"\"",
        receiver.uri()
    );
    let vendor = vendor_with("off", &extra).await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );
    let events = vendor.audit_events("", &["webhook.failed"]).await;
    let failed = events
        .iter()
        .find(|e| e["kind"] == "webhook.failed")
        .unwrap();
    assert!(
        failed["detail"].as_str().unwrap().contains("HTTP 500"),
        "{failed}"
    );
}

#[tokio::test]
async fn a_brand_new_secret_is_activating_without_a_try_counted_until_microsoft_accepts_it() {
    let vendor = vendor_with("required", "new_secret_window = \"30s\"").await;
    let request = vendor.request().await;
    // Created "now": Microsoft takes it in a few seconds.
    vendor
        .microsoft
        .accepts_after(std::time::Duration::from_secs(3))
        .await;

    let response = vendor.answer(&request, GOOD_SECRET).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "activating");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Microsoft is still activating this new secret"),
        "{body}"
    );
    assert!((1..=15).contains(&retry_after), "{retry_after}");
    assert!(!body.to_string().contains(GOOD_SECRET));
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(
        (view["state"].as_str(), view["tries_remaining"].as_u64()),
        (Some("open"), Some(10)),
        "no try counted, nothing stored"
    );

    // Sent again as the page and the CLI do, it ends accepted.
    let mut last = StatusCode::ACCEPTED;
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
        last = status;
        if status != StatusCode::ACCEPTED {
            assert_eq!(body["verified"], true, "{body}");
            break;
        }
    }
    assert_eq!(last, StatusCode::CREATED);
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(view["state"], "answered");
}

#[tokio::test]
async fn after_the_new_secret_window_a_refused_new_secret_counts_as_wrong() {
    let vendor = vendor_with("required", "new_secret_window = \"2s\"").await;
    vendor.microsoft.rejects_the_value().await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["reason"], "invalid_secret");
    assert_eq!(body["tries_remaining"], 9);
}

#[tokio::test]
async fn a_refused_older_format_value_is_wrong_at_once_not_activating() {
    let vendor = vendor_with("required", "new_secret_window = \"30s\"").await;
    vendor.microsoft.rejects_the_value().await;
    let request = vendor.request().await;
    let (status, body) = json_of(
        vendor
            .answer(&request, "abc7Q~Zy1_x.w-v~U9t8S7r6Q5p4O3n2M1l0K")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["tries_remaining"], 9);
}

#[tokio::test]
async fn a_vendor_misconfiguration_counts_no_try_against_the_customer_and_tells_staff() {
    let vendor = vendor("required").await;
    vendor.microsoft.says_the_scope_is_invalid().await;
    let request = vendor.request().await;
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("vendor_misconfigured")
        ),
        "{body}"
    );
    assert_eq!(body["aadsts"], 1_002_012);
    assert!(
        body["message"].as_str().unwrap().contains("not your fault"),
        "{body}"
    );
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(view["tries_remaining"], 10);
    let events = vendor
        .audit_events("tenant=contoso", &["verification.failed"])
        .await;
    let failed = events
        .iter()
        .find(|e| e["kind"] == "verification.failed")
        .expect("staff see it in the audit trail");
    assert_eq!(failed["aadsts"], 1_002_012);
}

#[tokio::test]
async fn a_tenant_in_another_cloud_is_the_vendors_to_fix_and_named() {
    let vendor = vendor("required").await;
    vendor
        .microsoft
        .says_the_tenant_is_in("AzureUSGovernment")
        .await;
    let request = vendor.request().await;
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["reason"], "other_cloud");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("https://login.microsoftonline.us"),
        "{body}"
    );
    let (_, view) = json_of(vendor.view(&request).await).await;
    assert_eq!(view["tries_remaining"], 10);
}

#[tokio::test]
async fn a_disabled_app_is_refused_saying_an_admin_must_enable_it() {
    let vendor = vendor("required").await;
    vendor.microsoft.says_the_app_is_disabled().await;
    let request = vendor.request().await;
    let (status, body) = json_of(vendor.answer(&request, GOOD_SECRET).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["reason"], "app_disabled");
    assert_eq!(body["aadsts"], 7_000_112);
}

#[tokio::test]
async fn a_retrieved_answer_is_tracked_on_the_tenants_page_with_its_expiry() {
    let vendor = vendor("required").await;
    vendor.microsoft.accepts().await;
    let request = vendor.request().await;
    let before = vendor.staff_get("/api/v1/tenants").await;
    let contoso = |tenants: &Value| {
        tenants["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tenant"] == "contoso")
            .unwrap()
            .clone()
    };
    assert_eq!(contoso(&before)["status"], "never_received");

    let answered = vendor.answer(&request, GOOD_SECRET).await;
    assert_eq!(answered.status(), StatusCode::CREATED);
    let (status, _) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(status, StatusCode::OK);

    let after = contoso(&vendor.staff_get("/api/v1/tenants").await);
    assert_eq!(after["expires_on"], "2028-11-22", "{after}");
    assert_eq!(after["hint"], "abc");
    assert_eq!(after["status"], "ok");
    assert!(
        after["sink"].as_str().unwrap_or_default().is_empty(),
        "retrieved, not applied to a sink: {after}"
    );

    let page = vendor
        .app
        .http
        .get(vendor.app.url("/staff"))
        .bearer_auth(&vendor.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("retrieved by staff, not applied"), "{page}");
}

#[tokio::test]
async fn the_customer_is_linked_to_the_apps_certificates_and_secrets_in_its_cloud() {
    // A tenant at Microsoft's public cloud, which is never asked here.
    let config = crate::common::VendorConfig::new("", "verify = \"off\"");
    let app = crate::common::TestApp::spawn_with(config.args()).await;
    let created: Value = app
        .http
        .post(app.url("/api/v1/requests"))
        .bearer_auth(&config.token)
        .json(&json!({ "tenant": "contoso" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, key) = created["submit_url"]
        .as_str()
        .unwrap()
        .rsplit_once('/')
        .unwrap()
        .1
        .split_once('#')
        .unwrap();
    let view: Value = app
        .http
        .get(app.url(&format!("/api/v1/requests/{id}")))
        .header("X-Handoff-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["tenant"]["credentials_url"],
        format!(
            "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/{CONTOSO_APP}"
        )
    );
}

#[tokio::test]
async fn staff_cancel_an_answered_request_and_its_answer_is_deleted_unread() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );
    let url = vendor.app.url(&format!("/api/v1/requests/{}", request.id));
    let anonymous = client().delete(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let cancel = || async {
        vendor
            .app
            .http
            .delete(&url)
            .bearer_auth(&vendor.token)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(cancel().await.status(), StatusCode::NO_CONTENT);
    let (status, again) = json_of(cancel().await).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{again}"
    );

    // Neither link opens anything now.
    let (status, gone) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{gone}"
    );
    assert_eq!(vendor.view(&request).await.status(), StatusCode::NOT_FOUND);
    let details = vendor
        .staff_get(&format!("/api/v1/requests/{}/details", request.id))
        .await;
    assert_eq!(details["state"], "cancelled", "{details}");
    let events = vendor
        .audit_events(&format!("subject={}", request.id), &["request.cancelled"])
        .await;
    let cancelled: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "request.cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1, "{events:?}");
    assert_eq!(cancelled[0]["actor"], "staff:alice");
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains(GOOD_SECRET),
        "no secret in the audit"
    );
}

#[tokio::test]
async fn the_audit_api_filters_by_kind_and_refuses_an_unknown_one() {
    let vendor = vendor("off").await;
    let request = vendor.request().await;
    assert_eq!(
        vendor.answer(&request, GOOD_SECRET).await.status(),
        StatusCode::CREATED
    );
    let events = vendor
        .audit_events("kind=request.answered", &["request.answered"])
        .await;
    assert!(
        events.iter().all(|e| e["kind"] == "request.answered"),
        "{events:?}"
    );
    let bad = vendor
        .app
        .http
        .get(vendor.app.url("/api/v1/audit?kind=request.nonsense"))
        .bearer_auth(&vendor.token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(bad).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        "{body}"
    );
}
