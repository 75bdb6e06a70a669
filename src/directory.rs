//! Who the vendor's staff are and which customer tenants exist: the part of
//! `handoff.toml` that can change while the server runs (reloaded on
//! SIGHUP; a bad file keeps the previous directory).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use rand::rngs::SysRng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config_error::ConfigError;
use crate::domain::is_guid;
use crate::locale::Language;
use crate::mail::MailAddress;
use crate::sinks::{Sink, SinkEntry};

/// A staff member as `[staff.<name>]` in `handoff.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEntry {
    /// SHA-256 of the token, hex; `handoff token new` prints it.
    pub token_sha256: String,
}

/// A customer tenant as `[tenants.<slug>]` in `handoff.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    pub name: String,
    pub entra_tenant: String,
    pub client_id: String,
    pub authority: Option<String>,
    /// The scope asked for when verifying; national clouds need their own
    /// Graph host, e.g. `https://graph.microsoft.us/.default`.
    pub scope: Option<String>,
    pub verify: Option<String>,
    /// The `[sinks.<name>]` this tenant's configuration lives in.
    pub sink: Option<String>,
    /// Where in the sink (a KV path, a Key Vault secret name, a file stem).
    pub sink_path: Option<String>,
    /// URL told (signed, without the secret) after each good apply, so the
    /// vendor's application reloads its configuration.
    pub after_apply: Option<String>,
    /// Who at the customer gets request links by mail.
    pub contacts: Option<Vec<String>>,
    /// The language the contacts read (`en`, `de`, `fr`, `es`, `pt-BR`,
    /// `nl`, `it`, `ja`).
    pub language: Option<String>,
    /// Create and mail a request link by itself this many days before the
    /// tracked secret expires.
    pub auto_request_days_before: Option<u32>,
}

/// How strictly an answer is checked with Microsoft before it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Only a secret Microsoft accepts is taken.
    Required,
    /// Checked, but accepted (marked unverified) when Microsoft can't be reached.
    Advisory,
    /// Not checked.
    Off,
}

impl VerifyMode {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "required" => Ok(Self::Required),
            "advisory" => Ok(Self::Advisory),
            "off" => Ok(Self::Off),
            other => Err(format!("'{other}' must be required, advisory or off")),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Advisory => "advisory",
            Self::Off => "off",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub slug: String,
    pub name: String,
    /// GUID or verified domain, as the customer's admin would type it.
    pub entra_tenant: String,
    pub client_id: String,
    /// e.g. `https://login.microsoftonline.com`, or a national cloud's.
    pub authority: String,
    pub scope: String,
    pub verify: VerifyMode,
    /// The sink name and the path in it, when the tenant has one.
    pub sink: Option<(String, String)>,
    /// The reload hook called after each good apply.
    pub after_apply: Option<String>,
    /// Where request links are mailed; only these addresses ever get one.
    pub contacts: Vec<MailAddress>,
    pub language: Language,
    /// Days before expiry at which a request is created and mailed by itself.
    pub auto_request_days_before: Option<u32>,
}

impl Tenant {
    /// Requests for this tenant apply their answer at once unless asked
    /// not to: only when there is a sink and Microsoft must verify first.
    #[must_use]
    pub fn auto_applies_by_default(&self) -> bool {
        self.sink.is_some() && self.verify == VerifyMode::Required
    }
}

pub struct StaffMember {
    pub name: String,
    token_hash: [u8; 32],
}

impl fmt::Debug for StaffMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffMember")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub struct Directory {
    pub vendor_name: String,
    staff: Vec<StaffMember>,
    tenants: BTreeMap<String, Tenant>,
    sinks: BTreeMap<String, Arc<dyn Sink>>,
}

impl Directory {
    /// Whether the settings name the vendor (else `vendor_name` is a
    /// stand-in that pages do not put in their header).
    #[must_use]
    pub fn vendor_name_is_set(&self) -> bool {
        self.vendor_name != DEFAULT_VENDOR_NAME
    }
}

/// The sizes of a directory's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectorySummary {
    pub staff: usize,
    pub tenants: usize,
    pub sinks: usize,
}

impl DirectorySummary {
    /// `staff 2 → 3, tenants 4, sinks 1 → 2`: what a reload changed.
    #[must_use]
    pub fn changes_from(self, before: Self) -> String {
        let part = |name: &str, was: usize, now: usize| {
            if was == now {
                format!("{name} {now}")
            } else {
                format!("{name} {was} → {now}")
            }
        };
        format!(
            "{}, {}, {}",
            part("staff", before.staff, self.staff),
            part("tenants", before.tenants, self.tenants),
            part("sinks", before.sinks, self.sinks)
        )
    }
}

const DEFAULT_VENDOR_NAME: &str = "the vendor";
/// Request mails go to a few people, not a mailing list.
const MAX_CONTACTS: usize = 10;
/// A secret lives two years at most by default.
const MAX_AUTO_REQUEST_DAYS: u32 = 365;

fn is_slug(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_domain(text: &str) -> bool {
    text.contains('.')
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// What the directory is built from: the `vendor_name`, `[staff.*]`,
/// `[tenants.*]` and `[sinks.*]` parts of `handoff.toml`, and whether the
/// running server can sign `after_apply` hooks (with the webhook secret,
/// which is not reloaded).
#[derive(Debug, Default)]
pub struct DirectorySettings {
    pub vendor_name: Option<String>,
    pub staff: BTreeMap<String, StaffEntry>,
    pub tenants: BTreeMap<String, TenantEntry>,
    pub sinks: BTreeMap<String, SinkEntry>,
    pub can_sign_hooks: bool,
}

impl Directory {
    /// The one way to build a directory, at start-up and on every reload,
    /// so that a reload can never forget a part (sinks, hooks) that
    /// start-up builds. Makes no network request; errors name the setting.
    pub fn from_settings(settings: &DirectorySettings) -> Result<Self, ConfigError> {
        let staff = settings
            .staff
            .iter()
            .map(|(name, entry)| {
                let setting = format!("staff.{name}.token_sha256");
                let hash = decode_hex_32(entry.token_sha256.trim()).ok_or_else(|| {
                    ConfigError::new(&setting, "must be 64 hex digits (from `handoff token new`)")
                })?;
                Ok(StaffMember {
                    name: name.clone(),
                    token_hash: hash,
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        let tenants: BTreeMap<String, Tenant> = settings
            .tenants
            .iter()
            .map(|(slug, entry)| Self::parse_tenant(slug, entry).map(|t| (slug.clone(), t)))
            .collect::<Result<_, _>>()?;
        let sinks: BTreeMap<String, Arc<dyn Sink>> = settings
            .sinks
            .iter()
            .map(|(name, entry)| crate::sinks::build(name, entry).map(|sink| (name.clone(), sink)))
            .collect::<Result<_, _>>()?;
        for tenant in tenants.values() {
            if let Some((sink, _)) = &tenant.sink
                && !sinks.contains_key(sink)
            {
                return Err(ConfigError::new(
                    &format!("tenants.{}.sink", tenant.slug),
                    format!("there is no [sinks.{sink}]"),
                ));
            }
            if tenant.after_apply.is_some() && !settings.can_sign_hooks {
                return Err(ConfigError::new(
                    &format!("tenants.{}.after_apply", tenant.slug),
                    "needs HANDOFF_WEBHOOK_URL and HANDOFF_WEBHOOK_SECRET: the hook is signed with the webhook secret",
                ));
            }
        }
        Ok(Self {
            vendor_name: settings
                .vendor_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(DEFAULT_VENDOR_NAME)
                .to_owned(),
            staff,
            tenants,
            sinks,
        })
    }

    /// How many staff, tenants and sinks this directory holds, for the
    /// line a reload logs.
    #[must_use]
    pub fn summary(&self) -> DirectorySummary {
        DirectorySummary {
            staff: self.staff.len(),
            tenants: self.tenants.len(),
            sinks: self.sinks.len(),
        }
    }

    /// Who gets request links, in which language, and when handoff asks
    /// by itself.
    fn parse_mail_fields(
        slug: &str,
        entry: &TenantEntry,
        verify: VerifyMode,
    ) -> Result<(Vec<MailAddress>, Language, Option<u32>), ConfigError> {
        let setting = |field: &str| format!("tenants.{slug}.{field}");
        let contacts = entry
            .contacts
            .iter()
            .flatten()
            .map(|text| MailAddress::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| ConfigError::new(&setting("contacts"), reason))?;
        if contacts.len() > MAX_CONTACTS {
            return Err(ConfigError::new(
                &setting("contacts"),
                format!("at most {MAX_CONTACTS} addresses"),
            ));
        }
        let language = entry
            .language
            .as_deref()
            .map(|text| {
                Language::parse(text).map_err(|error| {
                    ConfigError::new(
                        &setting("language"),
                        format!("'{}' is {error}", text.trim()),
                    )
                })
            })
            .transpose()?
            .unwrap_or_default();
        let auto_request_days_before = match entry.auto_request_days_before {
            None => None,
            Some(days) if !(1..=MAX_AUTO_REQUEST_DAYS).contains(&days) => {
                return Err(ConfigError::new(
                    &setting("auto_request_days_before"),
                    format!("must be 1 to {MAX_AUTO_REQUEST_DAYS} days"),
                ));
            }
            Some(_) if contacts.is_empty() => {
                return Err(ConfigError::new(
                    &setting("auto_request_days_before"),
                    "needs contacts: the request is mailed to them",
                ));
            }
            // Nobody holds an automatic request's retrieve key: only the
            // server can apply its answer, the moment it arrives.
            Some(_) if entry.sink.is_none() || verify != VerifyMode::Required => {
                return Err(ConfigError::new(
                    &setting("auto_request_days_before"),
                    "needs a sink and verify = \"required\": the answer of an automatic request is applied as it arrives, without staff",
                ));
            }
            Some(days) => Some(days),
        };
        Ok((contacts, language, auto_request_days_before))
    }

    fn parse_tenant(slug: &str, entry: &TenantEntry) -> Result<Tenant, ConfigError> {
        let setting = |field: &str| format!("tenants.{slug}.{field}");
        if !is_slug(slug) {
            return Err(ConfigError::new(
                &format!("tenants.{slug}"),
                "the name must be 1–64 lower-case letters, digits, '-' or '_'",
            ));
        }
        let entra_tenant = entry.entra_tenant.trim().to_ascii_lowercase();
        if !is_guid(&entra_tenant) && !is_domain(&entra_tenant) {
            return Err(ConfigError::new(
                &setting("entra_tenant"),
                "must be the tenant's GUID or a verified domain such as contoso.onmicrosoft.com",
            ));
        }
        let client_id = entry.client_id.trim().to_ascii_lowercase();
        if !is_guid(&client_id) {
            return Err(ConfigError::new(
                &setting("client_id"),
                "must be the app registration's Application (client) ID, a GUID",
            ));
        }
        let authority = parse_authority(
            entry
                .authority
                .as_deref()
                .unwrap_or(crate::verify::DEFAULT_AUTHORITY),
        )
        .map_err(|reason| ConfigError::new(&setting("authority"), reason))?;
        let scope = entry
            .scope
            .as_deref()
            .unwrap_or(crate::verify::GRAPH_SCOPE)
            .trim()
            .to_owned();
        if !scope.starts_with("https://") || scope.contains(char::is_whitespace) {
            return Err(ConfigError::new(
                &setting("scope"),
                "must be a scope such as https://graph.microsoft.us/.default",
            ));
        }
        let verify = VerifyMode::parse(entry.verify.as_deref().unwrap_or("required").trim())
            .map_err(|reason| ConfigError::new(&setting("verify"), reason))?;
        let name = entry.name.trim();
        if name.is_empty() {
            return Err(ConfigError::new(&setting("name"), "must not be empty"));
        }
        let (contacts, language, auto_request_days_before) =
            Self::parse_mail_fields(slug, entry, verify)?;
        Ok(Tenant {
            contacts,
            language,
            auto_request_days_before,
            slug: slug.to_owned(),
            name: name.to_owned(),
            entra_tenant,
            client_id,
            authority,
            scope,
            verify,
            after_apply: entry
                .after_apply
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|url| {
                    if url.starts_with("https://") || url.starts_with("http://") {
                        Ok(url.to_owned())
                    } else {
                        Err(ConfigError::new(
                            &setting("after_apply"),
                            "must be an http(s) URL",
                        ))
                    }
                })
                .transpose()?,
            sink: entry.sink.as_ref().map(|sink| {
                (
                    sink.trim().to_owned(),
                    entry.sink_path.as_deref().unwrap_or("").trim().to_owned(),
                )
            }),
        })
    }

    #[must_use]
    pub fn sink(&self, name: &str) -> Option<&Arc<dyn Sink>> {
        self.sinks.get(name)
    }

    pub fn sinks(&self) -> impl Iterator<Item = (&String, &Arc<dyn Sink>)> {
        self.sinks.iter()
    }

    /// The staff member holding `token`. Compares against every entry in
    /// constant time, so timing tells nothing about which was close.
    #[must_use]
    pub fn staff_by_token(&self, token: &str) -> Option<&StaffMember> {
        let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        let mut found = None;
        for member in &self.staff {
            if bool::from(member.token_hash.ct_eq(&hash)) {
                found = Some(member);
            }
        }
        found
    }

    #[must_use]
    pub fn staff_member(&self, name: &str) -> Option<&StaffMember> {
        self.staff.iter().find(|m| m.name == name)
    }

    #[must_use]
    pub fn has_staff(&self) -> bool {
        !self.staff.is_empty()
    }

    #[must_use]
    pub fn tenant(&self, slug: &str) -> Option<&Tenant> {
        self.tenants.get(slug)
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }
}

impl StaffMember {
    /// A value that changes when the member's token does; bound into their
    /// session cookies so that replacing a token signs old sessions out.
    #[must_use]
    pub fn token_fingerprint(&self) -> &[u8; 32] {
        &self.token_hash
    }
}

/// A tenant's authority, where the customer's secret is sent to be
/// verified: `https://`, or plain `http://` only to this machine itself
/// (127.0.0.0/8, `::1`, `localhost`: a local stand-in or a test), since
/// anywhere else it would carry the secret in clear.
fn parse_authority(text: &str) -> Result<String, &'static str> {
    let text = text.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(text).map_err(|_| "must be an https:// URL")?;
    let host = url.host_str().unwrap_or("");
    if host.is_empty() {
        return Err("must be an https:// URL with a host");
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(
                "must be an https:// URL: plain http:// would send the customer's secret in clear (it is allowed only for loopback hosts: 127.0.0.0/8, ::1, localhost)",
            );
        }
        _ => return Err("must be an https:// URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(text.to_owned())
}

/// `127.0.0.0/8`, `::1` (as the URL writes it, `[::1]`) or `localhost`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().map_or_else(
        |_| bare.eq_ignore_ascii_case("localhost"),
        |ip| ip.is_loopback(),
    )
}

fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A new staff token and the `handoff.toml` lines that admit it.
#[must_use]
pub fn new_staff_token(name: &str) -> (Zeroizing<String>, String) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    SysRng
        .try_fill_bytes(bytes.as_mut())
        .expect("the operating system's random number generator failed");
    let token = Zeroizing::new(format!("hst_{}", URL_SAFE_NO_PAD.encode(bytes.as_ref())));
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        });
    (token, format!("[staff.{name}]\ntoken_sha256 = \"{hash}\""))
}

/// The directory in force; replaced whole on reload, so a request sees one
/// consistent version from start to end.
#[derive(Clone, Default)]
pub struct SharedDirectory(Arc<RwLock<Arc<Directory>>>);

impl SharedDirectory {
    #[must_use]
    pub fn new(directory: Directory) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(directory))))
    }

    #[must_use]
    pub fn current(&self) -> Arc<Directory> {
        Arc::clone(
            &self
                .0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub fn replace(&self, directory: Directory) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(directory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(entra_tenant: &str, client_id: &str) -> TenantEntry {
        TenantEntry {
            name: "Contoso Ltd".into(),
            entra_tenant: entra_tenant.into(),
            client_id: client_id.into(),
            authority: None,
            scope: None,
            verify: None,
            sink: None,
            sink_path: None,
            after_apply: None,
            contacts: None,
            language: None,
            auto_request_days_before: None,
        }
    }

    #[test]
    fn contacts_and_language_are_checked_and_an_automatic_request_needs_a_sink() {
        let mut entry = tenant("contoso.onmicrosoft.com", APP);
        entry.contacts = Some(vec!["it-admin@contoso.example".into()]);
        entry.language = Some("pt-BR".into());
        let parsed = Directory::parse_tenant("contoso", &entry).unwrap();
        assert_eq!(parsed.language, Language::PtBr);
        assert_eq!(parsed.contacts.len(), 1);

        entry.auto_request_days_before = Some(30);
        let refused = Directory::parse_tenant("contoso", &entry).unwrap_err();
        assert_eq!(refused.setting, "tenants.contoso.auto_request_days_before");

        entry.contacts = Some(vec!["not an address".into()]);
        let refused = Directory::parse_tenant("contoso", &entry).unwrap_err();
        assert_eq!(refused.setting, "tenants.contoso.contacts");

        entry.contacts = None;
        entry.language = Some("tlh".into());
        let refused = Directory::parse_tenant("contoso", &entry).unwrap_err();
        assert_eq!(refused.setting, "tenants.contoso.language");
    }

    const APP: &str = "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11";

    #[test]
    fn a_new_token_admits_its_holder_and_no_one_else() {
        let (token, lines) = new_staff_token("alice");
        let file: BTreeMap<String, BTreeMap<String, StaffEntry>> = toml::from_str(&lines).unwrap();
        let directory = Directory::from_settings(&DirectorySettings {
            staff: file["staff"].clone(),
            ..DirectorySettings::default()
        })
        .unwrap();
        assert_eq!(directory.staff_by_token(&token).unwrap().name, "alice");
        assert!(directory.staff_by_token("hst_wrong").is_none());
        assert!(token.starts_with("hst_"));
    }

    #[test]
    fn tenants_default_to_the_public_cloud_and_required_verification() {
        let tenants =
            BTreeMap::from([("contoso".to_owned(), tenant("contoso.onmicrosoft.com", APP))]);
        let directory = Directory::from_settings(&DirectorySettings {
            vendor_name: Some("Fabrikam".into()),
            tenants,
            ..DirectorySettings::default()
        })
        .unwrap();
        let contoso = directory.tenant("contoso").unwrap();
        assert_eq!(contoso.authority, crate::verify::DEFAULT_AUTHORITY);
        assert_eq!(contoso.verify, VerifyMode::Required);
        assert_eq!(contoso.scope, crate::verify::GRAPH_SCOPE);
        assert_eq!(directory.vendor_name, "Fabrikam");
    }

    #[test]
    fn bad_tenant_settings_name_the_field() {
        let parse = |slug: &str, entry: TenantEntry| {
            Directory::from_settings(&DirectorySettings {
                tenants: BTreeMap::from([(slug.to_owned(), entry)]),
                ..DirectorySettings::default()
            })
            .unwrap_err()
        };
        assert_eq!(
            parse("contoso", tenant("contoso", APP)).setting,
            "tenants.contoso.entra_tenant"
        );
        assert_eq!(
            parse("contoso", tenant("contoso.com", "nope")).setting,
            "tenants.contoso.client_id"
        );
        assert_eq!(
            parse("Con toso", tenant("contoso.com", APP)).setting,
            "tenants.Con toso"
        );
        let mut loose = tenant("contoso.com", APP);
        loose.verify = Some("sometimes".into());
        assert_eq!(parse("contoso", loose).setting, "tenants.contoso.verify");
        let mut scoped = tenant("contoso.com", APP);
        scoped.scope = Some("graph".into());
        assert_eq!(parse("contoso", scoped).setting, "tenants.contoso.scope");
    }

    #[test]
    fn a_tenants_authority_is_https_or_plain_http_to_this_machine_only() {
        for good in [
            "https://login.microsoftonline.com",
            "https://login.microsoftonline.us/",
            "http://127.0.0.1:8123",
            "http://127.9.9.9/",
            "http://[::1]:9000",
            "http://localhost:9000",
            "http://LOCALHOST",
        ] {
            assert!(parse_authority(good).is_ok(), "{good}");
        }
        for bad in [
            "http://login.microsoftonline.com",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
            "http://[::2]",
            "ftp://login.microsoftonline.com",
            "login.microsoftonline.com",
            "https://user:pass@login.microsoftonline.com",
            "https://login.microsoftonline.com/?x=1",
        ] {
            assert!(parse_authority(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_authority(" https://login.microsoftonline.com/ ").unwrap(),
            "https://login.microsoftonline.com"
        );
        let mut plain = tenant("contoso.com", APP);
        plain.authority = Some("http://login.microsoftonline.com".into());
        let err = Directory::from_settings(&DirectorySettings {
            tenants: BTreeMap::from([("contoso".to_owned(), plain)]),
            ..DirectorySettings::default()
        })
        .unwrap_err();
        assert_eq!(err.setting, "tenants.contoso.authority");
        assert!(err.reason.contains("in clear"), "{err}");
    }

    #[test]
    fn a_bad_token_hash_is_refused() {
        let staff = BTreeMap::from([(
            "bob".to_owned(),
            StaffEntry {
                token_sha256: "abc".into(),
            },
        )]);
        let err = Directory::from_settings(&DirectorySettings {
            staff,
            ..DirectorySettings::default()
        })
        .unwrap_err();
        assert_eq!(err.setting, "staff.bob.token_sha256");
    }
}
