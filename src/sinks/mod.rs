//! Sinks: the places where a tenant's configuration lives, and into which a
//! verified client secret is written without any person seeing it. Each
//! `[sinks.<name>]` table in `handoff.toml` becomes one [`Sink`]; a tenant
//! names its sink and the path inside it.
//!
//! The caller runs apply as claim → verify → write → commit and retries a
//! write that failed or whose outcome is unclear, so every sink's `write` is
//! idempotent: writing the same credential twice leaves the sink as one
//! write would, and the second answers [`WriteOutcome::AlreadyApplied`].
//!
//! No secret, token or signing key is ever formatted: not in errors, not in
//! `Debug`, not in logs. Answers from a sink are read into wiped buffers
//! because they can hold the secrets already stored there.

use crate::outbound::redacted_url;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::config_error::ConfigError;

mod azure_keyvault;
mod file;
mod vault_kv2;
mod webhook;

pub use azure_keyvault::{AzureKeyVaultEntry, AzureKeyVaultSink};
pub use file::{FileEntry, FileFormat, FileSink};
pub use vault_kv2::{VaultKv2Entry, VaultKv2Sink};
pub use webhook::{WebhookSink, WebhookSinkEntry};

/// What a sink writes. Borrowed: the caller holds the secret in a
/// `Zeroizing` buffer, and a sink copies it only into wiped buffers of its
/// own (and into the request it sends, which is out of reach).
#[derive(Clone, Copy)]
pub struct Credential<'a> {
    /// handoff's tenant slug, e.g. `contoso`.
    pub tenant: &'a str,
    pub client_secret: &'a str,
    /// The app registration's Application (client) ID, a GUID.
    pub client_id: &'a str,
    /// The customer's Entra tenant, a GUID or a domain.
    pub tenant_id: &'a str,
    /// When the secret expires, `YYYY-MM-DD`.
    pub expires_on: Option<&'a str>,
    /// A certificate credential: then `client_secret` holds its private
    /// key (PKCS#8 PEM).
    pub certificate: Option<CertificateParts<'a>>,
}

/// The public half of a certificate credential.
#[derive(Debug, Clone, Copy)]
pub struct CertificateParts<'a> {
    /// The certificate, PEM.
    pub pem: &'a str,
    /// SHA-1 thumbprint, upper-case hex, as the Entra portal shows it.
    pub thumbprint: &'a str,
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("tenant", &self.tenant)
            .field("client_secret", &"***")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("expires_on", &self.expires_on)
            .field("certificate", &self.certificate)
            .finish()
    }
}

/// How a write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The sink now holds the credential; `version` is the sink's own name
    /// for what was written (a KV version, a Key Vault secret version), if
    /// it has one.
    Written { version: Option<String> },
    /// The sink already held exactly this credential; nothing was written.
    AlreadyApplied,
}

/// Why a sink did not take a credential. Every message is a sentence for
/// the operator and holds no secret.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Connection failure, timeout, 5xx or throttling: whether anything was
    /// written is unknown, and a retry is safe because writes are idempotent.
    #[error("{0}")]
    Unreachable(String),
    /// The sink answered no (4xx, permissions): retrying unchanged will not
    /// help.
    #[error("{0}")]
    Refused(String),
    /// Check-and-set lost: someone else wrote the path between our read and
    /// our write. Nothing of ours was written; a retry reads afresh.
    #[error("{0}")]
    Conflict(String),
    /// The setting or the path cannot work as given.
    #[error("{0}")]
    Misconfigured(String),
}

impl SinkError {
    /// A stable label for the audit trail and metrics.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Refused(_) => "refused",
            Self::Conflict(_) => "conflict",
            Self::Misconfigured(_) => "misconfigured",
        }
    }

    /// Whether the caller may simply try again later.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Conflict(_))
    }
}

/// One place a credential can be written to.
#[async_trait::async_trait]
pub trait Sink: Send + Sync + fmt::Debug {
    /// The `kind` in `handoff.toml`, e.g. `vault-kv2`.
    fn kind(&self) -> &'static str;

    /// Writes `credential` at `path` (the tenant's `sink_path`). Idempotent:
    /// if the sink already holds exactly this credential, nothing is written
    /// and `AlreadyApplied` is returned.
    async fn write(
        &self,
        path: &str,
        credential: &Credential<'_>,
    ) -> Result<WriteOutcome, SinkError>;

    /// Proves that the sink is reachable and that `path` (or the sink in
    /// general when `None`) is writable, without writing a secret. Returns a
    /// sentence for the operator.
    async fn check(&self, path: Option<&str>) -> Result<String, SinkError>;
}

/// `[sinks.<name>]` in `handoff.toml`, chosen by its `kind`. Unknown keys
/// are refused by each kind's table.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SinkEntry {
    VaultKv2(VaultKv2Entry),
    AzureKeyvault(AzureKeyVaultEntry),
    Webhook(WebhookSinkEntry),
    File(FileEntry),
}

/// Builds the sink `[sinks.<name>]` describes. Reads the files it names
/// (tokens, secrets) but makes no network request, so it is safe at
/// start-up and on reload; errors name the setting.
pub fn build(name: &str, entry: &SinkEntry) -> Result<Arc<dyn Sink>, ConfigError> {
    if !is_sink_name(name) {
        return Err(ConfigError::new(
            &format!("sinks.{name}"),
            "the name must be 1–64 lower-case letters, digits, '-' or '_'",
        ));
    }
    Ok(match entry {
        SinkEntry::VaultKv2(entry) => Arc::new(VaultKv2Sink::new(name, entry)?),
        SinkEntry::AzureKeyvault(entry) => Arc::new(AzureKeyVaultSink::new(name, entry)?),
        SinkEntry::Webhook(entry) => Arc::new(WebhookSink::new(name, entry)?),
        SinkEntry::File(entry) => Arc::new(FileSink::new(name, entry)?),
    })
}

fn is_sink_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `sinks.<name>.<field>`, the way errors name a setting.
fn setting(sink: &str, field: &str) -> String {
    format!("sinks.{sink}.{field}")
}

/// A secret given either inline or as a file, never both. A file's content
/// is trimmed: editors and `echo` add a line break.
fn secret_setting(
    sink: &str,
    field: &str,
    inline: Option<&SecretString>,
    file: Option<&PathBuf>,
) -> Result<Option<SecretString>, ConfigError> {
    let file_field = format!("{field}_file");
    let text = match (inline, file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                &setting(sink, field),
                format!("set either {field} or {file_field}, not both"),
            ));
        }
        (Some(secret), None) => secret.expose_secret().trim().to_owned(),
        (None, Some(path)) => {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    &setting(sink, &file_field),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?);
            if text.trim().is_empty() {
                return Err(ConfigError::new(
                    &setting(sink, &file_field),
                    format!("{} is empty", path.display()),
                ));
            }
            text.trim().to_owned()
        }
        (None, None) => return Ok(None),
    };
    if text.is_empty() {
        return Err(ConfigError::new(&setting(sink, field), "must not be empty"));
    }
    Ok(Some(SecretString::from(text)))
}

/// Whether `text` can travel in an HTTP header as is: visible ASCII only,
/// so that a stray line break in a token file cannot split a header.
fn is_header_safe(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// An absolute `http(s)` URL with a host and without query or fragment,
/// trailing slashes removed. Plain `http` is allowed for sinks inside the
/// vendor's own network (and for tests).
fn base_url(sink: &str, field: &str, text: &str) -> Result<reqwest::Url, ConfigError> {
    let bad = |reason: &str| ConfigError::new(&setting(sink, field), reason);
    // url's messages describe the problem without repeating the input.
    let mut url =
        reqwest::Url::parse(text.trim()).map_err(|error| bad(&format!("is not a URL: {error}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("must be an https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials; use the token settings"));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// `url` with `segments` appended, each escaped as one path segment so that
/// a path or name taken from configuration cannot point elsewhere.
fn join(url: &reqwest::Url, segments: &[&str]) -> reqwest::Url {
    let mut url = url.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_TIMEOUT_SECS: u64 = 300;

/// `timeout = "10s"`: how long one request to the sink may take.
fn timeout_setting(sink: &str, text: Option<&str>) -> Result<Duration, ConfigError> {
    let Some(text) = text else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let bad = |reason: String| ConfigError::new(&setting(sink, "timeout"), reason);
    match crate::domain::parse_duration_secs(text) {
        Ok(secs) if (1..=MAX_TIMEOUT_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        Ok(_) => Err(bad(format!("must be between 1s and {MAX_TIMEOUT_SECS}s"))),
        Err(reason) => Err(bad(reason)),
    }
}

/// An HTTPS client for one sink, built the way the rest of handoff builds
/// them, and the timeout it was built with (for messages).
#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    fn new(sink: &str, timeout: Duration) -> Result<Self, ConfigError> {
        let client = crate::outbound::client(timeout)
            .map_err(|error| ConfigError::new(&format!("sinks.{sink}"), error))?;
        Ok(Self { client, timeout })
    }

    /// Why a request got no answer, as an `Unreachable` naming `what`.
    /// Only the causes are kept: reqwest's own message repeats the URL.
    /// None of them ever holds the request body.
    fn unreachable(&self, what: &str, error: &reqwest::Error) -> SinkError {
        let reason = crate::outbound::describe_failure(error, self.timeout);
        SinkError::Unreachable(format!("{what} did not answer: {}", clip(&reason)))
    }
}

/// Longest text taken over from an answer into a sentence.
const MAX_ECHOED_CHARS: usize = 300;

/// `text` on one line and cut to a length fit for a sentence.
fn clip(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut clipped: String = one_line.chars().take(MAX_ECHOED_CHARS).collect();
    if clipped.len() < one_line.len() {
        clipped.push('…');
    }
    clipped
}

/// Reads an answer into a buffer that is wiped when dropped: answers from
/// a sink may hold the secrets stored there, or an access token. The
/// capacity is reserved up front where the length is known, so growing
/// leaves few copies behind; hyper's own buffers are out of reach. `None`
/// when the answer is longer than `max` bytes.
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Option<Zeroizing<Vec<u8>>>, reqwest::Error> {
    let expected = response
        .content_length()
        .map_or(16 * 1024, |n| usize::try_from(n).unwrap_or(max));
    let mut body = Zeroizing::new(Vec::with_capacity(expected.min(max)));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A value for an HTTP header that HTTP libraries leave out of their
/// `Debug` output.
fn sensitive_header(text: &str) -> Result<reqwest::header::HeaderValue, SinkError> {
    let mut value = reqwest::header::HeaderValue::from_str(text).map_err(|_| {
        SinkError::Misconfigured("a token holds characters that cannot go in a header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `YYYY-MM-DD` as the Unix time of that day's first second, UTC.
fn expiry_timestamp(expires_on: &str) -> Result<i64, SinkError> {
    time::Date::parse(
        expires_on,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(|date| date.midnight().assume_utc().unix_timestamp())
    .map_err(|_| {
        SinkError::Misconfigured(format!(
            "the expiry date {expires_on:?} is not a date such as 2027-05-31"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_prints_without_its_secret() {
        let credential = Credential {
            certificate: None,
            tenant: "contoso",
            client_secret: "abc8Q~Zy1_x.w-v~U9t8S7r6Q5p4O3n2M1l0KkJj",
            client_id: "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11",
            tenant_id: "contoso.onmicrosoft.com",
            expires_on: Some("2027-05-31"),
        };
        let printed = format!("{credential:?}");
        assert!(!printed.contains("abc8Q"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
        assert!(printed.contains("contoso.onmicrosoft.com"), "{printed}");
    }

    #[test]
    fn every_kind_parses_from_its_table() {
        let entries: std::collections::BTreeMap<String, SinkEntry> = toml::from_str(
            r#"
            [vault]
            kind = "vault-kv2"
            address = "https://bao.internal:8200"
            token = "s.abc"

            [kv]
            kind = "azure-keyvault"
            vault_url = "https://fabrikam-kv.vault.azure.net"
            tenant = "fabrikam.onmicrosoft.com"
            client_id = "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11"
            client_secret = "vendor-secret"

            [hook]
            kind = "webhook"
            url = "https://admin.fabrikam.example/handoff"
            secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

            [files]
            kind = "file"
            dir = "/run/handoff"
            format = "json"
            "#,
        )
        .unwrap();
        assert!(matches!(entries["vault"], SinkEntry::VaultKv2(_)));
        assert!(matches!(entries["kv"], SinkEntry::AzureKeyvault(_)));
        assert!(matches!(entries["hook"], SinkEntry::Webhook(_)));
        assert!(matches!(entries["files"], SinkEntry::File(_)));
        let printed = format!("{entries:?}");
        for hidden in ["s.abc", "vendor-secret", "MfKQ9r8"] {
            assert!(!printed.contains(hidden), "{printed}");
        }
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        let parse = |text: &str| toml::from_str::<SinkEntry>(text).unwrap_err().to_string();
        let unknown = parse("kind = \"file\"\ndir = \"/tmp\"\nmode = \"0644\"");
        assert!(unknown.contains("unknown field `mode`"), "{unknown}");
        let kind = parse("kind = \"s3\"\ndir = \"/tmp\"");
        assert!(kind.contains("unknown variant `s3`"), "{kind}");
    }

    #[test]
    fn a_sink_name_must_be_a_slug() {
        let entry: SinkEntry = toml::from_str("kind = \"file\"\ndir = \"/tmp\"").unwrap();
        let error = build("My Files", &entry).unwrap_err();
        assert_eq!(error.setting, "sinks.My Files");
    }

    #[test]
    fn a_secret_is_given_once_inline_or_as_a_file() {
        let inline = SecretString::from("s.abc");
        let file = PathBuf::from("/nonexistent/token");
        let both = secret_setting("vault", "token", Some(&inline), Some(&file)).unwrap_err();
        assert_eq!(both.setting, "sinks.vault.token");
        let unreadable = secret_setting("vault", "token", None, Some(&file)).unwrap_err();
        assert_eq!(unreadable.setting, "sinks.vault.token_file");
        assert!(unreadable.reason.contains("cannot read /nonexistent/token"));
        assert!(
            secret_setting("vault", "token", None, None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(timeout_setting("s", None).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(
            timeout_setting("s", Some("2s")).unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(
            timeout_setting("s", Some("0")).unwrap_err().setting,
            "sinks.s.timeout"
        );
        assert!(timeout_setting("s", Some("1h")).is_err());
    }

    #[test]
    fn expiry_dates_become_the_first_second_of_the_day() {
        assert_eq!(expiry_timestamp("2027-05-31").unwrap(), 1_811_721_600);
        assert!(matches!(
            expiry_timestamp("31.05.2027"),
            Err(SinkError::Misconfigured(_))
        ));
    }

    #[test]
    fn base_urls_lose_trailing_slashes_and_refuse_credentials() {
        let url = base_url("s", "address", "https://bao.internal:8200/").unwrap();
        assert_eq!(
            join(&url, &["v1", "a b"]).as_str(),
            "https://bao.internal:8200/v1/a%20b"
        );
        assert!(base_url("s", "address", "https://u:p@bao.internal").is_err());
        assert!(base_url("s", "address", "ftp://bao.internal").is_err());
    }
}
