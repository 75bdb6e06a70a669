//! Microsoft's token endpoint (Entra ID), played by wiremock. Answers have
//! the shape Microsoft documents; nothing here touches the internet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use x509_cert::der::Decode as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{CONTOSO_APP, CONTOSO_TENANT_ID};

const TIMESTAMP: &str = "2026-11-22 10:32:01Z";

/// The token endpoint of every tenant, at `authority`.
pub struct Microsoft {
    pub server: MockServer,
    pub authority: String,
    /// Certificates (DER) "uploaded" to the app registration.
    uploaded: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Microsoft {
    /// Answers nothing until told how (wiremock then answers 404).
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let authority = server.uri();
        Self {
            server,
            authority,
            uploaded: Arc::default(),
        }
    }

    pub async fn answering(answer: ResponseTemplate) -> Self {
        let microsoft = Self::start().await;
        microsoft.answers(answer).await;
        microsoft
    }

    /// Any tenant's token endpoint gives `answer`; the first answer
    /// mounted wins, so [`Self::reset`] before changing it.
    pub async fn answers(&self, answer: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
            .respond_with(answer)
            .mount(&self.server)
            .await;
    }

    /// Issues contoso's app a token: the secret works.
    pub async fn accepts(&self) {
        self.answers(token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP)))
            .await;
    }

    /// AADSTS7000215: the Secret ID was sent instead of the Value.
    pub async fn rejects_the_value(&self) {
        self.answers(invalid_secret()).await;
    }

    /// AADSTS7000222: the secret was right once and has expired.
    pub async fn says_the_secret_expired(&self) {
        self.answers(error(
            401,
            "invalid_client",
            7_000_222,
            &format!(
                "The provided client secret keys for app '{CONTOSO_APP}' are expired. Visit the \
                 Azure portal to create new keys for your app."
            ),
        ))
        .await;
    }

    /// A secret created seconds ago: refused with AADSTS7000215 until
    /// `delay` has passed (from now), then issued a token, as Microsoft does
    /// while a new credential propagates.
    pub async fn accepts_after(&self, delay: Duration) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
            .respond_with(AcceptsAfter {
                from: Instant::now() + delay,
            })
            .mount(&self.server)
            .await;
    }

    /// `answer` for the next `times` requests only, then whatever else is
    /// mounted (mount this first).
    pub async fn answers_first(&self, times: u64, answer: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
            .respond_with(answer)
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// AADSTS7000112: the app is disabled in the customer's tenant.
    pub async fn says_the_app_is_disabled(&self) {
        self.answers(error(
            400,
            "unauthorized_client",
            7_000_112,
            &format!("Application '{CONTOSO_APP}'(Payroll) is disabled."),
        ))
        .await;
    }

    /// AADSTS90038: the tenant lives in another national cloud, named as
    /// Microsoft names it (`AzureUSGovernment`, `AzureChinaCloud`).
    pub async fn says_the_tenant_is_in(&self, cloud: &str) {
        self.answers(error(
            400,
            "invalid_request",
            90_038,
            &format!(
                "NationalCloudTenantRedirection: The specified tenant '{CONTOSO_TENANT_ID}' \
                 belongs to a different cloud '{cloud}'. Current cloud instance \
                 'AzurePublic'. Federation with different cloud instances is not supported."
            ),
        ))
        .await;
    }

    /// AADSTS7000218: no secret (or assertion) in the request.
    pub async fn says_no_secret_was_sent(&self) {
        self.answers(error(
            401,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        ))
        .await;
    }

    /// AADSTS1002012: a scope without `/.default` in client credentials.
    pub async fn says_the_scope_is_invalid(&self) {
        self.answers(error(
            400,
            "invalid_scope",
            1_002_012,
            "The provided value for scope https://graph.microsoft.com/User.Read is not valid. \
             Client credential flows must have a scope value with /.default suffixed to the \
             resource identifier (application ID URI).",
        ))
        .await;
    }

    /// AADSTS70011: the scope parameter is not valid.
    pub async fn says_the_scope_parameter_is_invalid(&self) {
        self.answers(error(
            400,
            "invalid_scope",
            70_011,
            "The provided request must include a 'scope' input parameter. The provided value \
             for the input parameter 'scope' is not valid.",
        ))
        .await;
    }

    /// Client assertions are checked as Entra ID checks them: signed (RS256)
    /// by the key of an uploaded certificate named by its `x5t#S256`, for
    /// this token endpoint, issued by and for the client ID, not expired.
    pub async fn checks_client_assertions(&self) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
            .respond_with(AssertionChecker {
                uploaded: Arc::clone(&self.uploaded),
                authority: self.authority.clone(),
            })
            .mount(&self.server)
            .await;
    }

    /// What a tenant admin does under Certificates & secrets → Certificates
    /// → Upload certificate.
    pub fn upload_certificate(&self, der: Vec<u8>) {
        self.uploaded.lock().unwrap().push(der);
    }

    pub async fn is_down(&self) {
        self.answers(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
            .await;
    }

    pub async fn reset(&self) {
        self.server.reset().await;
    }

    pub async fn received(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("wiremock records requests")
    }
}

struct AssertionChecker {
    uploaded: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The request's URL as wiremock sees it names no port.
    authority: String,
}

impl AssertionChecker {
    fn check(&self, request: &Request) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
        if field("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        {
            return invalid_secret();
        }
        let not_valid = |why: &str| error(401, "invalid_client", 50_012, why);
        let parts: Vec<&str> = field("client_assertion").split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return not_valid("The client assertion is not a JWT.");
        };
        let decode = |part: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
        };
        let (Some(header), Some(claims)) = (decode(header), decode(claims)) else {
            return not_valid("The client assertion is not a JWT.");
        };
        let thumbprint = header["x5t#S256"].as_str().unwrap_or_default().to_owned();
        let not_found = || {
            error(
                401,
                "invalid_client",
                700_027,
                &format!(
                    "Client assertion failed signature validation. [Reason - The key was not \
                     found., Thumbprint of key used by client: '{thumbprint}', Please visit \
                     the Azure Portal, Graph Explorer or directly use MS Graph to see \
                     configured keys for app Id '{CONTOSO_APP}'.]"
                ),
            )
        };
        let uploaded = self.uploaded.lock().unwrap().clone();
        let Some(der) = uploaded.iter().find(|der| {
            URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, der)) == thumbprint
        }) else {
            return not_found();
        };
        let certificate = x509_cert::Certificate::from_der(der).expect("an uploaded certificate");
        let public_key = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let signed = format!("{}.{}", parts[0], parts[1]);
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
        if header["alg"] != "RS256"
            || ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                &public_key,
            )
            .verify(signed.as_bytes(), &signature)
            .is_err()
        {
            return not_found();
        }
        let client_id = field("client_id");
        let endpoint = format!("{}{}", self.authority, request.url.path());
        if claims["aud"] != endpoint.as_str()
            || claims["iss"] != client_id
            || claims["sub"] != client_id
            || claims["jti"].as_str().is_none_or(str::is_empty)
        {
            return not_valid(&format!(
                "The client assertion's aud ({}; the endpoint is {}), iss, sub or jti is wrong.",
                claims["aud"], endpoint
            ));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (nbf, exp) = (claims["nbf"].as_i64(), claims["exp"].as_i64());
        match (nbf, exp) {
            (Some(nbf), Some(exp)) if nbf <= now + 300 && now < exp && exp - nbf <= 600 => {
                token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP))
            }
            _ => error(
                401,
                "invalid_client",
                700_024,
                "Client assertion is not within its valid time range.",
            ),
        }
    }
}

impl Respond for AssertionChecker {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.check(request)
    }
}

struct AcceptsAfter {
    from: Instant,
}

impl Respond for AcceptsAfter {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if Instant::now() >= self.from {
            token_answer(&v1_claims(CONTOSO_TENANT_ID, CONTOSO_APP))
        } else {
            invalid_secret()
        }
    }
}

/// AADSTS7000215 as Microsoft words it.
pub fn invalid_secret() -> ResponseTemplate {
    error(
        401,
        "invalid_client",
        7_000_215,
        &format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is \
             the client secret value, not the client secret ID, for a secret added to app \
             '{CONTOSO_APP}'."
        ),
    )
}

/// `temporarily_unavailable`, as Microsoft answers when a back end is busy.
pub fn temporarily_unavailable() -> ResponseTemplate {
    error(
        400,
        "temporarily_unavailable",
        90_033,
        "A transient error has occurred. Please try again.",
    )
}

/// An error answer as Microsoft documents it, with its AADSTS number both in
/// `error_codes` and at the start of `error_description`.
pub fn error(status: u16, error: &str, aadsts: u32, description: &str) -> ResponseTemplate {
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
pub fn v1_claims(tid: &str, appid: &str) -> Value {
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
pub fn v2_claims(tid: &str, azp: &str) -> Value {
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
pub fn token_answer(claims: &Value) -> ResponseTemplate {
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

pub fn raw_token_answer(access_token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access_token,
    }))
}
