//! Verification against Entra ID, with wiremock standing in for Microsoft's
//! token endpoint. Answers have the shape Microsoft documents; nothing here
//! touches the internet.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use handoff::verify::{EntraApp, GRAPH_SCOPE, Rejection, Verification, Verifier};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "3c1d5e7f-0a2b-4c4d-8e6f-a1b2c3d4e5f6";
const CLIENT_ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const OTHER_APP: &str = "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a";
const SECRET: &str = "abc8Q~Zy1_x.w-v~U9t8S7r6Q5p4O3n2M1l0KkJj";
const TIMESTAMP: &str = "2026-11-22 10:32:01Z";

/// Microsoft's token endpoint, played by wiremock.
struct FakeEntra {
    server: MockServer,
    authority: String,
}

impl FakeEntra {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let authority = server.uri();
        Self { server, authority }
    }

    /// Any tenant's token endpoint gives `answer`.
    async fn answers(self, answer: ResponseTemplate) -> Self {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
            .respond_with(answer)
            .mount(&self.server)
            .await;
        self
    }

    fn app(&self) -> EntraApp<'_> {
        self.app_in(TENANT)
    }

    fn app_in<'a>(&'a self, tenant: &'a str) -> EntraApp<'a> {
        EntraApp {
            authority: &self.authority,
            tenant,
            client_id: CLIENT_ID,
            scope: GRAPH_SCOPE,
        }
    }

    async fn verify(&self) -> Verification {
        verifier().verify(&self.app(), SECRET).await
    }
}

fn verifier() -> Verifier {
    Verifier::new(Verifier::DEFAULT_TIMEOUT)
}

/// An error answer as Microsoft documents it, with its AADSTS number both in
/// `error_codes` and at the start of `error_description`.
fn microsoft_error(status: u16, error: &str, aadsts: u32, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": format!(
            "AADSTS{aadsts}: {description} Trace ID: 5c1e0f4b-2d3a-4b5c-9d8e-7f6a5b4c3d00 \
             Correlation ID: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d Timestamp: {TIMESTAMP}"
        ),
        "error_codes": [aadsts],
        "timestamp": TIMESTAMP,
        "trace_id": "5c1e0f4b-2d3a-4b5c-9d8e-7f6a5b4c3d00",
        "correlation_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
    }))
}

/// Claims of a v1 access token for Microsoft Graph, as client credentials
/// get them: the app is named in `appid`.
fn v1_claims(tid: &str, appid: &str) -> Value {
    json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": 1_795_343_521, "nbf": 1_795_343_521, "exp": 1_795_347_421,
        "appid": appid,
        "appidacr": "1",
        "idp": format!("https://sts.windows.net/{tid}/"),
        "idtyp": "app",
        "oid": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "roles": ["User.Read.All"],
        "sub": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "tid": tid,
        "ver": "1.0",
    })
}

/// Claims of a v2 access token: the app is named in `azp`.
fn v2_claims(tid: &str, azp: &str) -> Value {
    json!({
        "aud": "00000003-0000-0000-c000-000000000000",
        "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
        "iat": 1_795_343_521, "nbf": 1_795_343_521, "exp": 1_795_347_421,
        "azp": azp,
        "azpacr": "1",
        "oid": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "roles": ["User.Read.All"],
        "sub": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "tid": tid,
        "ver": "2.0",
    })
}

/// A successful token answer carrying a JWT with `claims` (unsigned: the
/// verifier reads the claims, it does not check the signature).
fn token_answer(claims: &Value) -> ResponseTemplate {
    let header = json!({ "typ": "JWT", "alg": "RS256", "kid": "test-key" });
    let jwt = [
        header.to_string(),
        claims.to_string(),
        "signature".to_owned(),
    ]
    .map(|part| URL_SAFE_NO_PAD.encode(part))
    .join(".");
    raw_token_answer(&jwt)
}

fn raw_token_answer(access_token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access_token,
    }))
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
    let entra = FakeEntra::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(form_is_exactly(&[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ]))
        .respond_with(token_answer(&v1_claims(TENANT, CLIENT_ID)))
        .expect(1)
        .mount(&entra.server)
        .await;

    let verification = entra.verify().await;

    assert_eq!(verification, Verification::Verified);
}

#[tokio::test]
async fn a_working_secret_with_a_v1_token_is_verified() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v1_claims(TENANT, CLIENT_ID)))
        .await;
    assert_eq!(entra.verify().await, Verification::Verified);
}

#[tokio::test]
async fn a_v2_token_naming_the_app_in_azp_is_verified() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v2_claims(TENANT, CLIENT_ID)))
        .await;
    assert_eq!(entra.verify().await, Verification::Verified);
}

#[tokio::test]
async fn the_app_id_in_the_token_is_compared_without_regard_to_case() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v1_claims(TENANT, &CLIENT_ID.to_uppercase())))
        .await;
    assert_eq!(entra.verify().await, Verification::Verified);
}

#[tokio::test]
async fn the_secret_id_instead_of_the_value_is_an_invalid_secret() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            401,
            "invalid_client",
            7_000_215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the \
             client secret value, not the client secret ID, for a secret added to app \
             '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f'.",
        ))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::InvalidSecret { aadsts: 7_000_215 })
    );
}

#[tokio::test]
async fn an_expired_secret_is_reported_as_expired() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            401,
            "invalid_client",
            7_000_222,
            "The provided client secret keys for app '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f' are \
             expired. Visit the Azure portal to create new keys for your app.",
        ))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::Expired { aadsts: 7_000_222 })
    );
}

#[tokio::test]
async fn an_app_missing_from_the_tenant_is_app_not_found() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            400,
            "unauthorized_client",
            700_016,
            "Application with identifier '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f' was not found in \
             the directory 'Contoso'.",
        ))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::AppNotFound { aadsts: 700_016 })
    );
}

#[tokio::test]
async fn a_tenant_that_does_not_exist_is_tenant_not_found() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            400,
            "invalid_tenant",
            90_002,
            "Tenant '72f988bf-86f1-41af-91ab-2d7cd011db47' not found.",
        ))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::TenantNotFound { aadsts: 90_002 })
    );
}

#[tokio::test]
async fn a_malformed_tenant_is_tenant_not_found() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            400,
            "invalid_request",
            900_023,
            "Specified tenant identifier 'contoso..com' is neither a valid DNS name, nor a valid \
             external domain.",
        ))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::TenantNotFound { aadsts: 900_023 })
    );
}

#[tokio::test]
async fn any_other_documented_error_is_rejected_with_its_code_and_error() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            400,
            "invalid_client",
            7_000_112,
            "Application '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f' is disabled.",
        ))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::Other {
            error: "invalid_client".to_owned(),
            aadsts: Some(7_000_112),
        })
    );
}

#[tokio::test]
async fn the_error_string_decides_before_the_number() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(400, "invalid_request", 7_000_215, "Odd."))
        .await;
    assert_eq!(entra.verify().await.code(), "rejected");
}

#[tokio::test]
async fn an_aadsts_number_given_only_in_the_description_is_still_read() {
    let entra = FakeEntra::start()
        .await
        .answers(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
        })))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::InvalidSecret { aadsts: 7_000_215 })
    );
}

#[tokio::test]
async fn a_token_from_another_tenant_is_an_environment_mix_up_when_the_tenant_is_a_guid() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v1_claims(OTHER_TENANT, CLIENT_ID)))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::EnvironmentMixUp {
            token_tenant: OTHER_TENANT.to_owned(),
            token_app: CLIENT_ID.to_owned(),
        })
    );
}

#[tokio::test]
async fn a_token_for_another_app_is_an_environment_mix_up() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v2_claims(TENANT, OTHER_APP)))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Rejected(Rejection::EnvironmentMixUp {
            token_tenant: TENANT.to_owned(),
            token_app: OTHER_APP.to_owned(),
        })
    );
}

#[tokio::test]
async fn the_tenant_is_not_compared_when_it_is_configured_as_a_domain() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v1_claims(OTHER_TENANT, CLIENT_ID)))
        .await;
    let verification = verifier()
        .verify(&entra.app_in("contoso.onmicrosoft.com"), SECRET)
        .await;
    assert_eq!(verification, Verification::Verified);
}

#[tokio::test]
async fn a_token_that_cannot_be_decoded_is_unreachable_not_verified() {
    let entra = FakeEntra::start()
        .await
        .answers(raw_token_answer("not-a-jwt"))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Unreachable {
            detail: "Microsoft's token could not be read".to_owned()
        }
    );
}

#[tokio::test]
async fn a_token_naming_no_app_is_unreachable_not_verified() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&json!({ "tid": TENANT })))
        .await;
    assert_eq!(entra.verify().await.code(), "unreachable");
}

#[tokio::test]
async fn a_slow_answer_is_unreachable_within_the_timeout() {
    let entra = FakeEntra::start()
        .await
        .answers(token_answer(&v1_claims(TENANT, CLIENT_ID)).set_delay(Duration::from_secs(5)))
        .await;
    let started = Instant::now();
    let verification = Verifier::new(Duration::from_millis(300))
        .verify(&entra.app(), SECRET)
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
        tenant: TENANT,
        client_id: CLIENT_ID,
        scope: GRAPH_SCOPE,
    };
    let verification = verifier().verify(&app, SECRET).await;
    assert!(
        matches!(&verification, Verification::Unreachable { detail } if detail.starts_with("could not connect")),
        "{verification:?}"
    );
}

#[tokio::test]
async fn a_503_is_unreachable() {
    let entra = FakeEntra::start()
        .await
        .answers(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .await;
    assert_eq!(
        entra.verify().await,
        Verification::Unreachable {
            detail: "Microsoft answered HTTP 503".to_owned()
        }
    );
}

#[tokio::test]
async fn throttling_is_unreachable_not_a_rejection() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            429,
            "temporarily_unavailable",
            50_196,
            "Too many requests.",
        ))
        .await;
    assert_eq!(entra.verify().await.code(), "unreachable");
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_unreachable() {
    let entra = FakeEntra::start()
        .await
        .answers(ResponseTemplate::new(400).set_body_string("<html>Bad Request</html>"))
        .await;
    assert_eq!(entra.verify().await.code(), "unreachable");
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_secret_goes_nowhere_else() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_answer(&v1_claims(TENANT, CLIENT_ID)))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let entra = FakeEntra::start()
        .await
        .answers(ResponseTemplate::new(307).insert_header("location", elsewhere.uri()))
        .await;
    assert_eq!(entra.verify().await.code(), "unreachable");
}

#[tokio::test]
async fn the_secret_appears_in_neither_the_debug_output_nor_the_sentence() {
    let entra = FakeEntra::start()
        .await
        .answers(microsoft_error(
            400,
            "invalid_request",
            90_014,
            "The request body must contain the following parameter: 'client_assertion'.",
        ))
        .await;
    let verification = entra.verify().await;
    let shown = format!(
        "{verification:?} {}",
        verification.sentence("Payroll", "contoso.com")
    );
    assert!(!shown.contains(SECRET), "{shown}");
}
