//! Vault (`HashiCorp`'s) or `OpenBao`, KV version 2: the credential becomes four
//! keys of the secret at `<mount>/data/<path>`, next to whatever else the
//! vendor's application keeps there.
//!
//! Every write is a check-and-set against the version just read, so a
//! concurrent edit of the same secret (by a person, or by another handoff
//! instance) is never overwritten: it surfaces as `Conflict`, and the
//! caller's retry reads afresh and merges again.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::{
    Credential, Http, Sink, SinkError, WriteOutcome, base_url, clip, is_header_safe, join,
    read_capped, secret_setting, sensitive_header, setting, timeout_setting,
};
use crate::config_error::ConfigError;

/// `[sinks.<name>]` with `kind = "vault-kv2"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultKv2Entry {
    /// e.g. `https://bao.internal:8200`.
    pub address: String,
    /// Where the KV version 2 engine is mounted [default: `secret`].
    pub mount: Option<String>,
    /// Sent as `X-Vault-Namespace` (Vault Enterprise, `OpenBao` namespaces).
    pub namespace: Option<String>,
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
    /// `AppRole` instead of a token: `role_id` with `secret_id(_file)`.
    /// Kept out of `Debug` like a secret: half of a login.
    pub role_id: Option<SecretString>,
    pub secret_id: Option<SecretString>,
    pub secret_id_file: Option<PathBuf>,
    /// Where `AppRole` is mounted [default: `approle`].
    pub approle_mount: Option<String>,
    /// One request's time limit [default: 10s].
    pub timeout: Option<String>,
}

/// Vault's words when a check-and-set loses.
const CAS_MISMATCH: &str = "check-and-set parameter did not match";

/// A KV secret holds the vendor's other keys too; it is never megabytes.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

pub struct VaultKv2Sink {
    name: String,
    address: reqwest::Url,
    /// Without slashes at either end, e.g. `secret` or `kv/prod`.
    mount: String,
    namespace: Option<String>,
    auth: Auth,
    http: Http,
    /// Set once the server has said that `mount` is KV version 2. Writing
    /// to a version 1 mount would store `options` and `data` as keys of a
    /// secret named `data/<path>`, so this is checked before the first one.
    kv2_confirmed: AtomicBool,
}

enum Auth {
    Token(SecretString),
    AppRole(AppRole),
}

struct AppRole {
    mount: String,
    role_id: SecretString,
    secret_id: SecretString,
    /// A lock rather than a read-write lock: concurrent writes after the
    /// token ran out must log in once, not once each.
    cached: tokio::sync::Mutex<Option<LeasedToken>>,
}

struct LeasedToken {
    token: SecretString,
    /// `None` when the token has no lease (it never expires).
    renew_at: Option<Instant>,
}

/// An answer, read whole into a wiped buffer.
struct Answer {
    status: StatusCode,
    body: Zeroizing<Vec<u8>>,
}

/// The secret at a path as last read.
struct Current {
    /// The version to check-and-set against; 0 when there is none.
    version: u64,
    /// `None` when there is no secret or its latest version is deleted.
    data: Option<Map<String, Value>>,
}

impl Current {
    /// Whether the secret holds exactly the credential's values already.
    fn holds(&self, credential: &Credential<'_>) -> bool {
        let Some(data) = &self.data else {
            return false;
        };
        let has = |key: &str, value: &str| data.get(key).and_then(Value::as_str) == Some(value);
        let secret = match credential.certificate {
            Some(certificate) => {
                has("private_key", credential.client_secret)
                    && has("certificate", certificate.pem)
                    && has("thumbprint", certificate.thumbprint)
            }
            None => has("client_secret", credential.client_secret),
        };
        secret
            && has("client_id", credential.client_id)
            && has("tenant_id", credential.tenant_id)
            && match credential.expires_on {
                Some(expires_on) => has("expires_on", expires_on),
                None => !data.contains_key("expires_on"),
            }
    }
}

impl VaultKv2Sink {
    pub fn new(name: &str, entry: &VaultKv2Entry) -> Result<Self, ConfigError> {
        let address = base_url(name, "address", &entry.address)?;
        let mount = mount_setting(name, "mount", entry.mount.as_deref().unwrap_or("secret"))?;
        let namespace = match entry.namespace.as_deref().map(str::trim) {
            Some(namespace) if !is_header_safe(namespace) => {
                return Err(ConfigError::new(
                    &setting(name, "namespace"),
                    "must be a namespace path such as admin/fabrikam",
                ));
            }
            namespace => namespace.map(str::to_owned),
        };
        let auth = auth_setting(name, entry)?;
        let http = Http::new(name, timeout_setting(name, entry.timeout.as_deref())?)?;
        Ok(Self {
            name: name.to_owned(),
            address,
            mount,
            namespace,
            auth,
            http,
            kv2_confirmed: AtomicBool::new(false),
        })
    }

    /// The version check-and-set would compare against at `path` now: 0
    /// when there is no secret. With [`VaultKv2Sink::write_at_version`] this
    /// splits a write in two, so that tests can write in between.
    pub async fn read_version(&self, path: &str) -> Result<u64, SinkError> {
        let segments = kv_path(path)?;
        self.ensure_kv2().await?;
        Ok(self.read_current(&segments).await?.version)
    }

    /// Writes as [`Sink::write`] does, but checks-and-sets against
    /// `version` instead of the version it reads, so the write fails with
    /// `Conflict` if the secret has changed since `version` was read.
    pub async fn write_at_version(
        &self,
        path: &str,
        credential: &Credential<'_>,
        version: u64,
    ) -> Result<WriteOutcome, SinkError> {
        self.apply(path, credential, Some(version)).await
    }

    async fn apply(
        &self,
        path: &str,
        credential: &Credential<'_>,
        expected_version: Option<u64>,
    ) -> Result<WriteOutcome, SinkError> {
        let segments = kv_path(path)?;
        self.ensure_kv2().await?;
        let current = self.read_current(&segments).await?;
        if current.holds(credential) {
            return Ok(WriteOutcome::AlreadyApplied);
        }
        let version = expected_version.unwrap_or(current.version);
        // The other keys go back as they came; serde_json's strings cannot
        // be wiped, which is as far as the secret at rest in Vault goes.
        let mut data = current.data.unwrap_or_default();
        match credential.certificate {
            Some(certificate) => {
                // A secret left from before would be a second, stale credential.
                data.remove("client_secret");
                data.insert("private_key".into(), credential.client_secret.into());
                data.insert("certificate".into(), certificate.pem.into());
                data.insert("thumbprint".into(), certificate.thumbprint.into());
            }
            None => {
                data.insert("client_secret".into(), credential.client_secret.into());
            }
        }
        data.insert("client_id".into(), credential.client_id.into());
        data.insert("tenant_id".into(), credential.tenant_id.into());
        match credential.expires_on {
            Some(expires_on) => data.insert("expires_on".into(), expires_on.into()),
            // A date left from an earlier secret would be wrong.
            None => data.remove("expires_on"),
        };
        let body = Zeroizing::new(
            serde_json::to_vec(&json!({ "options": { "cas": version }, "data": data }))
                .map_err(|_| SinkError::Misconfigured("could not encode the secret".into()))?,
        );
        drop(data);
        let answer = self
            .call(Method::POST, &self.data_segments(&segments), Some(&body))
            .await?;
        let shown = self.shown_path(&segments);
        match answer.status {
            StatusCode::OK => {
                #[derive(Deserialize)]
                struct Written {
                    data: Metadata,
                }
                let written: Option<Written> = serde_json::from_slice(&answer.body).ok();
                Ok(WriteOutcome::Written {
                    version: written.map(|w| w.data.version.to_string()),
                })
            }
            // KV version 1 answers a write without content.
            StatusCode::NO_CONTENT => Err(SinkError::Misconfigured(format!(
                "{} stored {shown} as KV version 1; '{}' must be a KV version 2 mount",
                self.server(),
                self.mount
            ))),
            StatusCode::BAD_REQUEST if errors(&answer.body).contains(CAS_MISMATCH) => {
                Err(SinkError::Conflict(format!(
                    "someone else wrote {shown} after handoff read it (version {version}); \
                     nothing was written, and trying again reads it afresh"
                )))
            }
            status => Err(self.refusal(status, &answer.body, &format!("writing {shown}"))),
        }
    }

    /// Reads the secret's latest version. A deleted or destroyed latest
    /// version answers 404 but still names its version number, which
    /// check-and-set expects.
    async fn read_current(&self, segments: &[&str]) -> Result<Current, SinkError> {
        #[derive(Deserialize)]
        struct Read {
            data: Option<ReadData>,
        }
        #[derive(Deserialize)]
        struct ReadData {
            data: Option<Map<String, Value>>,
            metadata: Option<Metadata>,
        }
        let answer = self
            .call(Method::GET, &self.data_segments(segments), None)
            .await?;
        let shown = self.shown_path(segments);
        let read = || {
            serde_json::from_slice::<Read>(&answer.body)
                .ok()
                .and_then(|read| read.data)
        };
        match answer.status {
            StatusCode::OK => match read() {
                Some(ReadData {
                    data,
                    metadata: Some(metadata),
                }) => Ok(Current {
                    version: metadata.version,
                    data,
                }),
                _ => Err(SinkError::Misconfigured(format!(
                    "{} answered for {shown} without a version; is '{}' a KV version 2 mount?",
                    self.server(),
                    self.mount
                ))),
            },
            StatusCode::NOT_FOUND => {
                if let Some(ReadData {
                    metadata: Some(metadata),
                    ..
                }) = read()
                {
                    return Ok(Current {
                        version: metadata.version,
                        data: None,
                    });
                }
                let errors = errors(&answer.body);
                if errors.contains("no handler for route") {
                    return Err(self.no_mount());
                }
                Ok(Current {
                    version: 0,
                    data: None,
                })
            }
            status => Err(self.refusal(status, &answer.body, &format!("reading {shown}"))),
        }
    }

    /// Asks the server what is mounted at `mount`, as Vault's own CLI does
    /// before a `kv` command. Inconclusive answers (the token may not ask)
    /// let the write go ahead: it fails on its own if the token is wrong.
    async fn ensure_kv2(&self) -> Result<(), SinkError> {
        #[derive(Deserialize)]
        struct Mounts {
            data: MountData,
        }
        #[derive(Deserialize)]
        struct MountData {
            #[serde(rename = "type")]
            engine: String,
            path: String,
            options: Option<Map<String, Value>>,
        }
        if self.kv2_confirmed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut segments = vec!["v1", "sys", "internal", "ui", "mounts"];
        segments.extend(self.mount.split('/'));
        let answer = self.call(Method::GET, &segments, None).await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => return Err(self.no_mount()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Ok(()),
            status => {
                return Err(self.refusal(status, &answer.body, "looking up the mount"));
            }
        }
        let Ok(Mounts { data: mount }) = serde_json::from_slice(&answer.body) else {
            return Ok(());
        };
        let actual = mount.path.trim_matches('/');
        if actual != self.mount {
            return Err(SinkError::Misconfigured(format!(
                "'{}' is not a mount of its own but lies inside the mount '{actual}': set \
                 mount = \"{actual}\" and put the rest into the tenants' sink_path",
                self.mount
            )));
        }
        let version = mount
            .options
            .as_ref()
            .and_then(|options| options.get("version"))
            .and_then(Value::as_str);
        if mount.engine != "kv" || version != Some("2") {
            let engine = match (mount.engine.as_str(), version) {
                ("kv", _) => "a KV version 1 engine".to_owned(),
                (other, _) => format!("a {other} engine"),
            };
            return Err(SinkError::Misconfigured(format!(
                "'{}' on {} is {engine}; handoff writes to KV version 2 (enable one with \
                 `bao secrets enable -version=2 -path=<mount> kv`)",
                self.mount,
                self.server()
            )));
        }
        self.kv2_confirmed.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// One request with the sink's token. A 403 for an `AppRole` token drops
    /// it, in case it was revoked: the next request logs in afresh.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&[u8]>,
    ) -> Result<Answer, SinkError> {
        let token = self.token().await?;
        let answer = self
            .send(method, segments, body, Some(token.expose_secret()))
            .await?;
        if answer.status == StatusCode::FORBIDDEN
            && let Auth::AppRole(approle) = &self.auth
        {
            approle.cached.lock().await.take();
        }
        Ok(answer)
    }

    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&[u8]>,
        token: Option<&str>,
    ) -> Result<Answer, SinkError> {
        let mut request = self
            .http
            .client
            .request(method, join(&self.address, segments))
            // Vault Agent and proxies refuse API calls without it, as a
            // guard against server-side request forgery.
            .header("X-Vault-Request", "true");
        if let Some(token) = token {
            request = request.header("X-Vault-Token", sensitive_header(token)?);
        }
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            // reqwest keeps its own copy of the body, out of reach of wiping.
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let server = self.server();
        let response = request
            .send()
            .await
            .map_err(|error| self.http.unreachable(&server, &error))?;
        let status = response.status();
        match read_capped(response, MAX_ANSWER_BYTES).await {
            Ok(Some(body)) => Ok(Answer { status, body }),
            Ok(None) => Err(SinkError::Misconfigured(format!(
                "{server} answered with more than {} KiB",
                MAX_ANSWER_BYTES / 1024
            ))),
            Err(error) => Err(self.http.unreachable(&server, &error)),
        }
    }

    /// The token for the next request: the configured one, or an `AppRole`
    /// login's, cached until most of its lease has run out.
    async fn token(&self) -> Result<SecretString, SinkError> {
        let approle = match &self.auth {
            Auth::Token(token) => return Ok(token.clone()),
            Auth::AppRole(approle) => approle,
        };
        let mut cached = approle.cached.lock().await;
        if let Some(leased) = cached.as_ref()
            && leased.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(leased.token.clone());
        }
        let leased = self.log_in(approle).await?;
        let token = leased.token.clone();
        *cached = Some(leased);
        Ok(token)
    }

    async fn log_in(&self, approle: &AppRole) -> Result<LeasedToken, SinkError> {
        #[derive(Deserialize)]
        struct Login {
            auth: Option<LoginAuth>,
        }
        #[derive(Deserialize)]
        struct LoginAuth {
            client_token: SecretString,
            #[serde(default)]
            lease_duration: u64,
        }
        let body = Zeroizing::new(
            serde_json::to_vec(&json!({
                "role_id": approle.role_id.expose_secret(),
                "secret_id": approle.secret_id.expose_secret(),
            }))
            .map_err(|_| SinkError::Misconfigured("could not encode the AppRole login".into()))?,
        );
        let mut segments = vec!["v1", "auth"];
        segments.extend(approle.mount.split('/'));
        segments.push("login");
        let answer = self
            .send(Method::POST, &segments, Some(&body), None)
            .await?;
        let shown = format!("auth/{}", approle.mount);
        if answer.status != StatusCode::OK {
            let status = answer.status;
            let errors = errors(&answer.body);
            return Err(if is_transient(status) {
                SinkError::Unreachable(format!(
                    "{} could not log in with AppRole at {shown} (HTTP {}: {errors}); try again",
                    self.server(),
                    status.as_u16()
                ))
            } else {
                SinkError::Refused(format!(
                    "{} refused the AppRole login at {shown} (HTTP {}: {errors}); check role_id \
                     and the secret ID",
                    self.server(),
                    status.as_u16()
                ))
            });
        }
        let Some(auth) = serde_json::from_slice::<Login>(&answer.body)
            .ok()
            .and_then(|login| login.auth)
        else {
            return Err(SinkError::Refused(format!(
                "{} answered the AppRole login at {shown} without a token",
                self.server()
            )));
        };
        // Renewing with a quarter of the lease left keeps a request from
        // racing the expiry; no lease means the token does not expire.
        let renew_at = (auth.lease_duration > 0)
            .then(|| Instant::now() + Duration::from_secs(auth.lease_duration) * 3 / 4);
        Ok(LeasedToken {
            token: auth.client_token,
            renew_at,
        })
    }

    fn data_segments<'a>(&'a self, path: &[&'a str]) -> Vec<&'a str> {
        let mut segments = vec!["v1"];
        segments.extend(self.mount.split('/'));
        segments.push("data");
        segments.extend_from_slice(path);
        segments
    }

    /// `secret/data/tenants/contoso`, as Vault policies name it.
    fn shown_path(&self, path: &[&str]) -> String {
        format!("{}/data/{}", self.mount, path.join("/"))
    }

    /// The server, as sentences name it.
    fn server(&self) -> String {
        format!(
            "Vault/OpenBao at {}",
            self.address.as_str().trim_end_matches('/')
        )
    }

    fn no_mount(&self) -> SinkError {
        SinkError::Misconfigured(format!(
            "no secrets engine is mounted at '{}' on {}",
            self.mount,
            self.server()
        ))
    }

    /// The sentence for an answer that is not the one hoped for, while
    /// `doing` something.
    fn refusal(&self, status: StatusCode, body: &[u8], doing: &str) -> SinkError {
        let code = status.as_u16();
        let errors = errors(body);
        let server = self.server();
        if is_transient(status) {
            SinkError::Unreachable(format!(
                "{server} failed {doing} (HTTP {code}: {errors}); try again"
            ))
        } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            SinkError::Refused(format!(
                "{server} refused the token (HTTP {code}: {errors}) {doing}: the token is wrong \
                 or expired, or its policy lacks permission"
            ))
        } else {
            SinkError::Refused(format!("{server} refused {doing} (HTTP {code}: {errors})"))
        }
    }
}

#[derive(Deserialize)]
struct Metadata {
    version: u64,
}

/// Sealed, standby, throttled, eventually consistent or failing: whether
/// anything happened is unknown, and asking again later may work.
fn is_transient(status: StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::PRECONDITION_FAILED
                | StatusCode::TOO_MANY_REQUESTS
        )
}

/// Vault's `{"errors": […]}`, on one line. Multi-errors arrive as
/// "1 error occurred:\n\t* permission denied\n\n"; only the errors are kept.
fn errors(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<String>,
    }
    let Ok(parsed) = serde_json::from_slice::<Errors>(body) else {
        return "no details".to_owned();
    };
    let lines: Vec<&str> = parsed
        .errors
        .iter()
        .flat_map(|error| error.lines())
        .map(|line| line.trim().trim_start_matches("* ").trim())
        .filter(|line| {
            let summary = line.ends_with("occurred:") && line.contains(" error");
            !line.is_empty() && !summary
        })
        .collect();
    if lines.is_empty() {
        "no details".to_owned()
    } else {
        clip(&lines.join("; "))
    }
}

/// A KV path as segments: no empty, `.` or `..` segment, no control
/// characters. Surrounding slashes are dropped.
fn kv_path(path: &str) -> Result<Vec<&str>, SinkError> {
    let path = path.trim().trim_matches('/');
    if path.is_empty() {
        return Err(SinkError::Misconfigured(
            "a vault-kv2 sink needs the tenant's sink_path, e.g. tenants/contoso".into(),
        ));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| !is_path_segment(s)) {
        return Err(SinkError::Misconfigured(format!(
            "the sink_path {path:?} must be segments separated by single '/', without '.', '..' \
             or control characters"
        )));
    }
    Ok(segments)
}

fn is_path_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.chars().any(char::is_control)
}

fn mount_setting(sink: &str, field: &str, text: &str) -> Result<String, ConfigError> {
    let mount = text.trim().trim_matches('/');
    if mount.is_empty() || !mount.split('/').all(is_path_segment) {
        return Err(ConfigError::new(
            &setting(sink, field),
            "must be a mount path such as secret or kv/prod",
        ));
    }
    Ok(mount.to_owned())
}

fn auth_setting(name: &str, entry: &VaultKv2Entry) -> Result<Auth, ConfigError> {
    let token = secret_setting(
        name,
        "token",
        entry.token.as_ref(),
        entry.token_file.as_ref(),
    )?;
    let secret_id = secret_setting(
        name,
        "secret_id",
        entry.secret_id.as_ref(),
        entry.secret_id_file.as_ref(),
    )?;
    let role_id = entry
        .role_id
        .as_ref()
        .map(|id| id.expose_secret().trim())
        .filter(|id| !id.is_empty());
    let token_field = if entry.token_file.is_some() {
        "token_file"
    } else {
        "token"
    };
    match (token, role_id, secret_id) {
        (Some(_), Some(_), _) | (Some(_), None, Some(_)) => Err(ConfigError::new(
            &setting(name, token_field),
            "set either a token or AppRole's role_id and secret_id_file, not both",
        )),
        (Some(token), None, None) => {
            if entry.approle_mount.is_some() {
                return Err(ConfigError::new(
                    &setting(name, "approle_mount"),
                    "only applies with role_id",
                ));
            }
            if !is_header_safe(token.expose_secret()) {
                return Err(ConfigError::new(
                    &setting(name, token_field),
                    "holds spaces or control characters",
                ));
            }
            Ok(Auth::Token(token))
        }
        (None, Some(role_id), Some(secret_id)) => Ok(Auth::AppRole(AppRole {
            mount: mount_setting(
                name,
                "approle_mount",
                entry.approle_mount.as_deref().unwrap_or("approle"),
            )?,
            role_id: SecretString::from(role_id),
            secret_id,
            cached: tokio::sync::Mutex::new(None),
        })),
        (None, Some(_), None) => Err(ConfigError::new(
            &setting(name, "secret_id_file"),
            "required with role_id",
        )),
        (None, None, Some(_)) => Err(ConfigError::new(
            &setting(name, "role_id"),
            "required with a secret ID",
        )),
        (None, None, None) => Err(ConfigError::new(
            &setting(name, "token"),
            "required: token, token_file, or role_id with secret_id_file",
        )),
    }
}

impl fmt::Debug for VaultKv2Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Auth::Token(_) => "token".to_owned(),
            Auth::AppRole(approle) => format!("approle at auth/{}", approle.mount),
        };
        f.debug_struct("VaultKv2Sink")
            .field("name", &self.name)
            .field("address", &self.address.as_str())
            .field("mount", &self.mount)
            .field("namespace", &self.namespace)
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Sink for VaultKv2Sink {
    fn kind(&self) -> &'static str {
        "vault-kv2"
    }

    async fn write(
        &self,
        path: &str,
        credential: &Credential<'_>,
    ) -> Result<WriteOutcome, SinkError> {
        self.apply(path, credential, None).await
    }

    async fn check(&self, path: Option<&str>) -> Result<String, SinkError> {
        #[derive(Deserialize)]
        struct Lookup {
            data: LookupData,
        }
        #[derive(Deserialize)]
        struct LookupData {
            #[serde(default)]
            policies: Vec<String>,
        }
        let answer = self
            .call(Method::GET, &["v1", "auth", "token", "lookup-self"], None)
            .await?;
        if answer.status != StatusCode::OK {
            return Err(self.refusal(answer.status, &answer.body, "looking up the token"));
        }
        let policies = serde_json::from_slice::<Lookup>(&answer.body)
            .map(|lookup| lookup.data.policies.join(", "))
            .unwrap_or_default();
        self.ensure_kv2().await?;
        let accepted = format!(
            "{} accepted the token (policies: {}) and '{}' is KV version 2",
            self.server(),
            if policies.is_empty() {
                "none"
            } else {
                &policies
            },
            self.mount
        );
        let Some(path) = path else {
            return Ok(format!(
                "{accepted}; name a tenant's path to check that it is writable."
            ));
        };
        let segments = kv_path(path)?;
        let shown = self.shown_path(&segments);
        let body = serde_json::to_vec(&json!({ "paths": [shown] }))
            .map_err(|_| SinkError::Misconfigured("could not encode the path".into()))?;
        let answer = self
            .call(
                Method::POST,
                &["v1", "sys", "capabilities-self"],
                Some(&body),
            )
            .await?;
        if answer.status != StatusCode::OK {
            return Err(self.refusal(
                answer.status,
                &answer.body,
                &format!("checking the token's capabilities on {shown}"),
            ));
        }
        let capabilities = capabilities(&answer.body, &shown);
        let can = |what: &str| capabilities.iter().any(|c| c == what || c == "root");
        let listed = if capabilities.is_empty() {
            "none".to_owned()
        } else {
            capabilities.join(", ")
        };
        // Reading comes first: the other keys are kept, and check-and-set
        // needs the current version.
        if can("read") && (can("create") || can("update")) {
            Ok(format!(
                "{accepted}; the token may write {shown} (capabilities: {listed})."
            ))
        } else {
            Err(SinkError::Refused(format!(
                "the token may not write {shown} on {} (capabilities: {listed}); its policy needs \
                 read, create and update there",
                self.server()
            )))
        }
    }
}

/// The capabilities `sys/capabilities-self` lists for `path`, under the
/// path's own key or, on older servers, `capabilities`.
fn capabilities(body: &[u8], path: &str) -> Vec<String> {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let data = answer.get("data").unwrap_or(&answer);
    data.get(path)
        .or_else(|| data.get("capabilities"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> VaultKv2Entry {
        toml::from_str(&format!("address = \"https://bao.internal:8200\"\n{extra}")).unwrap()
    }

    #[test]
    fn paths_are_plain_segments() {
        assert_eq!(
            kv_path("/tenants/contoso/").unwrap(),
            ["tenants", "contoso"]
        );
        for bad in ["", "/", "a//b", "a/../b", "./a", "a\nb"] {
            assert!(
                matches!(kv_path(bad), Err(SinkError::Misconfigured(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_token_or_an_approle_is_required_but_not_both() {
        let error = |extra: &str| VaultKv2Sink::new("vault", &entry(extra)).unwrap_err();
        assert_eq!(error("").setting, "sinks.vault.token");
        assert_eq!(
            error("token = \"s.a\"\nrole_id = \"r\"").setting,
            "sinks.vault.token"
        );
        assert_eq!(
            error("role_id = \"r\"").setting,
            "sinks.vault.secret_id_file"
        );
        assert_eq!(error("secret_id = \"x\"").setting, "sinks.vault.role_id");
        assert_eq!(error("token = \"s.a b\"").setting, "sinks.vault.token");
        assert_eq!(
            error("token = \"s.a\"\nmount = \"a/../b\"").setting,
            "sinks.vault.mount"
        );
        assert!(VaultKv2Sink::new("vault", &entry("role_id = \"r\"\nsecret_id = \"x\"")).is_ok());
    }

    #[test]
    fn the_sink_prints_without_its_token_or_approle_secrets() {
        let token = VaultKv2Sink::new("vault", &entry("token = \"s.t0ken\"")).unwrap();
        let approle = VaultKv2Sink::new(
            "vault",
            &entry("role_id = \"r0le\"\nsecret_id = \"s3cret\"\nmount = \"kv/prod/\""),
        )
        .unwrap();
        let printed = format!("{token:?} {approle:?}");
        for hidden in ["t0ken", "r0le", "s3cret"] {
            assert!(!printed.contains(hidden), "{printed}");
        }
        assert!(printed.contains("\"kv/prod\""), "{printed}");
    }

    #[test]
    fn vault_multi_errors_read_as_one_line() {
        assert_eq!(
            errors(br#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#),
            "permission denied"
        );
        assert_eq!(errors(br#"{"errors":[]}"#), "no details");
        assert_eq!(errors(b"<html>"), "no details");
    }

    #[test]
    fn capabilities_are_read_under_the_path_or_the_old_key() {
        let body = br#"{"data":{"capabilities":["read"],"secret/data/a":["read","update"]}}"#;
        assert_eq!(capabilities(body, "secret/data/a"), ["read", "update"]);
        assert_eq!(capabilities(body, "secret/data/b"), ["read"]);
    }
}
