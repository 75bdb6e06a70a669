//! The audit trail's vocabulary: what happened (`Kind`), who did it
//! (`Actor`), the event as it is logged and stored (`AuditEvent`), and which
//! events someone wants to see (`AuditQuery`). Events carry who, from where,
//! which secret or request, which tenant, and an outcome — never secret
//! material.
//!
//! Plain data that depends on `domain` alone, so that imports run one way:
//! the writer (`crate::audit`) → `store` → these types.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use rand::rngs::SysRng;
use serde::{Deserialize, Serialize};

use super::{SecretId, UnixTime};

/// Orders events recorded in the same millisecond.
static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// This process's part of every event id it makes, random once: with the
/// millisecond and the sequence it keeps ids from several instances apart
/// (ids need to be unique, not unguessable), without asking the operating
/// system for randomness on every event.
static INSTANCE_TAG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut random = [0u8; 6];
    SysRng
        .try_fill_bytes(&mut random)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(random)
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SecretCreated,
    /// The recipient's page looked the secret up (opening consumes nothing).
    SecretViewed,
    SecretRevealed,
    PassphraseFailed,
    SecretDestroyed,
    SecretRevoked,
    SecretExpired,
    RequestCreated,
    RequestAnswered,
    RequestRefused,
    VerificationPassed,
    VerificationFailed,
    RequestLocked,
    RequestRetrieved,
    RequestExpired,
    RequestCancelled,
    SecretApplied,
    ApplyFailed,
    SecretExpiring,
    SignedIn,
    SignInFailed,
    WebhookDelivered,
    WebhookFailed,
    MailQueued,
    MailSent,
    MailFailed,
}

impl Kind {
    /// Every kind (a new one belongs here too: the audit page's labels are
    /// tested against this list).
    pub const ALL: [Self; 23] = [
        Self::SecretCreated,
        Self::SecretViewed,
        Self::SecretRevealed,
        Self::PassphraseFailed,
        Self::SecretDestroyed,
        Self::SecretRevoked,
        Self::SecretExpired,
        Self::RequestCreated,
        Self::RequestAnswered,
        Self::RequestRefused,
        Self::VerificationPassed,
        Self::VerificationFailed,
        Self::RequestLocked,
        Self::RequestRetrieved,
        Self::RequestExpired,
        Self::RequestCancelled,
        Self::SecretApplied,
        Self::ApplyFailed,
        Self::SecretExpiring,
        Self::SignedIn,
        Self::SignInFailed,
        Self::WebhookDelivered,
        Self::WebhookFailed,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretCreated => "secret.created",
            Self::SecretViewed => "secret.viewed",
            Self::SecretRevealed => "secret.revealed",
            Self::PassphraseFailed => "secret.passphrase_failed",
            Self::SecretDestroyed => "secret.destroyed",
            Self::SecretRevoked => "secret.revoked",
            Self::SecretExpired => "secret.expired",
            Self::RequestCreated => "request.created",
            Self::RequestAnswered => "request.answered",
            Self::RequestRefused => "request.refused",
            Self::VerificationPassed => "verification.passed",
            Self::VerificationFailed => "verification.failed",
            Self::RequestLocked => "request.locked",
            Self::RequestRetrieved => "request.retrieved",
            Self::RequestExpired => "request.expired",
            Self::RequestCancelled => "request.cancelled",
            Self::SecretApplied => "secret.applied",
            Self::ApplyFailed => "apply.failed",
            Self::SecretExpiring => "tenant.secret_expiring",
            Self::SignedIn => "staff.signed_in",
            Self::SignInFailed => "staff.sign_in_failed",
            Self::WebhookDelivered => "webhook.delivered",
            Self::WebhookFailed => "webhook.failed",
            Self::MailQueued => "mail.queued",
            Self::MailSent => "mail.sent",
            Self::MailFailed => "mail.failed",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    Staff(String),
    LinkHolder,
    Sender,
    Customer,
    System,
}

impl Actor {
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_owned(),
            Self::Staff(name) => format!("staff:{name}"),
            Self::LinkHolder => "link holder".to_owned(),
            Self::Sender => "sender".to_owned(),
            Self::Customer => "customer".to_owned(),
            Self::System => "system".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// Milliseconds since the epoch (hex) and random bits: unique, and in
    /// the order events happened, so sorting by `(at, event_id)` is exact.
    pub event_id: String,
    pub at: UnixTime,
    pub kind: String,
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The secret or request id.
    pub subject: Option<String>,
    pub tenant: Option<String>,
    /// An outcome code or sentence; never secret material.
    pub detail: Option<String>,
    pub aadsts: Option<u32>,
}

impl AuditEvent {
    #[must_use]
    pub fn new(kind: Kind, actor: &Actor) -> Self {
        let moment = time::OffsetDateTime::now_utc();
        let millis = moment.unix_timestamp_nanos() / 1_000_000;
        // Within one millisecond, this process's events keep their order.
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0xffff_ffff;
        Self {
            event_id: format!("{millis:012x}{sequence:08x}{}", *INSTANCE_TAG),
            at: moment.unix_timestamp(),
            kind: kind.as_str().to_owned(),
            actor: actor.label(),
            ip: None,
            user_agent: None,
            subject: None,
            tenant: None,
            detail: None,
            aadsts: None,
        }
    }

    /// Newest first: the order every query returns.
    pub fn sort_newest_first(events: &mut [AuditEvent]) {
        events.sort_by(|a, b| (b.at, &b.event_id).cmp(&(a.at, &a.event_id)));
    }

    #[must_use]
    pub fn from_client(mut self, ip: &str, user_agent: &str) -> Self {
        self.ip = Some(ip.to_owned());
        self.user_agent = (!user_agent.is_empty()).then(|| user_agent.to_owned());
        self
    }

    #[must_use]
    pub fn subject(mut self, id: &SecretId) -> Self {
        self.subject = Some(id.to_string());
        self
    }

    #[must_use]
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_owned());
        self
    }

    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    #[must_use]
    pub fn aadsts(mut self, code: Option<u32>) -> Self {
        self.aadsts = code;
        self
    }
}

/// Which events a staff member or a sender wants to see.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since: UnixTime,
    pub until: UnixTime,
    pub tenant: Option<String>,
    pub subject: Option<String>,
    /// Only events of this kind (`request.cancelled`).
    pub kind: Option<String>,
    pub limit: usize,
}

impl AuditQuery {
    /// Does `event` match everything but the time window?
    #[must_use]
    pub fn matches(&self, event: &AuditEvent) -> bool {
        (self.since..=self.until).contains(&event.at)
            && self
                .tenant
                .as_ref()
                .is_none_or(|t| event.tenant.as_ref() == Some(t))
            && self
                .subject
                .as_ref()
                .is_none_or(|s| event.subject.as_ref() == Some(s))
            && self.kind.as_ref().is_none_or(|k| &event.kind == k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_matches_on_time_tenant_and_subject() {
        let id = SecretId::generate();
        let event = AuditEvent::new(Kind::SecretCreated, &Actor::Anonymous)
            .tenant("contoso")
            .subject(&id);
        let mut query = AuditQuery {
            since: event.at - 1,
            until: event.at + 1,
            kind: None,
            limit: 10,
            ..AuditQuery::default()
        };
        assert!(query.matches(&event));
        query.tenant = Some("northwind".into());
        assert!(!query.matches(&event));
        query.tenant = Some("contoso".into());
        query.subject = Some(SecretId::generate().to_string());
        assert!(!query.matches(&event));
    }

    #[test]
    fn two_events_of_the_same_kind_have_different_ids() {
        let a = AuditEvent::new(Kind::SignedIn, &Actor::Staff("alice".into()));
        let b = AuditEvent::new(Kind::SignedIn, &Actor::Staff("alice".into()));
        assert_ne!(a.event_id, b.event_id);
        assert_eq!(a.actor, "staff:alice");
    }
}
