//! Azure Key Vault: the credential becomes a secret whose value is the
//! client secret, tagged with the app and tenant it belongs to. handoff signs
//! in as the vendor's own app (client credentials) to write it.
//!
//! Key Vault has no check-and-set for secrets; every `PUT` makes a new
//! version. Idempotency comes from reading the current version first and
//! writing nothing when it already holds this credential.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::{
    CertificateParts, Credential, Http, Sink, SinkError, WriteOutcome, base_url, clip,
    expiry_timestamp, join, read_capped, secret_setting, setting, timeout_setting,
};
use crate::config_error::ConfigError;
use crate::domain::is_guid;

/// `[sinks.<name>]` with `kind = "azure-keyvault"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureKeyVaultEntry {
    /// e.g. `https://fabrikam-kv.vault.azure.net`.
    pub vault_url: String,
    /// The vendor's own Entra tenant, GUID or domain.
    pub tenant: String,
    /// The vendor's own app registration, which may write secrets.
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    /// [default: `https://login.microsoftonline.com`]
    pub authority: Option<String>,
    /// The token's scope [default: `https://vault.azure.net/.default`];
    /// national clouds have their own, e.g. `https://vault.usgovcloudapi.net/.default`.
    pub scope: Option<String>,
    /// Put before the tenant's slug when a tenant has no `sink_path`.
    pub name_prefix: Option<String>,
    /// One request's time limit [default: 10s].
    pub timeout: Option<String>,
}

pub const KEY_VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const API_VERSION: &str = "7.4";

/// Token answers and secret bundles are a few kilobytes; a secret value is
/// at most 25 KiB.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Asking for a new token this long before the old one expires keeps a
/// request from racing the expiry.
const TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);

pub struct AzureKeyVaultSink {
    name: String,
    vault_url: reqwest::Url,
    token_url: reqwest::Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    name_prefix: String,
    http: Http,
    /// A lock rather than a read-write lock: concurrent writes after the
    /// token ran out must ask for one token, not one each.
    cached: tokio::sync::Mutex<Option<AccessToken>>,
}

struct AccessToken {
    token: SecretString,
    renew_at: Instant,
}

struct Answer {
    status: StatusCode,
    body: Zeroizing<Vec<u8>>,
}

impl AzureKeyVaultSink {
    pub fn new(name: &str, entry: &AzureKeyVaultEntry) -> Result<Self, ConfigError> {
        let vault_url = base_url(name, "vault_url", &entry.vault_url)?;
        let tenant = entry.tenant.trim();
        if tenant.is_empty()
            || tenant.starts_with('.')
            || !tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        {
            return Err(ConfigError::new(
                &setting(name, "tenant"),
                "must be the vendor's Entra tenant, a GUID or a domain such as fabrikam.onmicrosoft.com",
            ));
        }
        let client_id = entry.client_id.trim().to_ascii_lowercase();
        if !is_guid(&client_id) {
            return Err(ConfigError::new(
                &setting(name, "client_id"),
                "must be the vendor app's Application (client) ID, a GUID",
            ));
        }
        let client_secret = secret_setting(
            name,
            "client_secret",
            entry.client_secret.as_ref(),
            entry.client_secret_file.as_ref(),
        )?
        .ok_or_else(|| {
            ConfigError::new(
                &setting(name, "client_secret"),
                "required (or client_secret_file): the vendor app's secret",
            )
        })?;
        let authority = base_url(
            name,
            "authority",
            entry
                .authority
                .as_deref()
                .unwrap_or(crate::verify::DEFAULT_AUTHORITY),
        )?;
        let token_url = join(&authority, &[tenant, "oauth2", "v2.0", "token"]);
        let scope = entry.scope.as_deref().unwrap_or(KEY_VAULT_SCOPE).trim();
        if !scope.starts_with("https://") || scope.contains(char::is_whitespace) {
            return Err(ConfigError::new(
                &setting(name, "scope"),
                "must be a scope such as https://vault.azure.net/.default",
            ));
        }
        let name_prefix = entry.name_prefix.as_deref().unwrap_or("").trim();
        if !name_prefix.bytes().all(is_name_byte) {
            return Err(ConfigError::new(
                &setting(name, "name_prefix"),
                "may hold only letters, digits and '-', as Key Vault secret names do",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            vault_url,
            token_url,
            client_id,
            client_secret,
            scope: scope.to_owned(),
            name_prefix: name_prefix.to_owned(),
            http: Http::new(name, timeout_setting(name, entry.timeout.as_deref())?)?,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The secret's name: the tenant's `sink_path` if it has one, else the
    /// prefix and the tenant's slug.
    fn secret_name(&self, path: &str, tenant: &str) -> Result<String, SinkError> {
        let path = path.trim();
        let name = if path.is_empty() {
            format!("{}{tenant}", self.name_prefix)
        } else {
            path.to_owned()
        };
        if (1..=127).contains(&name.len()) && name.bytes().all(is_name_byte) {
            Ok(name)
        } else {
            Err(SinkError::Misconfigured(format!(
                "{name:?} cannot name a Key Vault secret (1–127 letters, digits and '-'); set \
                 the tenant's sink_path to a name that can"
            )))
        }
    }

    /// The cached access token, or a new one from Entra ID.
    async fn token(&self) -> Result<SecretString, SinkError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.token.clone());
        }
        let token = self.ask_for_token().await?;
        let value = token.token.clone();
        *cached = Some(token);
        Ok(value)
    }

    async fn ask_for_token(&self) -> Result<AccessToken, SinkError> {
        #[derive(Deserialize)]
        struct Issued {
            access_token: SecretString,
            expires_in: u64,
        }
        #[derive(Deserialize)]
        struct Failed {
            error: String,
            #[serde(default)]
            error_codes: Vec<u32>,
        }
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("scope", self.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let what = "Entra ID's token endpoint";
        let response = self
            .http
            .client
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|error| self.http.unreachable(what, &error))?;
        let status = response.status();
        let body = match read_capped(response, MAX_ANSWER_BYTES).await {
            Ok(Some(body)) => body,
            Ok(None) => {
                return Err(SinkError::Unreachable(format!(
                    "{what} answered with too much"
                )));
            }
            Err(error) => return Err(self.http.unreachable(what, &error)),
        };
        if status == StatusCode::OK {
            let issued: Issued = serde_json::from_slice(&body)
                .map_err(|_| SinkError::Unreachable(format!("{what} answered without a token")))?;
            let lifetime = Duration::from_secs(issued.expires_in);
            // A token shorter-lived than the margin is used once and dropped.
            let renew_at = Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN);
            return Ok(AccessToken {
                token: issued.access_token,
                renew_at,
            });
        }
        let code = status.as_u16();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SinkError::Unreachable(format!(
                "{what} failed (HTTP {code}); try again"
            )));
        }
        let reason = match serde_json::from_slice::<Failed>(&body) {
            Ok(Failed { error, error_codes }) => match error_codes.first() {
                Some(aadsts) => format!("{} AADSTS{aadsts}", clip(&error)),
                None => clip(&error),
            },
            Err(_) => "no details".to_owned(),
        };
        Err(SinkError::Refused(format!(
            "Entra ID refused the sink's own app {} (HTTP {code}: {reason}); check the sink's \
             tenant, client_id and client secret",
            self.client_id
        )))
    }

    /// One request to Key Vault with a bearer token. A 401 drops the
    /// cached token: it may have been revoked or issued for another vault.
    async fn call(
        &self,
        method: Method,
        url: reqwest::Url,
        body: Option<&[u8]>,
    ) -> Result<Answer, SinkError> {
        let token = self.token().await?;
        let mut request = self
            .http
            .client
            .request(method, url)
            .bearer_auth(token.expose_secret());
        if let Some(body) = body {
            // reqwest keeps its own copy of the body, out of reach of wiping.
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let what = self.vault();
        let response = request
            .send()
            .await
            .map_err(|error| self.http.unreachable(&what, &error))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            self.cached.lock().await.take();
        }
        match read_capped(response, MAX_ANSWER_BYTES).await {
            Ok(Some(body)) => Ok(Answer { status, body }),
            Ok(None) => Err(SinkError::Unreachable(format!(
                "{what} answered with too much"
            ))),
            Err(error) => Err(self.http.unreachable(&what, &error)),
        }
    }

    /// `certificates/<name>`, or one of its operations (`import`).
    fn certificate_url(&self, name: &str, operation: Option<&str>) -> reqwest::Url {
        let mut segments = vec!["certificates", name];
        segments.extend(operation);
        let mut url = join(&self.vault_url, &segments);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        url
    }

    /// A certificate credential is imported as a Key Vault certificate (PEM:
    /// key and certificate), named as a secret would be. Key Vault names a
    /// certificate by `x5t`, the base64url SHA-1 thumbprint: the same one
    /// already there is not imported again.
    async fn import_certificate(
        &self,
        path: &str,
        credential: &Credential<'_>,
        certificate: CertificateParts<'_>,
    ) -> Result<WriteOutcome, SinkError> {
        #[derive(Deserialize)]
        struct Imported {
            id: Option<String>,
            x5t: Option<String>,
        }
        let name = self.secret_name(path, credential.tenant)?;
        let ours = thumbprint_x5t(certificate.thumbprint);
        let current = self
            .call(Method::GET, self.certificate_url(&name, None), None)
            .await?;
        match current.status {
            StatusCode::OK => {
                let held = serde_json::from_slice::<Imported>(&current.body)
                    .ok()
                    .and_then(|c| c.x5t);
                if held.is_some() && held == ours {
                    return Ok(WriteOutcome::AlreadyApplied);
                }
            }
            StatusCode::NOT_FOUND => {}
            status => {
                return Err(self.refusal(
                    status,
                    &current.body,
                    &format!("reading the certificate {name}"),
                ));
            }
        }
        let value = Zeroizing::new(format!("{}{}", credential.client_secret, certificate.pem));
        let body = Zeroizing::new(
            serde_json::to_vec(&json!({
                "value": value.as_str(),
                "policy": {
                    "secret_props": { "contentType": "application/x-pem-file" },
                    "key_props": { "exportable": true, "kty": "RSA", "reuse_key": false },
                },
                "tags": {
                    "client_id": credential.client_id,
                    "tenant_id": credential.tenant_id,
                    "handoff": "1",
                },
            }))
            .map_err(|_| SinkError::Misconfigured("could not encode the certificate".into()))?,
        );
        let answer = self
            .call(
                Method::POST,
                self.certificate_url(&name, Some("import")),
                Some(&body),
            )
            .await?;
        if answer.status != StatusCode::OK {
            return Err(self.refusal(
                answer.status,
                &answer.body,
                &format!("importing the certificate {name}"),
            ));
        }
        let version = serde_json::from_slice::<Imported>(&answer.body)
            .ok()
            .and_then(|imported| imported.id)
            .as_deref()
            .and_then(version_of);
        Ok(WriteOutcome::Written { version })
    }

    fn secret_url(&self, name: &str) -> reqwest::Url {
        let mut url = join(&self.vault_url, &["secrets", name]);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        url
    }

    fn vault(&self) -> String {
        format!(
            "Key Vault {}",
            self.vault_url.as_str().trim_end_matches('/')
        )
    }

    /// The sentence for an answer that is not the one hoped for, while
    /// `doing` something, with Key Vault's own error code and message.
    fn refusal(&self, status: StatusCode, body: &[u8], doing: &str) -> SinkError {
        #[derive(Deserialize)]
        struct Failed {
            error: Detail,
        }
        #[derive(Deserialize)]
        struct Detail {
            code: Option<String>,
            message: Option<String>,
            innererror: Option<Inner>,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: Option<String>,
        }
        let code = status.as_u16();
        let detail = match serde_json::from_slice::<Failed>(body) {
            Ok(Failed { error }) => {
                let mut codes: Vec<String> = error.code.into_iter().collect();
                codes.extend(error.innererror.and_then(|inner| inner.code));
                let codes = codes.join("/");
                match error.message {
                    Some(message) if codes.is_empty() => clip(&message),
                    Some(message) => format!("{}: {}", clip(&codes), clip(&message)),
                    None if codes.is_empty() => "no details".to_owned(),
                    None => clip(&codes),
                }
            }
            Err(_) => "no details".to_owned(),
        };
        let vault = self.vault();
        if status.is_server_error()
            || matches!(
                status,
                StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
            )
        {
            SinkError::Unreachable(format!(
                "{vault} failed {doing} (HTTP {code}: {detail}); try again"
            ))
        } else {
            SinkError::Refused(format!("{vault} refused {doing} (HTTP {code}: {detail})"))
        }
    }
}

/// Key Vault secret names: letters, digits and `-`.
fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

/// The version at the end of a secret's id,
/// `https://x.vault.azure.net/secrets/<name>/<version>`.
/// Key Vault's `x5t`: the SHA-1 thumbprint (hex, as the portal shows it)
/// as base64url without padding.
fn thumbprint_x5t(hex: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|at| {
            hex.get(at..at + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn version_of(id: &str) -> Option<String> {
    id.rsplit('/')
        .next()
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl fmt::Debug for AzureKeyVaultSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureKeyVaultSink")
            .field("name", &self.name)
            .field("vault_url", &self.vault_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("name_prefix", &self.name_prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Sink for AzureKeyVaultSink {
    fn kind(&self) -> &'static str {
        "azure-keyvault"
    }

    async fn write(
        &self,
        path: &str,
        credential: &Credential<'_>,
    ) -> Result<WriteOutcome, SinkError> {
        #[derive(Deserialize)]
        struct Bundle {
            value: Option<SecretString>,
            id: Option<String>,
            #[serde(default)]
            attributes: Attributes,
            #[serde(default)]
            tags: BTreeMap<String, String>,
        }
        #[derive(Default, Deserialize)]
        struct Attributes {
            exp: Option<i64>,
        }
        if let Some(certificate) = credential.certificate {
            return self.import_certificate(path, credential, certificate).await;
        }
        let name = self.secret_name(path, credential.tenant)?;
        let exp = credential.expires_on.map(expiry_timestamp).transpose()?;
        let url = self.secret_url(&name);

        let current = self.call(Method::GET, url.clone(), None).await?;
        match current.status {
            StatusCode::OK => {
                let bundle: Bundle = serde_json::from_slice(&current.body).map_err(|_| {
                    SinkError::Unreachable(format!(
                        "{} answered for the secret {name} with something other than a secret",
                        self.vault()
                    ))
                })?;
                let same_value = bundle.value.as_ref().is_some_and(|value| {
                    bool::from(
                        value
                            .expose_secret()
                            .as_bytes()
                            .ct_eq(credential.client_secret.as_bytes()),
                    )
                });
                let tag = |key: &str| bundle.tags.get(key).map(String::as_str);
                if same_value
                    && tag("client_id") == Some(credential.client_id)
                    && tag("tenant_id") == Some(credential.tenant_id)
                    && bundle.attributes.exp == exp
                {
                    return Ok(WriteOutcome::AlreadyApplied);
                }
            }
            StatusCode::NOT_FOUND => {}
            status => {
                return Err(self.refusal(
                    status,
                    &current.body,
                    &format!("reading the secret {name}"),
                ));
            }
        }

        let mut attributes = serde_json::Map::new();
        if let Some(exp) = exp {
            attributes.insert("exp".into(), exp.into());
        }
        let body = Zeroizing::new(
            serde_json::to_vec(&json!({
                "value": credential.client_secret,
                "contentType": "text/plain",
                "attributes": attributes,
                "tags": {
                    "client_id": credential.client_id,
                    "tenant_id": credential.tenant_id,
                    "handoff": "1",
                },
            }))
            .map_err(|_| SinkError::Misconfigured("could not encode the secret".into()))?,
        );
        let answer = self.call(Method::PUT, url, Some(&body)).await?;
        if answer.status != StatusCode::OK {
            return Err(self.refusal(
                answer.status,
                &answer.body,
                &format!("writing the secret {name}"),
            ));
        }
        let version = serde_json::from_slice::<Bundle>(&answer.body)
            .ok()
            .and_then(|bundle| bundle.id)
            .as_deref()
            .and_then(version_of);
        Ok(WriteOutcome::Written { version })
    }

    async fn check(&self, path: Option<&str>) -> Result<String, SinkError> {
        let vault = self.vault();
        // An empty path means the tenant's slug, which check is not told.
        let Some(path) = path.map(str::trim).filter(|path| !path.is_empty()) else {
            let mut url = join(&self.vault_url, &["secrets"]);
            url.query_pairs_mut()
                .append_pair("api-version", API_VERSION)
                .append_pair("maxresults", "1");
            let answer = self.call(Method::GET, url, None).await?;
            return match answer.status {
                StatusCode::OK => Ok(format!(
                    "{vault} accepted the app {} and lets it list secrets; Key Vault cannot \
                     show whether it may write them without writing one.",
                    self.client_id
                )),
                status => Err(self.refusal(status, &answer.body, "listing secrets")),
            };
        };
        let name = self.secret_name(path, "")?;
        let answer = self.call(Method::GET, self.secret_url(&name), None).await?;
        match answer.status {
            StatusCode::OK | StatusCode::NOT_FOUND => Ok(format!(
                "{vault} accepted the app {} and lets it read the secret {name}{}; Key Vault \
                 cannot show whether it may write it without writing.",
                self.client_id,
                if answer.status == StatusCode::OK {
                    ""
                } else {
                    " (not there yet)"
                },
            )),
            status => {
                Err(self.refusal(status, &answer.body, &format!("reading the secret {name}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> AzureKeyVaultEntry {
        toml::from_str(&format!(
            "vault_url = \"https://fabrikam-kv.vault.azure.net\"\ntenant = \
             \"fabrikam.onmicrosoft.com\"\nclient_id = \"6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn the_token_url_is_the_vendors_tenant_at_the_authority() {
        let sink = AzureKeyVaultSink::new("kv", &entry("client_secret = \"x\"")).unwrap();
        assert_eq!(
            sink.token_url.as_str(),
            "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            sink.secret_url("contoso").as_str(),
            "https://fabrikam-kv.vault.azure.net/secrets/contoso?api-version=7.4"
        );
    }

    #[test]
    fn secret_names_come_from_the_path_or_the_prefixed_tenant() {
        let sink = AzureKeyVaultSink::new(
            "kv",
            &entry("client_secret = \"x\"\nname_prefix = \"entra-\""),
        )
        .unwrap();
        assert_eq!(sink.secret_name("", "contoso").unwrap(), "entra-contoso");
        assert_eq!(sink.secret_name("custom-1", "contoso").unwrap(), "custom-1");
        for bad in ["a/b", "a_b", &"x".repeat(128)] {
            assert!(
                matches!(sink.secret_name(bad, "t"), Err(SinkError::Misconfigured(_))),
                "{bad}"
            );
        }
        assert!(sink.secret_name("", "con_toso").is_err());
    }

    #[test]
    fn bad_settings_name_the_field() {
        let error = |extra: &str| {
            AzureKeyVaultSink::new("kv", &entry(extra))
                .unwrap_err()
                .setting
        };
        assert_eq!(error(""), "sinks.kv.client_secret");
        assert_eq!(
            error("client_secret = \"x\"\nname_prefix = \"a_\""),
            "sinks.kv.name_prefix"
        );
        assert_eq!(
            error("client_secret = \"x\"\nscope = \"vault\""),
            "sinks.kv.scope"
        );
    }

    #[test]
    fn the_sink_prints_without_the_vendor_secret() {
        let sink = AzureKeyVaultSink::new("kv", &entry("client_secret = \"v3ndor\"")).unwrap();
        let printed = format!("{sink:?}");
        assert!(!printed.contains("v3ndor"), "{printed}");
    }

    #[test]
    fn the_version_is_the_ids_last_segment() {
        assert_eq!(
            version_of(
                "https://x.vault.azure.net/secrets/contoso/4387e9f3d6e14c459867679a90fd0f79"
            )
            .as_deref(),
            Some("4387e9f3d6e14c459867679a90fd0f79")
        );
    }
}
