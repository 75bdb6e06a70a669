//! Verification against Entra ID, with wiremock standing in for Microsoft's
//! token endpoint. Answers have the shape Microsoft documents; nothing here
//! touches the internet.

use std::time::{Duration, Instant};

use handoff::verify::{EntraApp, GRAPH_SCOPE, NationalCloud, Rejection, Verification, Verifier};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::microsoft::{error, raw_token_answer, token_answer, v1_claims, v2_claims};
use crate::common::{CONTOSO_APP, CONTOSO_TENANT_ID, GOOD_SECRET, Microsoft};

const OTHER_TENANT: &str = "3c1d5e7f-0a2b-4c4d-8e6f-a1b2c3d4e5f6";
const OTHER_APP: &str = "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a";

/// Contoso's app at the stand-in's authority, in `tenant`.
fn app_in<'a>(microsoft: &'a Microsoft, tenant: &'a str) -> EntraApp<'a> {
    EntraApp {
        authority: &microsoft.authority,
        tenant,
        client_id: CONTOSO_APP,
        scope: GRAPH_SCOPE,
    }
}

fn app(microsoft: &Microsoft) -> EntraApp<'_> {
    app_in(microsoft, CONTOSO_TENANT_ID)
}

async fn verify(microsoft: &Microsoft) -> Verification {
    verifier().verify(&app(microsoft), GOOD_SECRET).await
}

fn verifier() -> Verifier {
    Verifier::new(Verifier::DEFAULT_TIMEOUT)
}

/// Matches a form body with exactly these fields, no more.
fn form_is_exactly(expected: &'static [(&'static str, &'static str)]) -> impl Fn(&Request) -> bool {
    move |request: &Request| {
        let mut sent: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let mut expected: Vec<(String, String)> = expected
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        sent.sort();
        expected.sort();
        sent == expected
    }
}

#[tokio::test]
async fn the_request_is_a_form_post_of_exactly_four_fields_to_the_tenants_token_endpoint() {
    let microsoft = Microsoft::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{CONTOSO_TENANT_ID}/oauth2/v2.0/token")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(form_is_exactly(&[
            ("client_id", CONTOSO_APP),
            ("client_secret", GOOD_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ]))
        .respond_with(token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP)))
        .expect(1)
        .mount(&microsoft.server)
        .await;

    let verification = verify(&microsoft).await;

    assert_eq!(verification, Verification::Verified);
}

#[tokio::test]
async fn a_working_secret_with_a_v1_token_is_verified() {
    let microsoft =
        Microsoft::answering(token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP))).await;
    assert_eq!(verify(&microsoft).await, Verification::Verified);
}

#[tokio::test]
async fn a_v2_token_naming_the_app_in_azp_is_verified() {
    let microsoft =
        Microsoft::answering(token_answer(&v2_claims(CONTOSO_TENANT_ID, CONTOSO_APP))).await;
    assert_eq!(verify(&microsoft).await, Verification::Verified);
}

#[tokio::test]
async fn the_app_id_in_the_token_is_compared_without_regard_to_case() {
    let microsoft = Microsoft::answering(token_answer(&v1_claims(
        CONTOSO_TENANT_ID,
        &CONTOSO_APP.to_uppercase(),
    )))
    .await;
    assert_eq!(verify(&microsoft).await, Verification::Verified);
}

#[tokio::test]
async fn the_secret_id_instead_of_the_value_is_an_invalid_secret() {
    let microsoft = Microsoft::start().await;
    microsoft.rejects_the_value().await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::InvalidSecret { aadsts: 7_000_215 })
    );
}

#[tokio::test]
async fn an_expired_secret_is_reported_as_expired() {
    let microsoft = Microsoft::start().await;
    microsoft.says_the_secret_expired().await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::Expired { aadsts: 7_000_222 })
    );
}

#[tokio::test]
async fn an_app_missing_from_the_tenant_is_app_not_found() {
    let microsoft = Microsoft::answering(error(
        400,
        "unauthorized_client",
        700_016,
        "Application with identifier '6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11' was not found in \
             the directory 'Contoso'.",
    ))
    .await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::AppNotFound { aadsts: 700_016 })
    );
}

#[tokio::test]
async fn a_tenant_that_does_not_exist_is_tenant_not_found() {
    let microsoft = Microsoft::answering(error(
        400,
        "invalid_tenant",
        90_002,
        "Tenant '72f988bf-86f1-41af-91ab-2d7cd011db47' not found.",
    ))
    .await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::TenantNotFound { aadsts: 90_002 })
    );
}

#[tokio::test]
async fn a_malformed_tenant_is_tenant_not_found() {
    let microsoft = Microsoft::answering(error(
        400,
        "invalid_request",
        900_023,
        "Specified tenant identifier 'contoso..com' is neither a valid DNS name, nor a valid \
             external domain.",
    ))
    .await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::TenantNotFound { aadsts: 900_023 })
    );
}

#[tokio::test]
async fn any_other_documented_error_is_rejected_with_its_code_and_error() {
    let microsoft = Microsoft::answering(error(
        400,
        "invalid_request",
        900_144,
        "The request body must contain the following parameter: 'grant_type'.",
    ))
    .await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::Other {
            error: "invalid_request".to_owned(),
            aadsts: Some(900_144),
        })
    );
}

#[tokio::test]
async fn the_error_string_decides_before_the_number() {
    let microsoft = Microsoft::answering(error(400, "invalid_request", 7_000_215, "Odd.")).await;
    assert_eq!(verify(&microsoft).await.code(), "rejected");
}

#[tokio::test]
async fn an_aadsts_number_given_only_in_the_description_is_still_read() {
    let microsoft = Microsoft::answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.",
    })))
    .await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::InvalidSecret { aadsts: 7_000_215 })
    );
}

#[tokio::test]
async fn a_token_from_another_tenant_is_an_environment_mix_up_when_the_tenant_is_a_guid() {
    let microsoft = Microsoft::answering(token_answer(&v1_claims(OTHER_TENANT, CONTOSO_APP))).await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::EnvironmentMixUp {
            token_tenant: OTHER_TENANT.to_owned(),
            token_app: CONTOSO_APP.to_owned(),
        })
    );
}

#[tokio::test]
async fn a_token_for_another_app_is_an_environment_mix_up() {
    let microsoft =
        Microsoft::answering(token_answer(&v2_claims(CONTOSO_TENANT_ID, OTHER_APP))).await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::EnvironmentMixUp {
            token_tenant: CONTOSO_TENANT_ID.to_owned(),
            token_app: OTHER_APP.to_owned(),
        })
    );
}

#[tokio::test]
async fn the_tenant_is_not_compared_when_it_is_configured_as_a_domain() {
    let microsoft = Microsoft::answering(token_answer(&v1_claims(OTHER_TENANT, CONTOSO_APP))).await;
    let verification = verifier()
        .verify(&app_in(&microsoft, "contoso.onmicrosoft.com"), GOOD_SECRET)
        .await;
    assert_eq!(verification, Verification::Verified);
}

#[tokio::test]
async fn a_token_that_cannot_be_decoded_is_unreachable_not_verified() {
    let microsoft = Microsoft::answering(raw_token_answer("not-a-jwt")).await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Unreachable {
            detail: "Microsoft's token could not be read".to_owned()
        }
    );
}

#[tokio::test]
async fn a_token_naming_no_app_is_unreachable_not_verified() {
    let microsoft = Microsoft::answering(token_answer(&json!({ "tid": CONTOSO_TENANT_ID }))).await;
    assert_eq!(verify(&microsoft).await.code(), "unreachable");
}

#[tokio::test]
async fn a_slow_answer_is_unreachable_within_the_timeout() {
    let microsoft = Microsoft::answering(
        token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP)).set_delay(Duration::from_secs(5)),
    )
    .await;
    let started = Instant::now();
    let verification = Verifier::new(Duration::from_millis(300))
        .verify(&app(&microsoft), GOOD_SECRET)
        .await;
    assert!(
        matches!(&verification, Verification::Unreachable { detail } if detail == "no answer within 300 ms")
            && started.elapsed() < Duration::from_secs(3),
        "{verification:?} after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let app = EntraApp {
        authority: &closed,
        tenant: CONTOSO_TENANT_ID,
        client_id: CONTOSO_APP,
        scope: GRAPH_SCOPE,
    };
    let verification = verifier().verify(&app, GOOD_SECRET).await;
    assert!(
        matches!(&verification, Verification::Unreachable { detail } if detail.starts_with("could not connect")),
        "{verification:?}"
    );
}

#[tokio::test]
async fn a_503_is_unreachable() {
    let microsoft = Microsoft::start().await;
    microsoft.is_down().await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Unreachable {
            detail: "Microsoft answered HTTP 503".to_owned()
        }
    );
}

#[tokio::test]
async fn throttling_is_unreachable_not_a_rejection() {
    let microsoft = Microsoft::answering(error(
        429,
        "temporarily_unavailable",
        50_196,
        "Too many requests.",
    ))
    .await;
    assert_eq!(verify(&microsoft).await.code(), "unreachable");
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_unreachable() {
    let microsoft = Microsoft::answering(
        ResponseTemplate::new(400).set_body_string("<html>Bad Request</html>"),
    )
    .await;
    assert_eq!(verify(&microsoft).await.code(), "unreachable");
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_secret_goes_nowhere_else() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP)))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let microsoft =
        Microsoft::answering(ResponseTemplate::new(307).insert_header("location", elsewhere.uri()))
            .await;
    assert_eq!(verify(&microsoft).await.code(), "unreachable");
}

#[tokio::test]
async fn the_secret_appears_in_neither_the_debug_output_nor_the_sentence() {
    let microsoft = Microsoft::answering(error(
        400,
        "invalid_request",
        90_014,
        "The request body must contain the following parameter: 'client_assertion'.",
    ))
    .await;
    let verification = verify(&microsoft).await;
    let shown = format!(
        "{verification:?} {}",
        verification.sentence("Payroll", "contoso.com")
    );
    assert!(!shown.contains(GOOD_SECRET), "{shown}");
}

#[tokio::test]
async fn a_disabled_app_says_an_admin_must_enable_it() {
    let microsoft = Microsoft::start().await;
    microsoft.says_the_app_is_disabled().await;
    let verification = verify(&microsoft).await;
    assert_eq!(
        verification,
        Verification::Rejected(Rejection::AppDisabled { aadsts: 7_000_112 })
    );
    let sentence = verification.sentence("Payroll", "contoso.com");
    assert!(
        sentence.contains("disabled") && sentence.contains("an admin of the tenant must enable it"),
        "{sentence}"
    );
}

#[tokio::test]
async fn a_tenant_in_the_us_government_cloud_names_the_authority_the_vendor_must_set() {
    let microsoft = Microsoft::start().await;
    microsoft.says_the_tenant_is_in("AzureUSGovernment").await;
    let verification = verify(&microsoft).await;
    assert_eq!(
        verification,
        Verification::Rejected(Rejection::OtherCloud {
            cloud: Some(NationalCloud::UsGovernment)
        })
    );
    assert_eq!(verification.aadsts(), Some(90_038));
    let sentence = verification.sentence("Payroll", "contoso.com");
    assert!(
        sentence.contains("Azure US Government")
            && sentence.contains("https://login.microsoftonline.us"),
        "{sentence}"
    );
}

#[tokio::test]
async fn a_tenant_in_the_china_cloud_names_its_authority() {
    let microsoft = Microsoft::start().await;
    microsoft.says_the_tenant_is_in("AzureChinaCloud").await;
    let sentence = verify(&microsoft).await.sentence("Payroll", "contoso.com");
    assert!(
        sentence.contains("China") && sentence.contains("https://login.partner.microsoftonline.cn"),
        "{sentence}"
    );
}

#[tokio::test]
async fn a_missing_secret_and_invalid_scopes_are_the_vendors_misconfiguration() {
    let microsoft = Microsoft::start().await;
    for (say, aadsts) in [(0, 7_000_218), (1, 1_002_012), (2, 70_011)] {
        microsoft.reset().await;
        match say {
            0 => microsoft.says_no_secret_was_sent().await,
            1 => microsoft.says_the_scope_is_invalid().await,
            _ => microsoft.says_the_scope_parameter_is_invalid().await,
        }
        let verification = verify(&microsoft).await;
        assert_eq!(
            verification,
            Verification::Rejected(Rejection::VendorMisconfigured { aadsts })
        );
        assert_eq!(verification.code(), "vendor_misconfigured");
        let sentence = verification.sentence("Payroll", "contoso.com");
        assert!(
            sentence.contains("not your fault") && sentence.contains(&format!("AADSTS{aadsts}")),
            "{sentence}"
        );
    }
}

#[tokio::test]
async fn a_503_is_asked_again_and_the_next_answer_counts() {
    let microsoft = Microsoft::start().await;
    microsoft
        .answers_first(
            2,
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
        )
        .await;
    microsoft.accepts().await;
    assert_eq!(verify(&microsoft).await, Verification::Verified);
    assert_eq!(microsoft.received().await.len(), 3);
}

#[tokio::test]
async fn temporarily_unavailable_is_asked_again() {
    let microsoft = Microsoft::start().await;
    microsoft
        .answers_first(1, crate::common::microsoft::temporarily_unavailable())
        .await;
    microsoft.accepts().await;
    assert_eq!(verify(&microsoft).await, Verification::Verified);
}

#[tokio::test]
async fn throttling_is_waited_out_as_retry_after_asks() {
    let microsoft = Microsoft::start().await;
    microsoft
        .answers_first(
            1,
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        )
        .await;
    microsoft.accepts().await;
    let started = Instant::now();
    assert_eq!(verify(&microsoft).await, Verification::Verified);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
}

#[tokio::test]
async fn microsoft_down_for_the_whole_budget_is_unreachable_within_it() {
    let microsoft = Microsoft::start().await;
    microsoft.is_down().await;
    let started = Instant::now();
    let verification = Verifier::new(Duration::from_secs(2))
        .verify(&app(&microsoft), GOOD_SECRET)
        .await;
    assert!(
        matches!(verification, Verification::Unreachable { .. }),
        "{verification:?}"
    );
    assert_eq!(
        verification.sentence("Payroll", "contoso.com"),
        "Microsoft could not be reached to check this secret."
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        microsoft.received().await.len() >= 2,
        "asked again within the budget"
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_the_budget_gives_up_at_once() {
    let microsoft = Microsoft::start().await;
    microsoft
        .answers(ResponseTemplate::new(429).insert_header("Retry-After", "60"))
        .await;
    let started = Instant::now();
    let verification = Verifier::new(Duration::from_secs(2))
        .verify(&app(&microsoft), GOOD_SECRET)
        .await;
    assert!(matches!(verification, Verification::Unreachable { .. }));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_new_secret_is_refused_until_it_has_propagated_then_accepted() {
    let microsoft = Microsoft::start().await;
    microsoft.accepts_after(Duration::from_secs(1)).await;
    assert_eq!(
        verify(&microsoft).await,
        Verification::Rejected(Rejection::InvalidSecret { aadsts: 7_000_215 })
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(verify(&microsoft).await, Verification::Verified);
}
