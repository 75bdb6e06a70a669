//! The JSON API under `/api/v1`, plus `/healthz` and `/readyz`. Handlers
//! parse input into domain types, call the service, and shape the answer.

use std::any::Any;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

use super::client::ClientAddr;
use super::error::AppError;
use super::extract::{
    AppBytes, AppJson, AppQuery, IdPath, Idempotency, KEY_HEADER, NumberOrText, bearer,
    header_text, link_key_header, media_type, unsupported_media_type,
};
use super::format::rfc3339;
use super::json::{CreatedSecret, Health, RevealedSecret, SecretMetadata, SecretStatus};
use super::state::AppState;
use crate::domain::{Label, LinkKey, ManageToken, Note, Passphrase, SecretText};
use crate::service::{Client, Deleter, NewSecret, ServiceError};
use crate::store::StoreError;

/// A secret to push, as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The secret itself.
    #[schema(value_type = String)]
    secret: SecretString,
    /// Seconds, or `30m`, `24h`, `7d`; the server's default when absent.
    ttl: Option<NumberOrText>,
    /// How many reveals it allows; one when absent.
    views: Option<NumberOrText>,
    /// A passphrase the recipient must also give.
    #[schema(value_type = Option<String>)]
    passphrase: Option<SecretString>,
    /// A note the recipient sees before revealing (not secret).
    note: Option<String>,
    /// A private label only the sender sees, on the manage page and in the
    /// status (at most 100 characters); sealed under the manage token.
    #[schema(max_length = 100)]
    label: Option<String>,
}

/// With a `text/plain` body: the body is the secret.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// Seconds, or `30m`, `24h`, `7d`.
    ttl: Option<String>,
    /// How many reveals it allows.
    views: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets",
    tag = "secrets",
    summary = "Push a secret",
    description = "JSON, or the secret itself as a `text/plain` body (what `curl --data-binary` sends) with `ttl` and `views` in the query string. Staff only when the server requires staff to push.",
    params(CreateQuery),
    request_body(content(
        (CreateRequest = "application/json"),
        (String = "text/plain"),
    )),
    responses((status = 201, description = "Created: the links carry the key in their fragment", body = CreatedSecret)),
    security((), ("staff_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "invalid_field", "unauthorized", "unavailable", "busy", "forbidden", "internal"]))),
)]
/// `POST /api/v1/secrets`: JSON, or the raw secret as the body
/// (`text/plain`, or what `curl --data-binary` sends) with `?ttl=&views=`.
pub async fn create_secret(
    State(app): State<AppState>,
    client: ClientAddr,
    query: Result<AppQuery<CreateQuery>, AppError>,
    headers: HeaderMap,
    AppBytes(body): AppBytes,
) -> Result<Response, AppError> {
    let staff = app.staff_for_change(&Method::POST, &headers, &client)?;
    if app.settings.require_staff_to_push && staff.is_none() {
        return Err(AppError::Unauthorized);
    }
    let settings = &app.settings;
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
                ttl: settings.ttl(request.ttl)?,
                views: settings.views(request.views)?,
                passphrase: Passphrase::parse_optional(
                    request
                        .passphrase
                        .map(|p| Zeroizing::new(p.expose_secret().to_owned())),
                )?,
                note: Note::parse_optional(request.note.as_deref())?,
                label: Label::parse_optional(request.label.as_deref())?,
            }
        }
        "text/plain" | "application/x-www-form-urlencoded" | "application/octet-stream" => {
            let AppQuery(query) = query?;
            NewSecret {
                secret: SecretText::from_raw_body(&body, max_bytes)?,
                ttl: settings.ttl(query.ttl.map(NumberOrText::Text))?,
                views: settings.views(query.views.map(NumberOrText::Text))?,
                passphrase: None,
                note: None,
                label: None,
            }
        }
        other => return Err(unsupported_media_type(other)),
    };
    let caller = Client {
        staff: staff.map(|s| s.name),
        ..client.to_client()
    };
    let created = app.service.create(new, &caller).await?;
    let (url, manage_url) = settings.secret_links(&created);
    let response = CreatedSecret {
        id: created.id.to_string(),
        url,
        expires_at: rfc3339(created.expires_at),
        views: created.views,
        manage_url,
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/secrets/{id}",
    tag = "secrets",
    summary = "What the recipient may know before revealing",
    description = "Consumes nothing. Without the right key every secret is the same 404 `not_found`; with it, an ended secret says how it ended.",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 200, description = "The secret's metadata", body = SecretMetadata)),
    security(("link_key" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "not_found", "already_revealed", "revoked", "destroyed", "applied", "rate_limited", "server_key_mismatch", "unavailable", "internal"]))),
)]
/// `GET /api/v1/secrets/{id}` with `X-Handoff-Key`: what the recipient may
/// know before revealing. Consumes nothing.
pub async fn secret_metadata(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = link_key_header(&headers)?;
    let meta = app
        .guarded(client.ip, async {
            let key = LinkKey::parse(key).map_err(|_| ServiceError::NotFound)?;
            app.service.metadata(&id, &key, &client.to_client()).await
        })
        .await?;
    Ok(Json(SecretMetadata::new(&id, &meta)).into_response())
}

/// The link key (the part of the link after `#`), and the passphrase if
/// the secret has one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    #[schema(value_type = String)]
    key: SecretString,
    #[schema(value_type = Option<String>)]
    passphrase: Option<SecretString>,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/{id}/reveal",
    tag = "secrets",
    summary = "Reveal a secret",
    description = "The only call that consumes a view. With an `Idempotency-Key` header, a retry with the same key within a minute gets the same secret.",
    params(
        ("id" = String, Path, description = "The id in the link"),
        ("Idempotency-Key" = Option<String>, Header, description = "Names this attempt (1 to 64 visible ASCII characters, a UUID for example)"),
    ),
    request_body = RevealRequest,
    responses((status = 200, description = "The secret", body = RevealedSecret)),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "invalid_field", "not_found", "already_revealed", "revoked", "destroyed", "applied", "passphrase_required", "wrong_passphrase", "secret_destroyed", "being_applied", "contended", "rate_limited", "outcome_unknown", "server_key_mismatch", "unavailable", "busy", "internal"]))),
)]
/// `POST /api/v1/secrets/{id}/reveal`: the only call that consumes a view.
/// With `Idempotency-Key`, a retry with the same key gets the same secret.
pub async fn reveal_secret(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    Idempotency(idempotency): Idempotency,
    AppJson(request): AppJson<RevealRequest>,
) -> Result<Response, AppError> {
    let passphrase = Passphrase::parse_optional(
        request
            .passphrase
            .map(|p| Zeroizing::new(p.expose_secret().to_owned())),
    )?;
    let revealed = app
        .guarded(client.ip, async {
            let key =
                LinkKey::parse(request.key.expose_secret()).map_err(|_| ServiceError::NotFound)?;
            app.service
                .reveal_idempotent(
                    &id,
                    &key,
                    passphrase,
                    idempotency.as_ref(),
                    &client.to_client(),
                )
                .await
        })
        .await?;
    Ok(Json(RevealedSecret {
        secret: revealed.secret.expose(),
        views_remaining: revealed.views_remaining,
    })
    .into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/secrets/{id}",
    tag = "secrets",
    summary = "Delete a secret",
    description = "By the link holder (`X-Handoff-Key`) or the sender (the manage token as a bearer token).",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 204, description = "Deleted")),
    security(("link_key" = []), ("manage_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "not_found", "already_revealed", "revoked", "destroyed", "applied", "being_applied", "contended", "rate_limited", "outcome_unknown", "unavailable", "internal"]))),
)]
/// `DELETE /api/v1/secrets/{id}` by the link holder (`X-Handoff-Key`) or the
/// sender (`Authorization: Bearer <manage token>`).
pub async fn delete_secret(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = header_text(&headers, KEY_HEADER);
    let token = bearer(&headers);
    if key.is_none() && token.is_none() {
        return Err(AppError::BadRequest(
            "Send the link key in X-Handoff-Key, or the manage token as Authorization: Bearer <token>.".into(),
        ));
    }
    app.guarded(client.ip, async {
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

#[utoipa::path(
    get,
    path = "/api/v1/secrets/{id}/status",
    tag = "secrets",
    summary = "The sender's view of a secret",
    description = "Its state, views and events, with the manage token (from the manage link's fragment) as a bearer token.",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 200, description = "The secret's status", body = SecretStatus)),
    security(("manage_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "not_found", "rate_limited", "unavailable", "internal"]))),
)]
/// `GET /api/v1/secrets/{id}/status` for the sender.
pub async fn secret_status(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let token = bearer(&headers).ok_or_else(|| {
        AppError::BadRequest("Send the manage token as Authorization: Bearer <token>.".into())
    })?;
    let status = app
        .guarded(client.ip, async {
            let token = ManageToken::parse(token).map_err(|_| ServiceError::NotFound)?;
            app.service.status(&id, &token).await
        })
        .await?;
    Ok(Json(SecretStatus::new(&id, &status)).into_response())
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "The process is up",
    responses((status = 200, description = "Up", body = Health)),
)]
/// `/healthz`: the process is up.
pub async fn healthz() -> Response {
    Json(Health { status: "ok" }).into_response()
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    summary = "The store answers within a second",
    responses((status = 200, description = "Ready", body = Health)),
    extensions(("x-error-codes" = json!(["unavailable", "internal"]))),
)]
/// `/readyz`: the store answers within a second.
pub async fn readyz(State(app): State<AppState>) -> Result<Response, AppError> {
    match tokio::time::timeout(Duration::from_secs(1), app.service.store().ping()).await {
        Ok(Ok(())) => Ok(Json(Health { status: "ready" }).into_response()),
        Ok(Err(error)) => Err(ServiceError::Store(error).into()),
        Err(_) => Err(ServiceError::Store(StoreError::Unavailable("ping timed out".into())).into()),
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
