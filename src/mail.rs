//! Mail: the SMTP settings, the messages handoff writes (a request link for
//! a tenant's contacts, an expiry reminder for staff, a test message) and
//! one attempt at sending one. Retries, leases and the audit trail belong
//! to the outbox (`webhook`) and the service; this module only talks SMTP,
//! through lettre.
//!
//! Messages are plain text and HTML from askama templates (escaped), with
//! no tracking pixel, no external image and no link but the one they carry.
//! Neither the password nor a message body is ever logged.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use askama::Template;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::config_error::ConfigError;
use crate::locale::{self, Language};

/// One attempt (connect, TLS, auth, the whole message) takes at most this.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Mails per tenant per day unless `HANDOFF_MAIL_DAILY_CAP` says otherwise:
/// plenty for requests staff create by hand, few enough that a runaway
/// script cannot flood a customer.
pub const DEFAULT_DAILY_CAP: u32 = 20;
const MAX_DAILY_CAP: u32 = 1000;

/// The server's answers end up in the audit trail; this keeps one short.
const MAX_ANSWER_CHARS: usize = 300;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// Plain at first, then STARTTLS, which must succeed (usually port 587).
    StartTls,
    /// No TLS at all: only to a server on this machine.
    None,
}

impl Security {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "tls" => Ok(Self::Tls),
            "starttls" => Ok(Self::StartTls),
            "none" => Ok(Self::None),
            other => Err(format!("'{other}' must be tls, starttls or none")),
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Tls => 465,
            Self::StartTls => 587,
            Self::None => 25,
        }
    }
}

/// A mail address, checked as SMTP would take it. `parse` is the only way in.
#[derive(Clone, PartialEq, Eq)]
pub struct MailAddress(Address);

impl MailAddress {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        Address::from_str(text)
            .map(Self)
            .map_err(|_| format!("'{text}' is not a mail address (name@example.com)"))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.domain()
    }
}

impl fmt::Debug for MailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for MailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mail settings as read (`[mail]` in `handoff.toml`, `HANDOFF_MAIL_*`),
/// before they are checked.
#[derive(Default)]
pub struct MailParts {
    pub host: Option<String>,
    pub port: Option<String>,
    pub security: Option<String>,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub staff: Option<String>,
    pub daily_cap: Option<String>,
}

/// Checked mail settings.
#[derive(Clone)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<(String, SecretString)>,
    pub from: MailAddress,
    /// The sender's display name, e.g. the vendor's.
    pub from_name: Option<String>,
    /// Where expiry reminders go, if anywhere.
    pub staff: Option<MailAddress>,
    /// Mails per tenant per day at most.
    pub daily_cap: u32,
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("password", &self.credentials.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("from_name", &self.from_name)
            .field("staff", &self.staff)
            .field("daily_cap", &self.daily_cap)
            .finish()
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl MailSettings {
    /// `None` when no host is set (mail is off); errors name the setting.
    pub fn parse(parts: MailParts) -> Result<Option<Self>, ConfigError> {
        let Some(host) = parts
            .host
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
        else {
            for (value, setting) in [
                (parts.from.is_some(), "HANDOFF_MAIL_FROM"),
                (parts.user.is_some(), "HANDOFF_MAIL_USER"),
                (parts.staff.is_some(), "HANDOFF_MAIL_STAFF"),
            ] {
                if value {
                    return Err(ConfigError::new(
                        setting,
                        "needs HANDOFF_MAIL_HOST, the SMTP server",
                    ));
                }
            }
            return Ok(None);
        };
        if host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
            return Err(ConfigError::new(
                "HANDOFF_MAIL_HOST",
                "must be a host name or address, e.g. smtp.example.com",
            ));
        }
        let security = Security::parse(parts.security.as_deref().unwrap_or("starttls"))
            .map_err(|reason| ConfigError::new("HANDOFF_MAIL_SECURITY", reason))?;
        if security == Security::None && !is_loopback(&host) {
            return Err(ConfigError::new(
                "HANDOFF_MAIL_SECURITY",
                "none sends the password and every request link in clear: only allowed for a server on this machine (localhost, 127.0.0.1, ::1); use starttls or tls",
            ));
        }
        let port = match parts.port.as_deref().map(str::trim) {
            None | Some("") => security.default_port(),
            Some(text) => text.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                ConfigError::new("HANDOFF_MAIL_PORT", "must be a port, 1 to 65535")
            })?,
        };
        let credentials = parse_credentials(parts.user, parts.password, parts.password_file)?;
        let from =
            MailAddress::parse(parts.from.as_deref().unwrap_or_default()).map_err(|reason| {
                ConfigError::new(
                    "HANDOFF_MAIL_FROM",
                    format!("{reason}: the address mails come from is required"),
                )
            })?;
        let from_name = parts
            .from_name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if from_name
            .as_deref()
            .is_some_and(|n| n.contains(['\r', '\n']) || n.len() > 100)
        {
            return Err(ConfigError::new(
                "HANDOFF_MAIL_FROM_NAME",
                "must be one line of at most 100 characters",
            ));
        }
        let staff = parts
            .staff
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(MailAddress::parse)
            .transpose()
            .map_err(|reason| ConfigError::new("HANDOFF_MAIL_STAFF", reason))?;
        let daily_cap = match parts.daily_cap.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_DAILY_CAP,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_DAILY_CAP).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(
                        "HANDOFF_MAIL_DAILY_CAP",
                        format!("must be a number of mails from 1 to {MAX_DAILY_CAP}"),
                    )
                })?,
        };
        Ok(Some(Self {
            host,
            port,
            security,
            credentials,
            from,
            from_name,
            staff,
            daily_cap,
        }))
    }

    fn sender(&self, name: Option<&str>) -> Mailbox {
        let name = self.from_name.as_deref().or(name).map(str::to_owned);
        Mailbox::new(name, self.from.0.clone())
    }
}

/// The user and password, both or neither; the password from the setting
/// or its file.
fn parse_credentials(
    user: Option<String>,
    password: Option<SecretString>,
    password_file: Option<PathBuf>,
) -> Result<Option<(String, SecretString)>, ConfigError> {
    let password = match (password, password_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "HANDOFF_MAIL_PASSWORD",
                "set either HANDOFF_MAIL_PASSWORD or HANDOFF_MAIL_PASSWORD_FILE, not both",
            ));
        }
        (Some(password), None) => Some(password),
        (None, Some(path)) => {
            let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(
                    "HANDOFF_MAIL_PASSWORD_FILE",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?);
            Some(SecretString::from(text.trim_end_matches(['\r', '\n'])))
        }
        (None, None) => None,
    };
    match (user.map(|u| u.trim().to_owned()), password) {
        (Some(user), Some(password)) if !user.is_empty() => Ok(Some((user, password))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::new(
            "HANDOFF_MAIL_PASSWORD",
            "required with HANDOFF_MAIL_USER",
        )),
        _ => Err(ConfigError::new(
            "HANDOFF_MAIL_USER",
            "required with a mail password",
        )),
    }
}

/// Why a send failed, in words fit for staff and the audit trail: the
/// server's own answer when it gave one. Never the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub kind: SendErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendErrorKind {
    /// Nobody answered at the host and port (refused, unreachable, DNS).
    Connect,
    /// No answer in time.
    Timeout,
    /// TLS could not be set up (certificate, STARTTLS not offered).
    Tls,
    /// The server refused the user and password.
    Auth,
    /// The server refused the sender, a recipient or the message (4xx or 5xx).
    Rejected,
    /// The message could not be built (never expected).
    Message,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

fn shorten(text: &str) -> String {
    text.chars().take(MAX_ANSWER_CHARS).collect()
}

fn describe(settings: &MailSettings, error: &lettre::transport::smtp::Error) -> SendError {
    let server = format!("{}:{}", settings.host, settings.port);
    // lettre's own message already carries its cause; the chain would
    // repeat it.
    let chain = error.to_string();
    let lower = chain.to_ascii_lowercase();
    let (kind, message) = if let Some(code) = error.status() {
        let code = code.to_string();
        if code == "535" || code == "534" || code == "530" {
            (
                SendErrorKind::Auth,
                format!("{server} refused the user and password: {chain}"),
            )
        } else {
            (
                SendErrorKind::Rejected,
                format!("{server} refused the mail: {chain}"),
            )
        }
    } else if error.is_timeout() {
        (
            SendErrorKind::Timeout,
            format!(
                "{server} did not answer within {} s",
                SEND_TIMEOUT.as_secs()
            ),
        )
    } else if error.is_client() && chain.contains("STARTTLS") {
        (
            SendErrorKind::Tls,
            format!("{server} does not offer STARTTLS: {chain}"),
        )
    } else if error.is_tls()
        || lower.contains("certificate")
        || lower.contains("handshake")
        || lower.contains("corrupt message")
        || lower.contains("tls")
    {
        (
            SendErrorKind::Tls,
            format!("TLS with {server} failed: {chain}"),
        )
    } else if error.is_client() && lower.contains("auth") {
        (
            SendErrorKind::Auth,
            format!("{server} offers no way to sign in that handoff can use: {chain}"),
        )
    } else {
        (
            SendErrorKind::Connect,
            format!("could not connect to {server}: {chain}"),
        )
    };
    SendError {
        kind,
        message: shorten(&message),
    }
}

/// Sends messages over SMTP with the settings' security, one connection
/// per message (mails are few; a pool would hold connections open for
/// nothing).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: MailSettings,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the transport; connects to nothing yet.
    pub fn new(settings: &MailSettings) -> Result<Self, SendError> {
        crate::outbound::install_tls_provider();
        let tls_error = |error: lettre::transport::smtp::Error| SendError {
            kind: SendErrorKind::Tls,
            message: shorten(&format!(
                "cannot set up TLS: {}",
                crate::outbound::error_chain(&error)
            )),
        };
        let tls = match settings.security {
            Security::None => Tls::None,
            Security::Tls | Security::StartTls => {
                let parameters = TlsParameters::builder(settings.host.clone())
                    .build_rustls()
                    .map_err(tls_error)?;
                if settings.security == Security::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                .port(settings.port)
                .tls(tls)
                .timeout(Some(SEND_TIMEOUT));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            settings: settings.clone(),
        })
    }

    #[must_use]
    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// Sends `mail` to `to` under `sender_name` (the settings' From name
    /// wins); returns the server's answer.
    pub async fn send(
        &self,
        to: &[MailAddress],
        sender_name: Option<&str>,
        mail: &Composed,
    ) -> Result<String, SendError> {
        let message = self.message(to, sender_name, mail)?;
        let bounded = tokio::time::timeout(SEND_TIMEOUT + Duration::from_secs(5), async {
            self.transport.send(message).await
        });
        match bounded.await {
            Ok(Ok(response)) => Ok(shorten(&format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            ))),
            Ok(Err(error)) => Err(describe(&self.settings, &error)),
            Err(_) => Err(SendError {
                kind: SendErrorKind::Timeout,
                message: format!(
                    "{}:{} did not answer within {} s",
                    self.settings.host,
                    self.settings.port,
                    SEND_TIMEOUT.as_secs()
                ),
            }),
        }
    }

    fn message(
        &self,
        to: &[MailAddress],
        sender_name: Option<&str>,
        mail: &Composed,
    ) -> Result<Message, SendError> {
        let failed = |reason: String| SendError {
            kind: SendErrorKind::Message,
            message: shorten(&reason),
        };
        let mut builder = Message::builder()
            .from(self.settings.sender(sender_name))
            .subject(mail.subject.clone())
            .message_id(Some(message_id(&self.settings.from)))
            // RFC 3834: written by software, so that auto-responders keep quiet.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                mail.language.tag().to_owned(),
            ));
        for address in to {
            builder = builder.to(Mailbox::new(None, address.0.clone()));
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|error| failed(format!("the message could not be built: {error}")))
    }
}

/// `<random@from-domain>`: unique, and naming no machine.
fn message_id(from: &MailAddress) -> String {
    let mut bytes = [0u8; 16];
    crate::crypto::fill_random(&mut bytes);
    let random = URL_SAFE_NO_PAD.encode(bytes);
    format!("<{random}@{}>", from.domain())
}

/// A message ready to send: subject, plain text, HTML.
pub struct Composed {
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for Composed {
    /// Without the bodies: a request mail carries a link key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Composed")
            .field("language", &self.language)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// What a request mail says: who asks, for which app, and the link.
pub struct RequestMail<'a> {
    pub vendor_name: &'a str,
    pub tenant_name: &'a str,
    pub entra_tenant: &'a str,
    pub client_id: &'a str,
    pub note: Option<&'a str>,
    /// The customer's submit link, with its key.
    pub link: &'a str,
    /// When the link stops working, as a person reads it (UTC).
    pub expires: &'a str,
    /// Created by handoff itself before the current secret expires.
    pub automatic: bool,
    /// The current secret's expiry, for an automatic request.
    pub current_expires_on: Option<&'a str>,
}

/// A request mail's words in one language: the request page's own steps
/// and labels (`pages.ftl`) and the mail's (`mail.ftl`).
struct RequestWords {
    hello: String,
    intro: String,
    tenant: String,
    entra_tenant: String,
    client_id: String,
    link_expires: String,
    note_from: String,
    what_to_do: String,
    step_sign_in: String,
    step_open_app: String,
    step_new_secret: String,
    step_copy_value: String,
    step_link: String,
    checked: String,
    once: String,
}

impl RequestWords {
    fn new(language: Language, mail: &RequestMail<'_>) -> Self {
        let vendor = || ("vendor", locale::text(mail.vendor_name));
        let text = |id: &str| language.text_with(id, &[vendor()]);
        let intro = match (mail.automatic, mail.current_expires_on) {
            (true, Some(date)) => language.text_with(
                "mail-request-intro-automatic",
                &[vendor(), ("date", locale::text(date))],
            ),
            _ => text("mail-request-intro"),
        };
        Self {
            hello: text("mail-hello"),
            intro,
            tenant: text("req-tenant"),
            entra_tenant: text("req-entra-tenant"),
            client_id: text("req-client-id"),
            link_expires: text("req-link-expires"),
            note_from: text("note-from"),
            what_to_do: text("req-what-to-do"),
            step_sign_in: text("req-step-sign-in"),
            step_open_app: text("req-step-open-app"),
            step_new_secret: text("req-step-new-secret"),
            step_copy_value: text("req-step-copy-value"),
            step_link: text("mail-request-step-link"),
            checked: text("mail-request-checked"),
            once: text("mail-request-once"),
        }
    }
}

#[derive(Template)]
#[template(path = "mail/request.txt", escape = "none")]
struct RequestText<'a> {
    m: &'a RequestMail<'a>,
    w: &'a RequestWords,
}

#[derive(Template)]
#[template(path = "mail/request.html")]
struct RequestHtml<'a> {
    m: &'a RequestMail<'a>,
    w: &'a RequestWords,
    language: &'a str,
}

/// An expiry reminder for the vendor's staff.
pub struct ReminderMail<'a> {
    pub tenant_name: &'a str,
    pub tenant: &'a str,
    pub expires_on: &'a str,
    pub days_left: i64,
    /// The tenants page.
    pub link: &'a str,
    /// An automatic request was sent to the tenant's contacts.
    pub automatic_request: bool,
}

#[derive(Template)]
#[template(path = "mail/reminder.txt", escape = "none")]
struct ReminderText<'a> {
    m: &'a ReminderMail<'a>,
}

#[derive(Template)]
#[template(path = "mail/reminder.html")]
struct ReminderHtml<'a> {
    m: &'a ReminderMail<'a>,
}

fn render(template: &impl Template) -> String {
    // The templates are compiled in and their fields are plain strings.
    template
        .render()
        .expect("a mail template renders from plain strings")
}

/// The request mail in the tenant's `language`.
#[must_use]
pub fn request_mail(language: Language, mail: &RequestMail<'_>) -> Composed {
    let vendor = || ("vendor", locale::text(mail.vendor_name));
    let tenant = || ("tenant", locale::text(mail.tenant_name));
    let subject = match (mail.automatic, mail.current_expires_on) {
        (true, Some(date)) => language.text_with(
            "mail-request-subject-automatic",
            &[vendor(), tenant(), ("date", locale::text(date))],
        ),
        _ => language.text_with("mail-request-subject", &[vendor(), tenant()]),
    };
    let words = RequestWords::new(language, mail);
    Composed {
        language,
        subject,
        text: render(&RequestText { m: mail, w: &words }),
        html: render(&RequestHtml {
            m: mail,
            w: &words,
            language: language.tag(),
        }),
    }
}

/// The staff reminder (English: staff read the vendor's language).
#[must_use]
pub fn reminder_mail(mail: &ReminderMail<'_>) -> Composed {
    Composed {
        language: Language::En,
        subject: format!(
            "handoff: the client secret of {} expires on {} ({} days)",
            mail.tenant_name, mail.expires_on, mail.days_left
        ),
        text: render(&ReminderText { m: mail }),
        html: render(&ReminderHtml { m: mail }),
    }
}

#[derive(Template)]
#[template(
    source = "<!doctype html><html lang=\"en\"><body><p>This is a test message from handoff.</p><p>It went through {{ host }}; request links and reminders will go the same way.</p></body></html>",
    ext = "html"
)]
struct TestHtml<'a> {
    host: &'a str,
}

/// What `handoff mail test` sends.
#[must_use]
pub fn test_mail(host: &str) -> Composed {
    let text = format!(
        "This is a test message from handoff.\n\nIt went through {host}; request links and reminders will go the same way.\n"
    );
    let html = render(&TestHtml { host });
    Composed {
        language: Language::En,
        subject: "handoff: test message".to_owned(),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: &str, security: &str) -> MailParts {
        MailParts {
            host: Some(host.into()),
            security: Some(security.into()),
            from: Some("handoff@vendor.example".into()),
            ..MailParts::default()
        }
    }

    #[test]
    fn no_tls_is_refused_for_a_host_that_is_not_this_machine() {
        let refused = MailSettings::parse(parts("smtp.vendor.example", "none")).unwrap_err();
        assert_eq!(refused.setting, "HANDOFF_MAIL_SECURITY");
        for host in ["localhost", "127.0.0.1", "::1"] {
            assert!(MailSettings::parse(parts(host, "none")).unwrap().is_some());
        }
    }

    #[test]
    fn the_port_follows_the_security_unless_set() {
        let settings = |security| {
            MailSettings::parse(parts("smtp.vendor.example", security))
                .unwrap()
                .unwrap()
        };
        assert_eq!(settings("tls").port, 465);
        assert_eq!(settings("starttls").port, 587);
        assert_eq!(settings("starttls").daily_cap, DEFAULT_DAILY_CAP);
    }

    #[test]
    fn a_bad_from_address_or_a_password_without_user_names_the_setting() {
        let mut bad = parts("localhost", "none");
        bad.from = Some("not an address".into());
        assert_eq!(
            MailSettings::parse(bad).unwrap_err().setting,
            "HANDOFF_MAIL_FROM"
        );
        let mut no_user = parts("localhost", "none");
        no_user.password = Some("pa55word".into());
        assert_eq!(
            MailSettings::parse(no_user).unwrap_err().setting,
            "HANDOFF_MAIL_USER"
        );
    }

    #[test]
    fn the_password_never_prints() {
        let mut with_password = parts("localhost", "none");
        with_password.user = Some("handoff".into());
        with_password.password = Some("pa55word-xyz".into());
        let settings = MailSettings::parse(with_password).unwrap().unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("pa55word"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }

    #[test]
    fn a_request_mail_escapes_the_note_and_carries_the_link() {
        let mail = request_mail(
            Language::De,
            &RequestMail {
                vendor_name: "Fabrikam",
                tenant_name: "Contoso",
                entra_tenant: "contoso.onmicrosoft.com",
                client_id: "00000000-0000-0000-0000-000000000001",
                note: Some("<script>alert(1)</script>"),
                link: "https://handoff.example/r/abc#key",
                expires: "2026-12-08 10:00 UTC",
                automatic: false,
                current_expires_on: None,
            },
        );
        assert!(mail.html.contains("&#60;script&#62;"), "{}", mail.html);
        assert!(!mail.html.contains("<script>"));
        assert!(!mail.html.contains("<img"));
        assert!(mail.text.contains("https://handoff.example/r/abc#key"));
        assert!(mail.html.contains("https://handoff.example/r/abc#key"));
        assert!(mail.subject.contains("Fabrikam"));
        assert_eq!(mail.language, Language::De);
        assert!(
            mail.text.contains("Zertifikate & Geheimnisse"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("lang=\"de\""));
    }
}
