//! Settings: defaults < `handoff.toml` < `HANDOFF_*` environment < flags.
//! Parsed once at start-up into validated types; a bad setting stops
//! start-up with a message that names it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::HeaderName;
use ipnet::IpNet;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::branding::{AccentColor, Branding, Logo, SupportContact};
pub use crate::config_error::ConfigError;
use crate::connections::{ConnectionLimits, DEFAULT_MAX_CONNECTIONS};
use crate::crypto::ServerKey;
use crate::directory::{Directory, DirectorySettings, StaffEntry, TenantEntry};
use crate::domain::{Ttl, Views};
use crate::mail::{MailParts, MailSettings};
use crate::sinks::SinkEntry;
use crate::webhook::{RetrySchedule, WebhookSecret, WebhookTarget};

/// `handoff serve` flags; each also reads its `HANDOFF_*` variable. Those
/// that may carry a secret (keys, tokens, a Redis URL with a password, a
/// webhook URL with a token in it) are `SecretString`s, so that `Debug`
/// never prints them.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// Settings file; missing is fine unless named explicitly.
    #[arg(long, env = "HANDOFF_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HANDOFF_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Longest a client may take to send a request's headers [default: 10s].
    #[arg(long, env = "HANDOFF_HEADER_TIMEOUT", value_name = "DURATION")]
    pub header_timeout: Option<String>,
    /// Longest a client may take to send a request's body [default: 30s].
    #[arg(long, env = "HANDOFF_BODY_TIMEOUT", value_name = "DURATION")]
    pub body_timeout: Option<String>,
    /// How long a keep-alive connection may wait for its next request [default: 60s].
    #[arg(long, env = "HANDOFF_IDLE_TIMEOUT", value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    /// Most open client connections [default: 4096, or fewer to stay below
    /// the open-file limit].
    #[arg(long, env = "HANDOFF_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<String>,
    /// Base URL used in every link [default: from the listen address].
    #[arg(long, env = "HANDOFF_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// `memory`, a `redis://` or `rediss://` URL, a `redis+cluster://` or
    /// `rediss+cluster://` URL naming cluster nodes, or a folder [default: ./data].
    #[arg(
        long,
        env = "HANDOFF_STORE",
        value_name = "STORE",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub store: Option<SecretString>,
    /// The 32-byte server key, base64. Prefer --server-key-file.
    #[arg(
        long,
        env = "HANDOFF_SERVER_KEY",
        value_name = "BASE64",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub server_key: Option<SecretString>,
    /// File holding the server key.
    #[arg(long, env = "HANDOFF_SERVER_KEY_FILE", value_name = "PATH")]
    pub server_key_file: Option<PathBuf>,
    /// Expiry when the sender picks none [default: 24h].
    #[arg(long, env = "HANDOFF_DEFAULT_TTL", value_name = "DURATION")]
    pub default_ttl: Option<String>,
    /// Longest expiry a sender may pick [default: 7d].
    #[arg(long, env = "HANDOFF_MAX_TTL", value_name = "DURATION")]
    pub max_ttl: Option<String>,
    /// Largest view limit a sender may pick [default: 10].
    #[arg(long, env = "HANDOFF_MAX_VIEWS", value_name = "N")]
    pub max_views: Option<String>,
    /// Largest secret in bytes [default: 65536].
    #[arg(long, env = "HANDOFF_MAX_SECRET_BYTES", value_name = "BYTES")]
    pub max_secret_bytes: Option<String>,
    /// Failed reveal attempts per client IP per minute; 0 = no limit [default: 30].
    #[arg(long, env = "HANDOFF_FAILED_REVEALS_PER_MINUTE", value_name = "N")]
    pub failed_reveals_per_minute: Option<String>,
    /// With Redis: replicas that must confirm each write (`WAIT`) before it
    /// is acknowledged; 0 = do not wait [default: 0].
    #[arg(long, env = "HANDOFF_REDIS_WAIT_REPLICAS", value_name = "N")]
    pub redis_wait_replicas: Option<String>,
    /// Comma-separated IPs or CIDRs whose X-Forwarded-For is believed [default: none].
    #[arg(long, env = "HANDOFF_TRUSTED_PROXIES", value_name = "LIST")]
    pub trusted_proxies: Option<String>,
    /// Header naming the signed-in user, set by an SSO proxy such as
    /// oauth2-proxy; believed only from trusted proxies [default: none].
    #[arg(long, env = "HANDOFF_TRUSTED_USER_HEADER", value_name = "HEADER")]
    pub trusted_user_header: Option<String>,
    /// URL that receives signed event notifications [default: none].
    #[arg(
        long,
        env = "HANDOFF_WEBHOOK_URL",
        value_name = "URL",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub webhook_url: Option<SecretString>,
    /// The webhook signing secret, `whsec_…`. Prefer --webhook-secret-file.
    #[arg(
        long,
        env = "HANDOFF_WEBHOOK_SECRET",
        value_name = "WHSEC",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub webhook_secret: Option<SecretString>,
    /// File holding the webhook signing secret.
    #[arg(long, env = "HANDOFF_WEBHOOK_SECRET_FILE", value_name = "PATH")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Delays between webhook retries, comma-separated [default: 5s,30s,2m,10m,30m].
    #[arg(long, env = "HANDOFF_WEBHOOK_RETRIES", value_name = "LIST")]
    pub webhook_retries: Option<String>,
    /// Bearer token that may read /metrics besides staff. Prefer the _FILE form.
    #[arg(
        long,
        env = "HANDOFF_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub metrics_token: Option<SecretString>,
    /// File holding the /metrics scrape token.
    #[arg(long, env = "HANDOFF_METRICS_TOKEN_FILE", value_name = "PATH")]
    pub metrics_token_file: Option<PathBuf>,
    /// Days before a tenant's secret expires to send `secret.expiring` [default: 30,7,1].
    #[arg(long, env = "HANDOFF_EXPIRY_REMINDERS", value_name = "DAYS")]
    pub expiry_reminders: Option<String>,
    /// How long audit events are kept [default: 90d].
    #[arg(long, env = "HANDOFF_AUDIT_RETENTION", value_name = "DURATION")]
    pub audit_retention: Option<String>,
    /// Longest a graceful shutdown takes (open requests, audit flush, webhook
    /// outbox) before the process exits anyway [default: 10s].
    #[arg(long, env = "HANDOFF_SHUTDOWN_TIMEOUT", value_name = "DURATION")]
    pub shutdown_timeout: Option<String>,
    /// How long a brand-new client secret that Microsoft refuses is checked
    /// again before it counts as wrong (`0s` to `10m`) [default: 2m].
    #[arg(long, env = "HANDOFF_NEW_SECRET_WINDOW", value_name = "DURATION")]
    pub new_secret_window: Option<String>,
    /// Only signed-in staff may create pushes (`true`/`false`) [default: false].
    #[arg(long, env = "HANDOFF_REQUIRE_STAFF_TO_PUSH", value_name = "BOOL")]
    pub require_staff_to_push: Option<String>,
    /// The vendor's logo for the pages' header: a PNG, WebP or SVG file of
    /// at most 256 KiB, read at start-up [default: none].
    #[arg(long, env = "HANDOFF_LOGO_FILE", value_name = "PATH")]
    pub logo_file: Option<PathBuf>,
    /// Where customers ask questions: an e-mail address or an https:// URL,
    /// shown on their pages [default: none].
    #[arg(long, env = "HANDOFF_SUPPORT_CONTACT", value_name = "EMAIL|URL")]
    pub support_contact: Option<String>,
    /// The vendor's colour, #rrggbb, for the header and buttons [default: none].
    #[arg(long, env = "HANDOFF_ACCENT_COLOR", value_name = "#RRGGBB")]
    pub accent_color: Option<String>,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// The SMTP server that request links and reminders go through (`[mail]`
/// in `handoff.toml`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct MailArgs {
    /// SMTP server; mail is off without it [default: none].
    #[arg(long = "mail-host", env = "HANDOFF_MAIL_HOST", value_name = "HOST")]
    pub host: Option<String>,
    /// SMTP port [default: 465 with tls, 587 with starttls, 25 with none].
    #[arg(long = "mail-port", env = "HANDOFF_MAIL_PORT", value_name = "PORT")]
    pub port: Option<String>,
    /// `tls` (implicit), `starttls` (required), or `none` (a server on this
    /// machine only) [default: starttls].
    #[arg(
        long = "mail-security",
        env = "HANDOFF_MAIL_SECURITY",
        value_name = "MODE"
    )]
    pub security: Option<String>,
    /// SMTP user [default: none: no sign-in].
    #[arg(long = "mail-user", env = "HANDOFF_MAIL_USER", value_name = "USER")]
    pub user: Option<String>,
    /// SMTP password. Prefer --mail-password-file.
    #[arg(
        long = "mail-password",
        env = "HANDOFF_MAIL_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub password: Option<SecretString>,
    /// File holding the SMTP password.
    #[arg(
        long = "mail-password-file",
        env = "HANDOFF_MAIL_PASSWORD_FILE",
        value_name = "PATH"
    )]
    pub password_file: Option<PathBuf>,
    /// The address mails come from (required with a host).
    #[arg(long = "mail-from", env = "HANDOFF_MAIL_FROM", value_name = "ADDRESS")]
    pub from: Option<String>,
    /// The sender's name [default: `vendor_name`].
    #[arg(
        long = "mail-from-name",
        env = "HANDOFF_MAIL_FROM_NAME",
        value_name = "NAME"
    )]
    pub from_name: Option<String>,
    /// Staff address that expiry reminders go to [default: none].
    #[arg(
        long = "mail-staff",
        env = "HANDOFF_MAIL_STAFF",
        value_name = "ADDRESS"
    )]
    pub staff: Option<String>,
    /// Mails per tenant per day at most [default: 20].
    #[arg(
        long = "mail-daily-cap",
        env = "HANDOFF_MAIL_DAILY_CAP",
        value_name = "N"
    )]
    pub daily_cap: Option<String>,
    /// Delays between retries of a mail the server did not take,
    /// comma-separated [default: 1m,5m,15m,1h,4h].
    #[arg(
        long = "mail-retries",
        env = "HANDOFF_MAIL_RETRIES",
        value_name = "LIST"
    )]
    pub retries: Option<String>,
}

/// Six attempts over about five and a half hours: a mail server's
/// maintenance window, or a fixed typo in its settings after a SIGHUP-less
/// restart.
const DEFAULT_MAIL_RETRIES: &str = "1m,5m,15m,1h,4h";

/// A list of delays between retries (`5s,30s,2m`), each at most a day.
fn parse_retries(text: &str, setting: &str) -> Result<RetrySchedule, ConfigError> {
    let delays: Vec<std::time::Duration> = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match crate::domain::parse_duration_secs(d) {
            Ok(secs) if secs <= MAX_WEBHOOK_RETRY_SECS => Ok(std::time::Duration::from_secs(secs)),
            Ok(_) => Err(ConfigError::new(
                setting,
                format!("'{d}' is longer than a day (1d), the longest delay between retries"),
            )),
            Err(reason) => Err(ConfigError::new(setting, reason)),
        })
        .collect::<Result<_, _>>()?;
    if delays.len() > MAX_WEBHOOK_RETRIES {
        return Err(ConfigError::new(
            setting,
            format!("at most {MAX_WEBHOOK_RETRIES} retries"),
        ));
    }
    Ok(RetrySchedule::new(delays))
}

/// `[mail]` in `handoff.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailFile {
    host: Option<String>,
    port: Option<TomlValue>,
    security: Option<String>,
    user: Option<String>,
    password: Option<SecretString>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    from_name: Option<String>,
    staff: Option<String>,
    daily_cap: Option<TomlValue>,
    retries: Option<String>,
}

fn parse_mail(args: MailArgs, file: MailFile) -> Result<Option<MailSettings>, ConfigError> {
    MailSettings::parse(MailParts {
        host: args.host.or(file.host),
        port: args.port.or(file.port.map(TomlValue::into_text)),
        security: args.security.or(file.security),
        user: args.user.or(file.user),
        password: args.password.or(file.password),
        password_file: args.password_file.or(file.password_file),
        from: args.from.or(file.from),
        from_name: args.from_name.or(file.from_name),
        staff: args.staff.or(file.staff),
        daily_cap: args.daily_cap.or(file.daily_cap.map(TomlValue::into_text)),
    })
}

// Bounds that refuse absurd settings at start-up (every duration is also at
// most 100 years, so that none can wrap when added or cast; see
// `parse_duration_secs`). TTLs are bounded by `Ttl::setting` (1m to 365d).
const MAX_AUDIT_RETENTION_DAYS: u64 = 3650;
const MAX_AUDIT_RETENTION_SECS: u64 = MAX_AUDIT_RETENTION_DAYS * 86_400;
const MAX_WEBHOOK_RETRY_SECS: u64 = 86_400;
const MAX_WEBHOOK_RETRIES: usize = 50;
/// Entra ID client secrets live two years at most by default; ten is
/// generous.
const MAX_REMINDER_DAYS: u32 = 3650;
/// Each reminder sent is remembered on the tenant's record until the next
/// secret, so the list stays short.
const MAX_REMINDERS: usize = 10;

/// The same settings as `handoff.toml` keys (snake case, without `HANDOFF_`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    header_timeout: Option<TomlValue>,
    body_timeout: Option<TomlValue>,
    idle_timeout: Option<TomlValue>,
    max_connections: Option<TomlValue>,
    public_url: Option<String>,
    store: Option<SecretString>,
    server_key: Option<SecretString>,
    server_key_file: Option<PathBuf>,
    default_ttl: Option<TomlValue>,
    max_ttl: Option<TomlValue>,
    max_views: Option<TomlValue>,
    max_secret_bytes: Option<TomlValue>,
    failed_reveals_per_minute: Option<TomlValue>,
    redis_wait_replicas: Option<TomlValue>,
    trusted_proxies: Option<TrustedProxiesValue>,
    trusted_user_header: Option<String>,
    require_staff_to_push: Option<bool>,
    audit_retention: Option<TomlValue>,
    shutdown_timeout: Option<TomlValue>,
    new_secret_window: Option<TomlValue>,
    webhook_url: Option<SecretString>,
    webhook_secret: Option<SecretString>,
    webhook_secret_file: Option<PathBuf>,
    webhook_retries: Option<String>,
    metrics_token: Option<SecretString>,
    metrics_token_file: Option<PathBuf>,
    expiry_reminders: Option<String>,
    logo_file: Option<PathBuf>,
    support_contact: Option<String>,
    accent_color: Option<String>,
    mail: Option<MailFile>,
    // The directory: the part of the file that can change while the server
    // runs. (Kept flat: serde's `flatten` would defeat `deny_unknown_fields`.)
    vendor_name: Option<String>,
    #[serde(default)]
    staff: BTreeMap<String, StaffEntry>,
    #[serde(default)]
    tenants: BTreeMap<String, TenantEntry>,
    #[serde(default)]
    sinks: BTreeMap<String, SinkEntry>,
}

impl FileSettings {
    /// Takes the directory's part of the file, leaving the rest.
    fn take_directory(&mut self, can_sign_hooks: bool) -> DirectorySettings {
        DirectorySettings {
            vendor_name: self.vendor_name.take(),
            staff: std::mem::take(&mut self.staff),
            tenants: std::mem::take(&mut self.tenants),
            sinks: std::mem::take(&mut self.sinks),
            can_sign_hooks,
        }
    }
}

/// A text setting from a flag or the file; blank counts as unset.
fn pick_text(flag: Option<String>, file: Option<String>) -> Option<String> {
    flag.or(file).filter(|text| !text.trim().is_empty())
}

/// Lets the file say `max_views = 10` as well as `max_views = "10"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TomlValue {
    Number(i64),
    Text(String),
}

impl TomlValue {
    fn into_text(self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(t) => t,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TrustedProxiesValue {
    List(Vec<String>),
    Text(String),
}

/// Clap's reader for flags that may hold a secret.
#[allow(clippy::unnecessary_wraps)] // the signature clap's value_parser takes
fn secret_arg(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSetting {
    Memory,
    Embedded(PathBuf),
    Redis(RedisUrl),
}

/// A `redis://` or `rediss://` URL, or a `redis+cluster://` or
/// `rediss+cluster://` one listing cluster nodes; it may carry a password:
/// `Debug` prints `***`, and the text is wiped on drop.
#[derive(Clone)]
pub struct RedisUrl(SecretString);

impl RedisUrl {
    /// The only way in: a URL the Redis client accepts.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if crate::store::is_cluster_url(text) {
            crate::store::cluster_seeds(text).ok_or(
                "is not a valid redis+cluster:// URL (redis+cluster://[user:password@]host:port[,host:port…])",
            )?;
            return Ok(Self(SecretString::from(text)));
        }
        if !(text.starts_with("redis://") || text.starts_with("rediss://")) {
            return Err("must be a redis:// or rediss:// URL".to_owned());
        }
        // The parser's error would not repeat the URL, but say nothing more.
        redis::parse_redis_url(text).ok_or("is not a valid redis:// or rediss:// URL")?;
        Ok(Self(SecretString::from(text)))
    }

    /// The URL itself, for connecting; never for a message.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedisUrl(***)")
    }
}

impl PartialEq for RedisUrl {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for RedisUrl {}

/// The bearer token that may read `/metrics` besides staff: `Debug` prints
/// `***`, comparisons take constant time, and it is wiped on drop.
#[derive(Clone)]
pub struct MetricsToken(SecretString);

impl MetricsToken {
    pub const MIN_LEN: usize = 16;

    /// The only way in: surrounding white space dropped, at least
    /// [`Self::MIN_LEN`] characters. The message never repeats the token.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() < Self::MIN_LEN {
            return Err(format!("must be at least {} characters", Self::MIN_LEN));
        }
        Ok(Self(SecretString::from(text)))
    }

    /// Whether `given` is this token, in constant time.
    #[must_use]
    pub fn matches(&self, given: &str) -> bool {
        crate::crypto::constant_time_eq(self.0.expose_secret().as_bytes(), given.as_bytes())
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

impl fmt::Display for StoreSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Embedded(path) => write!(f, "{}", path.display()),
            // The URL may carry a password.
            Self::Redis(_) => f.write_str("redis"),
        }
    }
}

/// The base of every link, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/');
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or("must start with http:// or https://")?;
        if rest.is_empty() || rest.contains(['?', '#', ' ']) {
            return Err("must be a base URL such as https://handoff.example.com".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn for_listener(addr: SocketAddr) -> Self {
        let host = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Self(format!("http://{}", SocketAddr::new(host, addr.port())))
    }

    #[must_use]
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Client connections: timeouts and the cap.
    pub connections: ConnectionLimits,
    /// `None`: derived from the bound address once listening.
    pub public_url: Option<PublicUrl>,
    pub store: StoreSetting,
    pub server_key: Option<ServerKey>,
    pub default_ttl: Ttl,
    pub max_ttl: Ttl,
    pub max_views: Views,
    pub max_secret_bytes: usize,
    pub failed_reveals_per_minute: u32,
    /// Replicas each Redis write waits for (0: none).
    pub redis_wait_replicas: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub trusted_user_header: Option<HeaderName>,
    pub require_staff_to_push: bool,
    /// Seconds audit events are kept: 1 day to 10 years, so it fits an
    /// `i64` and subtracts from a Unix time without wrapping.
    pub audit_retention_secs: u64,
    /// Bounds the whole graceful shutdown.
    pub shutdown_timeout: std::time::Duration,
    /// How long a brand-new secret refused by Microsoft is checked again.
    pub new_secret_window: std::time::Duration,
    /// Where event notifications go, if anywhere.
    pub webhook: Option<WebhookTarget>,
    pub webhook_retries: RetrySchedule,
    /// Besides staff, who may read `/metrics`.
    pub metrics_token: Option<MetricsToken>,
    /// Days before expiry at which reminders fire.
    pub expiry_reminders: Vec<u32>,
    /// The vendor's logo, support contact and colour.
    pub branding: Branding,
    /// The SMTP server, if mail is on.
    pub mail: Option<MailSettings>,
    pub mail_retries: RetrySchedule,
    /// Staff and tenants; reloaded from `config_path` on SIGHUP.
    pub directory: Directory,
    pub config_path: Option<PathBuf>,
}

impl Settings {
    /// Settings for tests and embedding: memory store, port 0, defaults.
    #[must_use]
    pub fn for_tests() -> Self {
        Self::load(&ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            store: Some("memory".into()),
            ..ServeArgs::default()
        })
        .expect("default settings are valid")
    }

    /// Reads the settings file (if any) and applies flags/environment on top.
    pub fn load(args: &ServeArgs) -> Result<Self, ConfigError> {
        let config_path = match &args.config {
            Some(path) => Some(path.clone()),
            None if Path::new("handoff.toml").exists() => Some(PathBuf::from("handoff.toml")),
            None => None,
        };
        let file = match &config_path {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let mut settings = Self::merge(args.clone(), file)?;
        settings.config_path = config_path;
        Ok(settings)
    }

    #[allow(clippy::too_many_lines)] // one block per setting reads best here
    fn merge(args: ServeArgs, mut file: FileSettings) -> Result<Self, ConfigError> {
        let mut directory_settings = file.take_directory(false);
        let pick =
            |flag: Option<String>, file: Option<TomlValue>| flag.or(file.map(TomlValue::into_text));

        let listen_text = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            ConfigError::new(
                "HANDOFF_LISTEN",
                format!("'{listen_text}' is not an address such as 127.0.0.1:8080 or [::]:8080"),
            )
        })?;

        let connections = parse_connection_limits(
            [
                pick(args.header_timeout, file.header_timeout),
                pick(args.body_timeout, file.body_timeout),
                pick(args.idle_timeout, file.idle_timeout),
            ],
            pick(args.max_connections, file.max_connections),
            crate::connections::open_files_limit(),
        )?;

        let public_url = args
            .public_url
            .or(file.public_url)
            .map(|text| {
                PublicUrl::parse(&text)
                    .map_err(|reason| ConfigError::new("HANDOFF_PUBLIC_URL", reason))
            })
            .transpose()?;

        let store_text = args.store.or(file.store).unwrap_or_else(|| "./data".into());
        let store = parse_store(store_text.expose_secret())?;

        let server_key = match (
            args.server_key.or(file.server_key),
            args.server_key_file.or(file.server_key_file),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "HANDOFF_SERVER_KEY",
                    "set either HANDOFF_SERVER_KEY or HANDOFF_SERVER_KEY_FILE, not both",
                ));
            }
            (Some(text), None) => Some(
                ServerKey::parse(text.expose_secret())
                    .map_err(|reason| ConfigError::new("HANDOFF_SERVER_KEY", reason))?,
            ),
            (None, Some(path)) => {
                let text =
                    zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
                        ConfigError::new(
                            "HANDOFF_SERVER_KEY_FILE",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?);
                Some(ServerKey::parse(&text).map_err(|reason| {
                    ConfigError::new(
                        "HANDOFF_SERVER_KEY_FILE",
                        format!("{}: {reason}", path.display()),
                    )
                })?)
            }
            (None, None) => None,
        };
        if server_key.is_none() && matches!(store, StoreSetting::Redis(_)) {
            return Err(ConfigError::new(
                "HANDOFF_SERVER_KEY",
                "required with a Redis store, identical on every instance (make one with `handoff server-key`)",
            ));
        }

        let default_ttl = pick(args.default_ttl, file.default_ttl).unwrap_or_else(|| "24h".into());
        let default_ttl =
            Ttl::setting(&default_ttl).map_err(|r| ConfigError::new("HANDOFF_DEFAULT_TTL", r))?;
        let max_ttl = pick(args.max_ttl, file.max_ttl).unwrap_or_else(|| "7d".into());
        let max_ttl = Ttl::setting(&max_ttl).map_err(|r| ConfigError::new("HANDOFF_MAX_TTL", r))?;
        if default_ttl > max_ttl {
            return Err(ConfigError::new(
                "HANDOFF_DEFAULT_TTL",
                format!("{default_ttl} is longer than HANDOFF_MAX_TTL ({max_ttl})"),
            ));
        }

        let max_views = pick(args.max_views, file.max_views).unwrap_or_else(|| "10".into());
        let max_views =
            Views::setting(&max_views).map_err(|r| ConfigError::new("HANDOFF_MAX_VIEWS", r))?;

        let max_secret_bytes =
            pick(args.max_secret_bytes, file.max_secret_bytes).unwrap_or_else(|| "65536".into());
        let max_secret_bytes = match max_secret_bytes.trim().parse::<usize>() {
            Ok(n) if (1..=16 * 1024 * 1024).contains(&n) => n,
            _ => {
                return Err(ConfigError::new(
                    "HANDOFF_MAX_SECRET_BYTES",
                    format!("'{max_secret_bytes}' must be a whole number from 1 to 16777216"),
                ));
            }
        };

        let per_minute = pick(
            args.failed_reveals_per_minute,
            file.failed_reveals_per_minute,
        )
        .unwrap_or_else(|| "30".into());
        let failed_reveals_per_minute = per_minute.trim().parse::<u32>().map_err(|_| {
            ConfigError::new(
                "HANDOFF_FAILED_REVEALS_PER_MINUTE",
                format!("'{per_minute}' must be a whole number (0 turns the limit off)"),
            )
        })?;

        let wait_replicas =
            pick(args.redis_wait_replicas, file.redis_wait_replicas).unwrap_or_else(|| "0".into());
        let redis_wait_replicas = wait_replicas
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 16)
            .ok_or_else(|| {
                ConfigError::new(
                    "HANDOFF_REDIS_WAIT_REPLICAS",
                    format!("'{wait_replicas}' must be a whole number from 0 to 16"),
                )
            })?;

        let proxies: Vec<String> = match (args.trusted_proxies, file.trusted_proxies) {
            (Some(text), _) | (None, Some(TrustedProxiesValue::Text(text))) => {
                text.split(',').map(str::to_owned).collect()
            }
            (None, Some(TrustedProxiesValue::List(list))) => list,
            (None, None) => Vec::new(),
        };
        let trusted_proxies: Vec<IpNet> = proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(parse_proxy)
            .collect::<Result<_, _>>()?;

        let trusted_user_header = args
            .trusted_user_header
            .or(file.trusted_user_header)
            .filter(|h| !h.trim().is_empty())
            .map(|h| {
                HeaderName::from_bytes(h.trim().as_bytes()).map_err(|_| {
                    ConfigError::new(
                        "HANDOFF_TRUSTED_USER_HEADER",
                        format!("'{h}' is not a header name"),
                    )
                })
            })
            .transpose()?;
        if trusted_user_header.is_some() && trusted_proxies.is_empty() {
            return Err(ConfigError::new(
                "HANDOFF_TRUSTED_USER_HEADER",
                "needs HANDOFF_TRUSTED_PROXIES: the header is believed only from those proxies",
            ));
        }
        let require_staff_to_push = match args.require_staff_to_push {
            Some(text) => parse_bool(&text).ok_or_else(|| {
                ConfigError::new(
                    "HANDOFF_REQUIRE_STAFF_TO_PUSH",
                    format!("'{text}' must be true or false"),
                )
            })?,
            None => file.require_staff_to_push.unwrap_or(false),
        };
        let retention =
            pick(args.audit_retention, file.audit_retention).unwrap_or_else(|| "90d".into());
        let audit_retention_secs = match crate::domain::parse_duration_secs(&retention) {
            Ok(secs) if (86_400..=MAX_AUDIT_RETENTION_SECS).contains(&secs) => secs,
            Ok(_) => {
                return Err(ConfigError::new(
                    "HANDOFF_AUDIT_RETENTION",
                    format!(
                        "'{retention}' must be between 1d and {MAX_AUDIT_RETENTION_DAYS}d (10 years)"
                    ),
                ));
            }
            Err(reason) => return Err(ConfigError::new("HANDOFF_AUDIT_RETENTION", reason)),
        };
        let shutdown_timeout = parse_shutdown_timeout(
            &pick(args.shutdown_timeout, file.shutdown_timeout).unwrap_or_else(|| "10s".into()),
        )?;
        let new_secret_window = parse_new_secret_window(
            &pick(args.new_secret_window, file.new_secret_window).unwrap_or_else(|| "2m".into()),
        )?;
        let webhook = parse_webhook(
            args.webhook_url.or(file.webhook_url),
            args.webhook_secret.or(file.webhook_secret),
            args.webhook_secret_file.or(file.webhook_secret_file),
        )?;
        let webhook_retries = parse_retries(
            &args
                .webhook_retries
                .or(file.webhook_retries)
                .unwrap_or_else(|| "5s,30s,2m,10m,30m".into()),
            "HANDOFF_WEBHOOK_RETRIES",
        )?;
        let metrics_token = match (
            args.metrics_token.or(file.metrics_token),
            args.metrics_token_file.or(file.metrics_token_file),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "HANDOFF_METRICS_TOKEN",
                    "set either HANDOFF_METRICS_TOKEN or HANDOFF_METRICS_TOKEN_FILE, not both",
                ));
            }
            (Some(token), None) => Some(
                MetricsToken::parse(token.expose_secret())
                    .map_err(|reason| ConfigError::new("HANDOFF_METRICS_TOKEN", reason))?,
            ),
            (None, Some(path)) => {
                let text =
                    zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
                        ConfigError::new(
                            "HANDOFF_METRICS_TOKEN_FILE",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?);
                Some(MetricsToken::parse(&text).map_err(|reason| {
                    ConfigError::new(
                        "HANDOFF_METRICS_TOKEN_FILE",
                        format!("{}: {reason}", path.display()),
                    )
                })?)
            }
            (None, None) => None,
        };
        let reminders = args
            .expiry_reminders
            .or(file.expiry_reminders)
            .unwrap_or_else(|| "30,7,1".into());
        let expiry_reminders = reminders
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| match d.trim_end_matches('d').parse::<u32>() {
                Ok(days) if days <= MAX_REMINDER_DAYS => Ok(days),
                _ => Err(ConfigError::new(
                    "HANDOFF_EXPIRY_REMINDERS",
                    format!("'{d}' is not a number of days from 0 to {MAX_REMINDER_DAYS}"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if expiry_reminders.len() > MAX_REMINDERS {
            return Err(ConfigError::new(
                "HANDOFF_EXPIRY_REMINDERS",
                format!("at most {MAX_REMINDERS} reminders"),
            ));
        }
        let branding = Branding {
            logo: args
                .logo_file
                .or(file.logo_file)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|path| Logo::read(&path))
                .transpose()
                .map_err(|reason| ConfigError::new("HANDOFF_LOGO_FILE", reason))?,
            support: pick_text(args.support_contact, file.support_contact)
                .map(|text| SupportContact::parse(&text))
                .transpose()
                .map_err(|reason| ConfigError::new("HANDOFF_SUPPORT_CONTACT", reason))?,
            accent: pick_text(args.accent_color, file.accent_color)
                .map(|text| AccentColor::parse(&text))
                .transpose()
                .map_err(|reason| ConfigError::new("HANDOFF_ACCENT_COLOR", reason))?,
        };

        let mut mail_file = file.mail.unwrap_or_default();
        let mail_retries = parse_retries(
            &args
                .mail
                .retries
                .clone()
                .or(mail_file.retries.take())
                .unwrap_or_else(|| DEFAULT_MAIL_RETRIES.into()),
            "HANDOFF_MAIL_RETRIES",
        )?;
        let mail = parse_mail(args.mail, mail_file)?;
        directory_settings.can_sign_hooks = webhook.is_some();
        let directory = Directory::from_settings(&directory_settings)?;

        Ok(Self {
            listen,
            connections,
            public_url,
            store,
            server_key,
            default_ttl,
            max_ttl,
            max_views,
            max_secret_bytes,
            failed_reveals_per_minute,
            redis_wait_replicas,
            trusted_proxies,
            trusted_user_header,
            require_staff_to_push,
            audit_retention_secs,
            shutdown_timeout,
            new_secret_window,
            webhook,
            webhook_retries,
            metrics_token,
            expiry_reminders,
            branding,
            mail,
            mail_retries,
            directory,
            config_path: None,
        })
    }
}

/// The connection timeouts (header, body, idle) and cap. The cap must stay
/// below the open-file limit, less what the store and outbound connections
/// need: at the limit, accepting fails and nobody is answered.
fn parse_connection_limits(
    [header, body, idle]: [Option<String>; 3],
    max_connections: Option<String>,
    open_files: Option<u64>,
) -> Result<ConnectionLimits, ConfigError> {
    const MOST: u64 = 3600;
    let timeout = |setting: &str, text: Option<String>, default: &str| {
        let text = text.unwrap_or_else(|| default.to_owned());
        match crate::domain::parse_duration_secs(&text) {
            Ok(secs) if (1..=MOST).contains(&secs) => Ok(Duration::from_secs(secs)),
            Ok(_) => Err(ConfigError::new(
                setting,
                format!("'{}' must be from 1s to 1h", text.trim()),
            )),
            Err(reason) => Err(ConfigError::new(setting, reason)),
        }
    };
    let allowed = crate::connections::connections_allowed(open_files);
    let max_connections = match max_connections {
        None => DEFAULT_MAX_CONNECTIONS.min(allowed),
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if (1..=allowed).contains(&n) => n,
            Ok(n) if n > 0 => {
                return Err(ConfigError::new(
                    "HANDOFF_MAX_CONNECTIONS",
                    format!(
                        "{n} does not fit under the open-file limit ({}) with room for the store and outbound connections: at most {allowed}, or raise the limit (LimitNOFILE= in systemd, ulimit -n)",
                        open_files.unwrap_or_default()
                    ),
                ));
            }
            _ => {
                return Err(ConfigError::new(
                    "HANDOFF_MAX_CONNECTIONS",
                    format!("'{}' must be a whole number of at least 1", text.trim()),
                ));
            }
        },
    };
    Ok(ConnectionLimits {
        header_timeout: timeout("HANDOFF_HEADER_TIMEOUT", header, "10s")?,
        body_timeout: timeout("HANDOFF_BODY_TIMEOUT", body, "30s")?,
        idle_timeout: timeout("HANDOFF_IDLE_TIMEOUT", idle, "60s")?,
        max_connections,
    })
}

/// Shutdown gets at least a second (open requests and the audit flush need
/// a moment) and at most ten minutes (a service manager waits for it).
fn parse_shutdown_timeout(text: &str) -> Result<std::time::Duration, ConfigError> {
    const SETTING: &str = "HANDOFF_SHUTDOWN_TIMEOUT";
    match crate::domain::parse_duration_secs(text) {
        Ok(secs) if (1..=600).contains(&secs) => Ok(std::time::Duration::from_secs(secs)),
        Ok(_) => Err(ConfigError::new(SETTING, "must be from 1s to 10m")),
        Err(reason) => Err(ConfigError::new(SETTING, reason)),
    }
}

/// Zero turns the re-checking off; ten minutes is far beyond what a new
/// secret takes to work, and the customer's page keeps asking that long.
fn parse_new_secret_window(text: &str) -> Result<std::time::Duration, ConfigError> {
    const SETTING: &str = "HANDOFF_NEW_SECRET_WINDOW";
    let text = text.trim();
    if matches!(text, "0" | "0s") {
        return Ok(std::time::Duration::ZERO);
    }
    match crate::domain::parse_duration_secs(text) {
        Ok(secs) if secs <= 600 => Ok(std::time::Duration::from_secs(secs)),
        Ok(_) => Err(ConfigError::new(SETTING, "must be from 0s to 10m")),
        Err(reason) => Err(ConfigError::new(SETTING, reason)),
    }
}

fn parse_webhook(
    url: Option<SecretString>,
    secret: Option<SecretString>,
    secret_file: Option<PathBuf>,
) -> Result<Option<WebhookTarget>, ConfigError> {
    let secret = match (secret, secret_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "HANDOFF_WEBHOOK_SECRET",
                "set either HANDOFF_WEBHOOK_SECRET or HANDOFF_WEBHOOK_SECRET_FILE, not both",
            ));
        }
        (Some(text), None) => Some(
            WebhookSecret::parse(text.expose_secret())
                .map_err(|reason| ConfigError::new("HANDOFF_WEBHOOK_SECRET", reason))?,
        ),
        (None, Some(path)) => {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(
                    "HANDOFF_WEBHOOK_SECRET_FILE",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?);
            Some(
                WebhookSecret::parse(&text)
                    .map_err(|reason| ConfigError::new("HANDOFF_WEBHOOK_SECRET_FILE", reason))?,
            )
        }
        (None, None) => None,
    };
    match (url, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::new(
            "HANDOFF_WEBHOOK_SECRET",
            "required with HANDOFF_WEBHOOK_URL (a whsec_… signing secret)",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "HANDOFF_WEBHOOK_URL",
            "required with a webhook secret",
        )),
        (Some(url), Some(secret)) => WebhookTarget::parse(url.expose_secret(), secret)
            .map(Some)
            .map_err(|reason| ConfigError::new("HANDOFF_WEBHOOK_URL", reason)),
    }
}

/// Reads the settings file again (for SIGHUP) and builds its directory the
/// way start-up does. The whole file must still be valid; settings that
/// need a restart (listen address, store, keys, webhook) are not
/// re-applied, so `can_sign_hooks` is what the running server was started
/// with.
pub fn reload_directory(path: &Path, can_sign_hooks: bool) -> Result<Directory, ConfigError> {
    let mut file = read_file(path)?;
    Directory::from_settings(&file.take_directory(can_sign_hooks))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "HANDOFF_CONFIG",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    toml::from_str(&text).map_err(|e| {
        ConfigError::new(
            "HANDOFF_CONFIG",
            format!("{}: {}", path.display(), toml_error(&e, &text)),
        )
    })
}

/// A settings file's syntax error by line and column. toml's own `Display`
/// quotes the offending line, which may hold a token or a secret, and this
/// message reaches stderr and, on reload, the log.
fn toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim();
    let Some(span) = error.span() else {
        return message.to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    format!("line {line}, column {column}: {message}")
}

fn parse_store(text: &str) -> Result<StoreSetting, ConfigError> {
    let text = text.trim();
    if text == "memory" {
        Ok(StoreSetting::Memory)
    } else if text.starts_with("redis://")
        || text.starts_with("rediss://")
        || crate::store::is_cluster_url(text)
    {
        RedisUrl::parse(text)
            .map(StoreSetting::Redis)
            .map_err(|reason| ConfigError::new("HANDOFF_STORE", reason))
    } else if text.contains("://") {
        Err(ConfigError::new(
            "HANDOFF_STORE",
            "must be `memory`, a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL, or a folder path",
        ))
    } else if text.is_empty() {
        Err(ConfigError::new("HANDOFF_STORE", "must not be empty"))
    } else {
        Ok(StoreSetting::Embedded(PathBuf::from(text)))
    }
}

fn parse_proxy(text: &str) -> Result<IpNet, ConfigError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            ConfigError::new(
                "HANDOFF_TRUSTED_PROXIES",
                format!("'{text}' is not an IP address or CIDR range"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: ServeArgs, file: &str) -> Result<Settings, ConfigError> {
        Settings::merge(args, toml::from_str(file).unwrap())
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = load(ServeArgs::default(), "").unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.store, StoreSetting::Embedded("./data".into()));
        assert_eq!(s.default_ttl.as_secs(), 86_400);
        assert_eq!(s.max_ttl.as_secs(), 7 * 86_400);
        assert_eq!(s.max_views.get(), 10);
        assert_eq!(s.max_secret_bytes, 65_536);
        assert_eq!(s.failed_reveals_per_minute, 30);
        assert!(s.trusted_proxies.is_empty());
    }

    #[test]
    fn flags_override_the_file() {
        let args = ServeArgs {
            max_views: Some("3".into()),
            ..ServeArgs::default()
        };
        let s = load(args, "max_views = 5\nmax_ttl = \"2d\"").unwrap();
        assert_eq!(s.max_views.get(), 3);
        assert_eq!(s.max_ttl.as_secs(), 2 * 86_400);
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let err = load(ServeArgs::default(), "max_ttl = \"forever\"").unwrap_err();
        assert_eq!(err.setting, "HANDOFF_MAX_TTL");
        let err = load(ServeArgs::default(), "default_ttl = \"8d\"").unwrap_err();
        assert_eq!(err.setting, "HANDOFF_DEFAULT_TTL");
        let err = load(ServeArgs::default(), "listen = \"localhost\"").unwrap_err();
        assert_eq!(err.setting, "HANDOFF_LISTEN");
        let err = load(
            ServeArgs::default(),
            "trusted_proxies = [\"10.0.0.0/8\", \"nope\"]",
        )
        .unwrap_err();
        assert_eq!(err.setting, "HANDOFF_TRUSTED_PROXIES");
    }

    #[test]
    fn the_new_secret_window_is_2m_unless_set_within_0s_to_10m() {
        let s = load(ServeArgs::default(), "").unwrap();
        assert_eq!(s.new_secret_window, std::time::Duration::from_secs(120));
        let s = load(ServeArgs::default(), "new_secret_window = \"30s\"").unwrap();
        assert_eq!(s.new_secret_window, std::time::Duration::from_secs(30));
        let s = load(ServeArgs::default(), "new_secret_window = \"0s\"").unwrap();
        assert_eq!(s.new_secret_window, std::time::Duration::ZERO);
        let error = load(ServeArgs::default(), "new_secret_window = \"11m\"").unwrap_err();
        assert_eq!(error.setting, "HANDOFF_NEW_SECRET_WINDOW");
    }

    #[test]
    fn the_shutdown_timeout_is_10s_unless_set_within_1s_to_10m() {
        let s = load(ServeArgs::default(), "").unwrap();
        assert_eq!(s.shutdown_timeout, std::time::Duration::from_secs(10));
        let s = load(ServeArgs::default(), "shutdown_timeout = \"30s\"").unwrap();
        assert_eq!(s.shutdown_timeout, std::time::Duration::from_secs(30));
        for bad in ["0", "11m", "soon", "99999999999999999999d"] {
            let args = ServeArgs {
                shutdown_timeout: Some(bad.into()),
                ..ServeArgs::default()
            };
            let err = load(args, "").unwrap_err();
            assert_eq!(err.setting, "HANDOFF_SHUTDOWN_TIMEOUT", "{bad}");
        }
    }

    #[test]
    fn redis_requires_a_server_key() {
        let err = load(ServeArgs::default(), "store = \"redis://127.0.0.1:6399\"").unwrap_err();
        assert_eq!(err.setting, "HANDOFF_SERVER_KEY");
        let key = ServerKey::generate().encode();
        let file = format!(
            "store = \"redis://127.0.0.1:6399\"\nserver_key = \"{}\"",
            key.as_str()
        );
        assert!(load(ServeArgs::default(), &file).is_ok());
    }

    #[test]
    fn no_secret_setting_appears_in_debug_output() {
        let server_key = ServerKey::generate().encode();
        let secrets = [
            server_key.as_str(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "metrics-token-0123456789",
            "redis-password-42",
            "hook-token-77",
            "bao-token-s3cr3t",
            "approle-secret-id-9",
        ];
        let file = format!(
            r#"
store = "redis://default:{redis}@127.0.0.1:6399/0"
server_key = "{key}"
webhook_url = "https://hooks.example.com/in?token={hook}"
webhook_secret = "{whsec}"
metrics_token = "{metrics}"
[sinks.vault]
kind = "vault-kv2"
address = "https://bao.internal:8200"
token = "{bao}"
[sinks.approle]
kind = "vault-kv2"
address = "https://bao.internal:8200"
role_id = "role"
secret_id = "{approle}"
"#,
            key = secrets[0],
            whsec = secrets[1],
            metrics = secrets[2],
            redis = secrets[3],
            hook = secrets[4],
            bao = secrets[5],
            approle = secrets[6],
        );
        let settings = load(ServeArgs::default(), &file).unwrap();
        let printed = format!("{settings:?} {settings:#?}");
        let parsed: FileSettings = toml::from_str(&file).unwrap();
        let printed_file = format!("{parsed:?}");
        let args = ServeArgs {
            store: Some(format!("redis://:{}@127.0.0.1:6399", secrets[3]).into()),
            server_key: Some(secrets[0].into()),
            webhook_url: Some(format!("https://h.example/?t={}", secrets[4]).into()),
            webhook_secret: Some(secrets[1].into()),
            metrics_token: Some(secrets[2].into()),
            ..ServeArgs::default()
        };
        let printed_args = format!("{args:?}");
        for secret in secrets {
            assert!(
                !printed.contains(secret),
                "Settings shows {secret}: {printed}"
            );
            assert!(!printed_file.contains(secret), "the file shows {secret}");
            assert!(!printed_args.contains(secret), "ServeArgs shows {secret}");
        }
        assert!(printed.contains("RedisUrl(***)"), "{printed}");
        assert!(printed.contains("MetricsToken(***)"), "{printed}");
    }

    #[test]
    fn a_metrics_token_matches_only_itself_and_must_be_long_enough() {
        let token = MetricsToken::parse("  metrics-token-0123456789\n").unwrap();
        assert!(token.matches("metrics-token-0123456789"));
        assert!(!token.matches("metrics-token-012345678"));
        let err = MetricsToken::parse("short").unwrap_err();
        assert!(!err.contains("short"), "the message does not repeat it");
        let err = load(ServeArgs::default(), "metrics_token = \"short\"").unwrap_err();
        assert_eq!(err.setting, "HANDOFF_METRICS_TOKEN");
    }

    #[test]
    fn a_bad_redis_url_is_refused_without_repeating_it() {
        let err = load(
            ServeArgs::default(),
            "store = \"redis://:pa55word@[bad\"\nserver_key = \"x\"",
        )
        .unwrap_err();
        assert_eq!(err.setting, "HANDOFF_STORE");
        assert!(!err.to_string().contains("pa55word"), "{err}");
    }

    #[test]
    fn absurd_durations_are_refused_naming_the_setting_and_the_bound() {
        for (file, setting, bound) in [
            ("max_ttl = \"366d\"", "HANDOFF_MAX_TTL", "365d"),
            ("default_ttl = \"400d\"", "HANDOFF_DEFAULT_TTL", "365d"),
            (
                "max_ttl = \"99999999999999999999\"",
                "HANDOFF_MAX_TTL",
                "too long",
            ),
            (
                "audit_retention = \"3651d\"",
                "HANDOFF_AUDIT_RETENTION",
                "3650d",
            ),
            (
                "webhook_retries = \"5s,25h\"",
                "HANDOFF_WEBHOOK_RETRIES",
                "1d",
            ),
            (
                "webhook_retries = \"213503982334601d\"",
                "HANDOFF_WEBHOOK_RETRIES",
                "too long",
            ),
            (
                "expiry_reminders = \"30,4000\"",
                "HANDOFF_EXPIRY_REMINDERS",
                "3650",
            ),
        ] {
            let err = load(ServeArgs::default(), file).unwrap_err();
            assert_eq!(err.setting, setting, "{file}");
            assert!(err.reason.contains(bound), "{file}: {err}");
        }
        let many = vec!["1s"; MAX_WEBHOOK_RETRIES + 1].join(",");
        let err = load(
            ServeArgs::default(),
            &format!("webhook_retries = \"{many}\""),
        )
        .unwrap_err();
        assert_eq!(err.setting, "HANDOFF_WEBHOOK_RETRIES");
        let ok = load(
            ServeArgs::default(),
            "max_ttl = \"365d\"\ndefault_ttl = \"365d\"\naudit_retention = \"3650d\"\nwebhook_retries = \"1d\"",
        );
        assert!(ok.is_ok(), "the bounds themselves are allowed");
    }

    /// `Settings::merge` on any settings file and any flags or environment
    /// values: `Ok` or a `ConfigError`, never a panic. Settings that name
    /// files point into a folder that does not exist, so nothing is read.
    mod fuzz {
        use std::collections::BTreeSet;

        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::*;

        // Each table's keys, and those it cannot do without.
        // (The *_file settings are left out: each would only ever meet the
        // missing folder.)
        const TOP: &str = "listen public_url store server_key default_ttl max_ttl max_views \
            max_secret_bytes failed_reveals_per_minute redis_wait_replicas trusted_proxies trusted_user_header \
            require_staff_to_push audit_retention webhook_url webhook_secret webhook_retries \
            metrics_token expiry_reminders vendor_name";
        const TENANT: (&str, &str) = (
            "name entra_tenant client_id authority scope verify sink sink_path after_apply",
            "name entra_tenant client_id",
        );
        const SINKS: &[(&str, &str, &str)] = &[
            (
                "vault-kv2",
                "address mount namespace token token_file role_id secret_id secret_id_file \
                 approle_mount timeout",
                "address",
            ),
            (
                "azure-keyvault",
                "vault_url tenant client_id client_secret client_secret_file authority scope \
                 name_prefix timeout",
                "vault_url tenant client_id",
            ),
            ("webhook", "url secret secret_file timeout", "url"),
            ("file", "dir format", "dir"),
        ];
        const MISSING: &str = "/nonexistent-handoff-fuzz/";

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[ -~]{0,40}",
                "[0-9]{0,22}[smhd]?",
                "(redis|rediss|http|https|ftp)://[a-z0-9.:@/\\[\\]-]{0,30}",
                "[0-9./:a-f]{1,20}",
                select(
                    &[
                        "memory",
                        "true",
                        "false",
                        "24h",
                        "7d",
                        "0",
                        "required",
                        "off",
                        "advisory",
                        "env",
                        "json",
                        "127.0.0.1:0",
                        "X-Forwarded-User",
                        "https://login.microsoftonline.com",
                        "http://127.0.0.1:9",
                        "contoso.onmicrosoft.com",
                        "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11",
                        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                    ][..]
                )
                .prop_map(str::to_owned),
            ]
        }

        fn quoted(text: &str) -> String {
            serde_json::to_string(text).unwrap()
        }

        /// A value `key` accepts, so that a case gets past it to the
        /// settings after it.
        fn plausible(key: &str) -> &'static [&'static str] {
            match key {
                "listen" => &["127.0.0.1:0", "[::1]:0"],
                "public_url" => &["https://handoff.example.com", "http://127.0.0.1:8080/x"],
                "store" => &["memory", "./data", "memory", "redis://:pw@127.0.0.1:6399/0"],
                "server_key" => &["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="],
                "default_ttl" => &["24h", "60"],
                "max_ttl" | "audit_retention" => &["7d", "365d", "90d"],
                "max_views" => &["10", "1"],
                "max_secret_bytes" => &["65536"],
                "failed_reveals_per_minute" => &["30", "0"],
                "redis_wait_replicas" => &["0", "1"],
                "trusted_proxies" => &["127.0.0.1", "10.0.0.0/8,::1"],
                "trusted_user_header" => &["X-Forwarded-User", ""],
                "webhook_url" | "url" | "after_apply" => &["https://hooks.example.com/in"],
                "webhook_secret" | "secret" => &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                "webhook_retries" => &["5s,30s", ""],
                "metrics_token" => &["0123456789abcdef0"],
                "expiry_reminders" => &["30,7,1", "0"],
                "name" | "vendor_name" => &["Contoso Ltd"],
                "entra_tenant" | "tenant" => &["contoso.onmicrosoft.com"],
                "client_id" => &["6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11"],
                "authority" => &["https://login.microsoftonline.com", "http://127.0.0.1:9"],
                "scope" => &["https://graph.microsoft.com/.default"],
                "verify" => &["required", "advisory", "off"],
                "sink" => &["vault", "contoso"],
                "sink_path" => &["tenants/contoso"],
                "address" | "vault_url" => &["https://bao.internal:8200"],
                "timeout" => &["10s", "1h"],
                "format" => &["env", "json"],
                _ => &["x"],
            }
        }

        /// A TOML literal: mostly a value `key` accepts or one of its type
        /// (settings that name files get a missing folder), seldom another
        /// type.
        fn literal(key: &'static str) -> BoxedStrategy<String> {
            let string = || text().prop_map(|s| quoted(&s)).boxed();
            let typed = match key {
                _ if key.ends_with("_file") || key == "dir" => {
                    return text()
                        .prop_map(|s| quoted(&format!("{MISSING}{s}")))
                        .boxed();
                }
                "require_staff_to_push" => {
                    return any::<bool>().prop_map(|b| b.to_string()).boxed();
                }
                "default_ttl"
                | "max_ttl"
                | "max_views"
                | "max_secret_bytes"
                | "failed_reveals_per_minute"
                | "redis_wait_replicas"
                | "audit_retention" => prop_oneof![
                    string(),
                    any::<i64>().prop_map(|n| n.to_string()),
                    (0i64..100_000).prop_map(|n| n.to_string()),
                ]
                .boxed(),
                "trusted_proxies" => prop_oneof![
                    string(),
                    vec(string(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
                ]
                .boxed(),
                _ => string(),
            };
            prop_oneof![
                85 => select(plausible(key)).prop_map(quoted),
                14 => typed,
                1 => prop_oneof![
                    any::<i64>().prop_map(|n| n.to_string()),
                    any::<bool>().prop_map(|b| b.to_string()),
                ],
            ]
            .boxed()
        }

        /// `key = value` lines for some of `keys` (`required` ones nearly
        /// always), and now and then a key that is not a setting.
        fn lines(keys: &'static str, required: &'static str) -> BoxedStrategy<String> {
            let keys: Vec<&'static str> = keys.split_whitespace().collect();
            let required: Vec<&'static str> = required.split_whitespace().collect();
            let some = btree_map(
                prop_oneof![199 => select(keys), 1 => Just("unknown_key")],
                Just(()),
                0..8,
            );
            (some, vec(prop::bool::weighted(0.98), required.len()))
                .prop_flat_map(move |(some, keep)| {
                    let mut keys: BTreeSet<&'static str> = some.into_keys().collect();
                    keys.extend(
                        required
                            .iter()
                            .zip(keep)
                            .filter(|(_, k)| *k)
                            .map(|(r, _)| *r),
                    );
                    keys.into_iter()
                        .map(|key| literal(key).prop_map(move |value| format!("{key} = {value}\n")))
                        .collect::<Vec<_>>()
                })
                .prop_map(|lines| lines.concat())
                .boxed()
        }

        fn table_name() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => select(&["contoso", "vault", "alice", "a-b_1"][..]).prop_map(str::to_owned),
                1 => text(),
            ]
            .prop_map(|name| quoted(&name))
        }

        fn sink(name: String) -> impl Strategy<Value = String> {
            select(SINKS).prop_flat_map(move |(kind, keys, required)| {
                let name = name.clone();
                lines(keys, required).prop_map(move |lines| {
                    format!("[sinks.{name}]\nkind = {}\n{lines}", quoted(kind))
                })
            })
        }

        fn tenant(name: String) -> impl Strategy<Value = String> {
            lines(TENANT.0, TENANT.1).prop_map(move |lines| format!("[tenants.{name}]\n{lines}"))
        }

        fn staff(name: String) -> impl Strategy<Value = String> {
            "[0-9a-f]{0,70}"
                .prop_map(move |hash| format!("[staff.{name}]\ntoken_sha256 = {}\n", quoted(&hash)))
        }

        /// Tables of one kind, each name once.
        fn tables<S: Strategy<Value = String> + 'static>(
            table: fn(String) -> S,
            most: usize,
        ) -> BoxedStrategy<String> {
            btree_map(table_name(), Just(()), 0..most)
                .prop_flat_map(move |names| names.into_keys().map(table).collect::<Vec<_>>())
                .prop_map(|tables| tables.concat())
                .boxed()
        }

        fn settings_file() -> impl Strategy<Value = String> {
            prop_oneof![
                1 => any::<String>(),
                8 => (lines(TOP, ""), tables(tenant, 3), tables(sink, 3), tables(staff, 2))
                    .prop_map(|(top, tenants, sinks, staff)| format!("{top}{tenants}{sinks}{staff}")),
            ]
        }

        /// A flag or environment value for `key`: mostly unset; else a
        /// value it accepts or any text.
        // Boxed strategies keep the generated types (and debug builds'
        // stack frames) small.
        fn flag(key: &'static str) -> BoxedStrategy<Option<String>> {
            let value = prop_oneof![
                6 => select(plausible(key)).prop_map(str::to_owned),
                3 => text(),
                1 => Just("true".to_owned()),
            ];
            prop::option::weighted(0.15, value).boxed()
        }

        fn secret_flag(key: &'static str) -> BoxedStrategy<Option<SecretString>> {
            flag(key).prop_map(|f| f.map(SecretString::from)).boxed()
        }

        prop_compose! {
            fn serve_args()(
                a in (
                    flag("listen"), flag("public_url"), secret_flag("store"),
                    secret_flag("server_key"), flag("default_ttl"), flag("max_ttl"),
                    flag("max_views"),
                ),
                b in (
                    flag("max_secret_bytes"), flag("failed_reveals_per_minute"),
                    flag("trusted_proxies"), flag("trusted_user_header"),
                    secret_flag("webhook_url"), secret_flag("webhook_secret"),
                    flag("webhook_retries"),
                ),
                c in (
                    secret_flag("metrics_token"), flag("expiry_reminders"),
                    flag("audit_retention"), flag("require_staff_to_push"),
                ),
            ) -> ServeArgs {
                ServeArgs {
                    listen: a.0,
                    public_url: a.1,
                    store: a.2,
                    server_key: a.3,
                    default_ttl: a.4,
                    max_ttl: a.5,
                    max_views: a.6,
                    max_secret_bytes: b.0,
                    failed_reveals_per_minute: b.1,
                    trusted_proxies: b.2,
                    trusted_user_header: b.3,
                    webhook_url: b.4,
                    webhook_secret: b.5,
                    webhook_retries: b.6,
                    metrics_token: c.0,
                    expiry_reminders: c.1,
                    audit_retention: c.2,
                    require_staff_to_push: c.3,
                    ..ServeArgs::default()
                }
            }
        }

        fn config() -> proptest::test_runner::Config {
            proptest::test_runner::Config {
                cases: std::env::var("PROPTEST_CASES")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(256),
                failure_persistence: None,
                ..proptest::test_runner::Config::default()
            }
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn merge_returns_ok_or_a_config_error(file in settings_file(), args in serve_args()) {
                if let Ok(parsed) = toml::from_str::<FileSettings>(&file) {
                    match Settings::merge(args, parsed) {
                        Ok(settings) => prop_assert!(settings.default_ttl <= settings.max_ttl),
                        Err(error) => prop_assert!(!error.setting.is_empty()),
                    }
                }
            }
        }
    }

    #[test]
    fn a_syntax_error_names_the_line_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.toml");
        std::fs::write(
            &path,
            "vendor_name = \"Fabrikam\"\n[sinks.vault]\ntoken = \"hvs.not-for-the-log\n",
        )
        .unwrap();
        let err = read_file(&path).unwrap_err();
        assert_eq!(err.setting, "HANDOFF_CONFIG");
        assert!(err.reason.contains("line 3"), "{err}");
        assert!(!err.reason.contains("not-for-the-log"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let parsed: Result<FileSettings, _> = toml::from_str("max_veiws = 3");
        assert!(parsed.is_err());
    }

    #[test]
    fn the_example_settings_file_is_valid() {
        let s = load(
            ServeArgs::default(),
            include_str!("../deploy/handoff.example.toml"),
        )
        .unwrap();
        assert_eq!(s.store, StoreSetting::Embedded("/var/lib/handoff".into()));
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.directory.vendor_name, "Fabrikam");
        assert!(s.directory.tenant("contoso").is_some());
        assert!(s.directory.staff_member("alice").is_some());
    }

    #[test]
    fn connection_limits_default_to_the_documented_ones_under_the_file_limit() {
        let limits = parse_connection_limits([None, None, None], None, Some(65_536)).unwrap();
        assert_eq!(limits.header_timeout, Duration::from_secs(10));
        assert_eq!(limits.body_timeout, Duration::from_secs(30));
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
        assert_eq!(limits.max_connections, 4096);
        let limits = parse_connection_limits([None, None, None], None, Some(1024)).unwrap();
        assert_eq!(limits.max_connections, 896);
        let file = "header_timeout = \"5s\"\nidle_timeout = 120\nmax_connections = 100";
        let s = load(ServeArgs::default(), file).unwrap();
        assert_eq!(s.connections.header_timeout, Duration::from_secs(5));
        assert_eq!(s.connections.idle_timeout, Duration::from_secs(120));
        assert_eq!(s.connections.max_connections, 100);
    }

    #[test]
    fn absurd_connection_limits_name_the_setting() {
        let refused = |texts: [Option<&str>; 3], max: Option<&str>| {
            parse_connection_limits(
                texts.map(|t| t.map(str::to_owned)),
                max.map(str::to_owned),
                Some(1024),
            )
            .unwrap_err()
            .setting
        };
        assert_eq!(
            refused([Some("0"), None, None], None),
            "HANDOFF_HEADER_TIMEOUT"
        );
        assert_eq!(
            refused([None, Some("2h"), None], None),
            "HANDOFF_BODY_TIMEOUT"
        );
        assert_eq!(
            refused([None, None, Some("soon")], None),
            "HANDOFF_IDLE_TIMEOUT"
        );
        assert_eq!(refused([None; 3], Some("0")), "HANDOFF_MAX_CONNECTIONS");
        assert_eq!(refused([None; 3], Some("-5")), "HANDOFF_MAX_CONNECTIONS");
        // Above what 1024 open files leave room for.
        assert_eq!(refused([None; 3], Some("1000")), "HANDOFF_MAX_CONNECTIONS");
    }

    #[test]
    fn public_url_must_be_http_or_https() {
        assert!(PublicUrl::parse("ftp://x").is_err());
        assert_eq!(
            PublicUrl::parse("https://h.example/").unwrap().as_str(),
            "https://h.example"
        );
        assert!(PublicUrl::parse("https://h.example").unwrap().is_https());
    }
}
