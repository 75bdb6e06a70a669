//! A webhook to the vendor's own admin API, for vendors whose tenant
//! configuration lives behind it: one `POST` carrying the credential,
//! signed as the Standard Webhooks spec says, so that any of its reference
//! libraries can check it.
//!
//! Unlike handoff's event webhooks, this one carries a secret and is sent
//! once, in the caller's request: the caller sees the answer and retries.
//! The receiver recognises a retry by its `webhook-id`, which is derived
//! from the credential and so the same every time it is sent again.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::TryRng as _;
use rand::rngs::SysRng;
use reqwest::StatusCode;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::{
    Credential, Http, Sink, SinkError, WriteOutcome, redacted_url, secret_setting, setting,
    timeout_setting,
};
use crate::config_error::ConfigError;
use crate::webhook::{WebhookSecret, WebhookTarget, sign};

/// `[sinks.<name>]` with `kind = "webhook"`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkEntry {
    /// The vendor's endpoint; `http` only inside the vendor's own network.
    pub url: String,
    /// The signing secret, `whsec_…`.
    pub secret: Option<SecretString>,
    pub secret_file: Option<PathBuf>,
    /// One request's time limit [default: 10s].
    pub timeout: Option<String>,
}

impl fmt::Debug for WebhookSinkEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSinkEntry")
            .field("url", &redacted_url(&self.url))
            .field("secret", &self.secret)
            .field("secret_file", &self.secret_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Domain separation for message ids: the MAC input starts with an id no
/// real message has, at timestamp 0, which receivers refuse as too old.
const ID_CONTEXT: &str = "handoff/sink-message-id/v1";

/// Message-id MAC bytes kept. A truncated MAC is never a valid signature,
/// so sending it in a header gives nothing away.
const ID_BYTES: usize = 16;

pub struct WebhookSink {
    name: String,
    target: WebhookTarget,
    url: reqwest::Url,
    http: Http,
}

impl WebhookSink {
    pub fn new(name: &str, entry: &WebhookSinkEntry) -> Result<Self, ConfigError> {
        let secret = secret_setting(
            name,
            "secret",
            entry.secret.as_ref(),
            entry.secret_file.as_ref(),
        )?
        .ok_or_else(|| {
            ConfigError::new(
                &setting(name, "secret"),
                "required (or secret_file): the whsec_… signing secret",
            )
        })?;
        let secret_field = if entry.secret_file.is_some() {
            "secret_file"
        } else {
            "secret"
        };
        let secret = WebhookSecret::parse(secret.expose_secret())
            .map_err(|reason| ConfigError::new(&setting(name, secret_field), reason))?;
        let target = WebhookTarget::parse(&entry.url, secret)
            .map_err(|reason| ConfigError::new(&setting(name, "url"), reason))?;
        let url = reqwest::Url::parse(&target.url)
            .map_err(|error| ConfigError::new(&setting(name, "url"), error.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            target,
            url,
            http: Http::new(name, timeout_setting(name, entry.timeout.as_deref())?)?,
        })
    }

    /// `msg_` and the base64url of a MAC over everything the event says,
    /// under the signing key: the same credential always gets the same id,
    /// so the receiver can drop a retry it has already applied; anything
    /// different gets another id. Only the receiver, who holds the key, can
    /// tie an id to a secret.
    fn message_id(&self, path: &str, credential: &Credential<'_>) -> Result<String, SinkError> {
        let material = Zeroizing::new(
            serde_json::to_vec(&(
                credential.tenant,
                path,
                credential.client_id,
                credential.tenant_id,
                credential.client_secret,
                credential.expires_on,
            ))
            .map_err(|_| SinkError::Misconfigured("could not encode the event".into()))?,
        );
        let signature = sign(&self.target.secret, ID_CONTEXT, 0, &material);
        let mac = signature
            .strip_prefix("v1,")
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .filter(|mac| mac.len() >= ID_BYTES)
            .ok_or_else(|| SinkError::Misconfigured("could not derive a message id".into()))?;
        Ok(format!("msg_{}", URL_SAFE_NO_PAD.encode(&mac[..ID_BYTES])))
    }

    /// One signed `POST`; the answer's body has no meaning to the spec and
    /// is not read (a receiver's error page might repeat what it was sent).
    async fn post(&self, message_id: &str, body: &[u8], what: &str) -> Result<(), SinkError> {
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = sign(&self.target.secret, message_id, timestamp, body);
        let shown = format!("the webhook at {}", redacted_url(&self.target.url));
        let response = self
            .http
            .client
            .post(self.url.clone())
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            // reqwest keeps its own copy of the body, out of reach of wiping.
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| self.http.unreachable(&shown, &error))?;
        let status = response.status();
        let code = status.as_u16();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error()
            || matches!(
                status,
                StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
            )
        {
            Err(SinkError::Unreachable(format!(
                "{shown} failed {what} (HTTP {code}); try again"
            )))
        } else if status.is_redirection() {
            Err(SinkError::Misconfigured(format!(
                "{shown} answered {what} with a redirect (HTTP {code}), which handoff does not \
                 follow; set url to the final address"
            )))
        } else {
            Err(SinkError::Refused(format!(
                "{shown} refused {what} (HTTP {code})"
            )))
        }
    }
}

/// The spec's envelope. The timestamp is now, in whole seconds: receivers
/// parse RFC 3339 with fractions unevenly.
fn envelope(event_type: &str, data: &serde_json::Value) -> Result<Zeroizing<Vec<u8>>, SinkError> {
    let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
        .ok()
        .and_then(|now| now.format(&Rfc3339).ok())
        .ok_or_else(|| SinkError::Misconfigured("the clock is out of range".into()))?;
    serde_json::to_vec(&json!({ "type": event_type, "timestamp": now, "data": data }))
        .map(Zeroizing::new)
        .map_err(|_| SinkError::Misconfigured("could not encode the event".into()))
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Sink for WebhookSink {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    async fn write(
        &self,
        path: &str,
        credential: &Credential<'_>,
    ) -> Result<WriteOutcome, SinkError> {
        let path = path.trim();
        let message_id = self.message_id(path, credential)?;
        // serde_json's strings cannot be wiped; the encoded body can.
        let data = match credential.certificate {
            // A certificate credential: its private key and certificate in
            // PEM, instead of a secret.
            Some(certificate) => json!({
                "tenant": credential.tenant,
                "path": path,
                "client_id": credential.client_id,
                "tenant_id": credential.tenant_id,
                "private_key": credential.client_secret,
                "certificate": certificate.pem,
                "thumbprint": certificate.thumbprint,
                "expires_on": credential.expires_on,
            }),
            None => json!({
                "tenant": credential.tenant,
                "path": path,
                "client_id": credential.client_id,
                "tenant_id": credential.tenant_id,
                "client_secret": credential.client_secret,
                "expires_on": credential.expires_on,
            }),
        };
        let body = envelope("tenant.credential", &data)?;
        drop(data);
        self.post(&message_id, &body, "the credential").await?;
        Ok(WriteOutcome::Written { version: None })
    }

    async fn check(&self, path: Option<&str>) -> Result<String, SinkError> {
        let mut random = [0u8; 16];
        SysRng.try_fill_bytes(&mut random).map_err(|_| {
            SinkError::Misconfigured("the operating system's random number generator failed".into())
        })?;
        let message_id = format!("msg_{}", URL_SAFE_NO_PAD.encode(random));
        let body = envelope(
            "sink.check",
            &json!({ "sink": self.name, "path": path.map(str::trim) }),
        )?;
        self.post(&message_id, &body, "a signed check").await?;
        Ok(format!(
            "the webhook at {} accepted a signed check.",
            redacted_url(&self.target.url)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn sink(url: &str) -> WebhookSink {
        let entry: WebhookSinkEntry =
            toml::from_str(&format!("url = \"{url}\"\nsecret = \"{SECRET}\"")).unwrap();
        WebhookSink::new("hook", &entry).unwrap()
    }

    fn credential(secret: &str) -> Credential<'_> {
        Credential {
            certificate: None,
            tenant: "contoso",
            client_secret: secret,
            client_id: "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11",
            tenant_id: "contoso.onmicrosoft.com",
            expires_on: None,
        }
    }

    #[test]
    fn message_ids_follow_the_credential() {
        let sink = sink("https://admin.fabrikam.example/handoff");
        let first = sink.message_id("", &credential("one")).unwrap();
        assert_eq!(first, sink.message_id("", &credential("one")).unwrap());
        assert_ne!(first, sink.message_id("", &credential("two")).unwrap());
        assert_ne!(first, sink.message_id("p", &credential("one")).unwrap());
        assert_eq!(first.len(), "msg_".len() + 22);
    }

    #[test]
    fn the_entry_and_the_sink_print_without_the_secret_or_the_urls_token() {
        let url = "https://admin.fabrikam.example/handoff?token=t0ken";
        let entry: WebhookSinkEntry =
            toml::from_str(&format!("url = \"{url}\"\nsecret = \"{SECRET}\"")).unwrap();
        let printed = format!("{entry:?} {:?}", sink(url));
        for hidden in ["t0ken", "MfKQ9r8"] {
            assert!(!printed.contains(hidden), "{printed}");
        }
    }

    #[test]
    fn bad_settings_name_the_field() {
        let error = |text: &str| {
            let entry: WebhookSinkEntry = toml::from_str(text).unwrap();
            WebhookSink::new("hook", &entry).unwrap_err().setting
        };
        assert_eq!(error("url = \"https://a.example\""), "sinks.hook.secret");
        assert_eq!(
            error("url = \"https://a.example\"\nsecret = \"nope\""),
            "sinks.hook.secret"
        );
        assert_eq!(
            error(&format!("url = \"a.example\"\nsecret = \"{SECRET}\"")),
            "sinks.hook.url"
        );
    }
}
