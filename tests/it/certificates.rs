//! Certificate credentials: the vendor makes the key pair, the customer
//! uploads the public certificate, Check proves it with Microsoft, and the
//! private key goes into the tenant's sink without anyone seeing it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Bao, CONTOSO_APP, GOOD_SECRET, Request, Vendor, json_of};

/// A vendor whose tenant `contoso` lives in `OpenBao` at
/// `tenants/contoso/entra`, with a Microsoft that checks client assertions
/// against the certificates uploaded to it.
async fn vendor_with_openbao(bao: &Bao) -> Vendor {
    let contoso = format!(
        "sink = \"vault\"\nsink_path = \"tenants/contoso/entra\"\n\n\
         [sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\ntimeout = \"3s\"\n",
        bao.address, bao.root
    );
    let vendor = Vendor::start("", &contoso).await;
    vendor.microsoft.checks_client_assertions().await;
    vendor
}

async fn certificate_request(vendor: &Vendor) -> Request {
    let response = vendor
        .create_request(json!({ "tenant": "contoso", "kind": "certificate" }))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let key_of = |url: &str| {
        body[url]
            .as_str()
            .unwrap()
            .split_once('#')
            .unwrap()
            .1
            .to_owned()
    };
    Request {
        id: body["id"].as_str().unwrap().to_owned(),
        submit_key: key_of("submit_url"),
        retrieve_key: key_of("retrieve_url"),
    }
}

async fn check(vendor: &Vendor, request: &Request) -> (StatusCode, Value) {
    json_of(
        vendor
            .app
            .http
            .post(
                vendor
                    .app
                    .url(&format!("/api/v1/requests/{}/check", request.id)),
            )
            .header("x-handoff-key", &request.submit_key)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// What the customer's page offers: the certificate, never the key.
async fn offered_certificate(vendor: &Vendor, request: &Request) -> Value {
    let (status, view) = json_of(vendor.view(request).await).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["kind"], "certificate");
    assert!(!view.to_string().contains("PRIVATE KEY"), "{view}");
    view["certificate"].clone()
}

#[tokio::test]
async fn a_checked_certificate_puts_its_private_key_in_openbao_and_its_expiry_on_the_tenants_page()
{
    let bao = Bao::start().await;
    let vendor = vendor_with_openbao(&bao).await;
    let request = certificate_request(&vendor).await;
    let certificate = offered_certificate(&vendor, &request).await;
    let thumbprint = certificate["thumbprint"].as_str().unwrap().to_owned();
    assert_eq!(thumbprint.len(), 40, "SHA-1, as the portal shows it");
    assert_eq!(certificate["sha256"].as_str().unwrap().len(), 64);
    assert!(
        certificate["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    let (status, refused) = check(&vendor, &request).await;
    assert_eq!(
        refused["error"], "verification_failed",
        "{status} {refused}"
    );
    assert_eq!(refused["aadsts"], 700_027);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("has not been uploaded to this app yet"),
        "{refused}"
    );
    assert_eq!(
        refused["tries_remaining"], 10,
        "checking early counts no try"
    );

    let der = STANDARD
        .decode(certificate["der_base64"].as_str().unwrap())
        .unwrap();
    vendor.microsoft.upload_certificate(der);
    let (status, accepted) = check(&vendor, &request).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["verified"], true);
    assert_eq!(accepted["delivered"], true, "{accepted}");

    let stored = bao.kv("tenants/contoso/entra").await;
    let data = &stored["data"];
    assert!(
        data["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"),
        "{stored}"
    );
    assert_eq!(data["certificate"], certificate["pem"]);
    assert_eq!(data["thumbprint"], thumbprint.as_str());
    assert_eq!(data["client_id"], CONTOSO_APP);
    assert!(data.get("client_secret").is_none(), "{stored}");
    let not_after = &certificate["not_after"].as_str().unwrap()[..10];
    assert_eq!(data["expires_on"], not_after);

    let tenants = vendor.staff_get("/api/v1/tenants").await;
    let contoso = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "contoso")
        .unwrap();
    assert_eq!(contoso["expires_on"], not_after, "{contoso}");
    assert_eq!(contoso["hint"], format!("certificate {thumbprint}"));
    let details = vendor
        .staff_get(&format!("/api/v1/requests/{}/details", request.id))
        .await;
    assert_eq!(details["state"], "applied");
}

#[tokio::test]
async fn when_the_sink_fails_the_certificate_key_is_kept_for_staff() {
    let mut bao = Bao::start().await;
    let vendor = vendor_with_openbao(&bao).await;
    let request = certificate_request(&vendor).await;
    let certificate = offered_certificate(&vendor, &request).await;
    vendor.microsoft.upload_certificate(
        STANDARD
            .decode(certificate["der_base64"].as_str().unwrap())
            .unwrap(),
    );
    bao.stop();

    let (status, accepted) = check(&vendor, &request).await;
    assert_eq!(status, StatusCode::CREATED, "the customer's part is done");
    assert_eq!(accepted["delivered"], false, "{accepted}");

    let (status, retrieved) = json_of(vendor.retrieve(&request, &request.retrieve_key).await).await;
    assert_eq!(status, StatusCode::OK, "{retrieved}");
    let pem = retrieved["secret"].as_str().unwrap();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "the key was kept"
    );
    assert!(pem.contains(certificate["pem"].as_str().unwrap()));
}

#[tokio::test]
async fn certificate_requests_refuse_what_does_not_fit() {
    let bao = Bao::start().await;
    let vendor = vendor_with_openbao(&bao).await;
    for body in [
        json!({ "tenant": "contoso", "kind": "pfx" }),
        json!({ "tenant": "contoso", "kind": "certificate", "valid_for": "25mo" }),
        json!({ "tenant": "contoso", "valid_for": "12mo" }),
    ] {
        let (status, refused) = json_of(vendor.create_request(body.clone()).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {refused}"
        );
        assert_eq!(refused["error"], "invalid_field");
    }

    let certificate = certificate_request(&vendor).await;
    let (status, refused) = json_of(vendor.answer(&certificate, GOOD_SECRET).await).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("wrong_kind"))
    );

    let secret = vendor.request().await;
    let (status, refused) = check(&vendor, &secret).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("wrong_kind"))
    );
}
