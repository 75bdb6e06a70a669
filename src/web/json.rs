//! The JSON the API answers with, one type per shape, built from the
//! service's results. Times are RFC 3339 in UTC; absent values are `null`.

use serde::Serialize;
use utoipa::ToSchema;

use super::format::rfc3339;
use crate::audit::AuditEvent;
use crate::certificate;
use crate::domain::{Note, SecretId};
use crate::service::{
    AnswerAccepted, Applied, Metadata, RequestDetails, RequestView, Retrieved, Status, TenantStatus,
};
use crate::store::{RequestState, VerificationRecord};

#[derive(Serialize, ToSchema)]
pub struct CreatedSecret {
    pub id: String,
    pub url: String,
    pub expires_at: String,
    pub views: u32,
    pub manage_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct SecretMetadata<'a> {
    id: String,
    created_at: String,
    expires_at: String,
    views_allowed: u32,
    views_remaining: u32,
    passphrase_required: bool,
    note: Option<&'a str>,
}

impl<'a> SecretMetadata<'a> {
    #[must_use]
    pub fn new(id: &SecretId, meta: &'a Metadata) -> Self {
        Self {
            id: id.to_string(),
            created_at: rfc3339(meta.created_at),
            expires_at: rfc3339(meta.expires_at),
            views_allowed: meta.views_allowed,
            views_remaining: meta.views_remaining,
            passphrase_required: meta.passphrase_required,
            note: meta.note.as_ref().map(Note::as_str),
        }
    }
}

/// The secret itself: borrowed from the wiped buffer that holds it.
#[derive(Serialize, ToSchema)]
pub struct RevealedSecret<'a> {
    pub secret: &'a str,
    pub views_remaining: u32,
}

#[derive(Serialize, ToSchema)]
pub struct SecretStatus<'a> {
    id: String,
    state: &'static str,
    created_at: String,
    expires_at: String,
    ended_at: Option<String>,
    views_allowed: u32,
    views_remaining: u32,
    failed_passphrases: u32,
    /// The sender's private label, when they gave one.
    label: Option<&'a str>,
    views: Vec<View<'a>>,
    events: Vec<Event<'a>>,
}

#[derive(Serialize, ToSchema)]
struct View<'a> {
    at: String,
    ip: &'a str,
    user_agent: &'a str,
}

impl<'a> SecretStatus<'a> {
    #[must_use]
    pub fn new(id: &SecretId, status: &'a Status) -> Self {
        Self {
            id: id.to_string(),
            state: status.state.as_str(),
            created_at: rfc3339(status.created_at),
            expires_at: rfc3339(status.expires_at),
            ended_at: status.ended_at.map(rfc3339),
            views_allowed: status.views_allowed,
            views_remaining: status.views_remaining,
            failed_passphrases: status.failed_passphrases,
            label: status.label.as_deref(),
            views: status
                .views
                .iter()
                .map(|view| View {
                    at: rfc3339(view.at),
                    ip: &view.ip,
                    user_agent: &view.user_agent,
                })
                .collect(),
            events: status.events.iter().map(Event::from).collect(),
        }
    }
}

/// One audit event.
#[derive(Serialize, ToSchema)]
pub struct Event<'a> {
    at: String,
    kind: &'a str,
    actor: &'a str,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    subject: Option<&'a str>,
    tenant: Option<&'a str>,
    detail: Option<&'a str>,
    aadsts: Option<u32>,
}

impl<'a> From<&'a AuditEvent> for Event<'a> {
    fn from(event: &'a AuditEvent) -> Self {
        Self {
            at: rfc3339(event.at),
            kind: &event.kind,
            actor: &event.actor,
            ip: event.ip.as_deref(),
            user_agent: event.user_agent.as_deref(),
            subject: event.subject.as_deref(),
            tenant: event.tenant.as_deref(),
            detail: event.detail.as_deref(),
            aadsts: event.aadsts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditTrail<'a> {
    pub since: String,
    pub until: String,
    pub events: Vec<Event<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedRequestLinks {
    pub id: String,
    pub tenant: String,
    pub submit_url: String,
    pub retrieve_url: String,
    pub expires_at: String,
}

/// Microsoft's answer about a secret, as recorded.
#[derive(Serialize, ToSchema)]
pub struct VerificationJson<'a> {
    verified: bool,
    code: &'a str,
    message: &'a str,
    aadsts: Option<u32>,
}

impl<'a> From<&'a VerificationRecord> for VerificationJson<'a> {
    fn from(record: &'a VerificationRecord) -> Self {
        Self {
            verified: record.verified,
            code: &record.code,
            message: &record.message,
            aadsts: record.aadsts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RequestList<'a> {
    pub requests: Vec<RequestDetailsJson<'a>>,
}

/// A request as staff see it (never the sealed answer).
#[derive(Serialize, ToSchema)]
pub struct RequestDetailsJson<'a> {
    id: String,
    tenant: RequestTenant<'a>,
    state: &'static str,
    note: Option<&'a str>,
    created_by: &'a str,
    created_at: String,
    expires_at: String,
    answered_at: Option<String>,
    tries: u32,
    verification: Option<VerificationJson<'a>>,
    expires_on: Option<&'a str>,
    secret_id: Option<&'a str>,
    hint: Option<&'a str>,
    retrieved_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct RequestTenant<'a> {
    slug: &'a str,
    name: &'a str,
    entra_tenant: Option<&'a str>,
    client_id: Option<&'a str>,
    sink: Option<&'a str>,
}

impl<'a> From<&'a RequestDetails> for RequestDetailsJson<'a> {
    fn from(details: &'a RequestDetails) -> Self {
        let record = &details.record;
        let answer = record.answer.as_ref();
        Self {
            id: details.id.to_string(),
            tenant: RequestTenant {
                slug: &record.tenant,
                name: &details.tenant_name,
                entra_tenant: details.entra_tenant.as_deref(),
                client_id: details.client_id.as_deref(),
                sink: details.sink.as_deref(),
            },
            state: record.state.as_str(),
            note: record.note.as_deref(),
            created_by: &record.created_by,
            created_at: rfc3339(record.created_at),
            expires_at: rfc3339(record.expires_at),
            answered_at: answer.map(|a| rfc3339(a.answered_at)),
            tries: record.tries,
            verification: answer.map(|a| VerificationJson::from(&a.verification)),
            expires_on: answer.and_then(|a| a.expires_on.as_deref()),
            secret_id: answer.and_then(|a| a.secret_id.as_deref()),
            hint: answer.map(|a| a.hint.as_str()),
            retrieved_at: (record.state == RequestState::Retrieved)
                .then(|| record.ended_at.map(rfc3339))
                .flatten(),
        }
    }
}

/// What the customer's page learns about a request.
#[derive(Serialize, ToSchema)]
pub struct RequestViewJson<'a> {
    id: String,
    vendor_name: &'a str,
    tenant: CustomerTenant<'a>,
    note: Option<&'a str>,
    created_at: String,
    expires_at: String,
    state: &'static str,
    tries_remaining: u32,
    answered_at: Option<String>,
    verify: &'static str,
    /// `secret` or `certificate`.
    kind: &'static str,
    /// A certificate request: the certificate to upload to the app.
    certificate: Option<CertificateJson>,
}

/// The public certificate of a certificate request (never its key).
#[derive(Serialize, ToSchema)]
struct CertificateJson {
    /// PEM, for a `.pem` file.
    pem: String,
    /// The DER, base64, for a `.cer` file.
    der_base64: String,
    /// SHA-1 of the DER, upper-case hex: the thumbprint the portal shows.
    thumbprint: String,
    /// SHA-256 of the DER, upper-case hex.
    sha256: String,
    /// The certificate's notAfter, RFC 3339.
    not_after: String,
}

#[derive(Serialize, ToSchema)]
struct CustomerTenant<'a> {
    name: &'a str,
    entra_tenant: &'a str,
    client_id: &'a str,
    /// The app registration's Certificates & secrets page in the admin
    /// portal of the tenant's cloud; absent when the cloud is not known.
    credentials_url: Option<String>,
}

impl<'a> From<&'a RequestView> for RequestViewJson<'a> {
    fn from(view: &'a RequestView) -> Self {
        Self {
            id: view.id.to_string(),
            vendor_name: &view.vendor_name,
            tenant: CustomerTenant {
                name: &view.tenant.name,
                entra_tenant: &view.tenant.entra_tenant,
                client_id: &view.tenant.client_id,
                credentials_url: crate::domain::credentials_page(
                    &view.tenant.authority,
                    &view.tenant.client_id,
                ),
            },
            note: view.note.as_deref(),
            created_at: rfc3339(view.created_at),
            expires_at: rfc3339(view.expires_at),
            state: view.state.as_str(),
            tries_remaining: view.tries_remaining,
            answered_at: view.answered_at.map(rfc3339),
            verify: view.tenant.verify.as_str(),
            kind: if view.certificate.is_some() {
                "certificate"
            } else {
                "secret"
            },
            certificate: view.certificate.as_ref().map(|(der, not_after)| {
                use base64::Engine as _;
                CertificateJson {
                    pem: certificate::certificate_pem(der),
                    der_base64: base64::engine::general_purpose::STANDARD.encode(der),
                    thumbprint: certificate::thumbprint_sha1(der),
                    sha256: certificate::thumbprint_sha256(der),
                    not_after: rfc3339(*not_after),
                }
            }),
        }
    }
}

/// Microsoft is still activating the customer's brand-new secret.
#[derive(Serialize, ToSchema)]
pub struct ActivatingJson {
    /// Always `activating`.
    status: &'static str,
    message: &'static str,
    /// When Microsoft first refused it (RFC 3339).
    since: String,
    /// Until when sending it again is worth it (RFC 3339); after that a
    /// refusal counts as a wrong secret.
    until: String,
    /// Wait this long before sending the same value again.
    pub retry_after_secs: u64,
}

/// The first re-check comes soon (most new secrets work within seconds),
/// later ones less often.
const ACTIVATING_RETRY_SECS: [u64; 4] = [2, 4, 8, 15];

impl ActivatingJson {
    #[must_use]
    pub fn new(activating: &crate::service::Activating, now: i64) -> Self {
        let waited = u64::try_from(now - activating.since).unwrap_or(0);
        let step = ACTIVATING_RETRY_SECS
            .iter()
            .scan(0, |total, wait| {
                *total += wait;
                Some((*total, *wait))
            })
            .find(|(total, _)| waited < *total)
            .map_or(ACTIVATING_RETRY_SECS[3], |(_, wait)| wait);
        let left = u64::try_from(activating.until - now).unwrap_or(1).max(1);
        Self {
            status: "activating",
            message: "Microsoft is still activating this new secret; it is checked again in a \
                      moment. Keep this page open: nothing more to do.",
            since: rfc3339(activating.since),
            until: rfc3339(activating.until),
            retry_after_secs: step.min(left),
        }
    }
}

/// The customer's answer was taken.
#[derive(Serialize, ToSchema)]
pub struct AnswerAcceptedJson<'a> {
    status: &'static str,
    verified: bool,
    verification: AnswerVerification<'a>,
    notices: &'a [String],
    warnings: &'a [String],
    hint: &'a str,
    /// With auto-apply: delivered to the vendor's configuration, or kept
    /// for staff to retry (the customer's part is done either way).
    delivered: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct AnswerVerification<'a> {
    code: &'a str,
    message: &'a str,
    aadsts: Option<u32>,
}

impl<'a> From<&'a AnswerAccepted> for AnswerAcceptedJson<'a> {
    fn from(accepted: &'a AnswerAccepted) -> Self {
        Self {
            status: "accepted",
            verified: accepted.verification.verified,
            verification: AnswerVerification {
                code: &accepted.verification.code,
                message: &accepted.verification.message,
                aadsts: accepted.verification.aadsts,
            },
            notices: &accepted.notices,
            warnings: &accepted.warnings,
            hint: &accepted.hint,
            delivered: accepted.delivery.as_ref().map(Result::is_ok),
        }
    }
}

/// A request's answer, for staff, once.
#[derive(Serialize, ToSchema)]
pub struct RetrievedAnswer<'a> {
    secret: &'a str,
    tenant: &'a str,
    expires_on: Option<&'a str>,
    secret_id: Option<&'a str>,
    hint: &'a str,
    verification: VerificationJson<'a>,
}

impl<'a> From<&'a Retrieved> for RetrievedAnswer<'a> {
    fn from(retrieved: &'a Retrieved) -> Self {
        let answer = &retrieved.answer;
        Self {
            secret: retrieved.secret.expose(),
            tenant: &retrieved.tenant,
            expires_on: answer.expires_on.as_deref(),
            secret_id: answer.secret_id.as_deref(),
            hint: &answer.hint,
            verification: VerificationJson::from(&answer.verification),
        }
    }
}

/// A secret went into a tenant's configuration.
#[derive(Serialize, ToSchema)]
pub struct AppliedJson<'a> {
    status: &'static str,
    tenant: &'a str,
    sink: &'a str,
    written: bool,
    version: Option<&'a str>,
    expires_on: Option<&'a str>,
    verification: AppliedVerification<'a>,
}

#[derive(Serialize, ToSchema)]
struct AppliedVerification<'a> {
    verified: bool,
    code: &'a str,
    message: &'a str,
}

impl<'a> From<&'a Applied> for AppliedJson<'a> {
    fn from(applied: &'a Applied) -> Self {
        Self {
            status: "applied",
            tenant: &applied.tenant,
            sink: &applied.sink,
            written: applied.written,
            version: applied.version.as_deref(),
            expires_on: applied.expires_on.as_deref(),
            verification: AppliedVerification {
                verified: applied.verification.verified,
                code: &applied.verification.code,
                message: &applied.verification.message,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TenantList<'a> {
    pub tenants: Vec<TenantStatusJson<'a>>,
}

/// A tenant by its secret's expiry.
#[derive(Serialize, ToSchema)]
pub struct TenantStatusJson<'a> {
    tenant: &'a str,
    name: &'a str,
    status: &'static str,
    days_left: Option<i64>,
    sink: Option<&'a str>,
    expires_on: Option<&'a str>,
    applied_at: Option<String>,
    applied_by: Option<&'a str>,
    hint: Option<&'a str>,
    secret_id: Option<&'a str>,
    verification: Option<TenantVerification<'a>>,
}

#[derive(Serialize, ToSchema)]
struct TenantVerification<'a> {
    verified: bool,
    code: &'a str,
}

impl<'a> From<&'a TenantStatus> for TenantStatusJson<'a> {
    fn from(status: &'a TenantStatus) -> Self {
        let record = status.record.as_ref();
        Self {
            tenant: &status.tenant.slug,
            name: &status.tenant.name,
            status: status.status.as_str(),
            days_left: status.days_left,
            sink: status.tenant.sink.as_ref().map(|(sink, _)| sink.as_str()),
            expires_on: record.and_then(|r| r.expires_on.as_deref()),
            applied_at: record.map(|r| rfc3339(r.applied_at)),
            applied_by: record.map(|r| r.applied_by.as_str()),
            hint: record.map(|r| r.hint.as_str()),
            secret_id: record.and_then(|r| r.secret_id.as_deref()),
            verification: record.map(|r| TenantVerification {
                verified: r.verification.verified,
                code: &r.verification.code,
            }),
        }
    }
}

/// `/healthz` and `/readyz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}
