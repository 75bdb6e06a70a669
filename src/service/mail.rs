//! Mail from the service: a request's submit link to the tenant's
//! contacts, expiry reminders to the staff address, and the automatic
//! request before a tracked secret expires.
//!
//! Each mail is an item in the store's outbox (target `mail:<tenant>`),
//! delivered, leased and retried as webhook events are. The item holds the
//! request id and the submit key sealed with the server key (the store
//! alone opens nothing); the message itself is written at each attempt,
//! in the tenant's language, to the tenant's contacts as configured then.
//! Only staff (or handoff itself, for an automatic request) ever queue a
//! mail, and only to those contacts or the staff address.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{NewRequest, Service, ServiceError};
use crate::audit::{Actor, Audit, AuditEvent, AuditQuery, Kind};
use crate::crypto::{self, ServerKey};
use crate::directory::{SharedDirectory, Tenant};
use crate::domain::{LinkKey, SecretId, Ttl, UnixTime, now};
use crate::mail::{self, MailSettings, Mailer, ReminderMail, RequestMail, SendErrorKind};
use crate::store::{AutoRequestRecord, OutboxItem};
use crate::webhook::{AttemptFailure, OutboxKind, RetrySchedule};

/// The outbox targets of mail start with this.
const PREFIX: &str = "mail:";

/// Who created an automatic request, in its record and the audit trail.
pub const AUTOMATIC: &str = "handoff (automatic)";

/// How long an automatic request's link stays open: a week, so that the
/// customer has time even around a weekend.
const AUTO_REQUEST_TTL: &str = "7d";

/// What the service needs to queue mail.
#[derive(Debug, Clone)]
pub struct MailSetup {
    pub settings: MailSettings,
    /// The base of every link in a mail (`HANDOFF_PUBLIC_URL`).
    pub public_url: String,
    pub schedule: RetrySchedule,
}

/// A mail waiting in the outbox.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Pending {
    Request {
        request_id: String,
        /// The submit key, sealed with [`crypto::seal_for_outbox`].
        sealed_key: String,
        note: Option<String>,
        expires_at: UnixTime,
        automatic: bool,
        current_expires_on: Option<String>,
    },
    Reminder {
        expires_on: String,
        days_left: i64,
        automatic_request: bool,
    },
}

impl Pending {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Request { .. } => "mail.request",
            Self::Reminder { .. } => "mail.reminder",
        }
    }
}

/// The outbox's handler of mail items.
struct MailKind {
    mailer: Mailer,
    directory: SharedDirectory,
    server_key: ServerKey,
    audit: Audit,
    public_url: String,
    schedule: RetrySchedule,
}

fn tenant_of(item: &OutboxItem) -> &str {
    item.target.strip_prefix(PREFIX).unwrap_or_default()
}

fn subject_of(item: &OutboxItem) -> Option<String> {
    match serde_json::from_str::<Pending>(&item.payload).ok()? {
        Pending::Request { request_id, .. } => Some(request_id),
        Pending::Reminder { .. } => None,
    }
}

#[async_trait::async_trait]
impl OutboxKind for MailKind {
    fn prefix(&self) -> &'static str {
        PREFIX
    }

    fn schedule(&self) -> &RetrySchedule {
        &self.schedule
    }

    fn timeout(&self) -> Duration {
        mail::SEND_TIMEOUT + Duration::from_secs(5)
    }

    async fn attempt(&self, item: &OutboxItem) -> Result<String, AttemptFailure> {
        let pending: Pending = serde_json::from_str(&item.payload)
            .map_err(|_| AttemptFailure::Final("an unreadable mail item".to_owned()))?;
        let directory = self.directory.current();
        let tenant = directory.tenant(tenant_of(item)).ok_or_else(|| {
            AttemptFailure::Final("the tenant is no longer configured".to_owned())
        })?;
        let vendor = directory.vendor_name.clone();
        let (to, composed) = match pending {
            Pending::Request {
                request_id,
                sealed_key,
                note,
                expires_at,
                automatic,
                current_expires_on,
            } => {
                if tenant.contacts.is_empty() {
                    return Err(AttemptFailure::Final(
                        "the tenant no longer has contacts".to_owned(),
                    ));
                }
                let id = SecretId::parse(&request_id)
                    .map_err(|_| AttemptFailure::Final("an unreadable request id".to_owned()))?;
                let key = self.open_key(&id, &sealed_key)?;
                let link = format!("{}/r/{id}#{}", self.public_url, key.encode());
                let expires = human_utc(expires_at);
                let composed = mail::request_mail(
                    tenant.language,
                    &RequestMail {
                        vendor_name: &vendor,
                        tenant_name: &tenant.name,
                        entra_tenant: &tenant.entra_tenant,
                        client_id: &tenant.client_id,
                        note: note.as_deref(),
                        link: &link,
                        expires: &expires,
                        automatic,
                        current_expires_on: current_expires_on.as_deref(),
                    },
                );
                (tenant.contacts.clone(), composed)
            }
            Pending::Reminder {
                expires_on,
                days_left,
                automatic_request,
            } => {
                let Some(staff) = self.mailer.settings().staff.clone() else {
                    return Err(AttemptFailure::Final(
                        "HANDOFF_MAIL_STAFF is no longer set".to_owned(),
                    ));
                };
                let link = format!("{}/staff", self.public_url);
                let composed = mail::reminder_mail(&ReminderMail {
                    tenant_name: &tenant.name,
                    tenant: &tenant.slug,
                    expires_on: &expires_on,
                    days_left,
                    link: &link,
                    automatic_request,
                });
                (vec![staff], composed)
            }
        };
        match self.mailer.send(&to, Some(&vendor), &composed).await {
            Ok(answer) => Ok(answer),
            Err(error) if error.kind == SendErrorKind::Message => {
                Err(AttemptFailure::Final(error.message))
            }
            Err(error) => Err(AttemptFailure::Retry(error.message)),
        }
    }

    fn finished(&self, item: &OutboxItem, attempts: u32, outcome: Result<String, String>) {
        let (kind, detail) = match outcome {
            Ok(answer) => (
                Kind::MailSent,
                format!("{} (attempt {attempts}): {answer}", item.event_type),
            ),
            Err(error) => (
                Kind::MailFailed,
                format!(
                    "{} gave up after {attempts} attempts: {error}",
                    item.event_type
                ),
            ),
        };
        let mut event = AuditEvent::new(kind, &Actor::System)
            .tenant(tenant_of(item))
            .detail(detail);
        event.subject = subject_of(item);
        self.audit.record_now(event);
    }
}

impl MailKind {
    fn open_key(&self, id: &SecretId, sealed: &str) -> Result<LinkKey, AttemptFailure> {
        let unreadable =
            || AttemptFailure::Final("the link key could not be opened (server key?)".to_owned());
        let sealed = STANDARD_NO_PAD.decode(sealed).map_err(|_| unreadable())?;
        let bytes =
            crypto::open_from_outbox(&self.server_key, id, &sealed).map_err(|_| unreadable())?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| unreadable())?;
        Ok(LinkKey::from_bytes(bytes))
    }
}

fn human_utc(at: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Why a request could not be mailed; nothing was created or sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotMailed {
    /// No `HANDOFF_MAIL_HOST`.
    MailOff,
    /// The tenant has no `contacts`.
    NoContacts,
    /// The tenant's daily cap is reached.
    CapReached { cap: u32 },
}

impl Service {
    /// Mail on: request links can be mailed, reminders go to the staff
    /// address. The outbox needs the handler from [`Service::mail_outbox`].
    #[must_use]
    pub fn with_mail(mut self, setup: MailSetup) -> Self {
        self.mail = Some(Arc::new(setup));
        self
    }

    /// The outbox's handler of this service's mail.
    #[must_use]
    pub fn mail_outbox(&self, mailer: Mailer) -> Option<Arc<dyn OutboxKind>> {
        let setup = self.mail.as_ref()?;
        Some(Arc::new(MailKind {
            mailer,
            directory: self.directory.clone(),
            server_key: self.server_key.clone(),
            audit: self.audit.clone(),
            public_url: setup.public_url.clone(),
            schedule: setup.schedule.clone(),
        }))
    }

    #[must_use]
    pub fn mail_settings(&self) -> Option<&MailSettings> {
        self.mail.as_ref().map(|setup| &setup.settings)
    }

    /// Whether a request for `tenant` may be mailed now: mail on, contacts
    /// set, the daily cap not reached (counted from the audit trail, so
    /// across instances, within the audit writer's second or so).
    pub(super) async fn may_mail(&self, tenant: &Tenant) -> Result<(), ServiceError> {
        let Some(setup) = &self.mail else {
            return Err(ServiceError::NotMailed(NotMailed::MailOff));
        };
        if tenant.contacts.is_empty() {
            return Err(ServiceError::NotMailed(NotMailed::NoContacts));
        }
        let cap = setup.settings.daily_cap;
        let now = now();
        let events = self
            .store
            .query_audit(&AuditQuery {
                since: now - 86_400,
                until: now,
                tenant: Some(tenant.slug.clone()),
                subject: None,
                kind: None,
                limit: 10_000,
            })
            .await?;
        let queued = events
            .iter()
            .filter(|e| e.kind == Kind::MailQueued.as_str())
            .count();
        if queued >= cap as usize {
            return Err(ServiceError::NotMailed(NotMailed::CapReached { cap }));
        }
        Ok(())
    }

    /// Queues the request mail for `tenant`'s contacts. The caller checked
    /// [`Service::may_mail`].
    #[allow(clippy::too_many_arguments)] // the request's pieces, as the caller holds them
    pub(super) async fn queue_request_mail(
        &self,
        id: &SecretId,
        submit_key: &LinkKey,
        tenant: &Tenant,
        note: Option<String>,
        expires_at: UnixTime,
        automatic: Option<String>,
        actor: &Actor,
    ) {
        let sealed = crypto::seal_for_outbox(&self.server_key, id, submit_key.as_bytes());
        let pending = Pending::Request {
            request_id: id.to_string(),
            sealed_key: STANDARD_NO_PAD.encode(sealed),
            note,
            expires_at,
            automatic: automatic.is_some(),
            current_expires_on: automatic,
        };
        self.queue_mail(tenant, Some(id), &pending, actor, tenant.contacts.len())
            .await;
    }

    async fn queue_mail(
        &self,
        tenant: &Tenant,
        subject: Option<&SecretId>,
        pending: &Pending,
        actor: &Actor,
        recipients: usize,
    ) {
        let Ok(payload) = serde_json::to_string(pending) else {
            return;
        };
        let mut id = [0u8; 16];
        crypto::fill_random(&mut id);
        let item = OutboxItem {
            id: format!(
                "mail_{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
            ),
            target: format!("{PREFIX}{}", tenant.slug),
            event_type: pending.event_type().to_owned(),
            payload,
            due_ms: 0,
            attempts: 0,
            created_at: now(),
        };
        let queued = self.webhooks.enqueue(item);
        let (kind, detail) = if queued {
            (
                Kind::MailQueued,
                format!("{} to {recipients} address(es)", pending.event_type()),
            )
        } else {
            (
                Kind::MailFailed,
                format!(
                    "{}: the mail queue is full or stopped",
                    pending.event_type()
                ),
            )
        };
        let mut event = AuditEvent::new(kind, actor)
            .tenant(&tenant.slug)
            .detail(detail);
        if let Some(id) = subject {
            event = event.subject(id);
        }
        self.audit.record(event).await;
    }

    /// Creates and mails the automatic request for each tenant whose
    /// tracked secret expires within its `auto_request_days_before`, once
    /// per expiry: a compare-and-swap on the tenant's record decides which
    /// instance does it, before anything is created. Called by the sweeper.
    pub async fn request_before_expiry(&self) -> Result<(), ServiceError> {
        if self.mail.is_none() {
            return Ok(());
        }
        let now = now();
        for (slug, record) in self.store.list_tenant_records().await? {
            let Ok(tenant) = self.tenant(&slug) else {
                continue;
            };
            let (Some(days_before), Some(expires_on)) =
                (tenant.auto_request_days_before, record.expires_on.clone())
            else {
                continue;
            };
            let Some(days_left) = super::days_until(&expires_on, now) else {
                continue;
            };
            if days_left > i64::from(days_before)
                || record
                    .auto_request
                    .as_ref()
                    .is_some_and(|a| a.for_expiry == expires_on)
            {
                continue;
            }
            if let Err(error) = self.may_mail(&tenant).await {
                tracing::warn!(tenant = %slug, %error, "no automatic request: it could not be mailed");
                continue;
            }
            let request_id = SecretId::generate();
            let mut won = false;
            self.update_tenant_record(&slug, |current| {
                won = false;
                if let Some(current) = current.as_mut().filter(|c| {
                    c.expires_on.as_deref() == Some(expires_on.as_str())
                        && c.auto_request
                            .as_ref()
                            .is_none_or(|a| a.for_expiry != expires_on)
                }) {
                    current.auto_request = Some(AutoRequestRecord {
                        for_expiry: expires_on.clone(),
                        request_id: request_id.to_string(),
                        at: now,
                    });
                    won = true;
                }
            })
            .await?;
            if !won {
                continue;
            }
            let ttl = Ttl::setting(AUTO_REQUEST_TTL).map_err(|_| {
                ServiceError::Store(crate::store::StoreError::Corrupt(
                    "the automatic request's lifetime is out of range".to_owned(),
                ))
            })?;
            let created = self
                .create_request_with_id(
                    request_id,
                    NewRequest {
                        tenant: slug.clone(),
                        note: None,
                        ttl,
                        created_by: AUTOMATIC.to_owned(),
                        auto_apply: Some(true),
                        notify: false,
                        // An automatic request asks for a secret, whatever
                        // the tenant's current credential is.
                        certificate: None,
                    },
                )
                .await?;
            tracing::info!(tenant = %slug, request_id = %created.id, "created an automatic request before expiry");
            self.queue_request_mail(
                &created.id,
                &created.submit_key,
                &tenant,
                None,
                created.expires_at,
                Some(expires_on.clone()),
                &Actor::System,
            )
            .await;
            // The retrieve key is dropped here: nobody holds it, and the
            // answer is applied by the server as it arrives.
            drop(created);
        }
        Ok(())
    }

    /// Mails a reminder to the staff address, when one is set.
    pub(super) async fn mail_reminder(
        &self,
        slug: &str,
        expires_on: &str,
        days_left: i64,
        automatic_request: bool,
    ) {
        let Some(setup) = &self.mail else {
            return;
        };
        if setup.settings.staff.is_none() {
            return;
        }
        let Ok(tenant) = self.tenant(slug) else {
            return;
        };
        let pending = Pending::Reminder {
            expires_on: expires_on.to_owned(),
            days_left,
            automatic_request,
        };
        self.queue_mail(&tenant, None, &pending, &Actor::System, 1)
            .await;
    }

    /// The mail events of the last eight days (a request lives a week at
    /// most), newest first, for the staff pages: the newest of a request
    /// or a tenant says how its last mail went.
    pub async fn recent_mail_events(&self) -> Result<Vec<AuditEvent>, ServiceError> {
        if self.mail.is_none() {
            return Ok(Vec::new());
        }
        let now = now();
        let events = self
            .store
            .query_audit(&AuditQuery {
                since: now - 8 * 86_400,
                until: now,
                tenant: None,
                subject: None,
                kind: None,
                limit: 5_000,
            })
            .await?;
        Ok(events
            .into_iter()
            .filter(|e| e.kind.starts_with("mail."))
            .collect())
    }
}
