//! Apply on the API: staff send a pushed secret or a request's answer
//! straight into the tenant's configuration; tenants' expiry; `/metrics`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::api::json_rejection;
use super::staff::Staff;
use super::{AppState, ClientAddr};
use crate::crypto;
use crate::domain::{AzureSecretId, ExpiryDate, LinkKey, Passphrase, SecretId, now};
use crate::error::{AppError, rfc3339};
use crate::service::{Applied, ApplyDetails, Client, ServiceError, TenantStatus};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplySecretBody {
    key: SecretString,
    tenant: String,
    passphrase: Option<SecretString>,
    expires_on: Option<String>,
    secret_id: Option<String>,
}

fn applied_json(applied: &Applied) -> Value {
    json!({
        "status": "applied",
        "tenant": applied.tenant,
        "sink": applied.sink,
        "written": applied.written,
        "version": applied.version,
        "expires_on": applied.expires_on,
        "verification": {
            "verified": applied.verification.verified,
            "code": applied.verification.code,
            "message": applied.verification.message,
        },
    })
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
    Path(id): Path<String>,
    body: Result<Json<ApplySecretBody>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body.map_err(|rejection| json_rejection(&rejection))?;
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
        .guarded(&client, async {
            let id = SecretId::parse(&id).map_err(|_| ServiceError::NotFound)?;
            let key =
                LinkKey::parse(body.key.expose_secret()).map_err(|_| ServiceError::NotFound)?;
            app.service
                .apply_secret(&id, &key, passphrase, &body.tenant, details, &caller)
                .await
        })
        .await?;
    Ok(Json(applied_json(&applied)).into_response())
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
    Path(id): Path<String>,
    body: Result<Json<ApplyRequestBody>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body.map_err(|rejection| json_rejection(&rejection))?;
    let caller = staff_client(&client, &staff);
    let applied = app
        .guarded(&client, async {
            let id = SecretId::parse(&id).map_err(|_| ServiceError::NotFound)?;
            let key =
                LinkKey::parse(body.key.expose_secret()).map_err(|_| ServiceError::NotFound)?;
            app.service.apply_request(&id, &key, &caller).await
        })
        .await?;
    Ok(Json(applied_json(&applied)).into_response())
}

#[must_use]
pub fn tenant_status_json(status: &TenantStatus) -> Value {
    let record = status.record.as_ref();
    json!({
        "tenant": status.tenant.slug,
        "name": status.tenant.name,
        "status": status.status.as_str(),
        "days_left": status.days_left,
        "sink": status.tenant.sink.as_ref().map(|(sink, _)| sink),
        "expires_on": record.and_then(|r| r.expires_on.clone()),
        "applied_at": record.map(|r| rfc3339(r.applied_at)),
        "applied_by": record.map(|r| r.applied_by.clone()),
        "hint": record.map(|r| r.hint.clone()),
        "secret_id": record.and_then(|r| r.secret_id.clone()),
        "verification": record.map(|r| json!({ "verified": r.verification.verified, "code": r.verification.code })),
    })
}

/// `GET /api/v1/tenants` (staff): every tenant by expiry.
pub async fn tenants(State(app): State<AppState>, _staff: Staff) -> Result<Response, AppError> {
    let tenants = app.service.tenant_statuses().await?;
    Ok(
        Json(json!({ "tenants": tenants.iter().map(tenant_status_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `GET /metrics`: Prometheus text, for staff or with the scrape token.
pub async fn metrics(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let scraper = match (&app.settings.metrics_token, bearer) {
        (Some(expected), Some(given)) => {
            crypto::constant_time_eq(expected.as_bytes(), given.trim().as_bytes())
        }
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
