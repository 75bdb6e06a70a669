//! The JSON API under `/api/v1`, plus `/healthz` and `/readyz`. Handlers
//! parse input into domain types, call the service, and shape the answer.

use std::any::Any;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use super::{AppState, ClientAddr};
use crate::domain::{
    InvalidInput, LinkKey, ManageToken, Note, Passphrase, SecretId, SecretText, Ttl, Views,
};
use crate::error::{AppError, rfc3339};
use crate::service::{Client, Created, Deleter, NewSecret, ServiceError};

/// Header that carries the link key where there is no JSON body.
pub const KEY_HEADER: &str = "x-handoff-key";

/// `ttl` and `views` may be sent as numbers or as text (`"24h"`, `"3"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    secret: SecretString,
    ttl: Option<NumberOrText>,
    views: Option<NumberOrText>,
    passphrase: Option<SecretString>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CreateQuery {
    ttl: Option<String>,
    views: Option<String>,
}

#[derive(Serialize)]
pub struct CreateResponse {
    id: String,
    url: String,
    expires_at: String,
    views: u32,
    manage_url: String,
}

impl AppState {
    pub(super) fn parse_ttl(&self, ttl: Option<NumberOrText>) -> Result<Ttl, InvalidInput> {
        let max = self.settings.max_ttl;
        match ttl {
            None => Ok(self.settings.default_ttl),
            Some(NumberOrText::Number(secs)) => Ttl::from_secs(secs, max),
            Some(NumberOrText::Text(text)) if text.trim().is_empty() => {
                Ok(self.settings.default_ttl)
            }
            Some(NumberOrText::Text(text)) => Ttl::parse(&text, max),
        }
    }

    pub(super) fn parse_views(&self, views: Option<NumberOrText>) -> Result<Views, InvalidInput> {
        let max = self.settings.max_views;
        match views {
            None => Ok(Views::ONE),
            Some(NumberOrText::Number(count)) => Views::from_count(count, max),
            Some(NumberOrText::Text(text)) if text.trim().is_empty() => Ok(Views::ONE),
            Some(NumberOrText::Text(text)) => Views::parse(&text, max),
        }
    }

    pub(super) fn links(&self, created: &Created) -> (String, String) {
        let base = self.settings.public_url.as_str();
        (
            format!("{base}/s/{}#{}", created.id, created.key.encode()),
            format!("{base}/m/{}#{}", created.id, created.manage_token.encode()),
        )
    }

    /// Runs an attempt that needs a key or token, counting its failure
    /// against the client's allowance and refusing it when none is left.
    pub(super) async fn guarded<T>(
        &self,
        client: &ClientAddr,
        attempt: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, AppError> {
        self.limiter
            .check(client.ip)
            .map_err(|retry_after| AppError::RateLimited { retry_after })?;
        let outcome = attempt.await;
        if let Err(error) = &outcome
            && error.is_failed_attempt()
        {
            self.limiter.record_failure(client.ip);
        }
        outcome.map_err(AppError::from)
    }
}

pub(super) fn json_rejection(rejection: &JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("The request body is too large.".to_owned())
    } else {
        AppError::BadRequest(rejection.body_text())
    }
}

pub(super) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `POST /api/v1/secrets`: JSON, or the raw secret as the body
/// (`text/plain`, or what `curl --data-binary` sends) with `?ttl=&views=`.
pub async fn create_secret(
    State(app): State<AppState>,
    client: ClientAddr,
    query: Result<Query<CreateQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    let staff = app.staff_from(&headers, &client);
    if app.settings.require_staff_to_push && staff.is_none() {
        return Err(AppError::Unauthorized);
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge("The request body is too large.".to_owned())
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    })?;
    let max_bytes = app.settings.max_secret_bytes;
    let new = match media_type(&headers).as_str() {
        "application/json" => {
            let request: CreateRequest = serde_json::from_slice(&body)
                .map_err(|e| AppError::BadRequest(format!("Invalid JSON: {e}")))?;
            NewSecret {
                secret: SecretText::parse(
                    Zeroizing::new(request.secret.expose_secret().to_owned()),
                    max_bytes,
                )?,
                ttl: app.parse_ttl(request.ttl)?,
                views: app.parse_views(request.views)?,
                passphrase: Passphrase::parse_optional(
                    request
                        .passphrase
                        .map(|p| Zeroizing::new(p.expose_secret().to_owned())),
                )?,
                note: Note::parse_optional(request.note.as_deref())?,
            }
        }
        "text/plain" | "application/x-www-form-urlencoded" | "application/octet-stream" => {
            let Query(query) =
                query.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
            NewSecret {
                secret: SecretText::from_raw_body(&body, max_bytes)?,
                ttl: app.parse_ttl(query.ttl.map(NumberOrText::Text))?,
                views: app.parse_views(query.views.map(NumberOrText::Text))?,
                passphrase: None,
                note: None,
            }
        }
        other => {
            return Err(AppError::BadRequest(format!(
                "Content-Type '{other}' is not supported: send application/json, or the secret itself as text/plain."
            )));
        }
    };
    let caller = Client {
        staff: staff.map(|s| s.name),
        ..client.to_client()
    };
    let created = app.service.create(new, &caller).await?;
    let (url, manage_url) = app.links(&created);
    let response = CreateResponse {
        id: created.id.to_string(),
        url,
        expires_at: rfc3339(created.expires_at),
        views: created.views,
        manage_url,
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    header_text(headers, header::AUTHORIZATION.as_str())?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `GET /api/v1/secrets/{id}` with `X-Handoff-Key`: what the recipient may
/// know before revealing. Consumes nothing.
pub async fn secret_metadata(
    State(app): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = header_text(&headers, KEY_HEADER).ok_or_else(|| {
        AppError::BadRequest(
            "Send the link key (the part after #) in the X-Handoff-Key header.".into(),
        )
    })?;
    let meta = app
        .guarded(&client, async {
            let id = SecretId::parse(&id).map_err(|_| ServiceError::NotFound)?;
            let key = LinkKey::parse(key).map_err(|_| ServiceError::NotFound)?;
            app.service
                .metadata(&id, &key, &client.to_client())
                .await
                .map(|meta| (id, meta))
        })
        .await?;
    let (id, meta) = meta;
    Ok(Json(json!({
        "id": id.to_string(),
        "created_at": rfc3339(meta.created_at),
        "expires_at": rfc3339(meta.expires_at),
        "views_allowed": meta.views_allowed,
        "views_remaining": meta.views_remaining,
        "passphrase_required": meta.passphrase_required,
        "note": meta.note.as_ref().map(Note::as_str),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    key: SecretString,
    passphrase: Option<SecretString>,
}

/// `POST /api/v1/secrets/{id}/reveal`: the only call that consumes a view.
pub async fn reveal_secret(
    State(app): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Result<Json<RevealRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(request) = body.map_err(|rejection| json_rejection(&rejection))?;
    let passphrase = Passphrase::parse_optional(
        request
            .passphrase
            .map(|p| Zeroizing::new(p.expose_secret().to_owned())),
    )?;
    let revealed = app
        .guarded(&client, async {
            let id = SecretId::parse(&id).map_err(|_| ServiceError::NotFound)?;
            let key =
                LinkKey::parse(request.key.expose_secret()).map_err(|_| ServiceError::NotFound)?;
            app.service
                .reveal(&id, &key, passphrase, &client.to_client())
                .await
        })
        .await?;
    Ok(Json(json!({
        "secret": revealed.secret.expose(),
        "views_remaining": revealed.views_remaining,
    }))
    .into_response())
}

/// `DELETE /api/v1/secrets/{id}` by the link holder (`X-Handoff-Key`) or the
/// sender (`Authorization: Bearer <manage token>`).
pub async fn delete_secret(
    State(app): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = header_text(&headers, KEY_HEADER);
    let token = bearer(&headers);
    if key.is_none() && token.is_none() {
        return Err(AppError::BadRequest(
            "Send the link key in X-Handoff-Key, or the manage token as Authorization: Bearer <token>.".into(),
        ));
    }
    app.guarded(&client, async {
        let id = SecretId::parse(&id).map_err(|_| ServiceError::NotFound)?;
        let deleter = match (token, key) {
            (Some(token), _) => {
                Deleter::Sender(ManageToken::parse(token).map_err(|_| ServiceError::NotFound)?)
            }
            (None, Some(key)) => {
                Deleter::LinkHolder(LinkKey::parse(key).map_err(|_| ServiceError::NotFound)?)
            }
            (None, None) => return Err(ServiceError::NotFound),
        };
        app.service.delete(&id, &deleter, &client.to_client()).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/secrets/{id}/status` for the sender.
pub async fn secret_status(
    State(app): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let token = bearer(&headers).ok_or_else(|| {
        AppError::BadRequest("Send the manage token as Authorization: Bearer <token>.".into())
    })?;
    let (id, status) = app
        .guarded(&client, async {
            let id = SecretId::parse(&id).map_err(|_| ServiceError::NotFound)?;
            let token = ManageToken::parse(token).map_err(|_| ServiceError::NotFound)?;
            app.service
                .status(&id, &token)
                .await
                .map(|status| (id, status))
        })
        .await?;
    let views: Vec<_> = status
        .views
        .iter()
        .map(|view| json!({ "at": rfc3339(view.at), "ip": view.ip, "user_agent": view.user_agent }))
        .collect();
    Ok(Json(json!({
        "id": id.to_string(),
        "state": status.state.as_str(),
        "created_at": rfc3339(status.created_at),
        "expires_at": rfc3339(status.expires_at),
        "ended_at": status.ended_at.map(rfc3339),
        "views_allowed": status.views_allowed,
        "views_remaining": status.views_remaining,
        "failed_passphrases": status.failed_passphrases,
        "views": views,
        "events": status.events.iter().map(super::audit::event_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `/healthz`: the process is up.
pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `/readyz`: the store answers within a second.
pub async fn readyz(State(app): State<AppState>) -> Result<Response, AppError> {
    match tokio::time::timeout(Duration::from_secs(1), app.service.store().ping()).await {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ready" })).into_response()),
        Ok(Err(error)) => Err(AppError::Unavailable(error.to_string())),
        Err(_) => Err(AppError::Unavailable("ping timed out".into())),
    }
}

pub async fn no_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no_route", "message": "There is no such API route; see the README for the API." })),
    )
        .into_response()
}

pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "error": "method_not_allowed", "message": "This route does not take that method." })),
    )
        .into_response()
}

/// A panic is a bug: answer 500 without details (they are in the log).
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer expects
pub fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "internal", "message": "Something went wrong on the server; it has been logged." })),
    )
        .into_response()
}
