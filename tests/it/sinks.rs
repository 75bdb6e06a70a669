//! Sinks against real parts where they fit on one machine: an `OpenBao` dev
//! server for `vault-kv2`, a temporary folder for `file`. Azure Key Vault,
//! its token endpoint and the vendor's webhook receiver are played by
//! wiremock, answering as Microsoft and the Standard Webhooks spec document.
//! Nothing here leaves the machine.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use handoff::sinks::{
    CertificateParts, Credential, Sink, SinkEntry, SinkError, VaultKv2Entry, VaultKv2Sink,
    WriteOutcome, build,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use standardwebhooks::Webhook;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::microsoft::raw_token_answer;
use crate::common::{
    Bao, CONTOSO_APP, CONTOSO_TENANT_ID, GOOD_SECRET, Microsoft, NEW_SECRET, WEBHOOK_SECRET,
};

const EXPIRES_ON: &str = "2027-05-31";
/// 2027-05-31T00:00:00Z.
const EXPIRES_AT: i64 = 1_811_721_600;

fn credential(secret: &str) -> Credential<'_> {
    Credential {
        certificate: None,
        tenant: "contoso",
        client_secret: secret,
        client_id: CONTOSO_APP,
        tenant_id: CONTOSO_TENANT_ID,
        expires_on: Some(EXPIRES_ON),
    }
}

fn sink(name: &str, toml: &str) -> Arc<dyn Sink> {
    let entry: SinkEntry = toml::from_str(toml).expect("a valid sink table");
    build(name, &entry).expect("the sink builds")
}

// ---------------------------------------------------------------------------
// vault-kv2, against a private OpenBao dev server

/// The sink built on a test `OpenBao` server.
trait BaoSinks {
    fn entry(&self, auth: &str) -> VaultKv2Entry;
    fn sink(&self) -> VaultKv2Sink;
    fn sink_with(&self, auth: &str) -> VaultKv2Sink;
}

impl BaoSinks for Bao {
    fn entry(&self, auth: &str) -> VaultKv2Entry {
        toml::from_str(&format!(
            "address = \"{}\"\ntimeout = \"5s\"\n{auth}",
            self.address
        ))
        .unwrap()
    }

    fn sink(&self) -> VaultKv2Sink {
        self.sink_with(&format!("token = \"{}\"", self.root))
    }

    fn sink_with(&self, auth: &str) -> VaultKv2Sink {
        VaultKv2Sink::new("vault", &self.entry(auth)).unwrap()
    }
}

#[tokio::test]
async fn a_vault_write_lands_in_kv2_and_keeps_the_other_keys() {
    let bao = Bao::start().await;
    bao.api(
        Method::POST,
        "secret/data/tenants/contoso",
        Some(json!({ "data": { "database_url": "postgres://db/contoso" } })),
    )
    .await;

    let outcome = bao
        .sink()
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        WriteOutcome::Written {
            version: Some("2".into())
        }
    );
    let stored = bao.kv("tenants/contoso").await;
    assert_eq!(
        stored["data"],
        json!({
            "database_url": "postgres://db/contoso",
            "client_secret": GOOD_SECRET,
            "client_id": CONTOSO_APP,
            "tenant_id": CONTOSO_TENANT_ID,
            "expires_on": EXPIRES_ON,
        })
    );
}

#[tokio::test]
async fn writing_the_same_credential_to_vault_again_makes_no_new_version() {
    let bao = Bao::start().await;
    let sink = bao.sink();
    sink.write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();

    let again = sink
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert_eq!(again, WriteOutcome::AlreadyApplied);
    assert_eq!(bao.kv("tenants/contoso").await["metadata"]["version"], 1);
    assert_eq!(sink.read_version("tenants/contoso").await.unwrap(), 1);
}

#[tokio::test]
async fn a_new_secret_replaces_the_old_one_in_vault() {
    let bao = Bao::start().await;
    let sink = bao.sink();
    sink.write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();

    let outcome = sink
        .write("tenants/contoso", &credential(NEW_SECRET))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        WriteOutcome::Written {
            version: Some("2".into())
        }
    );
    assert_eq!(
        bao.kv("tenants/contoso").await["data"]["client_secret"],
        NEW_SECRET
    );
}

#[tokio::test]
async fn a_credential_without_an_expiry_drops_the_old_date_in_vault() {
    let bao = Bao::start().await;
    let sink = bao.sink();
    sink.write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();

    sink.write(
        "tenants/contoso",
        &Credential {
            expires_on: None,
            ..credential(NEW_SECRET)
        },
    )
    .await
    .unwrap();

    let stored = bao.kv("tenants/contoso").await;
    assert!(stored["data"].get("expires_on").is_none(), "{stored}");
}

#[tokio::test]
async fn two_instances_writing_the_same_credential_at_once_leave_one_version() {
    let bao = Bao::start().await;
    let (one, two) = (bao.sink(), bao.sink());
    let credential = credential(GOOD_SECRET);

    let (first, second) = tokio::join!(
        one.write("tenants/contoso", &credential),
        two.write("tenants/contoso", &credential),
    );
    // The loser of check-and-set retries, as the caller would.
    let mut outcomes = Vec::new();
    for (sink, outcome) in [(&one, first), (&two, second)] {
        outcomes.push(match outcome {
            Err(SinkError::Conflict(_)) => {
                sink.write("tenants/contoso", &credential).await.unwrap()
            }
            outcome => outcome.unwrap(),
        });
    }

    assert!(
        outcomes.contains(&WriteOutcome::AlreadyApplied),
        "{outcomes:?}"
    );
    assert_eq!(bao.kv("tenants/contoso").await["metadata"]["version"], 1);
}

#[tokio::test]
async fn a_wrong_vault_token_is_refused_with_its_403() {
    let bao = Bao::start().await;
    let sink = bao.sink_with("token = \"s.not-a-real-token\"");

    let error = sink
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("HTTP 403"), "{message}");
    assert!(message.contains("permission denied"), "{message}");
    assert!(!message.contains("not-a-real-token"), "{message}");
}

#[tokio::test]
async fn a_vault_write_in_between_makes_check_and_set_a_conflict() {
    let bao = Bao::start().await;
    let sink = bao.sink();
    let version = sink.read_version("tenants/contoso").await.unwrap();
    assert_eq!(version, 0);
    let (status, body) = bao
        .api(
            Method::POST,
            "secret/data/tenants/contoso",
            Some(json!({ "data": { "edited_by": "a person" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let error = sink
        .write_at_version("tenants/contoso", &credential(GOOD_SECRET), version)
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Conflict(_)), "{error:?}");
    assert_eq!(
        bao.kv("tenants/contoso").await["data"],
        json!({ "edited_by": "a person" })
    );
    // The caller's retry reads afresh and keeps the person's edit.
    sink.write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();
    assert_eq!(
        bao.kv("tenants/contoso").await["data"]["edited_by"],
        "a person"
    );
}

#[tokio::test]
async fn a_vault_write_after_the_secret_was_deleted_succeeds() {
    let bao = Bao::start().await;
    let sink = bao.sink();
    sink.write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();
    bao.api(Method::DELETE, "secret/data/tenants/contoso", None)
        .await;

    let outcome = sink
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        WriteOutcome::Written {
            version: Some("2".into())
        }
    );
}

#[tokio::test]
async fn a_stopped_vault_is_unreachable() {
    let mut bao = Bao::start().await;
    let sink = bao.sink();
    bao.stop();

    let error = sink
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Unreachable(_)), "{error:?}");
}

#[tokio::test]
async fn vault_check_passes_for_a_writer_and_refuses_a_reader() {
    let bao = Bao::start().await;
    let reader = bao
        .token_with(
            "reader",
            r#"path "secret/data/tenants/*" { capabilities = ["read"] }"#,
        )
        .await;

    let root = bao.sink().check(Some("tenants/contoso")).await.unwrap();
    let general = bao.sink().check(None).await.unwrap();
    let refused = bao
        .sink_with(&format!("token = \"{reader}\""))
        .check(Some("tenants/contoso"))
        .await
        .unwrap_err();

    assert!(
        root.contains("may write secret/data/tenants/contoso"),
        "{root}"
    );
    assert!(general.contains("accepted the token"), "{general}");
    assert!(matches!(refused, SinkError::Refused(_)), "{refused:?}");
    let message = refused.to_string();
    assert!(
        message.contains("may not write secret/data/tenants/contoso"),
        "{message}"
    );
    assert!(!message.contains(&reader), "{message}");
}

#[tokio::test]
async fn vault_writes_with_an_approle_login() {
    let bao = Bao::start().await;
    bao.api(
        Method::POST,
        "sys/auth/approle",
        Some(json!({ "type": "approle" })),
    )
    .await;
    bao.api(
        Method::PUT,
        "sys/policies/acl/handoff",
        Some(json!({
            "policy": r#"path "secret/data/tenants/*" { capabilities = ["create", "read", "update"] }"#
        })),
    )
    .await;
    let (status, body) = bao
        .api(
            Method::POST,
            "auth/approle/role/handoff",
            Some(json!({ "token_policies": ["handoff"], "token_ttl": "20m" })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (_, body) = bao
        .api(Method::GET, "auth/approle/role/handoff/role-id", None)
        .await;
    let role_id = body["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, body) = bao
        .api(Method::POST, "auth/approle/role/handoff/secret-id", None)
        .await;
    let secret_id = body["data"]["secret_id"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let secret_id_file = dir.path().join("secret-id");
    std::fs::write(&secret_id_file, format!("{secret_id}\n")).unwrap();
    let sink = bao.sink_with(&format!(
        "role_id = \"{role_id}\"\nsecret_id_file = \"{}\"",
        secret_id_file.display()
    ));

    let first = sink
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap();
    let second = sink
        .write("tenants/fabrikam", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert!(matches!(first, WriteOutcome::Written { .. }), "{first:?}");
    assert!(matches!(second, WriteOutcome::Written { .. }), "{second:?}");
    assert_eq!(
        bao.kv("tenants/contoso").await["data"]["client_secret"],
        GOOD_SECRET
    );
    let printed = format!("{sink:?}");
    assert!(
        !printed.contains(&secret_id) && !printed.contains(&role_id),
        "{printed}"
    );
}

#[tokio::test]
async fn a_wrong_approle_secret_id_is_refused() {
    let bao = Bao::start().await;
    bao.api(
        Method::POST,
        "sys/auth/approle",
        Some(json!({ "type": "approle" })),
    )
    .await;

    let error = bao
        .sink_with("role_id = \"no-such-role\"\nsecret_id = \"wrong\"")
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    assert!(error.to_string().contains("AppRole"), "{error}");
}

#[tokio::test]
async fn a_kv_version_1_mount_is_refused_before_anything_is_written() {
    let bao = Bao::start().await;
    bao.api(
        Method::POST,
        "sys/mounts/legacy",
        Some(json!({ "type": "kv" })),
    )
    .await;
    let sink = bao.sink_with(&format!("token = \"{}\"\nmount = \"legacy\"", bao.root));

    let error = sink
        .write("tenants/contoso", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Misconfigured(_)), "{error:?}");
    assert!(error.to_string().contains("KV version 1"), "{error}");
    let (status, _) = bao
        .api(Method::GET, "legacy/data/tenants/contoso", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------
// azure-keyvault, with wiremock as Entra ID and Key Vault

const VENDOR_TENANT: &str = "fabrikam.onmicrosoft.com";
const VENDOR_APP: &str = "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a";
const VENDOR_SECRET: &str = "vnd8Q~vendors-own-app-secret-0123456789";
const ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig-of-the-vault-token";
const KV_SECRET_PATH: &str = "/secrets/contoso";

/// The vendor's own app in Entra ID, and its Key Vault, on one server:
/// the vault's URL is also the authority.
struct FakeAzure {
    microsoft: Microsoft,
}

/// The `azure-keyvault` sink, with its vault and authority at `uri`.
fn key_vault_sink(uri: &str) -> Arc<dyn Sink> {
    sink(
        "keyvault",
        &format!(
            "kind = \"azure-keyvault\"\nvault_url = \"{uri}\"\ntenant = \"{VENDOR_TENANT}\"\n\
             client_id = \"{VENDOR_APP}\"\nclient_secret = \"{VENDOR_SECRET}\"\n\
             authority = \"{uri}\"\ntimeout = \"2s\""
        ),
    )
}

impl FakeAzure {
    /// Entra ID issues the vendor's app a token for Key Vault, as documented.
    async fn start() -> Self {
        let microsoft = Microsoft::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{VENDOR_TENANT}/oauth2/v2.0/token")))
            .and(body_string_contains("grant_type=client_credentials"))
            .and(body_string_contains(
                "scope=https%3A%2F%2Fvault.azure.net%2F.default",
            ))
            .and(body_string_contains(format!("client_id={VENDOR_APP}")))
            .respond_with(raw_token_answer(ACCESS_TOKEN))
            .mount(&microsoft.server)
            .await;
        Self { microsoft }
    }

    fn sink(&self) -> Arc<dyn Sink> {
        key_vault_sink(&self.microsoft.authority)
    }

    /// Key Vault answers `method` on the contoso secret with `answer`.
    async fn secret_answers(&self, verb: &str, answer: ResponseTemplate, times: u64) {
        Mock::given(method(verb))
            .and(path(KV_SECRET_PATH))
            .and(query_param("api-version", "7.4"))
            .and(header("authorization", format!("Bearer {ACCESS_TOKEN}")))
            .respond_with(answer)
            .expect(times)
            .mount(&self.microsoft.server)
            .await;
    }

    async fn requests(&self, verb: &str) -> Vec<Request> {
        self.microsoft
            .received()
            .await
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == KV_SECRET_PATH)
            .collect()
    }
}

fn secret_bundle(value: &str, version: &str) -> Value {
    json!({
        "value": value,
        "contentType": "text/plain",
        "id": format!("https://fabrikam-kv.vault.azure.net/secrets/contoso/{version}"),
        "attributes": {
            "enabled": true,
            "exp": EXPIRES_AT,
            "created": 1_795_000_000,
            "updated": 1_795_000_000,
            "recoveryLevel": "Recoverable+Purgeable",
        },
        "tags": { "client_id": CONTOSO_APP, "tenant_id": CONTOSO_TENANT_ID, "handoff": "1" },
    })
}

fn key_vault_error(status: u16, code: &str, message: &str, inner: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": { "code": code, "message": message, "innererror": { "code": inner } }
    }))
}

fn not_found() -> ResponseTemplate {
    key_vault_error(
        404,
        "SecretNotFound",
        "A secret with (name/id) contoso was not found in this key vault.",
        "SecretNotFound",
    )
}

#[tokio::test]
async fn a_key_vault_write_puts_the_value_expiry_and_tags() {
    let azure = FakeAzure::start().await;
    azure.secret_answers("GET", not_found(), 1).await;
    azure
        .secret_answers(
            "PUT",
            ResponseTemplate::new(200).set_body_json(secret_bundle(
                GOOD_SECRET,
                "4387e9f3d6e14c459867679a90fd0f79",
            )),
            1,
        )
        .await;

    let outcome = azure
        .sink()
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        WriteOutcome::Written {
            version: Some("4387e9f3d6e14c459867679a90fd0f79".into())
        }
    );
    let put = &azure.requests("PUT").await[0];
    let body: Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(
        body,
        json!({
            "value": GOOD_SECRET,
            "contentType": "text/plain",
            "attributes": { "exp": EXPIRES_AT },
            "tags": { "client_id": CONTOSO_APP, "tenant_id": CONTOSO_TENANT_ID, "handoff": "1" },
        })
    );
}

#[tokio::test]
async fn a_certificate_credential_is_imported_into_key_vault_once() {
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
    // SHA-1 0x00 0x01 … 0x13, as hex and as Key Vault's base64url x5t.
    const THUMBPRINT: &str = "000102030405060708090A0B0C0D0E0F10111213";
    const X5T: &str = "AAECAwQFBgcICQoLDA0ODxAREhM";
    let azure = FakeAzure::start().await;
    Mock::given(method("GET"))
        .and(path("/certificates/contoso"))
        .and(query_param("api-version", "7.4"))
        .respond_with(not_found())
        .up_to_n_times(1)
        .mount(&azure.microsoft.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/certificates/contoso"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "x5t": X5T })))
        .mount(&azure.microsoft.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/certificates/contoso/import"))
        .and(header("authorization", format!("Bearer {ACCESS_TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "https://fabrikam-kv.vault.azure.net/certificates/contoso/9f1e",
            "x5t": X5T,
        })))
        .expect(1)
        .mount(&azure.microsoft.server)
        .await;
    let credential = Credential {
        certificate: Some(CertificateParts {
            pem: PEM,
            thumbprint: THUMBPRINT,
        }),
        ..credential(KEY)
    };
    let sink = azure.sink();

    let first = sink.write("", &credential).await.unwrap();
    let second = sink.write("", &credential).await.unwrap();

    assert_eq!(
        first,
        WriteOutcome::Written {
            version: Some("9f1e".into())
        }
    );
    assert_eq!(second, WriteOutcome::AlreadyApplied, "same thumbprint");
    let import = azure
        .microsoft
        .received()
        .await
        .into_iter()
        .find(|r| r.url.path() == "/certificates/contoso/import")
        .unwrap();
    let body: Value = serde_json::from_slice(&import.body).unwrap();
    assert_eq!(body["value"], format!("{KEY}{PEM}"));
    assert_eq!(
        body["policy"]["secret_props"]["contentType"],
        "application/x-pem-file"
    );
    assert_eq!(body["tags"]["client_id"], CONTOSO_APP);
}

#[tokio::test]
async fn the_same_value_in_key_vault_is_already_applied_without_a_put() {
    let azure = FakeAzure::start().await;
    azure
        .secret_answers(
            "GET",
            ResponseTemplate::new(200).set_body_json(secret_bundle(GOOD_SECRET, "v1")),
            2,
        )
        .await;
    azure
        .secret_answers("PUT", ResponseTemplate::new(200), 0)
        .await;
    let sink = azure.sink();

    let first = sink.write("", &credential(GOOD_SECRET)).await.unwrap();
    let second = sink.write("", &credential(GOOD_SECRET)).await.unwrap();

    assert_eq!(first, WriteOutcome::AlreadyApplied);
    assert_eq!(second, WriteOutcome::AlreadyApplied);
    let tokens = azure
        .microsoft
        .received()
        .await
        .into_iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count();
    assert_eq!(tokens, 1, "the access token is cached");
}

#[tokio::test]
async fn a_new_value_in_key_vault_makes_a_new_version() {
    let azure = FakeAzure::start().await;
    azure
        .secret_answers(
            "GET",
            ResponseTemplate::new(200).set_body_json(secret_bundle(GOOD_SECRET, "v1")),
            1,
        )
        .await;
    azure
        .secret_answers(
            "PUT",
            ResponseTemplate::new(200).set_body_json(secret_bundle(NEW_SECRET, "v2")),
            1,
        )
        .await;

    let outcome = azure
        .sink()
        .write("", &credential(NEW_SECRET))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        WriteOutcome::Written {
            version: Some("v2".into())
        }
    );
}

#[tokio::test]
async fn a_key_vault_403_is_refused_with_key_vaults_message() {
    let azure = FakeAzure::start().await;
    azure
        .secret_answers(
            "GET",
            key_vault_error(
                403,
                "Forbidden",
                "The user, group or application 'appid=0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a' does \
                 not have secrets get permission on key vault 'fabrikam-kv'.",
                "AccessDenied",
            ),
            1,
        )
        .await;

    let error = azure
        .sink()
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("HTTP 403"), "{message}");
    assert!(message.contains("Forbidden/AccessDenied"), "{message}");
    assert!(
        message.contains("does not have secrets get permission"),
        "{message}"
    );
    for hidden in [ACCESS_TOKEN, VENDOR_SECRET, GOOD_SECRET] {
        assert!(!message.contains(hidden), "{message}");
    }
}

#[tokio::test]
async fn a_key_vault_503_is_unreachable() {
    let azure = FakeAzure::start().await;
    azure.secret_answers("GET", not_found(), 1).await;
    azure
        .secret_answers(
            "PUT",
            key_vault_error(
                503,
                "ServiceUnavailable",
                "The service is unavailable.",
                "ServiceUnavailable",
            ),
            1,
        )
        .await;

    let error = azure
        .sink()
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Unreachable(_)), "{error:?}");
}

#[tokio::test]
async fn a_refused_vendor_app_secret_is_refused_with_its_aadsts_code() {
    let microsoft = Microsoft::start().await;
    microsoft.rejects_the_value().await;
    let sink = key_vault_sink(&microsoft.authority);

    let error = sink.check(None).await.unwrap_err();

    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    assert!(
        error.to_string().contains("invalid_client AADSTS7000215"),
        "{error}"
    );
}

#[tokio::test]
async fn key_vault_check_lists_one_secret() {
    let azure = FakeAzure::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets"))
        .and(query_param("maxresults", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "value": [], "nextLink": null })),
        )
        .expect(1)
        .mount(&azure.microsoft.server)
        .await;

    let sentence = azure.sink().check(None).await.unwrap();

    assert!(sentence.contains("accepted the app"), "{sentence}");
}

// ---------------------------------------------------------------------------
// webhook, with wiremock as the vendor's admin API

async fn receiver(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/admin/handoff"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn webhook_sink(server: &MockServer) -> Arc<dyn Sink> {
    sink(
        "hook",
        &format!(
            "kind = \"webhook\"\nurl = \"{}/admin/handoff\"\nsecret = \"{WEBHOOK_SECRET}\"\n\
             timeout = \"1s\"",
            server.uri()
        ),
    )
}

fn verified(request: &Request) -> Value {
    Webhook::new(WEBHOOK_SECRET)
        .unwrap()
        .verify(&request.body, &request.headers)
        .expect("the reference library accepts the signature");
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_webhook_write_is_signed_and_carries_the_credential() {
    let server = receiver(ResponseTemplate::new(204)).await;

    let outcome = webhook_sink(&server)
        .write("contoso-prod", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert_eq!(outcome, WriteOutcome::Written { version: None });
    let requests = server.received_requests().await.unwrap();
    let event = verified(&requests[0]);
    assert_eq!(event["type"], "tenant.credential");
    assert!(event["timestamp"].is_string());
    assert_eq!(
        event["data"],
        json!({
            "tenant": "contoso",
            "path": "contoso-prod",
            "client_id": CONTOSO_APP,
            "tenant_id": CONTOSO_TENANT_ID,
            "client_secret": GOOD_SECRET,
            "expires_on": EXPIRES_ON,
        })
    );
}

#[tokio::test]
async fn the_same_credential_twice_has_the_same_webhook_id() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let sink = webhook_sink(&server);

    sink.write("", &credential(GOOD_SECRET)).await.unwrap();
    sink.write("", &credential(GOOD_SECRET)).await.unwrap();
    sink.write("", &credential(NEW_SECRET)).await.unwrap();

    let ids: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    assert!(ids[0].starts_with("msg_"), "{}", ids[0]);
}

#[tokio::test]
async fn a_webhook_500_is_unreachable() {
    let server = receiver(ResponseTemplate::new(500)).await;

    let error = webhook_sink(&server)
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Unreachable(_)), "{error:?}");
}

#[tokio::test]
async fn a_webhook_400_is_refused() {
    let server = receiver(ResponseTemplate::new(400).set_body_string(GOOD_SECRET)).await;

    let error = webhook_sink(&server)
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(!message.contains(GOOD_SECRET), "{message}");
}

#[tokio::test]
async fn a_slow_webhook_is_unreachable_after_the_timeout() {
    let server = receiver(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    let started = Instant::now();

    let error = webhook_sink(&server)
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap_err();

    assert!(matches!(error, SinkError::Unreachable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_webhook_check_is_signed_and_carries_no_secret() {
    let server = receiver(ResponseTemplate::new(200)).await;

    webhook_sink(&server).check(Some("contoso")).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let event = verified(&requests[0]);
    assert_eq!(event["type"], "sink.check");
    assert!(event["data"].get("client_secret").is_none(), "{event}");
}

// ---------------------------------------------------------------------------
// file, in a temporary folder

fn file_sink(dir: &tempfile::TempDir, format: &str) -> Arc<dyn Sink> {
    sink(
        "files",
        &format!(
            "kind = \"file\"\ndir = \"{}\"\nformat = \"{format}\"",
            dir.path().display()
        ),
    )
}

fn names(dir: &tempfile::TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_env_file_is_written_privately() {
    let dir = tempfile::tempdir().unwrap();

    let outcome = file_sink(&dir, "env")
        .write("", &credential(GOOD_SECRET))
        .await
        .unwrap();

    assert_eq!(outcome, WriteOutcome::Written { version: None });
    let file = dir.path().join("contoso.env");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!(
            "CLIENT_ID='{CONTOSO_APP}'\nTENANT_ID='{CONTOSO_TENANT_ID}'\nCLIENT_SECRET='{GOOD_SECRET}'\n\
             EXPIRES_ON='{EXPIRES_ON}'\n"
        )
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(names(&dir), ["contoso.env"]);
}

#[tokio::test]
async fn the_same_file_content_again_is_already_applied() {
    let dir = tempfile::tempdir().unwrap();
    let sink = file_sink(&dir, "env");
    sink.write("", &credential(GOOD_SECRET)).await.unwrap();

    let again = sink.write("", &credential(GOOD_SECRET)).await.unwrap();
    let replaced = sink.write("", &credential(NEW_SECRET)).await.unwrap();

    assert_eq!(again, WriteOutcome::AlreadyApplied);
    assert_eq!(replaced, WriteOutcome::Written { version: None });
    let text = std::fs::read_to_string(dir.path().join("contoso.env")).unwrap();
    assert!(text.contains(NEW_SECRET), "{text}");
    assert_eq!(names(&dir), ["contoso.env"], "no temporary file is left");
}

#[tokio::test]
async fn a_json_file_takes_its_name_from_the_path() {
    let dir = tempfile::tempdir().unwrap();

    file_sink(&dir, "json")
        .write("contoso-prod", &credential(GOOD_SECRET))
        .await
        .unwrap();

    let text = std::fs::read_to_string(dir.path().join("contoso-prod.json")).unwrap();
    let content: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        content,
        json!({
            "client_id": CONTOSO_APP,
            "tenant_id": CONTOSO_TENANT_ID,
            "client_secret": GOOD_SECRET,
            "expires_on": EXPIRES_ON,
        })
    );
    assert_eq!(names(&dir), ["contoso-prod.json"]);
}

#[tokio::test]
async fn a_file_path_that_leaves_the_folder_is_misconfigured() {
    let dir = tempfile::tempdir().unwrap();
    let sink = file_sink(&dir, "env");

    for path in ["../escape", "..", "a/b"] {
        let error = sink
            .write(path, &credential(GOOD_SECRET))
            .await
            .unwrap_err();
        assert!(matches!(error, SinkError::Misconfigured(_)), "{error:?}");
    }
    assert!(names(&dir).is_empty());
    assert!(!dir.path().parent().unwrap().join("escape.env").exists());
}

#[tokio::test]
async fn a_file_check_leaves_the_folder_as_it_was() {
    let dir = tempfile::tempdir().unwrap();

    let sentence = file_sink(&dir, "env").check(Some("contoso")).await.unwrap();

    assert!(sentence.contains("is writable"), "{sentence}");
    assert!(names(&dir).is_empty());
}

#[tokio::test]
async fn a_missing_folder_stops_the_build_naming_the_setting() {
    let entry: SinkEntry =
        toml::from_str("kind = \"file\"\ndir = \"/nonexistent/handoff-sinks\"").unwrap();

    let error = build("files", &entry).unwrap_err();

    assert_eq!(error.setting, "sinks.files.dir");
}

// ---------------------------------------------------------------------------
// Debug output

#[tokio::test]
async fn no_sink_or_credential_prints_a_secret_or_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s.t0ken-from-a-file\n").unwrap();
    let tables = format!(
        r#"
        [vault]
        kind = "vault-kv2"
        address = "https://bao.internal:8200"
        token = "s.inline-t0ken"

        [vault-file]
        kind = "vault-kv2"
        address = "https://bao.internal:8200"
        token_file = "{token_file}"

        [approle]
        kind = "vault-kv2"
        address = "https://bao.internal:8200"
        role_id = "r0le-id"
        secret_id = "s3cret-id"

        [keyvault]
        kind = "azure-keyvault"
        vault_url = "https://fabrikam-kv.vault.azure.net"
        tenant = "{VENDOR_TENANT}"
        client_id = "{VENDOR_APP}"
        client_secret = "{VENDOR_SECRET}"

        [hook]
        kind = "webhook"
        url = "https://admin.fabrikam.example/handoff?key=url-t0ken"
        secret = "{WEBHOOK_SECRET}"

        [files]
        kind = "file"
        dir = "{dir}"
        "#,
        token_file = token_file.display(),
        dir = dir.path().display(),
    );
    let entries: std::collections::BTreeMap<String, SinkEntry> = toml::from_str(&tables).unwrap();
    let sinks: Vec<Arc<dyn Sink>> = entries
        .iter()
        .map(|(name, entry)| build(name, entry).unwrap())
        .collect();

    let printed = format!("{entries:?}\n{sinks:?}\n{:?}", credential(GOOD_SECRET));

    for hidden in [
        "t0ken",
        "r0le-id",
        "s3cret-id",
        VENDOR_SECRET,
        "MfKQ9r8",
        GOOD_SECRET,
    ] {
        assert!(!printed.contains(hidden), "{hidden} in {printed}");
    }
    let kinds: Vec<&str> = sinks.iter().map(|s| s.kind()).collect();
    assert_eq!(
        kinds,
        [
            "vault-kv2",
            "file",
            "webhook",
            "azure-keyvault",
            "vault-kv2",
            "vault-kv2"
        ]
    );
}
