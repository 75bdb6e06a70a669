//! Apply on the API: staff send a pushed secret or a request's answer
//! straight into the tenant's configuration; tenants' expiry; `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::auth::Staff;
use super::client::ClientAddr;
use super::error::AppError;
use super::extract::{AppJson, IdPath, bearer};
use super::json::{AppliedJson, TenantList, TenantStatusJson};
use super::state::AppState;
use crate::domain::{AzureSecretId, ExpiryDate, LinkKey, Passphrase, now};
use crate::service::{ApplyDetails, Client, ServiceError};

/// Which tenant a pushed secret goes to, with the link key that opens it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplySecretBody {
    /// The link key (the part of the link after `#`).
    #[schema(value_type = String)]
    key: SecretString,
    /// A configured tenant's slug.
    tenant: String,
    #[schema(value_type = Option<String>)]
    passphrase: Option<SecretString>,
    /// When the secret expires at Microsoft (`2027-05-01`).
    expires_on: Option<String>,
    /// The secret's Secret ID (a GUID) in Entra ID.
    secret_id: Option<String>,
}

fn staff_client(client: &ClientAddr, staff: &Staff) -> Client {
    Client {
        staff: Some(staff.name.clone()),
        ..client.to_client()
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/{id}/apply",
    tag = "apply",
    summary = "Apply a pushed secret to a tenant's configuration",
    description = "Verifies it with Entra ID, writes it to the tenant's sink, and deletes it here. A failed apply loses nothing.",
    params(("id" = String, Path, description = "The id in the link")),
    request_body = ApplySecretBody,
    responses((status = 200, description = "Applied", body = AppliedJson)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "invalid_field", "unauthorized", "not_found", "already_revealed", "revoked", "destroyed", "applied", "passphrase_required", "wrong_passphrase", "secret_destroyed", "being_applied", "contended", "apply_failed", "rate_limited", "outcome_unknown", "server_key_mismatch", "unavailable", "busy", "forbidden", "internal"]))),
)]
/// `POST /api/v1/secrets/{id}/apply` (staff, with the link key).
pub async fn apply_secret(
    State(app): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    IdPath(id): IdPath,
    AppJson(body): AppJson<ApplySecretBody>,
) -> Result<Response, AppError> {
    let details = ApplyDetails {
        expires_on: body
            .expires_on
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(|d| ExpiryDate::parse(d, now()))
            .transpose()?,
        secret_id: AzureSecretId::parse_optional(body.secret_id.as_deref())?,
    };
    let passphrase = Passphrase::parse_optional(
        body.passphrase
            .map(|p| Zeroizing::new(p.expose_secret().to_owned())),
    )?;
    let caller = staff_client(&client, &staff);
    let applied = app
        .guarded(client.ip, async {
            let key =
                LinkKey::parse(body.key.expose_secret()).map_err(|_| ServiceError::NotFound)?;
            app.service
                .apply_secret(&id, &key, passphrase, &body.tenant, details, &caller)
                .await
        })
        .await?;
    Ok(Json(AppliedJson::from(&applied)).into_response())
}

/// The request's retrieve key (the part of the retrieve link after `#`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequestBody {
    #[schema(value_type = String)]
    key: SecretString,
}

#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/apply",
    tag = "apply",
    summary = "Apply a request's answer to the tenant's configuration",
    params(("id" = String, Path, description = "The id in the link")),
    request_body = ApplyRequestBody,
    responses((status = 200, description = "Applied", body = AppliedJson)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "invalid_field", "unauthorized", "not_found", "already_retrieved", "locked", "already_applied", "already_answered", "not_answered", "being_applied", "contended", "apply_failed", "rate_limited", "outcome_unknown", "server_key_mismatch", "unavailable", "forbidden", "internal"]))),
)]
/// `POST /api/v1/requests/{id}/apply` (staff, with the retrieve key).
pub async fn apply_request(
    State(app): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    IdPath(id): IdPath,
    AppJson(body): AppJson<ApplyRequestBody>,
) -> Result<Response, AppError> {
    let caller = staff_client(&client, &staff);
    let applied = app
        .guarded(client.ip, async {
            let key =
                LinkKey::parse(body.key.expose_secret()).map_err(|_| ServiceError::NotFound)?;
            app.service.apply_request(&id, &key, &caller).await
        })
        .await?;
    Ok(Json(AppliedJson::from(&applied)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "apply",
    summary = "Every tenant, by its secret's expiry",
    responses((status = 200, description = "The tenants", body = TenantList)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["unauthorized", "unavailable", "forbidden", "internal"]))),
)]
/// `GET /api/v1/tenants` (staff): every tenant by expiry.
pub async fn tenants(State(app): State<AppState>, _staff: Staff) -> Result<Response, AppError> {
    let tenants = app.service.tenant_statuses().await?;
    Ok(Json(TenantList {
        tenants: tenants.iter().map(TenantStatusJson::from).collect(),
    })
    .into_response())
}

/// `GET /metrics`: Prometheus text, for staff or with the scrape token.
pub async fn metrics(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let scraper = match (&app.settings.metrics_token, bearer(&headers)) {
        (Some(expected), Some(given)) => expected.matches(given),
        _ => false,
    };
    if !scraper && app.staff_from(&headers, &client).is_none() {
        return Err(AppError::Unauthorized);
    }
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.service.metrics().render(),
    )
        .into_response())
}
