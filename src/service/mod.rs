//! Use cases: push, peek (metadata), reveal, revoke, status; request links
//! in `requests`. The rules live here; the web layer only parses input and
//! renders results.

mod apply;
mod kdf;
mod mail;
mod requests;
mod tenants;

pub use apply::{Applied, ApplyDetails, ApplyFailure, ApplyStep, LEASE_SECS, days_until};
pub use mail::{AUTOMATIC, MailSetup, NotMailed};
pub use requests::{
    Activating, Answer, AnswerAccepted, AnswerOutcome, CreatedRequest, NewRequest, RequestDetails,
    RequestView, Retrieved,
};
pub use tenants::{EXPIRING_WITHIN_DAYS, ExpiryStatus, TenantStatus};

use zeroize::Zeroizing;

use crate::audit::{Actor, Audit, AuditEvent, AuditQuery, Kind};
use crate::crypto::{self, CryptoError, KeyFingerprint, PASSPHRASE_SALT_LEN, ServerKey};
use crate::directory::SharedDirectory;
use crate::domain::ClientSecretRefusal;
use crate::domain::{
    IdempotencyKey, Label, LinkKey, ManageToken, Note, Passphrase, SecretId, SecretText, Ttl,
    UnixTime, Views, now,
};
use crate::metrics::Metrics;
use crate::store::{
    ConsumeOutcome, ExpiredKind, GuardedView, PassphraseOutcome, Record, RequestState, RevealGuard,
    RevokeOutcome, SecretMeta, SecretState, SharedStore, StoreError, TakenView, ViewEvent,
};
use crate::verify::Verifier;
use crate::webhook::Webhooks;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Unknown, expired, wrong key: indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    /// The caller holds the right key, but the secret has ended.
    #[error("the secret has ended ({})", .state.as_str())]
    Ended { state: SecretState, at: UnixTime },
    #[error("a passphrase is required")]
    PassphraseRequired,
    #[error("wrong passphrase")]
    WrongPassphrase { attempts_remaining: u32 },
    /// This wrong passphrase was the last one allowed.
    #[error("too many wrong passphrases; the secret was destroyed")]
    DestroyedNow,
    /// The key check passed but the ciphertext does not open: the record
    /// was sealed with another server key (or tampered with). Not the
    /// caller's fault: never counted against them, never destroys anything.
    #[error(
        "a stored secret could not be decrypted; is HANDOFF_SERVER_KEY the one it was created with?"
    )]
    Undecryptable,
    /// A compare-and-swap kept losing to concurrent changes of the same
    /// record; nothing was changed.
    #[error("the record kept changing under concurrent updates")]
    Contended,
    /// An apply holds the secret; try again in a minute.
    #[error("the secret is being applied")]
    BeingApplied,
    /// The tenant has no sink to apply to.
    #[error("the tenant has no sink")]
    NoSink,
    /// A step of an apply failed; the secret is still here.
    #[error("the apply failed at {}: {}", .0.step.as_str(), .0.message)]
    ApplyFailed(ApplyFailure),
    #[error("the tenant is not configured")]
    UnknownTenant,
    /// An automatic request's good answer could not be applied; the
    /// request is open again and nothing was kept.
    #[error("the answer could not be delivered; the request is open again")]
    NotDelivered,
    /// A request was to be mailed, but cannot be; nothing was created.
    #[error("the request cannot be mailed: {0:?}")]
    NotMailed(NotMailed),
    /// The request link is no longer open (answered, locked, retrieved).
    #[error("the request is {}", .state.as_str())]
    RequestClosed { state: RequestState, at: UnixTime },
    /// The staff's retrieve link was used before the customer answered.
    #[error("the request has not been answered yet")]
    NotAnswered,
    /// The answer failed the checks that need no network.
    #[error("the secret was refused: {refusal}")]
    SecretRefused {
        refusal: ClientSecretRefusal,
        tries_remaining: u32,
    },
    /// Microsoft refused the secret.
    #[error("verification failed: {code}")]
    VerificationFailed {
        code: &'static str,
        message: String,
        aadsts: Option<u32>,
        tries_remaining: u32,
    },
    /// Microsoft says the vendor's settings for the tenant are wrong.
    #[error("the tenant's settings are wrong: {code}")]
    VendorMisconfigured {
        code: &'static str,
        message: String,
        aadsts: Option<u32>,
    },
    /// Microsoft could not be reached and the tenant requires verification.
    #[error("Microsoft could not be reached")]
    VerifierUnreachable { message: String },
    /// The store did not confirm a step that consumes or deletes (a
    /// timeout after the command was sent): it may have happened, so the
    /// caller is never told that nothing did.
    #[error("the store did not confirm the {}: {cause}", .action.as_str())]
    OutcomeUnknown { action: Unconfirmed, cause: String },
    /// Every key-derivation thread is busy and its short queue is full:
    /// nothing was stored or consumed; try again in a moment.
    #[error("too many passphrase-protected secrets at once")]
    KeyDerivationBusy,
    /// The request asks for a certificate and this asked for a secret, or
    /// the other way round.
    #[error("the request is for another kind of credential")]
    WrongKind { certificate: bool },
    /// Generating or using a certificate credential failed on the server.
    #[error(transparent)]
    Certificate(#[from] crate::certificate::CertificateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which step's outcome the store left unclear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unconfirmed {
    Reveal,
    Retrieve,
    /// The sink holds the secret; whether it was deleted here is unclear.
    ApplyCommit,
}

impl Unconfirmed {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reveal => "reveal",
            Self::Retrieve => "retrieval",
            Self::ApplyCommit => "apply's commit",
        }
    }

    /// The store error of a consuming step, as the caller must hear it: an
    /// unavailable store may have done it all the same.
    pub(crate) fn of(self, error: ServiceError) -> ServiceError {
        match error {
            ServiceError::Store(StoreError::Unavailable(cause)) => ServiceError::OutcomeUnknown {
                action: self,
                cause,
            },
            other => other,
        }
    }
}

impl ServiceError {
    /// Failed attempts count against the caller's per-minute allowance.
    #[must_use]
    pub fn is_failed_attempt(&self) -> bool {
        matches!(
            self,
            Self::NotFound | Self::WrongPassphrase { .. } | Self::DestroyedNow
        )
    }
}

pub struct NewSecret {
    pub secret: SecretText,
    pub ttl: Ttl,
    pub views: Views,
    pub passphrase: Option<Passphrase>,
    pub note: Option<Note>,
    /// Shown only on the sender's manage page.
    pub label: Option<Label>,
}

/// What the creator gets back; the only time K and the manage token exist
/// outside the caller's hands.
#[derive(Debug)]
pub struct Created {
    pub id: SecretId,
    pub key: LinkKey,
    pub manage_token: ManageToken,
    pub expires_at: UnixTime,
    pub views: u32,
}

#[derive(Debug)]
pub struct Metadata {
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub views_allowed: u32,
    pub views_remaining: u32,
    pub passphrase_required: bool,
    pub note: Option<Note>,
}

#[derive(Debug)]
pub struct Revealed {
    pub secret: SecretText,
    pub views_remaining: u32,
}

#[derive(Debug)]
pub struct Status {
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub views_allowed: u32,
    pub views_remaining: u32,
    pub state: SecretState,
    pub ended_at: Option<UnixTime>,
    pub failed_passphrases: u32,
    pub views: Vec<ViewEvent>,
    /// This secret's audit events, newest first.
    pub events: Vec<AuditEvent>,
    /// The sender's private label, opened with the manage token.
    pub label: Option<String>,
}

/// Who asks to delete a secret.
pub enum Deleter {
    LinkHolder(LinkKey),
    Sender(ManageToken),
}

/// Who is calling: recorded in the audit trail and on the sender's status
/// page.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
    /// The signed-in staff member, if any.
    pub staff: Option<String>,
}

impl Client {
    /// An audit event of `kind` by `actor` from this client.
    #[must_use]
    pub fn event(&self, kind: Kind, actor: &Actor) -> AuditEvent {
        AuditEvent::new(kind, actor).from_client(&self.ip, &self.user_agent)
    }

    /// Staff by name, otherwise `otherwise`.
    #[must_use]
    pub fn actor_or(&self, otherwise: Actor) -> Actor {
        self.staff.clone().map_or(otherwise, Actor::Staff)
    }
}

pub struct Service {
    store: SharedStore,
    server_key: ServerKey,
    /// Written into every new record, compared before opening one.
    key_fingerprint: KeyFingerprint,
    directory: SharedDirectory,
    verifier: Verifier,
    audit: Audit,
    webhooks: Webhooks,
    /// Mail, when `HANDOFF_MAIL_HOST` is set.
    mail: Option<std::sync::Arc<MailSetup>>,
    metrics: Metrics,
    /// Argon2id's own threads, bounded (see `kdf`).
    key_derivation: kdf::KeyDerivation,
    /// How long a brand-new secret Microsoft refuses is re-checked.
    new_secret_window: std::time::Duration,
}

/// Microsoft documents that a new secret can take a while to work; two
/// minutes covers what is seen in practice.
pub const DEFAULT_NEW_SECRET_WINDOW: std::time::Duration = std::time::Duration::from_secs(120);

impl Service {
    /// A service for pushes only: no tenants, the default verifier.
    #[must_use]
    pub fn new(store: SharedStore, server_key: ServerKey) -> Self {
        Self::with_tenants(
            store,
            server_key,
            SharedDirectory::default(),
            Verifier::new(Verifier::DEFAULT_TIMEOUT),
        )
    }

    #[must_use]
    pub fn with_tenants(
        store: SharedStore,
        server_key: ServerKey,
        directory: SharedDirectory,
        verifier: Verifier,
    ) -> Self {
        let metrics = Metrics::new();
        Self {
            audit: Audit::start(SharedStore::downgrade(&store), metrics.clone()),
            store,
            key_fingerprint: KeyFingerprint::of(&server_key),
            server_key,
            directory,
            verifier,
            webhooks: Webhooks::disabled(),
            mail: None,
            metrics,
            key_derivation: kdf::KeyDerivation::for_this_machine(),
            new_secret_window: DEFAULT_NEW_SECRET_WINDOW,
        }
    }

    /// How long a new-format secret that Microsoft refuses counts as still
    /// activating (zero: never).
    #[must_use]
    pub fn with_new_secret_window(mut self, window: std::time::Duration) -> Self {
        self.new_secret_window = window;
        self
    }

    /// Sends event notifications, tenants' `after_apply` hooks included,
    /// through `webhooks`.
    #[must_use]
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// For the shutdown, which lets deliveries in flight finish.
    #[must_use]
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }

    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    #[must_use]
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The audit trail, for staff.
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, ServiceError> {
        Ok(self.store.query_audit(query).await?)
    }

    /// Deletes what has expired and records what expired unused.
    pub async fn sweep(&self, audit_retention_secs: i64) -> Result<usize, ServiceError> {
        let now = now();
        let expired = self.store.purge_expired(now).await?;
        for item in expired.iter().filter(|item| item.unused) {
            let kind = match item.kind {
                ExpiredKind::Secret => Kind::SecretExpired,
                ExpiredKind::Request => Kind::RequestExpired,
            };
            let mut event = AuditEvent::new(kind, &Actor::System).subject(&item.id);
            if let Some(tenant) = &item.tenant {
                event = event.tenant(tenant);
            }
            self.audit.record(event).await;
        }
        self.store.purge_audit(now - audit_retention_secs).await?;
        Ok(expired.len())
    }

    #[must_use]
    pub fn directory(&self) -> &SharedDirectory {
        &self.directory
    }

    #[must_use]
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    #[tracing::instrument(skip_all)]
    pub async fn create(&self, new: NewSecret, client: &Client) -> Result<Created, ServiceError> {
        let (id, key, manage_token) = crate::domain::new_push();
        self.create_sealed(new, id, key, manage_token, client).await
    }

    /// [`Self::create`] under an id and link key the caller made, for links
    /// that must carry both in a shorter form than `id#K` (Password Pusher's
    /// `url_token`, from which both are derived). The caller answers for
    /// their randomness.
    #[tracing::instrument(skip_all)]
    pub async fn create_with_link(
        &self,
        new: NewSecret,
        id: SecretId,
        key: LinkKey,
        client: &Client,
    ) -> Result<Created, ServiceError> {
        self.create_sealed(new, id, key, ManageToken::generate(), client)
            .await
    }

    async fn create_sealed(
        &self,
        new: NewSecret,
        id: SecretId,
        key: LinkKey,
        manage_token: ManageToken,
        client: &Client,
    ) -> Result<Created, ServiceError> {
        let created_at = now();
        let expires_at = created_at + new.ttl.as_unix_secs();

        let passphrase_salt = new
            .passphrase
            .as_ref()
            .map(|_| crypto::new_passphrase_salt());
        let server_key = self.server_key.clone();
        let (sealed_secret, sealed_note) = {
            let key = key.clone();
            // Argon2id (with a passphrase) takes tens of milliseconds of CPU.
            run_crypto(&self.key_derivation, new.passphrase.is_some(), move || {
                let data_key = crypto::derive_data_key(
                    &server_key,
                    &key,
                    &id,
                    new.passphrase.as_ref().zip(passphrase_salt.as_ref()),
                );
                let sealed_secret = crypto::seal(&data_key, &id, new.secret.expose().as_bytes());
                let sealed_note = new.note.as_ref().map(|note| {
                    let note_key = crypto::derive_note_key(&server_key, &key, &id);
                    crypto::seal(&note_key, &id, note.as_str().as_bytes())
                });
                (sealed_secret, sealed_note)
            })
            .await?
        };

        let meta = SecretMeta {
            created_at,
            expires_at,
            views_allowed: new.views.get(),
            key_check: crypto::key_check(&key, &id).to_vec(),
            manage_token_hash: crypto::manage_token_hash(&manage_token).to_vec(),
            passphrase_salt: passphrase_salt.map(|salt| salt.to_vec()),
            sealed_note,
            sealed_label: new.label.as_ref().map(|label| {
                let label_key = crypto::derive_label_key(&self.server_key, &manage_token, &id);
                crypto::seal(&label_key, &id, label.as_str().as_bytes())
            }),
            key_fingerprint: Some(self.key_fingerprint.as_bytes().to_vec()),
        };
        self.store
            .insert(&id, &Record::new(meta, sealed_secret))
            .await?;
        tracing::info!(secret_id = %id, views = new.views.get(), ttl_secs = new.ttl.as_secs(), "secret created");
        self.metrics.secret_created();
        let actor = client.actor_or(Actor::Anonymous);
        self.audit
            .record(
                client
                    .event(Kind::SecretCreated, &actor)
                    .subject(&id)
                    .detail(format!("{} views, expires in {}", new.views.get(), new.ttl)),
            )
            .await;
        Ok(Created {
            id,
            key,
            manage_token,
            expires_at,
            views: new.views.get(),
        })
    }

    /// The record if `key` is its link key; consumes nothing.
    async fn load_for_holder(&self, id: &SecretId, key: &LinkKey) -> Result<Record, ServiceError> {
        Self::held_by(self.store.load(id).await?, id, key)
    }

    /// `record` if `key` is its link key; otherwise not found, as an
    /// unknown id is.
    fn held_by(
        record: Option<Record>,
        id: &SecretId,
        key: &LinkKey,
    ) -> Result<Record, ServiceError> {
        record
            .filter(|record| crypto::key_matches(key, id, &record.meta.key_check))
            .ok_or(ServiceError::NotFound)
    }

    fn ended(record: &Record) -> ServiceError {
        ServiceError::Ended {
            state: record.state,
            at: record.ended_at.unwrap_or(record.meta.created_at),
        }
    }

    #[tracing::instrument(skip_all, fields(secret_id = %id))]
    pub async fn metadata(
        &self,
        id: &SecretId,
        key: &LinkKey,
        client: &Client,
    ) -> Result<Metadata, ServiceError> {
        let record = self.load_for_holder(id, key).await?;
        if record.state != SecretState::Live {
            return Err(Self::ended(&record));
        }
        self.audit
            .record(
                client
                    .event(Kind::SecretViewed, &Actor::LinkHolder)
                    .subject(id),
            )
            .await;
        self.check_sealed_with_our_key(&record)?;
        let note = match &record.meta.sealed_note {
            Some(sealed) => {
                let note_key = crypto::derive_note_key(&self.server_key, key, id);
                let plain =
                    crypto::open(&note_key, id, sealed).map_err(|_| ServiceError::Undecryptable)?;
                let text =
                    String::from_utf8(plain.to_vec()).map_err(|_| ServiceError::Undecryptable)?;
                Some(Note::from_stored(text))
            }
            None => None,
        };
        Ok(Metadata {
            created_at: record.meta.created_at,
            expires_at: record.meta.expires_at,
            views_allowed: record.meta.views_allowed,
            views_remaining: record.views_remaining,
            passphrase_required: record.meta.passphrase_salt.is_some(),
            note,
        })
    }

    /// A record sealed with another server key cannot open here, whatever
    /// the caller sends: say so before trying (and before Argon2id runs).
    /// Records written before fingerprints were kept carry none and pass.
    fn check_sealed_with_our_key(&self, record: &Record) -> Result<(), ServiceError> {
        match &record.meta.key_fingerprint {
            Some(stored) if !self.key_fingerprint.matches(stored) => {
                Err(ServiceError::Undecryptable)
            }
            _ => Ok(()),
        }
    }

    /// Decrypts a live record's secret with the link key (and passphrase,
    /// counting a wrong one). Consumes nothing.
    pub(crate) async fn open_secret(
        &self,
        id: &SecretId,
        key: &LinkKey,
        record: &Record,
        passphrase: Option<Passphrase>,
        client: &Client,
    ) -> Result<SecretText, ServiceError> {
        self.check_sealed_with_our_key(record)?;
        let salt: Option<[u8; PASSPHRASE_SALT_LEN]> = match &record.meta.passphrase_salt {
            Some(salt) => Some(salt.as_slice().try_into().map_err(|_| {
                StoreError::Corrupt("passphrase salt has the wrong length".to_owned())
            })?),
            None => None,
        };
        let passphrase = match (salt, passphrase) {
            (Some(_), None) => return Err(ServiceError::PassphraseRequired),
            // A passphrase sent for a secret without one is ignored.
            (None, _) => None,
            (Some(_), passphrase) => passphrase,
        };
        let sealed = record
            .sealed_secret
            .clone()
            .ok_or_else(|| StoreError::Corrupt("a live secret has no payload".to_owned()))?;

        let server_key = self.server_key.clone();
        let (key, id_copy, has_passphrase) = (key.clone(), *id, passphrase.is_some());
        let opened = run_crypto(&self.key_derivation, has_passphrase, move || {
            let data_key = crypto::derive_data_key(
                &server_key,
                &key,
                &id_copy,
                passphrase.as_ref().zip(salt.as_ref()),
            );
            crypto::open(&data_key, &id_copy, &sealed)
        })
        .await?;

        let plaintext = match opened {
            Ok(plaintext) => plaintext,
            // The record was sealed with our key (checked above), so what
            // differs is the passphrase. A record without a fingerprint
            // (written before they were kept) is taken the same way: its
            // store adopted this key's fingerprint at the first start that
            // kept one, which is the deployment that wrote it, with its key;
            // and such records are gone within the longest TTL.
            Err(CryptoError::Undecryptable) if has_passphrase => {
                let outcome = self.store.fail_passphrase(id, now()).await?;
                let event = |kind| client.event(kind, &Actor::LinkHolder).subject(id);
                return Err(match outcome {
                    PassphraseOutcome::AttemptsRemaining(attempts_remaining) => {
                        self.audit
                            .record(
                                event(Kind::PassphraseFailed)
                                    .detail(format!("{attempts_remaining} attempts left")),
                            )
                            .await;
                        ServiceError::WrongPassphrase { attempts_remaining }
                    }
                    PassphraseOutcome::Destroyed => {
                        self.audit
                            .record(event(Kind::PassphraseFailed).detail("0 attempts left"))
                            .await;
                        self.audit.record(event(Kind::SecretDestroyed)).await;
                        ServiceError::DestroyedNow
                    }
                    PassphraseOutcome::NotLive => ServiceError::NotFound,
                });
            }
            Err(CryptoError::Undecryptable) => return Err(ServiceError::Undecryptable),
        };
        let secret =
            String::from_utf8(plaintext.to_vec()).map_err(|_| ServiceError::Undecryptable)?;
        let secret = SecretText::from_plaintext(Zeroizing::new(secret));
        Ok(secret)
    }

    /// A reveal without an idempotency key; see [`Self::reveal_idempotent`].
    pub async fn reveal(
        &self,
        id: &SecretId,
        key: &LinkKey,
        passphrase: Option<Passphrase>,
        client: &Client,
    ) -> Result<Revealed, ServiceError> {
        self.reveal_idempotent(id, key, passphrase, None, client)
            .await
    }

    /// Decrypt first, consume second: a wrong passphrase consumes no view,
    /// and the atomic consume decides which of many concurrent callers wins.
    /// Where the store can tell that nothing the opening checks could
    /// refuse the reveal (a [`RevealGuard`]), it takes the view as it reads
    /// the record, and a payload that then does not open gets it back.
    ///
    /// With an idempotency key, a retry with the same key within
    /// [`crate::store::REPLAY_WINDOW_SECS`] gets the same secret again and takes no view
    /// (the store remembers the key's hash in the consume itself), so a
    /// reveal whose answer was lost is never lost with it.
    #[tracing::instrument(skip_all, fields(secret_id = %id))]
    pub async fn reveal_idempotent(
        &self,
        id: &SecretId,
        key: &LinkKey,
        passphrase: Option<Passphrase>,
        idempotency: Option<&IdempotencyKey>,
        client: &Client,
    ) -> Result<Revealed, ServiceError> {
        let replay = idempotency.map(|k| crypto::idempotency_hash(id, k));
        let record = match replay {
            // Nothing to remember: the read and the view in one step where
            // the store can (a round trip less), when the guard shows that
            // nothing opening the secret checks could refuse it.
            None => match self.take_guarded_view(id, key, client).await? {
                GuardedView::Taken {
                    before,
                    views_remaining,
                    undo,
                } => {
                    return self
                        .deliver_taken(id, key, &before, views_remaining, undo.as_ref(), client)
                        .await;
                }
                GuardedView::CheckFirst(record) => record.map(|record| *record),
                GuardedView::NotTried => self.store.load(id).await?,
            },
            Some(_) => self.store.load(id).await?,
        };
        let record = Self::held_by(record, id, key)?;
        let repeatable = replay
            .as_ref()
            .is_some_and(|k| record.replay_for(k, now()).is_some());
        if record.state != SecretState::Live && !repeatable {
            return Err(Self::ended(&record));
        }
        let secret = self
            .open_secret(id, key, &record, passphrase, client)
            .await?;

        let view = Self::view_by(client);
        let outcome = self
            .store
            .consume_view(id, &view, replay.as_ref())
            .await
            .map_err(|e| Unconfirmed::Reveal.of(e.into()))?;
        match outcome {
            ConsumeOutcome::Replayed { views_remaining } => {
                tracing::info!(
                    views_remaining,
                    "secret reveal repeated for its idempotency key"
                );
                self.audit
                    .record(
                        client
                            .event(Kind::SecretRevealed, &Actor::LinkHolder)
                            .subject(id)
                            .detail(format!(
                                "repeated for the same idempotency key; {views_remaining} views left"
                            )),
                    )
                    .await;
                Ok(Revealed {
                    secret,
                    views_remaining,
                })
            }
            ConsumeOutcome::Consumed { views_remaining } => {
                Ok(self.revealed(id, secret, views_remaining, client).await)
            }
            ConsumeOutcome::Busy => Err(ServiceError::BeingApplied),
            // Another caller took the last view between our load and consume.
            ConsumeOutcome::NotLive => match self.store.load(id).await? {
                Some(record) => Err(Self::ended(&record)),
                None => Err(ServiceError::NotFound),
            },
        }
    }

    fn view_by(client: &Client) -> ViewEvent {
        ViewEvent {
            at: now(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        }
    }

    /// See [`crate::store::SecretStore::take_guarded_view`]; an error may
    /// have taken the view.
    async fn take_guarded_view(
        &self,
        id: &SecretId,
        key: &LinkKey,
        client: &Client,
    ) -> Result<GuardedView, ServiceError> {
        let guard = RevealGuard::new(&crypto::key_check(key, id), self.key_fingerprint.as_bytes());
        self.store
            .take_guarded_view(id, &guard, &Self::view_by(client))
            .await
            .map_err(|e| Unconfirmed::Reveal.of(e.into()))
    }

    /// Opens a secret whose view the store took as it read it (its guard
    /// matched: the link key is right, this server's key sealed it, no
    /// passphrase protects it). A payload that does not open all the same
    /// (damaged in the store) gets its view back: nothing is used up by a
    /// reveal that delivers nothing.
    async fn deliver_taken(
        &self,
        id: &SecretId,
        key: &LinkKey,
        before: &Record,
        views_remaining: u32,
        undo: Option<&TakenView>,
        client: &Client,
    ) -> Result<Revealed, ServiceError> {
        match self.open_secret(id, key, before, None, client).await {
            Ok(secret) => Ok(self.revealed(id, secret, views_remaining, client).await),
            Err(error) => {
                let Some(undo) = undo else {
                    tracing::error!(
                        "a view taken for a payload that did not open cannot be given back: the store took it for an earlier copy of this reveal"
                    );
                    return Err(error);
                };
                match self.store.give_back_view(id, undo).await {
                    Ok(true) => tracing::warn!(
                        "a view taken for a payload that did not open was given back"
                    ),
                    Ok(false) => tracing::error!(
                        "a view taken for a payload that did not open was not given back: the record changed meanwhile"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "a view taken for a payload that did not open was not given back"
                    ),
                }
                Err(error)
            }
        }
    }

    /// A view taken and its secret opened: counted, audited, delivered.
    async fn revealed(
        &self,
        id: &SecretId,
        secret: SecretText,
        views_remaining: u32,
        client: &Client,
    ) -> Revealed {
        tracing::info!(views_remaining, "secret revealed");
        self.metrics.secret_revealed();
        self.audit
            .record(
                client
                    .event(Kind::SecretRevealed, &Actor::LinkHolder)
                    .subject(id)
                    .detail(format!("{views_remaining} views left")),
            )
            .await;
        Revealed {
            secret,
            views_remaining,
        }
    }

    #[tracing::instrument(skip_all, fields(secret_id = %id))]
    pub async fn delete(
        &self,
        id: &SecretId,
        deleter: &Deleter,
        client: &Client,
    ) -> Result<(), ServiceError> {
        let record = self.store.load(id).await?.ok_or(ServiceError::NotFound)?;
        let allowed = match deleter {
            Deleter::LinkHolder(key) => crypto::key_matches(key, id, &record.meta.key_check),
            Deleter::Sender(token) => {
                crypto::manage_token_matches(token, &record.meta.manage_token_hash)
            }
        };
        if !allowed {
            return Err(ServiceError::NotFound);
        }
        match self.store.revoke(id, now()).await? {
            RevokeOutcome::Revoked => {
                tracing::info!("secret revoked");
                let actor = match deleter {
                    Deleter::LinkHolder(_) => Actor::LinkHolder,
                    Deleter::Sender(_) => Actor::Sender,
                };
                self.audit
                    .record(client.event(Kind::SecretRevoked, &actor).subject(id))
                    .await;
                Ok(())
            }
            RevokeOutcome::AlreadyEnded => Ok(()),
            RevokeOutcome::Missing => Err(ServiceError::NotFound),
        }
    }

    #[tracing::instrument(skip_all, fields(secret_id = %id))]
    pub async fn status(&self, id: &SecretId, token: &ManageToken) -> Result<Status, ServiceError> {
        let record = self.store.load(id).await?.ok_or(ServiceError::NotFound)?;
        if !crypto::manage_token_matches(token, &record.meta.manage_token_hash) {
            return Err(ServiceError::NotFound);
        }
        let events = self
            .store
            .query_audit(&AuditQuery {
                since: record.meta.created_at,
                until: now(),
                tenant: None,
                subject: Some(id.to_string()),
                kind: None,
                limit: 200,
            })
            .await?;
        let label = match &record.meta.sealed_label {
            Some(sealed) => {
                let label_key = crypto::derive_label_key(&self.server_key, token, id);
                let plain = crypto::open(&label_key, id, sealed)
                    .map_err(|_| ServiceError::Undecryptable)?;
                Some(String::from_utf8(plain.to_vec()).map_err(|_| ServiceError::Undecryptable)?)
            }
            None => None,
        };
        Ok(Status {
            label,
            events,
            created_at: record.meta.created_at,
            expires_at: record.meta.expires_at,
            views_allowed: record.meta.views_allowed,
            views_remaining: record.views_remaining,
            state: record.state,
            ended_at: record.ended_at,
            failed_passphrases: record.failed_passphrases,
            views: record.views,
        })
    }
}

/// Runs key derivation inline when it is cheap (HKDF only), and on the
/// bounded key-derivation threads when it includes Argon2id.
async fn run_crypto<T: Send + 'static>(
    threads: &kdf::KeyDerivation,
    expensive: bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    if expensive {
        threads
            .run(work)
            .await
            .map_err(|kdf::Busy| ServiceError::KeyDerivationBusy)
    } else {
        Ok(work())
    }
}
