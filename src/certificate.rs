//! Certificate credentials: the vendor makes the key pair, the customer
//! uploads only the public certificate to their app registration, and the
//! private key signs client assertions (RFC 7523) without leaving the
//! vendor. Key generation is the `rsa` crate (`ring` cannot generate RSA
//! keys); the certificate and every signature are ring's, through `rcgen`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::rngs::SysRng;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SigningKey};
use rsa::pkcs8::EncodePrivateKey as _;
use rustls_pki_types::PrivatePkcs8KeyDer;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::domain::{InvalidInput, UnixTime, parse_duration_secs};

/// Entra ID takes RSA keys of 2048 bits or more for app credentials.
pub const KEY_BITS: usize = 2048;
const DAY: u64 = 86_400;
/// A month, as `valid_for` counts it: a twelfth of a year, whole days.
const MONTH_DAYS: u64 = 30;
const DEFAULT_VALID_DAYS: u64 = 365;
const MAX_VALID_DAYS: u64 = 730;
/// A client assertion lives this long (Microsoft takes at most 10 minutes).
const ASSERTION_SECS: UnixTime = 300;

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("the key pair could not be generated: {0}")]
    KeyGeneration(String),
    #[error("the certificate could not be made: {0}")]
    Certificate(String),
    #[error("the sealed private key is not a usable key: {0}")]
    Key(String),
}

/// How long a new certificate is valid: one day to 24 months, 12 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidFor(u64);

impl Default for ValidFor {
    fn default() -> Self {
        Self(DEFAULT_VALID_DAYS * DAY)
    }
}

impl ValidFor {
    /// `12mo`, `365d`, `8760h` or seconds.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let invalid = |reason: String| InvalidInput::new("valid_for", reason);
        let text = text.trim();
        let secs = match text.strip_suffix("mo") {
            Some(months) => months
                .parse::<u64>()
                .ok()
                .and_then(|m| m.checked_mul(MONTH_DAYS * DAY))
                .ok_or_else(|| {
                    invalid(format!("'{text}' is not a number of months (e.g. 12mo)"))
                })?,
            None => parse_duration_secs(text).map_err(invalid)?,
        };
        if (DAY..=MAX_VALID_DAYS * DAY).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(invalid(
                "must be between 1d and 24mo (730d): Entra ID warns about longer-lived \
                 credentials"
                    .to_owned(),
            ))
        }
    }

    #[must_use]
    pub fn as_secs(self) -> u64 {
        self.0
    }
}

/// A new key pair and its self-signed certificate.
pub struct NewCredential {
    pub certificate_der: Vec<u8>,
    /// PKCS#8, PEM: sealed at once, never shown.
    pub private_key_pem: Zeroizing<String>,
    pub not_after: UnixTime,
}

/// Makes an RSA key pair and a self-signed certificate naming the vendor
/// (issuer organisation) and the tenant (subject). CPU-bound for a fraction
/// of a second: call it off the async threads.
pub fn generate(
    vendor: &str,
    tenant: &str,
    valid_for: ValidFor,
    now: UnixTime,
) -> Result<NewCredential, CertificateError> {
    let private = rsa::PrivateKey::new(&mut SysRng, KEY_BITS)
        .map_err(|e| CertificateError::KeyGeneration(e.to_string()))?;
    let pkcs8 = private
        .to_pkcs8_der()
        .map_err(|e| CertificateError::KeyGeneration(e.to_string()))?;
    let key = key_pair(pkcs8.as_bytes())?;
    let not_before = time::OffsetDateTime::from_unix_timestamp(now - 300)
        .map_err(|e| CertificateError::Certificate(e.to_string()))?;
    let not_after = not_before + time::Duration::seconds(valid_for.as_secs() as i64 + 300);
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, format!("{vendor} for {tenant}"));
    name.push(DnType::OrganizationName, vendor);
    params.distinguished_name = name;
    params.not_before = not_before;
    params.not_after = not_after;
    let certificate = params
        .self_signed(&key)
        .map_err(|e| CertificateError::Certificate(e.to_string()))?;
    Ok(NewCredential {
        certificate_der: certificate.der().to_vec(),
        private_key_pem: Zeroizing::new(key.serialize_pem()),
        not_after: not_after.unix_timestamp(),
    })
}

fn key_pair(pkcs8: &[u8]) -> Result<KeyPair, CertificateError> {
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), &PKCS_RSA_SHA256)
        .map_err(|e| CertificateError::Key(e.to_string()))
}

/// The certificate as PEM, for download and for sinks.
#[must_use]
pub fn certificate_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

const BEGIN_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";

/// An accepted certificate credential as it is sealed and delivered: the
/// private key's PEM, then the certificate's.
pub struct Bundle<'a> {
    pub private_key_pem: &'a str,
    pub certificate_pem: &'a str,
    pub certificate_der: Vec<u8>,
}

impl<'a> Bundle<'a> {
    #[must_use]
    pub fn join(private_key_pem: &str, certificate_der: &[u8]) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{}{}",
            private_key_pem,
            certificate_pem(certificate_der)
        ))
    }

    /// `None` for anything that is not a bundle (a client secret).
    #[must_use]
    pub fn parse(text: &'a str) -> Option<Self> {
        if !text.starts_with("-----BEGIN PRIVATE KEY-----") {
            return None;
        }
        let at = text.find(BEGIN_CERTIFICATE)?;
        let (private_key_pem, certificate_pem) = text.split_at(at);
        let body: String = certificate_pem
            .strip_prefix(BEGIN_CERTIFICATE)?
            .split("-----END CERTIFICATE-----")
            .next()?
            .split_whitespace()
            .collect();
        let certificate_der = STANDARD.decode(body).ok()?;
        Some(Self {
            private_key_pem,
            certificate_pem,
            certificate_der,
        })
    }
}

/// The thumbprint the Entra portal shows: SHA-1 of the DER, upper-case hex.
#[must_use]
pub fn thumbprint_sha1(der: &[u8]) -> String {
    hex_upper(&Sha1::digest(der))
}

/// SHA-256 of the DER, upper-case hex.
#[must_use]
pub fn thumbprint_sha256(der: &[u8]) -> String {
    hex_upper(&Sha256::digest(der))
}

/// What staff see of a certificate credential instead of a secret's first
/// characters.
#[must_use]
pub fn hint(thumbprint: &str) -> String {
    format!("certificate {thumbprint}")
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02X}");
        out
    })
}

/// A client assertion (RFC 7523, as Entra ID documents it): RS256, the
/// certificate's `x5t#S256` (and SHA-1 `x5t`) in the header, `aud` the
/// token endpoint, `iss` = `sub` = the client ID, a fresh `jti`, five
/// minutes of life.
pub fn client_assertion(
    private_key_pem: &str,
    certificate_der: &[u8],
    token_endpoint: &str,
    client_id: &str,
    now: UnixTime,
) -> Result<Zeroizing<String>, CertificateError> {
    let key = KeyPair::from_pkcs8_pem_and_sign_algo(private_key_pem, &PKCS_RSA_SHA256)
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    let header = serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t#S256": URL_SAFE_NO_PAD.encode(Sha256::digest(certificate_der)),
        "x5t": URL_SAFE_NO_PAD.encode(Sha1::digest(certificate_der)),
    });
    let mut jti = [0u8; 16];
    rand::TryRng::try_fill_bytes(&mut SysRng, &mut jti)
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    let claims = serde_json::json!({
        "aud": token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "jti": URL_SAFE_NO_PAD.encode(jti),
        "nbf": now,
        "iat": now,
        "exp": now + ASSERTION_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(signing_input.as_bytes())
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    Ok(Zeroizing::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_for_defaults_to_a_year_and_stops_at_24_months() {
        assert_eq!(ValidFor::default().as_secs(), 365 * DAY);
        assert_eq!(ValidFor::parse("12mo").unwrap().as_secs(), 360 * DAY);
        assert_eq!(ValidFor::parse("730d").unwrap().as_secs(), 730 * DAY);
        assert!(ValidFor::parse("25mo").is_err());
        assert!(ValidFor::parse("731d").is_err());
        assert!(ValidFor::parse("1h").is_err());
        assert!(ValidFor::parse("soon").is_err());
        assert!(ValidFor::parse("99999999999999999999mo").is_err());
    }

    #[test]
    fn a_generated_certificate_signs_assertions_and_has_both_thumbprints() {
        let now = 1_795_305_600;
        let new = generate("Acme", "Contoso", ValidFor::default(), now).unwrap();
        assert_eq!(new.not_after, now + 365 * 86_400);
        assert!(
            new.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(certificate_pem(&new.certificate_der).starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(thumbprint_sha1(&new.certificate_der).len(), 40);
        assert_eq!(thumbprint_sha256(&new.certificate_der).len(), 64);
        let jwt = client_assertion(
            &new.private_key_pem,
            &new.certificate_der,
            "https://login.example/t/oauth2/v2.0/token",
            "app",
            now,
        )
        .unwrap();
        assert_eq!(jwt.split('.').count(), 3);
        let joined = Bundle::join(&new.private_key_pem, &new.certificate_der);
        let bundle = Bundle::parse(&joined).unwrap();
        assert_eq!(bundle.private_key_pem, new.private_key_pem.as_str());
        assert_eq!(bundle.certificate_der, new.certificate_der);
        assert!(Bundle::parse("abc8Q~secret").is_none());
    }
}
