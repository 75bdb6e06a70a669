//! Request links: staff ask one customer for a new client secret for one
//! tenant. The customer's answer is checked (format, then Microsoft) while
//! they are still on the page; an accepted answer is sealed to the staff's
//! retrieve key and can be taken out exactly once.
//!
//! A request has two keys, both only in links: the submit key (customer)
//! and the retrieve key (staff). Whoever intercepts the customer's link can
//! answer, but cannot read an answer.

use zeroize::Zeroizing;

use super::{Client, Service, ServiceError, Unconfirmed};
use crate::audit::{Actor, AuditEvent, Kind};
use crate::certificate::{self, Bundle, CertificateError, ValidFor};
use crate::crypto;
use crate::directory::{Tenant, VerifyMode};
use crate::domain::{
    AzureSecretId, ClientSecretInput, ExpiryDate, IdempotencyKey, LinkKey, Note, SecretId,
    SecretText, Ttl, UnixTime, now,
};
use crate::store::{
    AnswerRecord, CertificateRecord, Claim, REPLAY_WINDOW_SECS, Replay, RequestRecord,
    RequestState, StoreError, TenantRecord, VerificationRecord,
};
use crate::verify::{EntraApp, Proof, Verification};

/// Refused answers (format or Microsoft) before a request locks.
pub const MAX_ANSWER_TRIES: u32 = 10;
/// Compare-and-swap retries before giving up on a contended request.
const MAX_UPDATE_ATTEMPTS: usize = 16;

pub struct NewRequest {
    pub tenant: String,
    pub note: Option<Note>,
    pub ttl: Ttl,
    pub created_by: String,
    /// Apply the answer at once; default: when the tenant has a sink and
    /// requires verification.
    pub auto_apply: Option<bool>,
    /// Mail the submit link to the tenant's contacts.
    pub notify: bool,
    /// Ask for a certificate credential, valid this long, instead of a
    /// secret.
    pub certificate: Option<ValidFor>,
}

#[derive(Debug)]
pub struct CreatedRequest {
    pub id: SecretId,
    pub submit_key: LinkKey,
    pub retrieve_key: LinkKey,
    pub expires_at: UnixTime,
    pub tenant: Tenant,
    /// The submit link was queued for the tenant's contacts.
    pub mailed: bool,
}

/// What the customer's page shows.
#[derive(Debug)]
pub struct RequestView {
    pub id: SecretId,
    pub vendor_name: String,
    pub tenant: Tenant,
    pub note: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub state: RequestState,
    pub tries_remaining: u32,
    pub answered_at: Option<UnixTime>,
    /// A certificate request: the public certificate (DER) and its
    /// `notAfter`.
    pub certificate: Option<(Vec<u8>, UnixTime)>,
}

pub struct Answer {
    pub secret: Zeroizing<String>,
    pub expires_on: Option<ExpiryDate>,
    pub secret_id: Option<AzureSecretId>,
}

#[derive(Debug)]
pub struct AnswerAccepted {
    pub verification: VerificationRecord,
    pub notices: Vec<String>,
    pub warnings: Vec<String>,
    pub hint: String,
    /// With auto-apply: delivered to the tenant's sink, or why not (staff
    /// can retry; the answer is kept).
    pub delivery: Option<Result<(), String>>,
}

/// What became of an answer.
#[derive(Debug)]
pub enum AnswerOutcome {
    Accepted(AnswerAccepted),
    /// Microsoft refused a brand-new secret, which it may still be
    /// propagating: send the same value again until `until`; no try was
    /// counted.
    Activating(Activating),
}

#[derive(Debug, Clone, Copy)]
pub struct Activating {
    pub since: UnixTime,
    pub until: UnixTime,
}

/// What staff see of a request (never the sealed answer).
#[derive(Debug)]
pub struct RequestDetails {
    pub id: SecretId,
    pub tenant_name: String,
    /// The tenant's sink, if its answer can be applied.
    pub sink: Option<String>,
    pub entra_tenant: Option<String>,
    pub client_id: Option<String>,
    pub record: RequestRecord,
}

#[derive(Debug)]
pub struct Retrieved {
    pub secret: SecretText,
    pub tenant: String,
    pub answer: AnswerRecord,
}

fn retrieve_public_key(record: &RequestRecord) -> Result<[u8; 32], ServiceError> {
    Ok(record
        .retrieve_public_key
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt("request public key has the wrong length".to_owned()))?)
}

/// A request still open to the customer, and of the kind they answer.
fn open_for(record: &RequestRecord, certificate: bool) -> Result<(), ServiceError> {
    if record.state != RequestState::Open {
        return Err(closed_for_customer(record));
    }
    if record.certificate.is_some() != certificate {
        return Err(ServiceError::WrongKind {
            certificate: record.certificate.is_some(),
        });
    }
    Ok(())
}

fn tries_remaining(record: &RequestRecord) -> u32 {
    MAX_ANSWER_TRIES.saturating_sub(record.tries)
}

pub(super) fn closed(record: &RequestRecord) -> ServiceError {
    ServiceError::RequestClosed {
        state: record.state,
        at: record
            .ended_at
            .or(record.answer.as_ref().map(|a| a.answered_at))
            .unwrap_or(record.created_at),
    }
}

/// To the customer, a retrieved request is simply an answered one, and a
/// cancelled one a link that no longer works.
fn closed_for_customer(record: &RequestRecord) -> ServiceError {
    match closed(record) {
        ServiceError::RequestClosed {
            state: RequestState::Cancelled,
            ..
        } => ServiceError::NotFound,
        ServiceError::RequestClosed {
            state: RequestState::Retrieved | RequestState::Applied,
            at,
        } => ServiceError::RequestClosed {
            state: RequestState::Answered,
            at,
        },
        other => other,
    }
}

impl Service {
    pub(super) fn tenant(&self, slug: &str) -> Result<Tenant, ServiceError> {
        self.directory
            .current()
            .tenant(slug)
            .cloned()
            .ok_or(ServiceError::UnknownTenant)
    }

    /// Creates a request link and, with `notify`, mails its submit link to
    /// the tenant's contacts (checked first: a request that cannot be
    /// mailed is not created).
    #[tracing::instrument(skip_all, fields(tenant = %new.tenant))]
    pub async fn create_request(&self, new: NewRequest) -> Result<CreatedRequest, ServiceError> {
        if new.notify {
            self.may_mail(&self.tenant(&new.tenant)?).await?;
        }
        let notify = new.notify;
        let note = new.note.as_ref().map(|n| n.as_str().to_owned());
        let actor = Actor::Staff(new.created_by.clone());
        let mut created = self
            .create_request_with_id(SecretId::generate(), new)
            .await?;
        if notify {
            created.mailed = true;
            self.queue_request_mail(
                &created.id,
                &created.submit_key,
                &created.tenant,
                note,
                created.expires_at,
                None,
                &actor,
            )
            .await;
        }
        Ok(created)
    }

    pub(super) async fn create_request_with_id(
        &self,
        id: SecretId,
        new: NewRequest,
    ) -> Result<CreatedRequest, ServiceError> {
        let tenant = self.tenant(&new.tenant)?;
        let auto_apply = new
            .auto_apply
            .unwrap_or_else(|| tenant.auto_applies_by_default());
        if auto_apply && tenant.sink.is_none() {
            return Err(ServiceError::NoSink);
        }
        let submit_key = LinkKey::generate();
        let retrieve_key = LinkKey::generate();
        let created_at = now();
        let expires_at = created_at + new.ttl.as_unix_secs();
        let certificate = match new.certificate {
            Some(valid_for) => Some(
                self.new_certificate(&tenant, valid_for, &id, &submit_key, created_at)
                    .await?,
            ),
            None => None,
        };
        let record = RequestRecord {
            tenant: tenant.slug.clone(),
            note: new.note.map(|n| n.as_str().to_owned()),
            created_by: new.created_by,
            created_at,
            expires_at,
            submit_check: crypto::key_check(&submit_key, &id).to_vec(),
            retrieve_check: crypto::key_check(&retrieve_key, &id).to_vec(),
            retrieve_public_key: crypto::request_public_key(&self.server_key, &retrieve_key, &id)
                .to_vec(),
            state: RequestState::Open,
            tries: 0,
            answer: None,
            ended_at: None,
            auto_apply,
            claim: None,
            replay: None,
            activating_since: None,
            certificate,
        };
        self.store.insert_request(&id, &record).await?;
        tracing::info!(request_id = %id, created_by = %record.created_by, "request created");
        let actor = if record.created_by == super::AUTOMATIC {
            Actor::System
        } else {
            Actor::Staff(record.created_by.clone())
        };
        self.audit
            .record(
                AuditEvent::new(Kind::RequestCreated, &actor)
                    .subject(&id)
                    .tenant(&record.tenant),
            )
            .await;
        Ok(CreatedRequest {
            id,
            submit_key,
            retrieve_key,
            expires_at,
            tenant,
            mailed: false,
        })
    }

    /// The key pair and certificate of a certificate request, the private
    /// key sealed at once so that only the customer's Check can use it.
    async fn new_certificate(
        &self,
        tenant: &Tenant,
        valid_for: ValidFor,
        id: &SecretId,
        submit_key: &LinkKey,
        now: UnixTime,
    ) -> Result<CertificateRecord, ServiceError> {
        let directory = self.directory.current();
        let vendor = directory.vendor_name.clone();
        let tenant_name = tenant.name.clone();
        // RSA key generation is CPU work for a fraction of a second.
        let new = tokio::task::spawn_blocking(move || {
            certificate::generate(&vendor, &tenant_name, valid_for, now)
        })
        .await
        .map_err(|e| CertificateError::KeyGeneration(e.to_string()))??;
        let key = crypto::derive_certificate_key(&self.server_key, submit_key, id);
        Ok(CertificateRecord {
            der: new.certificate_der,
            not_after: new.not_after,
            sealed_key: crypto::seal(&key, id, new.private_key_pem.as_bytes()),
        })
    }

    pub(super) async fn load_request_with(
        &self,
        id: &SecretId,
        key: &LinkKey,
        check: fn(&RequestRecord) -> &[u8],
    ) -> Result<RequestRecord, ServiceError> {
        let request = self
            .store
            .load_request(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !crypto::key_matches(key, id, check(&request.value)) {
            return Err(ServiceError::NotFound);
        }
        Ok(request.value)
    }

    /// Reads, changes and writes a request atomically (compare-and-swap),
    /// retrying when another instance changed it in between.
    pub(super) async fn update_request<T>(
        &self,
        id: &SecretId,
        mut change: impl FnMut(&mut RequestRecord) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let current = self
                .store
                .load_request(id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let mut record = current.value;
            let outcome = change(&mut record)?;
            if self
                .store
                .replace_request(id, current.version, &record)
                .await?
            {
                return Ok(outcome);
            }
        }
        Err(ServiceError::Contended)
    }

    /// The customer's view, with the submit key.
    #[tracing::instrument(skip_all, fields(request_id = %id))]
    pub async fn request_view(
        &self,
        id: &SecretId,
        submit_key: &LinkKey,
    ) -> Result<RequestView, ServiceError> {
        let record = self
            .load_request_with(id, submit_key, |r| &r.submit_check)
            .await?;
        if record.state == RequestState::Cancelled {
            return Err(ServiceError::NotFound);
        }
        let tenant = self.tenant(&record.tenant)?;
        Ok(RequestView {
            id: *id,
            vendor_name: self.directory.current().vendor_name.clone(),
            note: record.note.clone(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            // To the customer, a retrieved request is simply an answered one.
            state: match record.state {
                RequestState::Retrieved | RequestState::Applied => RequestState::Answered,
                state => state,
            },
            tries_remaining: tries_remaining(&record),
            answered_at: record.answer.as_ref().map(|a| a.answered_at),
            certificate: record
                .certificate
                .as_ref()
                .map(|c| (c.der.clone(), c.not_after)),
            tenant,
        })
    }

    /// Counts a refused answer; the last allowed one locks the request.
    async fn refuse_answer(&self, id: &SecretId, client: &Client) -> Result<u32, ServiceError> {
        let (tries_left, tenant) = self
            .update_request(id, |record| {
            if record.state != RequestState::Open {
                return Err(closed_for_customer(record));
            }
            record.tries += 1;
            if record.tries >= MAX_ANSWER_TRIES {
                record.state = RequestState::Locked;
                record.ended_at = Some(now());
                tracing::warn!(tenant = %record.tenant, "request locked after too many refused answers");
            }
            Ok((tries_remaining(record), record.tenant.clone()))
        })
        .await?;
        if tries_left == 0 {
            let event = client
                .event(Kind::RequestLocked, &Actor::Customer)
                .subject(id)
                .tenant(&tenant)
                .detail(format!("{MAX_ANSWER_TRIES} refused answers"));
            self.audit.record(event).await;
            self.webhooks.send(
                "request.locked",
                serde_json::json!({ "request_id": id.to_string(), "tenant": tenant, "refused_answers": MAX_ANSWER_TRIES }),
            );
        }
        Ok(tries_left)
    }

    /// Checks the customer's answer and, if it is good, seals it for staff.
    #[tracing::instrument(skip_all, fields(request_id = %id))]
    pub async fn answer_request(
        &self,
        id: &SecretId,
        submit_key: &LinkKey,
        mut answer: Answer,
        client: &Client,
    ) -> Result<AnswerOutcome, ServiceError> {
        let record = self
            .load_request_with(id, submit_key, |r| &r.submit_check)
            .await?;
        open_for(&record, false)?;
        let tenant = self.tenant(&record.tenant)?;

        let input = self
            .parse_answer(id, &tenant, &answer.secret, client)
            .await?;

        // A copied portal row carries the Secret ID beside the value.
        if answer.secret_id.is_none() {
            answer.secret_id = AzureSecretId::parse_optional(input.secret_id())
                .ok()
                .flatten();
        }

        let judgement = self.judge(&tenant, Proof::Secret(input.value())).await;
        if let Judgement::Refuse {
            code: "invalid_secret",
            ..
        } = &judgement
            && input.is_current_format()
            && let Some(activating) = self.still_activating(id).await?
        {
            tracing::info!(
                since = activating.since,
                "Microsoft refused a new-format secret; it may still be propagating"
            );
            return Ok(AnswerOutcome::Activating(activating));
        }
        let verification = self
            .accepted_or_refused(id, &tenant, &record, judgement, client)
            .await?;

        let answer_record = self.seal_answer(id, &record, &input, &answer, &verification)?;
        // With auto-apply, the answer is stored and claimed in one step, so
        // that a crash while writing to the sink still loses nothing.
        let claim = record.auto_apply.then(|| Claim {
            id: SecretId::generate().to_string(),
            until: now() + super::LEASE_SECS,
        });
        self.update_request(id, |record| {
            if record.state != RequestState::Open {
                return Err(closed_for_customer(record));
            }
            record.state = RequestState::Answered;
            record.answer = Some(answer_record.clone());
            record.claim.clone_from(&claim);
            Ok(())
        })
        .await?;
        self.announce_answer(id, &tenant, &answer_record, client)
            .await;
        self.metrics
            .request_answered(&tenant.slug, &verification.code);

        let delivery = match &claim {
            Some(claim) => Some(
                self.auto_apply(id, &tenant, claim, &input, &answer, &verification, client)
                    .await,
            ),
            None => None,
        };
        self.reopen_if_undelivered(id, &record, delivery.as_ref())
            .await?;
        Ok(AnswerOutcome::Accepted(AnswerAccepted {
            verification,
            notices: input.notices().to_vec(),
            warnings: input.warnings().to_vec(),
            hint: input.hint(),
            delivery,
        }))
    }

    /// The pasted value, cleaned; a refusal counts a try and is audited.
    async fn parse_answer(
        &self,
        id: &SecretId,
        tenant: &Tenant,
        raw: &str,
        client: &Client,
    ) -> Result<ClientSecretInput, ServiceError> {
        match ClientSecretInput::parse(raw, &tenant.client_id, &tenant.entra_tenant) {
            Ok(input) => Ok(input),
            Err(refusal) => {
                let event = client
                    .event(Kind::RequestRefused, &Actor::Customer)
                    .subject(id)
                    .tenant(&tenant.slug)
                    .detail(refusal.code());
                self.audit.record(event).await;
                let tries_remaining = self.refuse_answer(id, client).await?;
                Err(ServiceError::SecretRefused {
                    refusal,
                    tries_remaining,
                })
            }
        }
    }

    /// The customer's Check of a certificate request: a client assertion
    /// signed with the request's private key asks Microsoft for a token.
    /// Once Microsoft accepts, the key (with its certificate) becomes the
    /// answer, sealed to the retrieve key, and is applied like a secret.
    #[tracing::instrument(skip_all, fields(request_id = %id))]
    pub async fn check_certificate(
        &self,
        id: &SecretId,
        submit_key: &LinkKey,
        client: &Client,
    ) -> Result<AnswerOutcome, ServiceError> {
        let record = self
            .load_request_with(id, submit_key, |r| &r.submit_check)
            .await?;
        open_for(&record, true)?;
        let Some(certificate) = &record.certificate else {
            return Err(ServiceError::WrongKind { certificate: false });
        };
        let tenant = self.tenant(&record.tenant)?;
        let key = crypto::derive_certificate_key(&self.server_key, submit_key, id);
        let private_key_pem = crypto::open(&key, id, &certificate.sealed_key)
            .ok()
            .and_then(|pem| String::from_utf8(pem.to_vec()).ok())
            .map(Zeroizing::new)
            .ok_or(ServiceError::Undecryptable)?;
        let proof = Proof::Certificate {
            private_key_pem: &private_key_pem,
            certificate_der: &certificate.der,
        };
        let verification = self
            .accepted_or_refused(
                id,
                &tenant,
                &record,
                self.judge(&tenant, proof).await,
                client,
            )
            .await?;

        let bundle = Bundle::join(&private_key_pem, &certificate.der);
        let sealed = crypto::seal_to_request(
            &self.server_key,
            &retrieve_public_key(&record)?,
            id,
            bundle.as_bytes(),
        );
        let hint = certificate::hint(&certificate::thumbprint_sha1(&certificate.der));
        let expires_on = time::OffsetDateTime::from_unix_timestamp(certificate.not_after)
            .ok()
            .and_then(|t| ExpiryDate::parse(&t.date().to_string(), now()).ok());
        let answer_record = AnswerRecord {
            answered_at: now(),
            sealed_secret: Some(sealed),
            expires_on: expires_on.map(|d| d.to_string()),
            secret_id: None,
            hint: hint.clone(),
            verification: verification.clone(),
        };
        let claim = record.auto_apply.then(|| Claim {
            id: SecretId::generate().to_string(),
            until: now() + super::LEASE_SECS,
        });
        self.update_request(id, |record| {
            if record.state != RequestState::Open {
                return Err(closed_for_customer(record));
            }
            record.state = RequestState::Answered;
            record.answer = Some(answer_record.clone());
            record.claim.clone_from(&claim);
            // From here on only the retrieve key opens the private key.
            if let Some(certificate) = &mut record.certificate {
                certificate.sealed_key.clear();
            }
            Ok(())
        })
        .await?;
        self.announce_answer(id, &tenant, &answer_record, client)
            .await;
        self.metrics
            .request_answered(&tenant.slug, &verification.code);
        let delivery = match &claim {
            Some(claim) => {
                let details = super::ApplyDetails {
                    expires_on,
                    secret_id: None,
                };
                Some(
                    self.apply_claimed_request(
                        id,
                        &tenant,
                        claim,
                        &bundle,
                        &details,
                        Some(verification.clone()),
                        client,
                        &Actor::System,
                    )
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string()),
                )
            }
            None => None,
        };
        Ok(AnswerOutcome::Accepted(AnswerAccepted {
            verification,
            notices: Vec::new(),
            warnings: Vec::new(),
            hint,
            delivery,
        }))
    }

    /// What Microsoft's judgement of an answer (a secret, or a
    /// certificate's Check) means: the verification if accepted; otherwise
    /// the refusal audited and a try counted, the vendor's fault reported,
    /// or Microsoft unreachable.
    async fn accepted_or_refused(
        &self,
        id: &SecretId,
        tenant: &Tenant,
        record: &RequestRecord,
        judgement: Judgement,
        client: &Client,
    ) -> Result<VerificationRecord, ServiceError> {
        match judgement {
            Judgement::Accept(verification) => Ok(verification),
            Judgement::VendorFault {
                code,
                message,
                aadsts,
            } => Err(self
                .vendor_fault(id, tenant, code, message, aadsts, client)
                .await),
            Judgement::Refuse {
                code,
                message,
                aadsts,
            } => {
                let event = client
                    .event(Kind::VerificationFailed, &Actor::Customer)
                    .subject(id)
                    .tenant(&tenant.slug)
                    .detail(code)
                    .aadsts(aadsts);
                self.audit.record(event).await;
                // Checking before the upload (or while Microsoft is still
                // propagating it) is the expected first answer, not a guess.
                let tries_remaining = if code == "certificate_not_uploaded" {
                    tries_remaining(record)
                } else {
                    self.refuse_answer(id, client).await?
                };
                Err(ServiceError::VerificationFailed {
                    code,
                    message,
                    aadsts,
                    tries_remaining,
                })
            }
            Judgement::RetryLater { message } => Err(ServiceError::VerifierUnreachable { message }),
        }
    }

    /// Within the new-secret window (from Microsoft's first refusal of this
    /// request's new-format secret), the answer is still activating; after
    /// it, the refusal counts, and a later new secret gets a window again.
    async fn still_activating(&self, id: &SecretId) -> Result<Option<Activating>, ServiceError> {
        let window = i64::try_from(self.new_secret_window.as_secs()).unwrap_or(i64::MAX);
        if window == 0 {
            return Ok(None);
        }
        self.update_request(id, |record| {
            if record.state != RequestState::Open {
                return Err(closed_for_customer(record));
            }
            let now = now();
            let since = *record.activating_since.get_or_insert(now);
            let until = since.saturating_add(window);
            if now < until {
                Ok(Some(Activating { since, until }))
            } else {
                record.activating_since = None;
                Ok(None)
            }
        })
        .await
    }

    /// Microsoft says the vendor's settings are wrong: staff hear it (log,
    /// audit trail, webhook); the customer is not blamed.
    async fn vendor_fault(
        &self,
        id: &SecretId,
        tenant: &Tenant,
        code: &'static str,
        message: String,
        aadsts: Option<u32>,
        client: &Client,
    ) -> ServiceError {
        tracing::error!(
            tenant = %tenant.slug,
            reason = code,
            aadsts,
            "Microsoft says this tenant's settings are wrong; fix them in handoff.toml"
        );
        let event = client
            .event(Kind::VerificationFailed, &Actor::Customer)
            .subject(id)
            .tenant(&tenant.slug)
            .detail(format!("{code}: the vendor's settings"))
            .aadsts(aadsts);
        self.audit.record(event).await;
        self.webhooks.send(
            "tenant.misconfigured",
            serde_json::json!({
                "request_id": id.to_string(),
                "tenant": tenant.slug,
                "reason": code,
                "aadsts": aadsts,
                "message": message,
            }),
        );
        ServiceError::VendorMisconfigured {
            code,
            message,
            aadsts,
        }
    }
}

impl Service {
    /// An automatic request whose answer the sink did not take goes back
    /// to open, its sealed answer deleted (tries are not counted: the
    /// answer was good), and the customer hears `NotDelivered`. Nobody
    /// holds such a request's retrieve key, so a kept answer could never
    /// be read.
    async fn reopen_if_undelivered(
        &self,
        id: &SecretId,
        record: &RequestRecord,
        delivery: Option<&Result<(), String>>,
    ) -> Result<(), ServiceError> {
        if record.created_by != super::AUTOMATIC || !matches!(delivery, Some(Err(_))) {
            return Ok(());
        }
        self.update_request(id, |record| {
            if record.state == RequestState::Answered && record.claim.is_none() {
                record.state = RequestState::Open;
                record.answer = None;
            }
            Ok(())
        })
        .await?;
        tracing::warn!(request_id = %id, "automatic request opened again: its answer could not be applied");
        Err(ServiceError::NotDelivered)
    }

    /// The accepted answer, sealed to the request's retrieve key.
    fn seal_answer(
        &self,
        id: &SecretId,
        record: &RequestRecord,
        input: &ClientSecretInput,
        answer: &Answer,
        verification: &VerificationRecord,
    ) -> Result<AnswerRecord, ServiceError> {
        let sealed = crypto::seal_to_request(
            &self.server_key,
            &retrieve_public_key(record)?,
            id,
            input.value().as_bytes(),
        );
        Ok(AnswerRecord {
            answered_at: now(),
            sealed_secret: Some(sealed),
            expires_on: answer.expires_on.map(|d| d.to_string()),
            secret_id: answer.secret_id.as_ref().map(|s| s.as_str().to_owned()),
            hint: input.hint(),
            verification: verification.clone(),
        })
    }

    /// Applies a just-accepted answer under the claim taken with it. The
    /// customer's part is done either way; a failure keeps the answer for
    /// staff, and the audit trail and webhook say why.
    #[allow(clippy::too_many_arguments)] // the answer's pieces, as answer_request holds them
    async fn auto_apply(
        &self,
        id: &SecretId,
        tenant: &Tenant,
        claim: &Claim,
        input: &ClientSecretInput,
        answer: &Answer,
        verification: &VerificationRecord,
        client: &Client,
    ) -> Result<(), String> {
        let details = super::ApplyDetails {
            expires_on: answer.expires_on,
            secret_id: answer.secret_id.clone(),
        };
        self.apply_claimed_request(
            id,
            tenant,
            claim,
            input.value(),
            &details,
            Some(verification.clone()),
            client,
            &Actor::System,
        )
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
    }

    /// Tells the audit trail and the vendor's webhook that a request was
    /// answered (never with the secret).
    async fn announce_answer(
        &self,
        id: &SecretId,
        tenant: &Tenant,
        answer: &AnswerRecord,
        client: &Client,
    ) {
        if answer.verification.verified {
            let event = client
                .event(Kind::VerificationPassed, &Actor::Customer)
                .subject(id)
                .tenant(&tenant.slug);
            self.audit.record(event).await;
        }
        let event = client
            .event(Kind::RequestAnswered, &Actor::Customer)
            .subject(id)
            .tenant(&tenant.slug)
            .detail(answer.verification.code.clone());
        self.audit.record(event).await;
        self.webhooks.send(
            "request.answered",
            serde_json::json!({
                "request_id": id.to_string(),
                "tenant": tenant.slug,
                "tenant_name": tenant.name,
                "verified": answer.verification.verified,
                "verification": {
                    "code": answer.verification.code,
                    "message": answer.verification.message,
                    "aadsts": answer.verification.aadsts,
                },
                "expires_on": answer.expires_on,
                "secret_id": answer.secret_id,
            }),
        );
    }
}

/// What the tenant's verification mode makes of Microsoft's answer.
pub(super) enum Judgement {
    Accept(VerificationRecord),
    /// Microsoft refused it: the customer should correct it (counts a try).
    Refuse {
        code: &'static str,
        message: String,
        aadsts: Option<u32>,
    },
    /// Microsoft could not be reached and the tenant requires a check: not
    /// the customer's fault, so no try is counted.
    RetryLater {
        message: String,
    },
    /// Microsoft says the vendor's own settings are wrong (scope, cloud):
    /// no try is counted and staff are told.
    VendorFault {
        code: &'static str,
        message: String,
        aadsts: Option<u32>,
    },
}

impl Service {
    pub(super) async fn judge(&self, tenant: &Tenant, proof: Proof<'_>) -> Judgement {
        if tenant.verify == VerifyMode::Off {
            return Judgement::Accept(VerificationRecord {
                verified: false,
                code: "not_checked".to_owned(),
                message: "Not checked with Microsoft: verification is off for this tenant."
                    .to_owned(),
                aadsts: None,
            });
        }
        let app = EntraApp {
            authority: &tenant.authority,
            tenant: &tenant.entra_tenant,
            client_id: &tenant.client_id,
            scope: &tenant.scope,
        };
        let verification = self.verifier.verify_proof(&app, proof).await;
        let message = verification.sentence(&tenant.client_id, &tenant.entra_tenant);
        match (&verification, tenant.verify) {
            (Verification::Verified, _) => Judgement::Accept(VerificationRecord {
                verified: true,
                code: verification.code().to_owned(),
                message,
                aadsts: None,
            }),
            (Verification::Unreachable { detail }, VerifyMode::Advisory) => {
                tracing::warn!(%detail, "Microsoft unreachable; accepting the answer unverified");
                Judgement::Accept(VerificationRecord {
                    verified: false,
                    code: verification.code().to_owned(),
                    message: format!("Received, not verified: {message}"),
                    aadsts: None,
                })
            }
            (Verification::Unreachable { detail }, _) => {
                tracing::warn!(%detail, "Microsoft unreachable; the customer may retry");
                Judgement::RetryLater { message }
            }
            (Verification::Rejected(rejection), _) if rejection.is_vendors() => {
                Judgement::VendorFault {
                    code: verification.code(),
                    message,
                    aadsts: verification.aadsts(),
                }
            }
            (Verification::Rejected(_), _) => Judgement::Refuse {
                code: verification.code(),
                message,
                aadsts: verification.aadsts(),
            },
        }
    }

    /// Staff: every unexpired request, newest first.
    pub async fn list_requests(&self) -> Result<Vec<RequestDetails>, ServiceError> {
        let directory = self.directory.current();
        let mut requests: Vec<RequestDetails> = self
            .store
            .list_requests()
            .await?
            .into_iter()
            .map(|(id, record)| RequestDetails {
                id,
                tenant_name: directory
                    .tenant(&record.tenant)
                    .map_or_else(|| record.tenant.clone(), |t| t.name.clone()),
                sink: directory
                    .tenant(&record.tenant)
                    .and_then(|t| t.sink.as_ref().map(|(s, _)| s.clone())),
                entra_tenant: directory
                    .tenant(&record.tenant)
                    .map(|t| t.entra_tenant.clone()),
                client_id: directory
                    .tenant(&record.tenant)
                    .map(|t| t.client_id.clone()),
                record,
            })
            .collect();
        requests.sort_by_key(|r| std::cmp::Reverse(r.record.created_at));
        Ok(requests)
    }

    /// Staff: one request's state, without its answer.
    pub async fn request_details(&self, id: &SecretId) -> Result<RequestDetails, ServiceError> {
        let record = self
            .store
            .load_request(id)
            .await?
            .ok_or(ServiceError::NotFound)?
            .value;
        let directory = self.directory.current();
        let tenant = directory.tenant(&record.tenant);
        Ok(RequestDetails {
            id: *id,
            tenant_name: tenant.map_or_else(|| record.tenant.clone(), |t| t.name.clone()),
            sink: tenant.and_then(|t| t.sink.as_ref().map(|(s, _)| s.clone())),
            entra_tenant: tenant.map(|t| t.entra_tenant.clone()),
            client_id: tenant.map(|t| t.client_id.clone()),
            record,
        })
    }

    /// Staff: ends a request that is open, locked or answered, for example
    /// one whose retrieve link was lost. Its links stop working; an answer
    /// it held is deleted unread (without the retrieve link no one could
    /// ever open it). A request already retrieved, applied or cancelled is
    /// left as it is; one being applied right now is not touched.
    #[tracing::instrument(skip_all, fields(request_id = %id, staff = %staff))]
    pub async fn cancel_request(
        &self,
        id: &SecretId,
        staff: &str,
    ) -> Result<RequestRecord, ServiceError> {
        let record = self
            .update_request(id, |record| match record.state {
                RequestState::Answered if Claim::holds(record.claim.as_ref(), now()) => {
                    Err(ServiceError::BeingApplied)
                }
                RequestState::Open | RequestState::Locked | RequestState::Answered => {
                    record.state = RequestState::Cancelled;
                    record.ended_at = Some(now());
                    record.answer = None;
                    record.replay = None;
                    record.claim = None;
                    Ok(record.clone())
                }
                RequestState::Retrieved | RequestState::Applied | RequestState::Cancelled => {
                    Err(closed(record))
                }
            })
            .await?;
        tracing::info!("request cancelled");
        self.audit
            .record(
                AuditEvent::new(Kind::RequestCancelled, &Actor::Staff(staff.to_owned()))
                    .subject(id)
                    .tenant(&record.tenant),
            )
            .await;
        Ok(record)
    }

    /// Staff, with the retrieve key: the answer, exactly once; see
    /// [`Self::retrieve_answer_idempotent`].
    pub async fn retrieve_answer(
        &self,
        id: &SecretId,
        retrieve_key: &LinkKey,
        staff: &str,
    ) -> Result<Retrieved, ServiceError> {
        self.retrieve_answer_idempotent(id, retrieve_key, None, staff)
            .await
    }

    /// Takes the answer out, once. With an idempotency key, the same swap
    /// that ends the request keeps the sealed answer and the key's hash for
    /// [`crate::store::REPLAY_WINDOW_SECS`], so that a retry with that key
    /// (after a timeout or a lost answer) gets the same answer again.
    #[tracing::instrument(skip_all, fields(request_id = %id, staff = %staff))]
    pub async fn retrieve_answer_idempotent(
        &self,
        id: &SecretId,
        retrieve_key: &LinkKey,
        idempotency: Option<&IdempotencyKey>,
        staff: &str,
    ) -> Result<Retrieved, ServiceError> {
        let record = self
            .load_request_with(id, retrieve_key, |r| &r.retrieve_check)
            .await?;
        let replay = idempotency.map(|k| crypto::idempotency_hash(id, k));
        if let Some(sealed) = replay
            .as_ref()
            .and_then(|k| record.replayable_answer(k, now()))
        {
            let secret = self.open_answer(id, retrieve_key, sealed)?;
            tracing::info!("request answer retrieval repeated for its idempotency key");
            self.audit
                .record(
                    AuditEvent::new(Kind::RequestRetrieved, &Actor::Staff(staff.to_owned()))
                        .subject(id)
                        .tenant(&record.tenant)
                        .detail("repeated for the same idempotency key"),
                )
                .await;
            let mut answer = record.answer.clone().ok_or(ServiceError::NotAnswered)?;
            answer.sealed_secret = None;
            return Ok(Retrieved {
                secret,
                tenant: record.tenant,
                answer,
            });
        }
        let sealed = match (&record.state, &record.answer) {
            (
                RequestState::Answered,
                Some(AnswerRecord {
                    sealed_secret: Some(sealed),
                    ..
                }),
            ) => sealed.clone(),
            (RequestState::Open, _) => return Err(ServiceError::NotAnswered),
            _ => return Err(closed(&record)),
        };
        let secret = self.open_answer(id, retrieve_key, &sealed)?;

        // Only the caller whose swap succeeds gets the plaintext: at most once.
        let answer = self
            .update_request(id, |record| match (&record.state, &mut record.answer) {
                (RequestState::Answered, _) if Claim::holds(record.claim.as_ref(), now()) => {
                    Err(ServiceError::BeingApplied)
                }
                (RequestState::Answered, Some(answer)) => {
                    let mut taken = answer.clone();
                    taken.sealed_secret = None;
                    match &replay {
                        // Kept for the window; the sweeper deletes it then.
                        Some(key) => {
                            record.replay = Some(Replay {
                                key_hash: key.to_vec(),
                                until: now() + REPLAY_WINDOW_SECS,
                                views_remaining: 0,
                            });
                        }
                        None => answer.sealed_secret = None,
                    }
                    record.state = RequestState::Retrieved;
                    record.ended_at = Some(now());
                    Ok(taken)
                }
                _ => Err(closed(record)),
            })
            .await
            .map_err(|e| Unconfirmed::Retrieve.of(e))?;
        tracing::info!("request answer retrieved");
        self.audit
            .record(
                AuditEvent::new(Kind::RequestRetrieved, &Actor::Staff(staff.to_owned()))
                    .subject(id)
                    .tenant(&record.tenant),
            )
            .await;
        self.remember_retrieved(&record.tenant, &answer, staff)
            .await;
        Ok(Retrieved {
            secret,
            tenant: record.tenant,
            answer,
        })
    }

    /// Expiry tracking for vendors without a sink: the retrieved answer is
    /// the tenant's newest known credential. The record has no sink, which
    /// the tenants page shows as retrieved by staff rather than applied.
    /// Staff hold the secret from here on; a failure to remember is logged,
    /// never a reason to withhold what was already taken out.
    async fn remember_retrieved(&self, tenant: &str, answer: &AnswerRecord, staff: &str) {
        let record = TenantRecord {
            applied_at: now(),
            applied_by: Actor::Staff(staff.to_owned()).label(),
            expires_on: answer.expires_on.clone(),
            hint: answer.hint.clone(),
            secret_id: answer.secret_id.clone(),
            verification: answer.verification.clone(),
            sink: String::new(),
            reminded: Vec::new(),
            auto_request: None,
        };
        let updated = self
            .update_tenant_record(tenant, |current| *current = Some(record.clone()))
            .await;
        if let Err(error) = updated {
            tracing::warn!(%error, "the retrieved secret's expiry could not be recorded");
        }
    }

    fn open_answer(
        &self,
        id: &SecretId,
        retrieve_key: &LinkKey,
        sealed: &[u8],
    ) -> Result<SecretText, ServiceError> {
        let plaintext = crypto::open_request_answer(&self.server_key, retrieve_key, id, sealed)
            .map_err(|_| ServiceError::Undecryptable)?;
        let secret =
            String::from_utf8(plaintext.to_vec()).map_err(|_| ServiceError::Undecryptable)?;
        Ok(SecretText::from_plaintext(Zeroizing::new(secret)))
    }
}
