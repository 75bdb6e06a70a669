//! Apply on the API: staff send a pushed secret or a request's answer
//! straight into the tenant's configuration; tenants' expiry; `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::auth::Staff;
use super::client::ClientAddr;
use super::error::AppError;
use super::extract::{AppJson, IdPath, bearer};
use super::json::{AppliedJson, TenantList, TenantStatusJson};
use super::state::AppState;
use crate::domain::{AzureSecretId, ExpiryDate, LinkKey, Passphrase, now};
use crate::service::{ApplyDetails, Client, ServiceError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplySecretBody {
    key: SecretString,
    tenant: String,
    passphrase: Option<SecretString>,
    expires_on: Option<String>,
    secret_id: Option<String>,
}

fn staff_client(client: &ClientAddr, staff: &Staff) -> Client {
    Client {
        staff: Some(staff.name.clone()),
        ..client.to_client()
    }
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequestBody {
    key: SecretString,
}

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
