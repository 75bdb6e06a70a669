//! Live verification of Entra ID client secrets: ask Microsoft's token
//! endpoint for a client-credentials token with the secret and read the
//! answer. A secret that works is the only proof that it is the right one;
//! format checks (`domain::ClientSecretInput`) only catch the obvious.
//!
//! Nothing here ever formats the secret or the request body: not in errors,
//! not in `Debug`, not in logs. Microsoft's answers are read into wiped
//! buffers because a successful one carries a live access token.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use reqwest::StatusCode;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::domain::is_guid;

/// Microsoft's public cloud; national clouds have their own hosts.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Microsoft Graph exists in every tenant and the client-credentials grant
/// issues a token for its `.default` scope whatever Graph permissions the
/// app holds, so asking for it tests the secret, not the app's permissions.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Token answers are a few kilobytes; more than this is not Microsoft.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Longest text taken over from an answer into a sentence or the audit
/// trail; Microsoft's error codes and GUIDs are far shorter.
const MAX_ECHOED_CHARS: usize = 64;

/// The app registration a secret is meant for.
#[derive(Debug, Clone, Copy)]
pub struct EntraApp<'a> {
    /// e.g. `https://login.microsoftonline.com` or a national cloud's.
    pub authority: &'a str,
    /// The tenant's GUID or one of its domain names.
    pub tenant: &'a str,
    pub client_id: &'a str,
    /// The `.default` scope asked for; Microsoft Graph's in the public
    /// cloud, the national cloud's own Graph host elsewhere.
    pub scope: &'a str,
}

/// Asks Entra ID whether a client secret works. Build one at start-up and
/// share it: building reads the system's root certificates; clones are cheap.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// A client that could not be built is kept as its reason, so that every
    /// check answers `Unreachable` (the caller's retry-or-accept decision)
    /// instead of the server refusing to start or panicking.
    client: Result<reqwest::Client, String>,
    timeout: Duration,
}

/// Why a [`Verifier`] cannot make HTTPS requests.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot set up HTTPS for Entra ID verification: {0}")]
    Client(String),
}

impl Verifier {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Never fails: without a working HTTPS client every check answers
    /// `Unreachable`. Use [`Verifier::try_new`] to stop start-up instead.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        let client = build_client(timeout).map_err(|error| {
            tracing::warn!(%error, "secrets cannot be verified with Entra ID");
            error.to_string()
        });
        Self { client, timeout }
    }

    /// Fails when no HTTPS client can be built, typically a container image
    /// without CA certificates.
    pub fn try_new(timeout: Duration) -> Result<Self, VerifyError> {
        let client = build_client(timeout)?;
        Ok(Self {
            client: Ok(client),
            timeout,
        })
    }

    /// Asks Microsoft for a token with `secret`. Never returns an error:
    /// failures to ask are [`Verification::Unreachable`]. Answers that say
    /// nothing about the secret (`temporarily_unavailable`, 5xx, 429) are
    /// asked again with backoff, honouring `Retry-After`, as long as the
    /// verifier's time budget (its timeout) allows; the whole check never
    /// takes longer than that.
    pub async fn verify(&self, app: &EntraApp<'_>, secret: &str) -> Verification {
        self.verify_proof(app, Proof::Secret(secret)).await
    }

    /// Asks Microsoft for a token with the proof of a client secret or a
    /// certificate; see [`Self::verify`].
    pub async fn verify_proof(&self, app: &EntraApp<'_>, proof: Proof<'_>) -> Verification {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut backoff = FIRST_BACKOFF;
        let verification = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Ok(attempt) = tokio::time::timeout(left, self.ask(app, proof)).await else {
                // The same words as the HTTP client's own timeout, which
                // races this one when a single slow answer takes it all.
                break unreachable(format!("no answer within {} ms", self.timeout.as_millis()));
            };
            let (detail, retry_after) = match attempt {
                Attempt::Done(verification) => break verification,
                Attempt::Transient {
                    detail,
                    retry_after,
                } => (detail, retry_after),
            };
            let wait = retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if wait >= left {
                break unreachable(detail);
            }
            tracing::debug!(%detail, wait_ms = wait.as_millis(), "asking Microsoft again");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        tracing::debug!(
            outcome = verification.code(),
            aadsts = verification.aadsts(),
            "checked a credential with Entra ID"
        );
        verification
    }

    async fn ask(&self, app: &EntraApp<'_>, proof: Proof<'_>) -> Attempt {
        let client = match &self.client {
            Ok(client) => client,
            Err(reason) => return Attempt::Done(unreachable(format!("no HTTPS client: {reason}"))),
        };
        let Some(url) = token_url(app) else {
            return Attempt::Done(unreachable(format!(
                "the authority {:?} is not an http(s) URL",
                app.authority
            )));
        };
        // Each attempt signs a fresh assertion (its own `jti` and times).
        let assertion;
        let form = match proof {
            Proof::Secret(secret) => [
                ("client_id", app.client_id),
                ("client_secret", secret),
                ("scope", app.scope),
                ("grant_type", "client_credentials"),
                ("", ""),
            ],
            Proof::Certificate {
                private_key_pem,
                certificate_der,
            } => {
                assertion = match crate::certificate::client_assertion(
                    private_key_pem,
                    certificate_der,
                    url.as_str(),
                    app.client_id,
                    crate::domain::now(),
                ) {
                    Ok(assertion) => assertion,
                    Err(error) => return Attempt::Done(unreachable(error.to_string())),
                };
                [
                    ("client_id", app.client_id),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", assertion.as_str()),
                    ("scope", app.scope),
                    ("grant_type", "client_credentials"),
                ]
            }
        };
        let form: Vec<_> = form.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        let response = match client.post(url).form(&form).send().await {
            Ok(response) => response,
            Err(error) => return Attempt::Done(unreachable(self.describe(&error))),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        match read_capped(response).await {
            Ok(body) => match transient(status, &body) {
                Some(detail) => Attempt::Transient {
                    detail,
                    retry_after,
                },
                None => Attempt::Done(classify(status, &body, app)),
            },
            Err(error) => Attempt::Done(unreachable(self.describe(&error))),
        }
    }

    /// What went wrong, for the operator. Only the causes are kept: reqwest's
    /// own message just repeats the URL. Neither ever holds the request body.
    fn describe(&self, error: &reqwest::Error) -> String {
        crate::outbound::describe_failure(error, self.timeout)
    }
}

/// The first wait before asking again, doubled each time up to the cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// No single wait is longer, whatever `Retry-After` asks.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One question to Microsoft: an answer, or one worth asking again.
enum Attempt {
    Done(Verification),
    Transient {
        detail: String,
        retry_after: Option<Duration>,
    },
}

/// `Retry-After` in seconds (Microsoft sends seconds, never a date).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Why an answer says nothing about the secret and is worth asking again:
/// Microsoft down (5xx), throttling (429) or `temporarily_unavailable`.
fn transient(status: StatusCode, body: &[u8]) -> Option<String> {
    if status.is_server_error() {
        return Some(format!("Microsoft answered HTTP {}", status.as_u16()));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some("Microsoft is throttling token requests (HTTP 429)".to_owned());
    }
    let answer = serde_json::from_slice::<ErrorAnswer>(body).ok()?;
    (answer.error == "temporarily_unavailable")
        .then(|| "Microsoft is temporarily unavailable (temporarily_unavailable)".to_owned())
}

fn build_client(timeout: Duration) -> Result<reqwest::Client, VerifyError> {
    crate::outbound::client(timeout).map_err(VerifyError::Client)
}

/// `{authority}/{tenant}/oauth2/v2.0/token`, with the tenant as one escaped
/// path segment so that a malformed one cannot point elsewhere.
fn token_url(app: &EntraApp<'_>) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(app.authority).ok()?;
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push(app.tenant)
        .extend(["oauth2", "v2.0", "token"]);
    Some(url)
}

/// Reads the answer into a buffer that is wiped when dropped. The capacity
/// is reserved up front so that growing it leaves no copies of a token
/// behind; hyper's own buffers are out of reach. A longer answer is cut and
/// then fails to parse.
async fn read_capped(
    mut response: reqwest::Response,
) -> Result<Zeroizing<Vec<u8>>, reqwest::Error> {
    let mut body = Zeroizing::new(Vec::with_capacity(MAX_ANSWER_BYTES));
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(body)
}

/// RFC 7523's client assertion type.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What proves the app's identity to Microsoft.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    /// A client secret.
    Secret(&'a str),
    /// A certificate credential: a client assertion signed with its key.
    Certificate {
        private_key_pem: &'a str,
        certificate_der: &'a [u8],
    },
}

/// What Microsoft said about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Verified,
    /// Microsoft answered; the secret (or the setup) is wrong.
    Rejected(Rejection),
    /// Timeout, connection failure, 5xx, throttling or an unreadable answer:
    /// nothing is known about the secret, and the caller decides whether to
    /// retry or accept it unverified. `detail` is for operators.
    Unreachable {
        detail: String,
    },
}

/// How Microsoft refused a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `invalid_client`, AADSTS7000215.
    InvalidSecret { aadsts: u32 },
    /// `invalid_client`, AADSTS7000222.
    Expired { aadsts: u32 },
    /// `unauthorized_client`, AADSTS700016.
    AppNotFound { aadsts: u32 },
    /// `invalid_tenant` or `invalid_request`, AADSTS90002 or AADSTS900023.
    TenantNotFound { aadsts: u32 },
    /// Microsoft issued a token, but for another app or tenant than the one
    /// configured, as read from the token's `tid` and `appid`/`azp`.
    EnvironmentMixUp {
        token_tenant: String,
        token_app: String,
    },
    /// AADSTS7000112: the app is disabled in the tenant.
    AppDisabled { aadsts: u32 },
    /// AADSTS90038: the tenant lives in another national cloud than the
    /// authority asked; `cloud` is the one Microsoft named, if it did.
    OtherCloud { cloud: Option<NationalCloud> },
    /// The vendor's request is wrong, not the customer's secret: no
    /// secret sent (AADSTS7000218) or an invalid scope (AADSTS1002012,
    /// AADSTS70011).
    VendorMisconfigured { aadsts: u32 },
    /// AADSTS700027: no certificate of the app has the assertion's
    /// thumbprint (or the signature does not match it).
    CertificateNotUploaded { aadsts: u32 },
    /// AADSTS700024: the assertion is not within its valid time range (the
    /// vendor's clock).
    AssertionOutOfTime { aadsts: u32 },
    /// AADSTS50012 and kin: Microsoft cannot use the client assertion.
    InvalidAssertion { aadsts: u32 },
    /// Any other error Microsoft documents; `error` is its OAuth error code.
    Other { error: String, aadsts: Option<u32> },
}

/// The national clouds with their own sign-in host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NationalCloud {
    UsGovernment,
    China,
}

impl NationalCloud {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::UsGovernment => "Azure US Government",
            Self::China => "Azure operated by 21Vianet (China)",
        }
    }

    /// The authority a tenant in this cloud needs.
    #[must_use]
    pub fn authority(self) -> &'static str {
        match self {
            Self::UsGovernment => "https://login.microsoftonline.us",
            Self::China => "https://login.partner.microsoftonline.cn",
        }
    }

    /// The cloud Microsoft's AADSTS90038 text names, by host or by name.
    fn named_in(description: &str) -> Option<Self> {
        let text = description.to_ascii_lowercase();
        if text.contains("microsoftonline.us")
            || text.contains("usgov")
            || text.contains("us government")
        {
            Some(Self::UsGovernment)
        } else if text.contains("microsoftonline.cn")
            || text.contains("chinacloud")
            || text.contains("china")
        {
            Some(Self::China)
        } else {
            None
        }
    }
}

impl Rejection {
    /// The vendor must fix its settings: nothing the customer pasted is at
    /// fault, so no try is counted against them and staff are told.
    #[must_use]
    pub fn is_vendors(&self) -> bool {
        matches!(
            self,
            Self::VendorMisconfigured { .. }
                | Self::OtherCloud { .. }
                | Self::AssertionOutOfTime { .. }
        )
    }
}

impl Verification {
    /// A plain sentence for the customer and the audit trail, naming the app
    /// and tenant as the caller labels them. Never contains the secret.
    #[must_use]
    pub fn sentence(&self, app_label: &str, tenant_label: &str) -> String {
        match self {
            Self::Verified => format!(
                "Verified: Microsoft accepted this secret for app {app_label} in tenant \
                 {tenant_label}."
            ),
            Self::Unreachable { .. } => {
                "Microsoft could not be reached to check this secret.".to_owned()
            }
            Self::Rejected(Rejection::InvalidSecret { .. }) => format!(
                "Microsoft rejected this value for app {app_label}. Most often the Secret ID \
                 was copied instead of the Value, or the value is incomplete."
            ),
            Self::Rejected(Rejection::Expired { .. }) => format!(
                "This secret has already expired in tenant {tenant_label}: create a new one."
            ),
            Self::Rejected(Rejection::AppNotFound { .. }) => format!(
                "App {app_label} was not found in tenant {tenant_label}: check you are in the \
                 right tenant."
            ),
            Self::Rejected(Rejection::TenantNotFound { .. }) => {
                format!("Tenant {tenant_label} does not exist or is malformed.")
            }
            Self::Rejected(Rejection::EnvironmentMixUp {
                token_tenant,
                token_app,
            }) => format!(
                "Microsoft accepted this secret, but for a different app or tenant (tenant \
                 {token_tenant}, app {token_app}): it belongs to another environment."
            ),
            Self::Rejected(Rejection::AppDisabled { .. }) => format!(
                "App {app_label} is disabled in tenant {tenant_label}: an admin of the tenant \
                 must enable it (Enterprise applications → the app → Properties → Enabled for \
                 users to sign in: Yes), then send the secret again."
            ),
            Self::Rejected(Rejection::OtherCloud { cloud }) => match cloud {
                Some(cloud) => format!(
                    "Tenant {tenant_label} belongs to {}, not to the cloud the vendor asked: the \
                     vendor must set this tenant's authority to {}. This is not a fault of the \
                     secret; the vendor has been told.",
                    cloud.name(),
                    cloud.authority()
                ),
                None => format!(
                    "Tenant {tenant_label} belongs to another national cloud than the one the \
                     vendor asked: the vendor must set this tenant's authority to that cloud's \
                     (https://login.microsoftonline.us for US Government, \
                     https://login.partner.microsoftonline.cn for China). This is not a fault \
                     of the secret; the vendor has been told."
                ),
            },
            Self::Rejected(Rejection::VendorMisconfigured { aadsts }) => format!(
                "The vendor's settings for app {app_label} are wrong (AADSTS{aadsts}), so the \
                 secret could not be checked. This is not your fault and no attempt was \
                 counted; the vendor has been told."
            ),
            Self::Rejected(Rejection::CertificateNotUploaded { .. }) => format!(
                "Microsoft does not know this certificate for app {app_label}: the certificate \
                 has not been uploaded to this app yet (App registrations → the app → \
                 Certificates & secrets → Certificates → Upload certificate). Just uploaded? \
                 Give Microsoft a minute, then check again."
            ),
            Self::Rejected(Rejection::AssertionOutOfTime { aadsts }) => format!(
                "Microsoft says the vendor's signed request for app {app_label} is not within \
                 its valid time range (AADSTS{aadsts}): the vendor's server clock is off. This \
                 is not your fault and no attempt was counted; the vendor has been told."
            ),
            Self::Rejected(Rejection::InvalidAssertion { aadsts }) => format!(
                "Microsoft refused the signed request for app {app_label} (AADSTS{aadsts}): \
                 check that the certificate uploaded to the app is the one offered here."
            ),
            Self::Rejected(Rejection::Other { error, aadsts }) => {
                let code = aadsts.map_or_else(String::new, |code| format!(" AADSTS{code}"));
                format!(
                    "Microsoft refused this secret for app {app_label} in tenant \
                     {tenant_label} ({error}{code})."
                )
            }
        }
    }

    /// Microsoft's AADSTS error number, when it gave one.
    #[must_use]
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            Self::Rejected(
                Rejection::InvalidSecret { aadsts }
                | Rejection::Expired { aadsts }
                | Rejection::AppNotFound { aadsts }
                | Rejection::TenantNotFound { aadsts }
                | Rejection::AppDisabled { aadsts }
                | Rejection::VendorMisconfigured { aadsts }
                | Rejection::CertificateNotUploaded { aadsts }
                | Rejection::AssertionOutOfTime { aadsts }
                | Rejection::InvalidAssertion { aadsts },
            ) => Some(*aadsts),
            Self::Rejected(Rejection::OtherCloud { .. }) => Some(90_038),
            Self::Rejected(Rejection::Other { aadsts, .. }) => *aadsts,
            Self::Verified
            | Self::Unreachable { .. }
            | Self::Rejected(Rejection::EnvironmentMixUp { .. }) => None,
        }
    }

    /// A stable code for the API, the audit trail and metrics labels.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Rejected(Rejection::InvalidSecret { .. }) => "invalid_secret",
            Self::Rejected(Rejection::Expired { .. }) => "expired",
            Self::Rejected(Rejection::AppNotFound { .. }) => "app_not_found",
            Self::Rejected(Rejection::TenantNotFound { .. }) => "tenant_not_found",
            Self::Rejected(Rejection::EnvironmentMixUp { .. }) => "environment_mix_up",
            Self::Rejected(Rejection::AppDisabled { .. }) => "app_disabled",
            Self::Rejected(Rejection::OtherCloud { .. }) => "other_cloud",
            Self::Rejected(Rejection::VendorMisconfigured { .. }) => "vendor_misconfigured",
            Self::Rejected(Rejection::CertificateNotUploaded { .. }) => "certificate_not_uploaded",
            Self::Rejected(Rejection::AssertionOutOfTime { .. }) => "assertion_out_of_time",
            Self::Rejected(Rejection::InvalidAssertion { .. }) => "invalid_assertion",
            Self::Rejected(Rejection::Other { .. }) => "rejected",
            Self::Unreachable { .. } => "unreachable",
        }
    }
}

fn unreachable(detail: impl Into<String>) -> Verification {
    Verification::Unreachable {
        detail: detail.into(),
    }
}

/// Microsoft's documented error answer; other fields are ignored.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u32>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
}

#[derive(Deserialize)]
struct Claims {
    tid: String,
    /// v1 tokens name the app `appid`, v2 tokens `azp`.
    appid: Option<String>,
    azp: Option<String>,
}

fn classify(status: StatusCode, body: &[u8], app: &EntraApp<'_>) -> Verification {
    if status.is_server_error() {
        return unreachable(format!("Microsoft answered HTTP {}", status.as_u16()));
    }
    // Throttling says nothing about the secret; asking again later will.
    if status == StatusCode::TOO_MANY_REQUESTS {
        return unreachable("Microsoft is throttling token requests (HTTP 429)");
    }
    if status.is_redirection() {
        return unreachable(format!(
            "Microsoft answered with a redirect (HTTP {}), which is not followed",
            status.as_u16()
        ));
    }
    if status.is_success() {
        return check_token(body, app);
    }
    let Ok(answer) = serde_json::from_slice::<ErrorAnswer>(body) else {
        return unreachable(format!(
            "Microsoft's answer (HTTP {}) could not be read",
            status.as_u16()
        ));
    };
    let aadsts = answer
        .error_codes
        .first()
        .copied()
        .or_else(|| aadsts_in(&answer.error_description));
    Verification::Rejected(reject(&answer.error, aadsts, &answer.error_description))
}

/// The error string decides first, the number second: the same AADSTS
/// number under another error would be a different situation.
fn reject(error: &str, aadsts: Option<u32>, description: &str) -> Rejection {
    match (error, aadsts) {
        ("unauthorized_client" | "invalid_client", Some(aadsts @ 7_000_112)) => {
            Rejection::AppDisabled { aadsts }
        }
        // Microsoft sends 90038 under `invalid_request`; the number alone
        // is specific enough.
        (_, Some(90_038)) => Rejection::OtherCloud {
            cloud: NationalCloud::named_in(description),
        },
        ("invalid_request" | "invalid_client", Some(aadsts @ 7_000_218))
        | ("invalid_scope" | "invalid_request", Some(aadsts @ (1_002_012 | 70_011))) => {
            Rejection::VendorMisconfigured { aadsts }
        }
        ("invalid_client", Some(aadsts @ 7_000_215)) => Rejection::InvalidSecret { aadsts },
        ("invalid_client", Some(aadsts @ 700_027)) => Rejection::CertificateNotUploaded { aadsts },
        (_, Some(aadsts @ 700_024)) => Rejection::AssertionOutOfTime { aadsts },
        ("invalid_client" | "invalid_request", Some(aadsts @ (50_012 | 700_023 | 700_021))) => {
            Rejection::InvalidAssertion { aadsts }
        }
        ("invalid_client", Some(aadsts @ 7_000_222)) => Rejection::Expired { aadsts },
        ("unauthorized_client", Some(aadsts @ 700_016)) => Rejection::AppNotFound { aadsts },
        ("invalid_tenant" | "invalid_request", Some(aadsts @ (90_002 | 900_023))) => {
            Rejection::TenantNotFound { aadsts }
        }
        _ => Rejection::Other {
            error: echoed(error),
            aadsts,
        },
    }
}

/// Older answers carry the number only in the text: "AADSTS7000215: …".
fn aadsts_in(description: &str) -> Option<u32> {
    let digits = description.trim_start().strip_prefix("AADSTS")?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Text from Microsoft's answer that goes into sentences and the audit
/// trail: printable ASCII only, and short.
fn echoed(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_graphic)
        .take(MAX_ECHOED_CHARS)
        .collect()
}

/// A token proves the secret works, but only for the app and tenant it was
/// issued to: a secret from a staging app in the same tenant would pass a
/// status check alone. The signature is not checked; the token came straight
/// from the authority over HTTPS and is used for nothing else.
fn check_token(body: &[u8], app: &EntraApp<'_>) -> Verification {
    let Some(claims) = read_claims(body) else {
        // Accepting blind would defeat the point; a retry may well succeed.
        return unreachable("Microsoft's token could not be read");
    };
    let Some(token_app) = claims.appid.or(claims.azp) else {
        return unreachable("Microsoft's token could not be read");
    };
    let app_matches = same_id(&token_app, app.client_id);
    // A domain name cannot be compared with `tid`, which is always the
    // tenant's GUID; with a domain configured, Microsoft resolved it to the
    // tenant that issued this token, which is the check we need.
    let tenant_matches = !is_guid(app.tenant) || same_id(&claims.tid, app.tenant);
    if app_matches && tenant_matches {
        Verification::Verified
    } else {
        Verification::Rejected(Rejection::EnvironmentMixUp {
            token_tenant: echoed(&claims.tid),
            token_app: echoed(&token_app),
        })
    }
}

fn read_claims(body: &[u8]) -> Option<Claims> {
    let answer: TokenAnswer = serde_json::from_slice(body).ok()?;
    let mut parts = answer.access_token.expose_secret().split('.');
    let (Some(_header), Some(payload), Some(_signature)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let payload = URL_SAFE_NO_PAD_INDIFFERENT.decode(payload).ok()?;
    serde_json::from_slice(&payload).ok()
}

fn same_id(from_token: &str, configured: &str) -> bool {
    let configured = configured.trim();
    let configured = configured
        .strip_prefix('{')
        .and_then(|inner| inner.strip_suffix('}'))
        .unwrap_or(configured);
    from_token.eq_ignore_ascii_case(configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aadsts_number_is_read_from_the_start_of_a_description() {
        let description = "AADSTS7000215: Invalid client secret provided.";
        assert_eq!(aadsts_in(description), Some(7_000_215));
    }

    #[test]
    fn a_description_without_an_aadsts_prefix_gives_no_number() {
        assert_eq!(aadsts_in("Invalid client secret provided."), None);
    }

    #[test]
    fn the_token_url_keeps_a_national_cloud_authority_and_drops_a_trailing_slash() {
        let app = EntraApp {
            authority: "https://login.microsoftonline.us/",
            tenant: "contoso.onmicrosoft.us",
            client_id: "x",
            scope: GRAPH_SCOPE,
        };
        assert_eq!(
            token_url(&app).unwrap().as_str(),
            "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token"
        );
    }

    #[test]
    fn a_tenant_with_a_slash_stays_one_path_segment() {
        let app = EntraApp {
            authority: "https://login.microsoftonline.com",
            tenant: "evil/../x",
            client_id: "x",
            scope: GRAPH_SCOPE,
        };
        assert_eq!(
            token_url(&app).unwrap().path(),
            "/evil%2F..%2Fx/oauth2/v2.0/token"
        );
    }

    #[test]
    fn an_authority_that_is_not_a_url_gives_no_token_url() {
        let app = EntraApp {
            authority: "login.microsoftonline.com",
            tenant: "t",
            client_id: "x",
            scope: GRAPH_SCOPE,
        };
        assert!(token_url(&app).is_none());
    }

    #[test]
    fn echoed_text_is_printable_and_short() {
        assert_eq!(echoed(&format!("bad\n{}", "x".repeat(100))).len(), 64);
    }

    fn sentence_of(verification: &Verification) -> String {
        verification.sentence("Payroll", "contoso.com")
    }

    #[test]
    fn a_verified_secret_names_the_app_and_tenant() {
        assert_eq!(
            sentence_of(&Verification::Verified),
            "Verified: Microsoft accepted this secret for app Payroll in tenant contoso.com."
        );
    }

    #[test]
    fn an_invalid_secret_suggests_the_secret_id_was_copied() {
        let verification = Verification::Rejected(Rejection::InvalidSecret { aadsts: 7_000_215 });
        assert_eq!(
            sentence_of(&verification),
            "Microsoft rejected this value for app Payroll. Most often the Secret ID was copied \
             instead of the Value, or the value is incomplete."
        );
    }

    #[test]
    fn an_expired_secret_asks_for_a_new_one() {
        let verification = Verification::Rejected(Rejection::Expired { aadsts: 7_000_222 });
        assert_eq!(
            sentence_of(&verification),
            "This secret has already expired in tenant contoso.com: create a new one."
        );
    }

    #[test]
    fn a_missing_app_points_at_the_tenant() {
        let verification = Verification::Rejected(Rejection::AppNotFound { aadsts: 700_016 });
        assert_eq!(
            sentence_of(&verification),
            "App Payroll was not found in tenant contoso.com: check you are in the right tenant."
        );
    }

    #[test]
    fn a_missing_tenant_says_so() {
        let verification = Verification::Rejected(Rejection::TenantNotFound { aadsts: 90_002 });
        assert_eq!(
            sentence_of(&verification),
            "Tenant contoso.com does not exist or is malformed."
        );
    }

    #[test]
    fn an_environment_mix_up_names_what_the_token_was_for() {
        let verification = Verification::Rejected(Rejection::EnvironmentMixUp {
            token_tenant: "t-guid".to_owned(),
            token_app: "a-guid".to_owned(),
        });
        assert_eq!(
            sentence_of(&verification),
            "Microsoft accepted this secret, but for a different app or tenant (tenant t-guid, \
             app a-guid): it belongs to another environment."
        );
    }

    #[test]
    fn an_unreachable_microsoft_says_nothing_about_the_secret() {
        let verification = unreachable("HTTP 503");
        assert_eq!(
            sentence_of(&verification),
            "Microsoft could not be reached to check this secret."
        );
    }

    #[test]
    fn any_other_rejection_names_the_error_and_the_aadsts_code() {
        let verification = Verification::Rejected(Rejection::Other {
            error: "invalid_client".to_owned(),
            aadsts: Some(7_000_112),
        });
        assert_eq!(
            sentence_of(&verification),
            "Microsoft refused this secret for app Payroll in tenant contoso.com \
             (invalid_client AADSTS7000112)."
        );
    }

    #[test]
    fn certificate_answers_are_told_apart_and_put_in_words() {
        let not_uploaded = reject("invalid_client", Some(700_027), "");
        assert_eq!(
            not_uploaded,
            Rejection::CertificateNotUploaded { aadsts: 700_027 }
        );
        let sentence = Verification::Rejected(not_uploaded).sentence("app-1", "contoso");
        assert!(
            sentence.contains("has not been uploaded to this app yet"),
            "{sentence}"
        );
        let late = reject("invalid_client", Some(700_024), "");
        assert!(late.is_vendors(), "the vendor's clock, not the customer");
        assert_eq!(Verification::Rejected(late).code(), "assertion_out_of_time");
        let invalid = Verification::Rejected(reject("invalid_client", Some(50_012), ""));
        assert_eq!(
            (invalid.code(), invalid.aadsts()),
            ("invalid_assertion", Some(50_012))
        );
    }

    #[test]
    fn codes_and_aadsts_numbers_follow_the_outcome() {
        let expired = Verification::Rejected(Rejection::Expired { aadsts: 7_000_222 });
        assert_eq!(
            (expired.code(), expired.aadsts()),
            ("expired", Some(7_000_222))
        );
    }
}
