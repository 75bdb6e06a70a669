//! The one error type handlers return. It wraps the service's error and
//! adds the few the web layer makes itself (malformed requests, sign-in,
//! rate limits); [`AppError::describe`] is the one place that gives each its
//! status, code and sentence. Internal causes travel in the response's
//! extensions to the request layer, which logs them once; the client never
//! sees them.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::format::rfc3339;
use crate::domain::InvalidInput;
use crate::service::{ApplyStep, NotMailed, ServiceError, Unconfirmed};
use crate::store::{RequestState, SecretState, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    /// The request itself is malformed (body, query, headers).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("staff sign-in required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
}

/// What the client is told about an error, and what only the log hears.
pub struct Described {
    pub status: StatusCode,
    /// Machine-readable, stable: `not_found`, `invalid_field`, …
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
    /// Further JSON fields (`field`, `ended_at`, `tries_remaining`, …).
    pub extra: Value,
    pub retry_after: Option<Duration>,
    /// A cause for the log; never sent.
    pub cause: Option<ErrorCause>,
}

/// An internal cause, handed to the request layer to log once.
#[derive(Debug, Clone)]
pub struct ErrorCause {
    /// Whether it is a fault of ours (logged as an error) rather than a
    /// dependency being away (a warning).
    pub internal: bool,
    pub cause: String,
}

const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);
/// Soon enough for a few retries within the one-minute replay window.
const RETRY_AFTER_UNCONFIRMED: Duration = Duration::from_secs(2);
const RETRY_AFTER_VERIFIER: Duration = Duration::from_secs(30);
/// The key-derivation queue drains in well under a second.
const RETRY_AFTER_KEY_DERIVATION: Duration = Duration::from_secs(1);

impl Described {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: Value::Null,
            retry_after: None,
            cause: None,
        }
    }

    fn with(mut self, extra: Value) -> Self {
        self.extra = extra;
        self
    }

    fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    fn cause(mut self, internal: bool, cause: String) -> Self {
        self.cause = Some(ErrorCause { internal, cause });
        self
    }
}

impl AppError {
    /// The status, code and sentence of this error: the one mapping.
    #[must_use]
    pub fn describe(&self) -> Described {
        match self {
            Self::Service(error) => describe_service(error),
            Self::Invalid(invalid) => describe_invalid(invalid),
            Self::BadRequest(message) => {
                Described::new(StatusCode::BAD_REQUEST, "bad_request", message)
            }
            Self::PayloadTooLarge(message) => {
                Described::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
            }
            Self::Unauthorized => Described::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Staff only: send a staff token as Authorization: Bearer <token>, or sign in.",
            ),
            Self::Forbidden(message) => Described::new(StatusCode::FORBIDDEN, "forbidden", message),
            Self::RateLimited { retry_after } => Described::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many failed attempts from your address; try again in {} seconds.",
                    retry_after.as_secs()
                ),
            )
            .retry_after(*retry_after),
        }
    }

    /// `field: reason` when the error is about one field of a form, so a
    /// page can show it beside the form instead of an error page.
    #[must_use]
    pub fn field_message(&self) -> Option<String> {
        let described = self.describe();
        (described.code == "invalid_field").then_some(described.message)
    }

    /// The error as an HTTP response whose body `render` makes from the
    /// description; status and headers are the same for pages and the API.
    pub fn respond_with(self, render: impl FnOnce(&Described) -> Response) -> Response {
        let described = self.describe();
        let mut response = render(&described);
        if described.status == StatusCode::UNAUTHORIZED && described.code == "unauthorized" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(retry_after) = described.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        if let Some(cause) = described.cause {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.respond_with(|described| {
            (described.status, Json(error_body(described))).into_response()
        })
    }
}

/// The body of every error the API answers with: what [`error_body`]
/// makes. Only `error` and `message` are always there; the rest come with
/// the codes that name them.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a description of the JSON, never built
pub struct ErrorBody {
    /// Machine-readable and stable: `not_found`, `invalid_field`, …
    error: String,
    /// A sentence for a person.
    message: String,
    /// `invalid_field`, `too_large`: the field at fault.
    field: Option<String>,
    /// `already_revealed`, `revoked`, `destroyed`, `applied`, and a closed
    /// request's codes: when it ended (RFC 3339).
    ended_at: Option<String>,
    /// `wrong_passphrase`, `secret_destroyed`: passphrase tries left.
    attempts_remaining: Option<u32>,
    /// `secret_refused`, `verification_failed`: answers the request still takes.
    tries_remaining: Option<u32>,
    /// `apply_failed`, `secret_refused`, `verification_failed`: why, as a code.
    reason: Option<String>,
    /// `apply_failed`: the step that failed (`verify`, `write`, `commit`).
    step: Option<String>,
    /// `verification_failed`: Microsoft's AADSTS error number.
    aadsts: Option<u32>,
}

/// Every error code the API can answer with, and its status: one of each
/// error, described by the one mapping, so the API's description cannot
/// disagree with it. The router's own (`no_route`, `method_not_allowed`)
/// and the panic answer (`internal`) come last.
#[must_use]
#[allow(clippy::too_many_lines)] // one line per error: a list, not logic
pub fn catalogue() -> Vec<(StatusCode, &'static str)> {
    use crate::domain::ClientSecretRefusal;
    use crate::service::ApplyFailure;
    let apply_failed = |step, code| {
        ServiceError::ApplyFailed(ApplyFailure {
            step,
            code,
            message: String::new(),
        })
    };
    let mut errors: Vec<AppError> = vec![
        AppError::BadRequest(String::new()),
        AppError::PayloadTooLarge(String::new()),
        AppError::Unauthorized,
        AppError::Forbidden(String::new()),
        AppError::RateLimited {
            retry_after: Duration::from_secs(1),
        },
        AppError::Invalid(InvalidInput::new("field", "reason")),
    ];
    let at = 0;
    let mut services = vec![
        ServiceError::NotFound,
        ServiceError::PassphraseRequired,
        ServiceError::WrongPassphrase {
            attempts_remaining: 1,
        },
        ServiceError::DestroyedNow,
        ServiceError::Undecryptable,
        ServiceError::Contended,
        ServiceError::BeingApplied,
        ServiceError::NoSink,
        ServiceError::NotDelivered,
        ServiceError::NotMailed(NotMailed::MailOff),
        ServiceError::NotMailed(NotMailed::NoContacts),
        ServiceError::NotMailed(NotMailed::CapReached { cap: 1 }),
        ServiceError::UnknownTenant,
        ServiceError::NotAnswered,
        ServiceError::SecretRefused {
            refusal: ClientSecretRefusal::Empty,
            tries_remaining: 1,
        },
        ServiceError::VerificationFailed {
            code: "invalid_secret",
            message: String::new(),
            aadsts: None,
            tries_remaining: 1,
        },
        ServiceError::VendorMisconfigured {
            code: "vendor_misconfigured",
            message: String::new(),
            aadsts: None,
        },
        ServiceError::VerifierUnreachable {
            message: String::new(),
        },
        ServiceError::OutcomeUnknown {
            action: Unconfirmed::Reveal,
            cause: String::new(),
        },
        ServiceError::KeyDerivationBusy,
        ServiceError::WrongKind { certificate: true },
        ServiceError::Store(StoreError::Unavailable(String::new())),
        ServiceError::Store(StoreError::Corrupt(String::new())),
        apply_failed(ApplyStep::Verify, "refused"),
        apply_failed(ApplyStep::Write, "conflict"),
        apply_failed(ApplyStep::Write, "refused"),
        apply_failed(ApplyStep::Write, "unreachable"),
        apply_failed(ApplyStep::Commit, "conflict"),
    ];
    for state in [
        SecretState::Revealed,
        SecretState::Revoked,
        SecretState::Applied,
        SecretState::Destroyed,
    ] {
        services.push(ServiceError::Ended { state, at });
    }
    for state in [
        RequestState::Retrieved,
        RequestState::Locked,
        RequestState::Applied,
        RequestState::Answered,
        RequestState::Cancelled,
    ] {
        services.push(ServiceError::RequestClosed { state, at });
    }
    errors.extend(services.into_iter().map(AppError::Service));
    let mut codes: Vec<(StatusCode, &'static str)> = errors
        .iter()
        .map(|error| {
            let described = error.describe();
            (described.status, described.code)
        })
        .collect();
    codes.extend([
        (StatusCode::NOT_FOUND, "no_route"),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ]);
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// `{"error": code, "message": sentence, …extra}`.
#[must_use]
pub fn error_body(described: &Described) -> Value {
    let mut body = json!({ "error": described.code, "message": described.message });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, &described.extra) {
        body.extend(extra.clone());
    }
    body
}

fn describe_invalid(invalid: &InvalidInput) -> Described {
    let (status, code) = if invalid.too_large {
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    };
    Described::new(
        status,
        code,
        format!("{}: {}", invalid.field, invalid.reason),
    )
    .with(json!({ "field": invalid.field }))
}

/// One arm per service error: adding one means adding its arm here.
#[allow(clippy::too_many_lines)] // one arm per error: the table reads best whole
fn describe_service(error: &ServiceError) -> Described {
    match error {
        ServiceError::NotFound => Described::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No secret here: it was revealed, expired or deleted, or the link is incomplete.",
        ),
        ServiceError::Ended { state, at } => {
            let (code, message) = match state {
                SecretState::Revoked => ("revoked", "The sender deleted this secret."),
                SecretState::Applied => (
                    "applied",
                    "This secret was delivered to the tenant's configuration and deleted here.",
                ),
                SecretState::Destroyed => (
                    "destroyed",
                    "This secret was destroyed after too many wrong passphrases.",
                ),
                SecretState::Revealed | SecretState::Live => (
                    "already_revealed",
                    "This secret was already revealed. If that was not you, the link was intercepted: ask for a new secret.",
                ),
            };
            Described::new(StatusCode::NOT_FOUND, code, message)
                .with(json!({ "ended_at": rfc3339(*at) }))
        }
        ServiceError::PassphraseRequired => Described::new(
            StatusCode::UNAUTHORIZED,
            "passphrase_required",
            "This secret is protected by a passphrase.",
        ),
        ServiceError::WrongPassphrase { attempts_remaining } => Described::new(
            StatusCode::UNAUTHORIZED,
            "wrong_passphrase",
            format!(
                "Wrong passphrase; {attempts_remaining} attempt(s) left before the secret is destroyed."
            ),
        )
        .with(json!({ "attempts_remaining": attempts_remaining })),
        ServiceError::DestroyedNow => Described::new(
            StatusCode::GONE,
            "secret_destroyed",
            "Wrong passphrase too many times: the secret was destroyed.",
        )
        .with(json!({ "attempts_remaining": 0 })),
        ServiceError::UnknownTenant => describe_invalid(&InvalidInput::new(
            "tenant",
            "is not one of the configured tenants",
        )),
        ServiceError::NoSink => describe_invalid(&InvalidInput::new(
            "tenant",
            "has no sink: set sink and sink_path for it in handoff.toml",
        )),
        ServiceError::NotDelivered => Described::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_delivered",
            "The secret is good, but it could not be stored right now, so nothing was kept. Send it again through the same link in a few minutes.",
        ),
        ServiceError::NotMailed(why) => match why {
            NotMailed::MailOff => Described::new(
                StatusCode::CONFLICT,
                "mail_not_configured",
                "This server sends no mail: set HANDOFF_MAIL_HOST and HANDOFF_MAIL_FROM (or [mail] in handoff.toml). Nothing was created.",
            ),
            NotMailed::NoContacts => Described::new(
                StatusCode::CONFLICT,
                "no_contacts",
                "The tenant has no contacts to mail: set contacts = [\"…\"] for it in handoff.toml. Nothing was created.",
            ),
            NotMailed::CapReached { cap } => Described::new(
                StatusCode::TOO_MANY_REQUESTS,
                "mail_cap_reached",
                format!("The tenant was sent {cap} mails in the last 24 hours, the most allowed (HANDOFF_MAIL_DAILY_CAP). Nothing was created."),
            )
            .with(json!({ "daily_cap": cap })),
        },
        ServiceError::RequestClosed { state, at } => {
            let (status, code, message) = match state {
                RequestState::Retrieved => (
                    StatusCode::NOT_FOUND,
                    "already_retrieved",
                    "The answer to this request was already retrieved.",
                ),
                RequestState::Locked => (
                    StatusCode::CONFLICT,
                    "locked",
                    "Too many refused answers: this request is locked. Ask for a new link.",
                ),
                RequestState::Applied => (
                    StatusCode::CONFLICT,
                    "already_applied",
                    "The answer was already delivered to the tenant's configuration.",
                ),
                RequestState::Cancelled => (
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "This request was cancelled; its links no longer work.",
                ),
                RequestState::Answered | RequestState::Open => (
                    StatusCode::CONFLICT,
                    "already_answered",
                    "This request was already answered.",
                ),
            };
            Described::new(status, code, message).with(json!({ "ended_at": rfc3339(*at) }))
        }
        ServiceError::ApplyFailed(failure) => {
            let status = match (failure.step, failure.code) {
                (_, "unreachable") => StatusCode::SERVICE_UNAVAILABLE,
                (ApplyStep::Write, "conflict") | (ApplyStep::Commit, _) => StatusCode::CONFLICT,
                (ApplyStep::Verify, _) => StatusCode::UNPROCESSABLE_ENTITY,
                (ApplyStep::Write, _) => StatusCode::BAD_GATEWAY,
            };
            Described::new(
                status,
                "apply_failed",
                format!(
                    "{} Nothing was lost: the secret is still here.",
                    failure.message
                ),
            )
            .with(json!({ "step": failure.step.as_str(), "reason": failure.code }))
        }
        ServiceError::BeingApplied => Described::new(
            StatusCode::CONFLICT,
            "being_applied",
            "This secret is being applied to a tenant right now; try again in a minute.",
        ),
        ServiceError::NotAnswered => Described::new(
            StatusCode::CONFLICT,
            "not_answered",
            "The customer has not answered this request yet.",
        ),
        ServiceError::SecretRefused {
            refusal,
            tries_remaining,
        } => Described::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "secret_refused",
            refusal.to_string(),
        )
        .with(json!({ "reason": refusal.code(), "tries_remaining": tries_remaining })),
        ServiceError::VerificationFailed {
            code,
            message,
            aadsts,
            tries_remaining,
        } => Described::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "verification_failed",
            message.clone(),
        )
        .with(json!({ "reason": code, "aadsts": aadsts, "tries_remaining": tries_remaining })),
        ServiceError::VendorMisconfigured {
            code,
            message,
            aadsts,
        } => Described::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "vendor_misconfigured",
            format!("{message} Nothing was stored."),
        )
        .with(json!({ "reason": code, "aadsts": aadsts })),
        ServiceError::VerifierUnreachable { message } => Described::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "verifier_unreachable",
            format!("{message} Nothing was stored; try again in a minute."),
        )
        .retry_after(RETRY_AFTER_VERIFIER),
        ServiceError::OutcomeUnknown { action, cause } => {
            let (message, retry_after) = match action {
                Unconfirmed::Reveal => (
                    "The secret store did not confirm the reveal, so the secret may already be taken. Retry with the same Idempotency-Key header: within a minute that returns the same secret again (a retry without it may find the secret already revealed).",
                    RETRY_AFTER_UNCONFIRMED,
                ),
                Unconfirmed::Retrieve => (
                    "The secret store did not confirm the retrieval, so the answer may already be taken. Retry with the same Idempotency-Key header: within a minute that returns the same answer again.",
                    RETRY_AFTER_UNCONFIRMED,
                ),
                Unconfirmed::ApplyCommit => (
                    "The secret was written to the tenant's configuration, but the secret store did not confirm that it was deleted here. Retry the apply: it either finds the secret applied, or (once the apply's one-minute hold lapses) finishes it without writing anything twice.",
                    RETRY_AFTER_UNAVAILABLE,
                ),
            };
            Described::new(StatusCode::SERVICE_UNAVAILABLE, "outcome_unknown", message)
                .retry_after(retry_after)
                .cause(
                    false,
                    format!("store did not confirm the {}: {cause}", action.as_str()),
                )
        }
        ServiceError::KeyDerivationBusy => Described::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "The server is busy with other passphrase-protected secrets; nothing was stored or used up. Try again in a moment.",
        )
        .retry_after(RETRY_AFTER_KEY_DERIVATION),
        ServiceError::Store(StoreError::Unavailable(cause)) => Described::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The secret store is not answering; try again shortly.",
        )
        .retry_after(RETRY_AFTER_UNAVAILABLE)
        .cause(false, format!("store unavailable: {cause}")),
        // The server's fault, and one that waiting does not mend: no
        // Retry-After. Nothing was consumed or counted.
        ServiceError::Undecryptable => Described::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_key_mismatch",
            "This server cannot decrypt the secret: its server key (HANDOFF_SERVER_KEY) is not the one the secret was sealed with. Nothing was used up; try again once the operator has restored the key.",
        )
        .cause(true, error.to_string()),
        ServiceError::Contended => Described::new(
            StatusCode::CONFLICT,
            "contended",
            "Too many changes to this record arrived at once; nothing was changed by this one. Try again.",
        ),
        ServiceError::WrongKind { certificate } => Described::new(
            StatusCode::CONFLICT,
            "wrong_kind",
            if *certificate {
                "This request asks for a certificate credential: upload the certificate offered on the page, then check it; no secret is needed."
            } else {
                "This request asks for a client secret, not a certificate."
            },
        ),
        ServiceError::Certificate(_) | ServiceError::Store(StoreError::Corrupt(_)) => {
            Described::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on the server; it has been logged.",
            )
            .cause(true, error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_cause_is_kept_for_the_log_and_not_sent() {
        let error = AppError::from(ServiceError::Store(StoreError::Corrupt(
            "bad record abc".into(),
        )));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let cause = response.extensions().get::<ErrorCause>().unwrap();
        assert!(cause.internal && cause.cause.contains("bad record abc"));
    }

    #[test]
    fn a_secret_that_does_not_open_is_the_server_keys_fault_and_logged() {
        let described = AppError::from(ServiceError::Undecryptable).describe();
        assert_eq!(described.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(described.code, "server_key_mismatch");
        assert!(described.message.contains("HANDOFF_SERVER_KEY"));
        let cause = described.cause.unwrap();
        assert!(cause.internal && cause.cause.contains("HANDOFF_SERVER_KEY"));
    }

    #[test]
    fn an_exhausted_compare_and_swap_is_a_conflict_not_an_outage() {
        let described = AppError::from(ServiceError::Contended).describe();
        assert_eq!(
            (described.status, described.code),
            (StatusCode::CONFLICT, "contended")
        );
        assert!(described.retry_after.is_none() && described.cause.is_none());
    }

    #[test]
    fn an_unconfirmed_reveal_is_a_503_that_says_to_retry_with_the_same_key() {
        let error = AppError::from(ServiceError::OutcomeUnknown {
            action: Unconfirmed::Reveal,
            cause: "timed out after 2s".into(),
        });
        let described = error.describe();
        assert_eq!(
            (described.status, described.code),
            (StatusCode::SERVICE_UNAVAILABLE, "outcome_unknown")
        );
        assert!(described.message.contains("same Idempotency-Key"));
        assert!(!described.message.contains("timed out"));
        let response = error.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn a_tenant_that_does_not_exist_is_a_field_error() {
        let error = AppError::from(ServiceError::UnknownTenant);
        assert_eq!(
            error.field_message().as_deref(),
            Some("tenant: is not one of the configured tenants")
        );
        assert_eq!(error.describe().status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
