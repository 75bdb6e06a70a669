//! Apply: the secret goes into the tenant's configuration (its sink) and
//! is deleted here, without anyone seeing it. The steps are claim (take the
//! secret atomically, with a lease) → verify with Entra ID → write to the
//! sink → commit (delete). Any failure releases the claim; a crash lets the
//! lease lapse. Either way the secret is still there to retry or reveal, and
//! sink writes are idempotent, so a retry after an unclear outcome does not
//! produce two different results.

use serde_json::json;
use zeroize::Zeroizing;

use super::requests::{Judgement, closed};
use super::{Client, Service, ServiceError, Unconfirmed};
use crate::audit::{Actor, Kind};
use crate::certificate::{self, Bundle};
use crate::crypto;
use crate::directory::Tenant;
use crate::domain::{
    AzureSecretId, ClientSecretInput, ExpiryDate, LinkKey, Passphrase, SecretId, UnixTime, now,
};
use crate::sinks::{CertificateParts, Credential, WriteOutcome};
use crate::store::{
    Claim, ClaimOutcome, RequestState, SecretState, TenantRecord, VerificationRecord,
};
use crate::verify::Proof;
use crate::webhook::Destination;

/// How long an apply may hold a secret before others may take it again.
pub const LEASE_SECS: i64 = 60;

/// Which step of an apply failed, for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyStep {
    Verify,
    Write,
    Commit,
}

impl ApplyStep {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Write => "write",
            Self::Commit => "commit",
        }
    }
}

/// Why an apply did not complete; the message is the check's or the
/// sink's answer, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyFailure {
    pub step: ApplyStep,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub tenant: String,
    pub sink: String,
    /// `false` when the sink already held exactly this credential.
    pub written: bool,
    pub version: Option<String>,
    pub verification: VerificationRecord,
    pub expires_on: Option<String>,
}

/// What the caller knows about the secret besides its value.
#[derive(Debug, Default, Clone)]
pub struct ApplyDetails {
    pub expires_on: Option<ExpiryDate>,
    pub secret_id: Option<AzureSecretId>,
}

fn claim_now() -> Claim {
    Claim {
        id: SecretId::generate().to_string(),
        until: now() + LEASE_SECS,
    }
}

impl Service {
    fn tenant_with_sink(&self, slug: &str) -> Result<Tenant, ServiceError> {
        let tenant = self.tenant(slug)?;
        if tenant.sink.is_none() {
            return Err(ServiceError::NoSink);
        }
        Ok(tenant)
    }

    /// Verify (unless already done) and write. Nothing here changes the
    /// store, so the caller decides between commit and release.
    async fn deliver(
        &self,
        tenant: &Tenant,
        secret: &str,
        expires_on: Option<&str>,
        verified: Option<VerificationRecord>,
    ) -> Result<(WriteOutcome, VerificationRecord, String), ApplyFailure> {
        let bundle = Bundle::parse(secret);
        let input = match &bundle {
            Some(_) => None,
            None => Some(
                ClientSecretInput::parse(secret, &tenant.client_id, &tenant.entra_tenant).map_err(
                    |refusal| ApplyFailure {
                        step: ApplyStep::Verify,
                        code: refusal.code(),
                        message: refusal.to_string(),
                    },
                )?,
            ),
        };
        let proof = match (&bundle, &input) {
            (Some(bundle), _) => Proof::Certificate {
                private_key_pem: bundle.private_key_pem,
                certificate_der: &bundle.certificate_der,
            },
            (None, Some(input)) => Proof::Secret(input.value()),
            (None, None) => Proof::Secret(secret),
        };
        let verification = match verified {
            Some(verification) => verification,
            None => match self.judge(tenant, proof).await {
                Judgement::Accept(verification) => verification,
                Judgement::Refuse { code, message, .. }
                | Judgement::VendorFault { code, message, .. } => {
                    return Err(ApplyFailure {
                        step: ApplyStep::Verify,
                        code,
                        message,
                    });
                }
                Judgement::RetryLater { message } => {
                    return Err(ApplyFailure {
                        step: ApplyStep::Verify,
                        code: "unreachable",
                        message,
                    });
                }
            },
        };
        let (sink_name, path) = tenant.sink.clone().ok_or(ApplyFailure {
            step: ApplyStep::Write,
            code: "misconfigured",
            message: "The tenant has no sink.".to_owned(),
        })?;
        let sink = self
            .directory
            .current()
            .sink(&sink_name)
            .cloned()
            .ok_or_else(|| ApplyFailure {
                step: ApplyStep::Write,
                code: "misconfigured",
                message: format!("There is no sink named {sink_name}."),
            })?;
        let thumbprint = bundle
            .as_ref()
            .map(|b| certificate::thumbprint_sha1(&b.certificate_der));
        let (client_secret, certificate, hint) = match (&bundle, &input, &thumbprint) {
            (Some(bundle), _, Some(thumbprint)) => (
                bundle.private_key_pem,
                Some(CertificateParts {
                    pem: bundle.certificate_pem,
                    thumbprint,
                }),
                certificate::hint(thumbprint),
            ),
            (_, Some(input), _) => (input.value(), None, input.hint()),
            _ => (secret, None, String::new()),
        };
        let credential = Credential {
            tenant: &tenant.slug,
            client_secret,
            client_id: &tenant.client_id,
            tenant_id: &tenant.entra_tenant,
            expires_on,
            certificate,
        };
        let outcome = sink
            .write(&path, &credential)
            .await
            .map_err(|error| ApplyFailure {
                step: ApplyStep::Write,
                code: error.code(),
                message: format!("{sink_name} ({}): {error}", sink.kind()),
            })?;
        Ok((outcome, verification, hint))
    }

    /// Remembers the tenant's new credential (for expiry tracking) and tells
    /// the audit trail and the vendor's systems.
    #[allow(clippy::too_many_arguments)] // one call site each; a struct would only rename them
    async fn finish_apply(
        &self,
        subject: &SecretId,
        tenant: &Tenant,
        outcome: &WriteOutcome,
        verification: &VerificationRecord,
        hint: String,
        details: &ApplyDetails,
        client: &Client,
        actor: &Actor,
    ) -> Result<Applied, ServiceError> {
        let (sink, _) = tenant.sink.clone().unwrap_or_default();
        let expires_on = details.expires_on.map(|d| d.to_string());
        let record = TenantRecord {
            applied_at: now(),
            applied_by: actor.label(),
            expires_on: expires_on.clone(),
            hint,
            secret_id: details.secret_id.as_ref().map(|s| s.as_str().to_owned()),
            verification: verification.clone(),
            sink: sink.clone(),
            reminded: Vec::new(),
            auto_request: None,
        };
        self.update_tenant_record(&tenant.slug, |current| {
            *current = Some(record.clone());
        })
        .await?;
        let version = match outcome {
            WriteOutcome::Written { version } => version.clone(),
            WriteOutcome::AlreadyApplied => None,
        };
        let event = client
            .event(Kind::SecretApplied, actor)
            .subject(subject)
            .tenant(&tenant.slug)
            .detail(format!(
                "{sink}: {}",
                if version.is_some() || matches!(outcome, WriteOutcome::Written { .. }) {
                    "written"
                } else {
                    "already held this secret"
                }
            ));
        self.audit.record(event).await;
        self.webhooks.send(
            "tenant.secret_applied",
            json!({
                "tenant": tenant.slug,
                "tenant_name": tenant.name,
                "sink": sink,
                "expires_on": expires_on,
                "secret_id": record.secret_id,
                "verified": verification.verified,
            }),
        );
        if tenant.after_apply.is_some() {
            if !self.webhooks.is_enabled() {
                tracing::warn!(
                    "a tenant sets after_apply, but no webhook secret is configured to sign it"
                );
            }
            // Tells the vendor's application to reload its configuration;
            // the URL is looked up when it is sent.
            self.webhooks.send_to(
                &Destination::AfterApply {
                    tenant: tenant.slug.clone(),
                },
                "tenant.secret_applied",
                json!({ "tenant": tenant.slug, "sink": sink, "expires_on": expires_on }),
            );
        }
        self.metrics
            .applied(&tenant.slug, record.expires_on.as_deref());
        Ok(Applied {
            tenant: tenant.slug.clone(),
            sink,
            written: matches!(outcome, WriteOutcome::Written { .. }),
            version,
            verification: verification.clone(),
            expires_on,
        })
    }

    async fn apply_failed(
        &self,
        subject: &SecretId,
        tenant: &Tenant,
        failure: &ApplyFailure,
        client: &Client,
        actor: &Actor,
    ) {
        let event = client
            .event(Kind::ApplyFailed, actor)
            .subject(subject)
            .tenant(&tenant.slug)
            .detail(format!("{}: {}", failure.step.as_str(), failure.message));
        self.audit.record(event).await;
        self.webhooks.send(
            "apply.failed",
            json!({ "subject": subject.to_string(), "tenant": tenant.slug, "step": failure.step.as_str(), "reason": failure.code, "message": failure.message }),
        );
        self.metrics.apply_failed(failure.step.as_str());
    }

    /// Changes a tenant's record with compare-and-swap.
    pub(super) async fn update_tenant_record(
        &self,
        tenant: &str,
        mut change: impl FnMut(&mut Option<TenantRecord>),
    ) -> Result<Option<TenantRecord>, ServiceError> {
        for _ in 0..16 {
            let current = self.store.load_tenant_record(tenant).await?;
            let version = current.as_ref().map_or(0, |c| c.version);
            let before = current.map(|c| c.value);
            let mut record = before.clone();
            change(&mut record);
            let Some(new) = &record else { return Ok(None) };
            if record == before {
                return Ok(record);
            }
            if self
                .store
                .replace_tenant_record(tenant, version, new)
                .await?
            {
                return Ok(record);
            }
        }
        Err(ServiceError::Contended)
    }

    /// Staff apply a pushed secret (they hold its link) to a tenant.
    #[tracing::instrument(skip_all, fields(secret_id = %id, tenant = %tenant))]
    pub async fn apply_secret(
        &self,
        id: &SecretId,
        key: &LinkKey,
        passphrase: Option<Passphrase>,
        tenant: &str,
        details: ApplyDetails,
        client: &Client,
    ) -> Result<Applied, ServiceError> {
        let tenant = self.tenant_with_sink(tenant)?;
        let actor = client.actor_or(Actor::LinkHolder);
        let record = self.load_for_holder(id, key).await?;
        if record.state != SecretState::Live {
            return Err(Self::ended(&record));
        }
        let claim = claim_now();
        let record = match self.store.claim(id, &claim, now()).await? {
            ClaimOutcome::Claimed(record) => record,
            ClaimOutcome::Busy { .. } => return Err(ServiceError::BeingApplied),
            ClaimOutcome::NotLive => return Err(ServiceError::NotFound),
        };
        let secret = match self.open_secret(id, key, &record, passphrase, client).await {
            Ok(secret) => secret,
            Err(error) => {
                self.store.release_claim(id, &claim.id).await?;
                return Err(error);
            }
        };
        let expires_on = details.expires_on.map(|d| d.to_string());
        match self
            .deliver(&tenant, secret.expose(), expires_on.as_deref(), None)
            .await
        {
            Ok((outcome, verification, hint)) => {
                // An unclear commit is answered as such: a retry finds the
                // secret applied, or (once the lease lapses) applies it again
                // and the idempotent sink writes nothing twice.
                let committed = self
                    .store
                    .commit_claim(id, &claim.id, now())
                    .await
                    .map_err(|e| Unconfirmed::ApplyCommit.of(e.into()))?;
                if !committed {
                    let failure = ApplyFailure {
                        step: ApplyStep::Commit,
                        code: "lease_lapsed",
                        message: "The sink holds the secret, but the apply outlived its lease and the secret was not deleted here; delete it."
                            .to_owned(),
                    };
                    self.apply_failed(id, &tenant, &failure, client, &actor)
                        .await;
                    return Err(ServiceError::ApplyFailed(failure));
                }
                self.finish_apply(
                    id,
                    &tenant,
                    &outcome,
                    &verification,
                    hint,
                    &details,
                    client,
                    &actor,
                )
                .await
            }
            Err(failure) => {
                self.store.release_claim(id, &claim.id).await?;
                self.apply_failed(id, &tenant, &failure, client, &actor)
                    .await;
                Err(ServiceError::ApplyFailed(failure))
            }
        }
    }

    /// Staff apply a request's answer (they hold its retrieve link).
    #[tracing::instrument(skip_all, fields(request_id = %id))]
    pub async fn apply_request(
        &self,
        id: &SecretId,
        retrieve_key: &LinkKey,
        client: &Client,
    ) -> Result<Applied, ServiceError> {
        let record = self
            .load_request_with(id, retrieve_key, |r| &r.retrieve_check)
            .await?;
        let tenant = self.tenant_with_sink(&record.tenant)?;
        let actor = client.actor_or(Actor::Anonymous);
        let claim = claim_now();
        let record = self
            .update_request(id, |record| {
                match record.state {
                    RequestState::Answered => {}
                    RequestState::Open => return Err(ServiceError::NotAnswered),
                    _ => return Err(closed(record)),
                }
                if Claim::holds(record.claim.as_ref(), now()) {
                    return Err(ServiceError::BeingApplied);
                }
                record.claim = Some(claim.clone());
                Ok(record.clone())
            })
            .await?;
        let answer = record.answer.clone().ok_or(ServiceError::NotAnswered)?;
        let sealed = answer
            .sealed_secret
            .clone()
            .ok_or(ServiceError::NotAnswered)?;
        let opened = crypto::open_request_answer(&self.server_key, retrieve_key, id, &sealed)
            .ok()
            .and_then(|plaintext| String::from_utf8(plaintext.to_vec()).ok());
        let Some(secret) = opened.map(Zeroizing::new) else {
            // Sealed with another server key: give the claim back now rather
            // than hold the answer for the lease.
            self.release_request_claim(id, &claim).await?;
            return Err(ServiceError::Undecryptable);
        };
        let details = ApplyDetails {
            expires_on: answer
                .expires_on
                .as_deref()
                .and_then(|d| ExpiryDate::parse(d, 0).ok()),
            secret_id: AzureSecretId::parse_optional(answer.secret_id.as_deref())
                .ok()
                .flatten(),
        };
        self.apply_claimed_request(id, &tenant, &claim, &secret, &details, None, client, &actor)
            .await
    }

    /// Gives back a request's claim, if `claim` still holds it.
    async fn release_request_claim(
        &self,
        id: &SecretId,
        claim: &Claim,
    ) -> Result<(), ServiceError> {
        self.update_request(id, |record| {
            if record.claim.as_ref().is_some_and(|c| c.id == claim.id) {
                record.claim = None;
            }
            Ok(())
        })
        .await
    }

    /// Write and commit (or release) a request whose claim `claim` holds.
    #[allow(clippy::too_many_arguments)] // both callers pass different subsets
    pub(super) async fn apply_claimed_request(
        &self,
        id: &SecretId,
        tenant: &Tenant,
        claim: &Claim,
        secret: &str,
        details: &ApplyDetails,
        verified: Option<VerificationRecord>,
        client: &Client,
        actor: &Actor,
    ) -> Result<Applied, ServiceError> {
        let expires_on = details.expires_on.map(|d| d.to_string());
        let delivered = self
            .deliver(tenant, secret, expires_on.as_deref(), verified)
            .await;
        let committed = self
            .update_request(id, |record| {
                if record.claim.as_ref().is_none_or(|c| c.id != claim.id) {
                    return Ok(false);
                }
                record.claim = None;
                if delivered.is_ok() {
                    record.state = RequestState::Applied;
                    record.ended_at = Some(now());
                    if let Some(answer) = &mut record.answer {
                        answer.sealed_secret = None;
                    }
                }
                Ok(true)
            })
            .await
            .map_err(|e| match &delivered {
                Ok(_) => Unconfirmed::ApplyCommit.of(e),
                Err(_) => e,
            })?;
        match delivered {
            Ok((outcome, verification, hint)) if committed => {
                self.finish_apply(
                    id,
                    tenant,
                    &outcome,
                    &verification,
                    hint,
                    details,
                    client,
                    actor,
                )
                .await
            }
            Ok(_) => {
                let failure = ApplyFailure {
                    step: ApplyStep::Commit,
                    code: "lease_lapsed",
                    message: "The sink holds the secret, but the apply outlived its lease; the answer was kept here."
                        .to_owned(),
                };
                self.apply_failed(id, tenant, &failure, client, actor).await;
                Err(ServiceError::ApplyFailed(failure))
            }
            Err(failure) => {
                self.apply_failed(id, tenant, &failure, client, actor).await;
                Err(ServiceError::ApplyFailed(failure))
            }
        }
    }
}

/// Calendar days (UTC) from today until `expires_on` (YYYY-MM-DD): 0 on
/// the day itself, negative once past.
#[must_use]
pub fn days_until(expires_on: &str, now: UnixTime) -> Option<i64> {
    let date = ExpiryDate::parse(expires_on, 0).ok()?;
    let today = now - now.rem_euclid(86_400);
    Some((date.unix_time() - today).div_euclid(86_400))
}
