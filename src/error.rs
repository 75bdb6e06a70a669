//! The one error type handlers return. It maps every layer's error to a
//! status and a JSON body `{"error": "<code>", "message": "<sentence>"}`;
//! internal causes are logged once here and never sent to the client.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::ClientSecretRefusal;
use crate::domain::{InvalidInput, UnixTime};
use crate::service::ServiceError;
use crate::store::{RequestState, SecretState, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("not found")]
    NotFound,
    #[error("ended")]
    Ended { state: SecretState, at: UnixTime },
    #[error("passphrase required")]
    PassphraseRequired,
    #[error("wrong passphrase")]
    WrongPassphrase { attempts_remaining: u32 },
    #[error("destroyed")]
    DestroyedNow,
    #[error("being applied")]
    BeingApplied,
    #[error("apply failed")]
    ApplyFailed(crate::service::ApplyFailure),
    #[error("request closed")]
    RequestClosed { state: RequestState, at: UnixTime },
    #[error("not answered")]
    NotAnswered,
    #[error("secret refused")]
    SecretRefused {
        refusal: ClientSecretRefusal,
        tries_remaining: u32,
    },
    #[error("verification failed")]
    VerificationFailed {
        code: &'static str,
        message: String,
        aadsts: Option<u32>,
        tries_remaining: u32,
    },
    #[error("verifier unreachable")]
    VerifierUnreachable { message: String },
    #[error("staff sign-in required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ServiceError> for AppError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => Self::NotFound,
            ServiceError::Ended { state, at } => Self::Ended { state, at },
            ServiceError::PassphraseRequired => Self::PassphraseRequired,
            ServiceError::WrongPassphrase { attempts_remaining } => {
                Self::WrongPassphrase { attempts_remaining }
            }
            ServiceError::DestroyedNow => Self::DestroyedNow,
            ServiceError::Store(StoreError::Unavailable(cause)) => Self::Unavailable(cause),
            ServiceError::UnknownTenant => Self::Invalid(InvalidInput::new(
                "tenant",
                "is not one of the configured tenants",
            )),
            ServiceError::RequestClosed { state, at } => Self::RequestClosed { state, at },
            ServiceError::NotAnswered => Self::NotAnswered,
            ServiceError::BeingApplied => Self::BeingApplied,
            ServiceError::NoSink => Self::Invalid(InvalidInput::new(
                "tenant",
                "has no sink: set sink and sink_path for it in handoff.toml",
            )),
            ServiceError::ApplyFailed(failure) => Self::ApplyFailed(failure),
            ServiceError::SecretRefused {
                refusal,
                tries_remaining,
            } => Self::SecretRefused {
                refusal,
                tries_remaining,
            },
            ServiceError::VerificationFailed {
                code,
                message,
                aadsts,
                tries_remaining,
            } => Self::VerificationFailed {
                code,
                message,
                aadsts,
                tries_remaining,
            },
            ServiceError::VerifierUnreachable { message } => Self::VerifierUnreachable { message },
            error @ (ServiceError::Undecryptable | ServiceError::Store(StoreError::Corrupt(_))) => {
                Self::Internal(error.to_string())
            }
        }
    }
}

#[must_use]
pub fn rfc3339(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);
const RETRY_AFTER_VERIFIER: Duration = Duration::from_secs(30);

impl AppError {
    /// Status, machine-readable code, sentence, and any extra JSON fields.
    #[must_use]
    #[allow(clippy::too_many_lines)] // one arm per error: the table reads best whole
    pub fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        let none = Value::Null;
        match self {
            Self::Invalid(invalid) if invalid.too_large => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("{}: {}", invalid.field, invalid.reason),
                json!({ "field": invalid.field }),
            ),
            Self::Invalid(invalid) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{}: {}", invalid.field, invalid.reason),
                json!({ "field": invalid.field }),
            ),
            Self::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                message.clone(),
                none,
            ),
            Self::PayloadTooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                message.clone(),
                none,
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "No secret here: it was revealed, expired or deleted, or the link is incomplete."
                    .to_owned(),
                none,
            ),
            Self::Ended { state, at } => {
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
                (
                    StatusCode::NOT_FOUND,
                    code,
                    message.to_owned(),
                    json!({ "ended_at": rfc3339(*at) }),
                )
            }
            Self::PassphraseRequired => (
                StatusCode::UNAUTHORIZED,
                "passphrase_required",
                "This secret is protected by a passphrase.".to_owned(),
                none,
            ),
            Self::WrongPassphrase { attempts_remaining } => (
                StatusCode::UNAUTHORIZED,
                "wrong_passphrase",
                format!(
                    "Wrong passphrase; {attempts_remaining} attempt(s) left before the secret is destroyed."
                ),
                json!({ "attempts_remaining": attempts_remaining }),
            ),
            Self::DestroyedNow => (
                StatusCode::GONE,
                "secret_destroyed",
                "Wrong passphrase too many times: the secret was destroyed.".to_owned(),
                json!({ "attempts_remaining": 0 }),
            ),
            Self::RequestClosed { state, at } => {
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
                    RequestState::Answered | RequestState::Open => (
                        StatusCode::CONFLICT,
                        "already_answered",
                        "This request was already answered.",
                    ),
                };
                (
                    status,
                    code,
                    message.to_owned(),
                    json!({ "ended_at": rfc3339(*at) }),
                )
            }
            Self::ApplyFailed(failure) => {
                use crate::service::ApplyStep;
                let status = match (failure.step, failure.code) {
                    (_, "unreachable") => StatusCode::SERVICE_UNAVAILABLE,
                    (ApplyStep::Write, "conflict") | (ApplyStep::Commit, _) => StatusCode::CONFLICT,
                    (ApplyStep::Verify, _) => StatusCode::UNPROCESSABLE_ENTITY,
                    (ApplyStep::Write, _) => StatusCode::BAD_GATEWAY,
                };
                (
                    status,
                    "apply_failed",
                    format!(
                        "{} Nothing was lost: the secret is still here.",
                        failure.message
                    ),
                    json!({ "step": failure.step.as_str(), "reason": failure.code }),
                )
            }
            Self::BeingApplied => (
                StatusCode::CONFLICT,
                "being_applied",
                "This secret is being applied to a tenant right now; try again in a minute."
                    .to_owned(),
                none,
            ),
            Self::NotAnswered => (
                StatusCode::CONFLICT,
                "not_answered",
                "The customer has not answered this request yet.".to_owned(),
                none,
            ),
            Self::SecretRefused {
                refusal,
                tries_remaining,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "secret_refused",
                refusal.to_string(),
                json!({ "reason": refusal.code(), "tries_remaining": tries_remaining }),
            ),
            Self::VerificationFailed {
                code,
                message,
                aadsts,
                tries_remaining,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "verification_failed",
                message.clone(),
                json!({ "reason": code, "aadsts": aadsts, "tries_remaining": tries_remaining }),
            ),
            Self::VerifierUnreachable { message } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "verifier_unreachable",
                format!("{message} Nothing was stored; try again in a minute."),
                none,
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Staff only: send a staff token as Authorization: Bearer <token>, or sign in."
                    .to_owned(),
                none,
            ),
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message.clone(), none),
            Self::RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many failed attempts from your address; try again in {} seconds.",
                    retry_after.as_secs()
                ),
                none,
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The secret store is not answering; try again shortly.".to_owned(),
                none,
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on the server; it has been logged.".to_owned(),
                none,
            ),
        }
    }

    /// Logs what the client is not told (once), and returns the Retry-After
    /// value this error carries.
    fn log_and_retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "store unavailable");
                Some(RETRY_AFTER_UNAVAILABLE)
            }
            Self::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                None
            }
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::VerifierUnreachable { .. } => Some(RETRY_AFTER_VERIFIER),
            _ => None,
        }
    }

    /// The error as an HTTP response whose body `render` makes.
    pub fn respond_with(
        self,
        render: impl FnOnce(StatusCode, &'static str, String, Value) -> Response,
    ) -> Response {
        let retry_after = self.log_and_retry_after();
        let (status, code, message, extra) = self.parts();
        let mut response = render(status, code, message, extra);
        if status == StatusCode::UNAUTHORIZED && code == "unauthorized" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(retry_after) = retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.respond_with(|status, code, message, extra| {
            let mut body = json!({ "error": code, "message": message });
            if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
                body.extend(extra);
            }
            (status, Json(body)).into_response()
        })
    }
}
