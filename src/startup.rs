//! Builds the application from settings: store, keys, service, router, and
//! the bound listener (so tests can ask for port 0 and read the port).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{PublicUrl, Settings, StoreSetting};
use crate::connections::ConnectionLimits;
use crate::crypto::{KeyFingerprint, ServerKey};
use crate::directory::SharedDirectory;
use crate::mail::Mailer;
use crate::rate_limit::FailureLimiter;
use crate::service::{MailSetup, Service};
use crate::store::{EmbeddedStore, KeptFingerprint, MemoryStore, RedisStore, SharedStore};
use crate::verify::Verifier;
use crate::web::{self, AppParts, AppState, SessionSigner, WebSettings};
use crate::webhook::Webhooks;

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Latency samples are folded into histogram buckets this often, so memory
/// stays bounded whether or not anything scrapes `/metrics`.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Expired secrets are deleted physically at least this often.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

pub struct Application {
    reload: Reload,
    audit_retention_secs: i64,
    expiry_reminders: Vec<u32>,
    shutdown_timeout: Duration,
    listener: TcpListener,
    address: SocketAddr,
    connections: ConnectionLimits,
    public_url: PublicUrl,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Redis over TLS and outbound HTTPS share one rustls provider.
        crate::outbound::install_tls_provider();
        let (store, server_key) = open_store(&settings).await?;
        // Everything that can stop start-up comes before the listener: once
        // the port accepts connections, the server serves them.
        let limiter = open_limiter(&settings.store, settings.failed_reveals_per_minute).await?;
        let listener = crate::connections::listen(settings.listen)
            .with_context(|| format!("HANDOFF_LISTEN: cannot listen on {}", settings.listen))?;
        let address = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::for_listener(address));

        if let Some(path) = &settings.config_path {
            tracing::info!(path = %path.display(), "read the settings file");
        } else {
            tracing::info!("no handoff.toml found; staff and tenants are empty");
        }
        let reload = Reload {
            path: settings.config_path.clone(),
            can_sign_hooks: settings.webhook.is_some(),
            hangups: listen_for_hangups(),
        };
        let directory = SharedDirectory::new(settings.directory);
        let verifier = Verifier::new(Verifier::DEFAULT_TIMEOUT);
        let mut service =
            Service::with_tenants(store, server_key.clone(), directory.clone(), verifier)
                .with_new_secret_window(settings.new_secret_window);
        let mut mail_kind = None;
        if let Some(mail) = settings.mail.clone() {
            let mailer = Mailer::new(&mail)
                .map_err(|error| anyhow::anyhow!("HANDOFF_MAIL_HOST: {error}"))?;
            tracing::info!(host = %mail.host, port = mail.port, "mail goes through this SMTP server");
            service = service.with_mail(MailSetup {
                settings: mail,
                public_url: public_url.as_str().to_owned(),
                schedule: settings.mail_retries.clone(),
            });
            mail_kind = service.mail_outbox(mailer);
        }
        if settings.webhook.is_some() || mail_kind.is_some() {
            let outbox = SharedStore::downgrade(service.store());
            let tenants = directory.clone();
            let webhooks = Webhooks::start_outbox(
                settings.webhook.clone(),
                settings.webhook_retries.clone(),
                WEBHOOK_TIMEOUT,
                outbox,
                move |slug| tenants.current().tenant(slug)?.after_apply.clone(),
                service.audit().delivery_reporter(),
                mail_kind,
            );
            service = service.with_webhooks(webhooks);
        }
        let state = AppState::new(AppParts {
            service: Arc::new(service),
            limiter: Arc::new(limiter),
            sessions: Arc::new(SessionSigner::new(&server_key)),
            settings: Arc::new(WebSettings {
                public_url: public_url.clone(),
                default_ttl: settings.default_ttl,
                max_ttl: settings.max_ttl,
                max_views: settings.max_views,
                max_secret_bytes: settings.max_secret_bytes,
                trusted_proxies: settings.trusted_proxies.clone(),
                trusted_user_header: settings.trusted_user_header.clone(),
                require_staff_to_push: settings.require_staff_to_push,
                metrics_token: settings.metrics_token.clone(),
                branding: settings.branding.clone(),
            }),
            directory,
        });
        Ok(Self {
            reload,
            audit_retention_secs: settings.audit_retention_secs as i64,
            expiry_reminders: settings.expiry_reminders.clone(),
            shutdown_timeout: settings.shutdown_timeout,
            listener,
            address,
            connections: settings.connections,
            public_url,
            state,
        })
    }

    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    #[must_use]
    pub fn public_url(&self) -> &PublicUrl {
        &self.public_url
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes open requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops within the shutdown
    /// timeout: open requests, then webhook attempts in flight, then the
    /// audit flush, each get what is left of it, and whatever is still
    /// unfinished at the deadline is logged and left (webhook events stay
    /// in the outbox; every audit event's log line is already written).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_forever(
            self.state.clone(),
            self.audit_retention_secs,
            self.expiry_reminders.clone(),
        ));
        let metrics = self.state.service.metrics().clone();
        let upkeep = tokio::spawn(async move {
            let mut tick = tokio::time::interval(METRICS_UPKEEP_EVERY);
            loop {
                tick.tick().await;
                metrics.upkeep();
            }
        });
        let reloader = tokio::spawn(self.reload.on_every_hangup(self.state.directory.clone()));
        let audit = self.state.service.audit().clone();
        let webhooks = self.state.service.webhooks().clone();
        tracing::info!(
            max_connections = self.connections.max_connections,
            open_files_limit = crate::connections::open_files_limit(),
            "accepting connections"
        );
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let serve = crate::connections::serve(
            self.listener,
            web::app(self.state),
            self.connections,
            async move {
                shutdown.await;
                let _ = stopping.send(());
            },
        );
        let mut serve = std::pin::pin!(serve);
        let stopped_early = tokio::select! {
            biased;
            () = &mut serve => true,
            Ok(()) = stopped => false,
        };
        let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
        if !stopped_early && tokio::time::timeout_at(deadline, &mut serve).await.is_err() {
            tracing::warn!(
                timeout_secs = self.shutdown_timeout.as_secs(),
                "requests still open at the shutdown timeout were cut off"
            );
        }
        sweeper.abort();
        upkeep.abort();
        reloader.abort();
        // Deliveries first: they report into the audit trail.
        if tokio::time::timeout_at(deadline, webhooks.stop())
            .await
            .is_err()
        {
            tracing::warn!(
                attempts = webhooks.in_flight(),
                "webhook attempts still running at the shutdown timeout were left; they stay in the outbox and are made again"
            );
        }
        if tokio::time::timeout_at(deadline, audit.flush())
            .await
            .is_err()
        {
            tracing::warn!(
                events = audit.pending(),
                "audit events not yet in the store at the shutdown timeout were left (each is in the log)"
            );
        }
        Ok(())
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<(SharedStore, ServerKey)> {
    // Which setting a mismatching key came from, for the refusal.
    let mut key_source = "HANDOFF_SERVER_KEY".to_owned();
    let (store, key): (SharedStore, ServerKey) = match &settings.store {
        StoreSetting::Memory => {
            let key = settings
                .server_key
                .clone()
                .unwrap_or_else(ServerKey::generate);
            (Arc::new(MemoryStore::new()), key)
        }
        StoreSetting::Embedded(folder) => {
            create_private_dir(folder).with_context(|| {
                format!(
                    "HANDOFF_STORE: cannot create the folder {}",
                    folder.display()
                )
            })?;
            let store = EmbeddedStore::open(folder).with_context(|| {
                format!(
                    "HANDOFF_STORE: cannot open the store in {} (is another handoff using it?)",
                    folder.display()
                )
            })?;
            let key = if let Some(key) = &settings.server_key {
                key.clone()
            } else {
                key_source = folder.join(KEY_FILE).display().to_string();
                load_or_create_key(folder, &store)?
            };
            (Arc::new(store), key)
        }
        StoreSetting::Redis(url) => {
            let key = settings
                .server_key
                .clone()
                .context("HANDOFF_SERVER_KEY: required with a Redis store")?;
            let retention = std::time::Duration::from_secs(settings.audit_retention_secs);
            let store = RedisStore::connect(url.expose(), retention)
                .await
                .context("HANDOFF_STORE: cannot connect to Redis")?
                .wait_for_replicas(settings.redis_wait_replicas);
            (Arc::new(store), key)
        }
    };
    check_key_fingerprint(&store, &key, &key_source).await?;
    Ok((store, key))
}

/// Refuses a server key other than the one the store's records are sealed
/// with: started anyway, every secret would be unreadable, and a wrong key
/// must never look like a wrong passphrase to the people holding links.
async fn check_key_fingerprint(
    store: &SharedStore,
    key: &ServerKey,
    key_source: &str,
) -> anyhow::Result<()> {
    let ours = KeyFingerprint::of(key);
    let kept = store
        .keep_key_fingerprint(ours.as_bytes())
        .await
        .context("HANDOFF_STORE: cannot read the store's server key fingerprint")?;
    match kept {
        KeptFingerprint::Kept(kept) if ours.matches(&kept) => Ok(()),
        KeptFingerprint::Kept(kept) => {
            let theirs = KeyFingerprint::from_stored(&kept)
                .map_or_else(|| "unreadable".to_owned(), |f| f.to_string());
            anyhow::bail!(
                "{key_source}: does not match the key this store's secrets were sealed with (fingerprint {theirs}; this key's is {ours}); use the original key"
            )
        }
        KeptFingerprint::Recorded { adopted: false } => {
            tracing::info!(fingerprint = %ours, "recorded the server key's fingerprint in the store");
            Ok(())
        }
        // A store written before fingerprints were kept. Nothing in it can
        // be checked against a key (every sealed value also needs a link
        // key), so the first start that keeps one takes this key's. That
        // is safe enough: it is the deployment that wrote the records,
        // restarted with its settings (and the embedded store's key file
        // was written beside its records, so there it is right by
        // construction); records from now on carry the fingerprint, and
        // the older ones are gone within the longest TTL.
        KeptFingerprint::Recorded { adopted: true } => {
            tracing::warn!(fingerprint = %ours, "the store held records but no server key fingerprint (written by an older version); it now keeps this key's");
            Ok(())
        }
    }
}

/// Instances sharing Redis share one failed-attempt allowance per address;
/// otherwise each process counts its own.
async fn open_limiter(store: &StoreSetting, per_minute: u32) -> anyhow::Result<FailureLimiter> {
    Ok(match store {
        StoreSetting::Redis(url) => FailureLimiter::shared(per_minute, url.expose())
            .await
            .context("HANDOFF_STORE: cannot connect to Redis to count failed attempts")?,
        StoreSetting::Memory | StoreSetting::Embedded(_) => FailureLimiter::new(per_minute),
    })
}

/// The store folder is readable by the server's user only.
fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)
}

/// The embedded store's key file, beside `secrets.redb`.
const KEY_FILE: &str = "server.key";

/// The embedded store keeps its server key beside the data, made once with
/// mode 0600. A copy of the folder is then enough to decrypt nothing
/// without links, as with the other stores. A new key is made only for an
/// empty store: one that holds records but lost its key file (a restore of
/// the database alone) is refused, since a new key would make every record
/// unreadable.
fn load_or_create_key(folder: &Path, store: &EmbeddedStore) -> anyhow::Result<ServerKey> {
    let path = folder.join(KEY_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return ServerKey::parse(&text)
            .map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()));
    }
    if !store
        .is_empty()
        .context("HANDOFF_STORE: cannot read the store")?
    {
        anyhow::bail!(
            "{}: missing, but the store beside it holds secrets sealed with it (was the database restored without its key file?); restore {KEY_FILE}, or set HANDOFF_SERVER_KEY or HANDOFF_SERVER_KEY_FILE to the original key",
            path.display()
        );
    }
    let key = ServerKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(key.encode().as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new server key");
    Ok(key)
}

async fn sweep_forever(state: AppState, audit_retention_secs: i64, reminders: Vec<u32>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        match state.service.sweep(audit_retention_secs).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "deleted expired secrets and requests"),
            Err(error) => tracing::warn!(%error, "could not delete expired secrets"),
        }
        // Automatic requests first, so that a reminder can say one went out.
        if let Err(error) = state.service.request_before_expiry().await {
            tracing::warn!(%error, "could not create automatic requests before expiry");
        }
        if let Err(error) = state.service.remind_expiring(&reminders).await {
            tracing::warn!(%error, "could not check tenants' secret expiry");
        }
        state.limiter.forget_old();
    }
}

/// What a reload needs: the settings file read at start-up, what of the
/// running server the directory depends on, and the SIGHUP listener.
struct Reload {
    path: Option<PathBuf>,
    can_sign_hooks: bool,
    hangups: Option<Hangups>,
}

#[cfg(unix)]
type Hangups = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangups = ();

/// Listens for SIGHUP from now on. Called while building, before the
/// listener accepts anyone: until a process listens, SIGHUP's default
/// action ends it, so an operator's reload right after start-up would stop
/// the server. Listening even without a settings file keeps a stray SIGHUP
/// harmless too.
fn listen_for_hangups() -> Option<Hangups> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(hangups) => Some(hangups),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; staff, tenants and sinks reload only on restart");
                None
            }
        }
    }
    #[cfg(not(unix))]
    None
}

impl Reload {
    /// Reloads on every SIGHUP until the server stops.
    async fn on_every_hangup(mut self, directory: SharedDirectory) {
        #[cfg(unix)]
        if let Some(mut hangups) = self.hangups.take() {
            while hangups.recv().await.is_some() {
                self.run(&directory);
            }
        }
        #[cfg(not(unix))]
        let _ = (&mut self, directory);
    }

    /// Builds the directory afresh from the file, the way start-up did,
    /// and puts it in force; a bad file keeps the previous one. Either way
    /// one line says what happened.
    fn run(&self, directory: &SharedDirectory) {
        let Some(path) = &self.path else {
            tracing::warn!(
                "SIGHUP: no settings file was found at start-up, so there is nothing to reload"
            );
            return;
        };
        match crate::config::reload_directory(path, self.can_sign_hooks) {
            Ok(new) => {
                let changes = new.summary().changes_from(directory.current().summary());
                directory.replace(new);
                tracing::info!(path = %path.display(), %changes, "reloaded staff, tenants and sinks");
            }
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "reload failed; keeping the previous staff, tenants and sinks");
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
