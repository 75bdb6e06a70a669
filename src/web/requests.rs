//! Request links on the web: the staff API and pages that create and list
//! them and retrieve answers, and the customer's page and answer endpoint.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::api::{KEY_HEADER, NumberOrText, json_rejection, media_type};
use super::assets::STATIC_BASE;
use super::pages::{TenantRow, error_page, human_time, render, ttl_options};
use super::staff::{Staff, StaffPage, check_csrf};
use super::{AppState, ClientAddr};
use crate::domain::{AzureSecretId, ExpiryDate, LinkKey, Note, SecretId, now};
use crate::error::{AppError, rfc3339};
use crate::service::{Answer, CreatedRequest, NewRequest, RequestDetails, ServiceError};

impl AppState {
    fn request_links(&self, created: &CreatedRequest) -> (String, String) {
        let base = self.settings.public_url.as_str();
        (
            format!("{base}/r/{}#{}", created.id, created.submit_key.encode()),
            format!(
                "{base}/staff/requests/{}#{}",
                created.id,
                created.retrieve_key.encode()
            ),
        )
    }
}

fn parse_id(id: &str) -> Result<SecretId, ServiceError> {
    SecretId::parse(id).map_err(|_| ServiceError::NotFound)
}

fn parse_key(key: &str) -> Result<LinkKey, ServiceError> {
    LinkKey::parse(key).map_err(|_| ServiceError::NotFound)
}

fn details_json(details: &RequestDetails) -> Value {
    let record = &details.record;
    let answer = record.answer.as_ref();
    json!({
        "id": details.id.to_string(),
        "tenant": {
            "slug": record.tenant,
            "name": details.tenant_name,
            "entra_tenant": details.entra_tenant,
            "client_id": details.client_id,
            "sink": details.sink,
        },
        "state": record.state.as_str(),
        "note": record.note,
        "created_by": record.created_by,
        "created_at": rfc3339(record.created_at),
        "expires_at": rfc3339(record.expires_at),
        "answered_at": answer.map(|a| rfc3339(a.answered_at)),
        "tries": record.tries,
        "verification": answer.map(|a| json!({
            "verified": a.verification.verified,
            "code": a.verification.code,
            "message": a.verification.message,
            "aadsts": a.verification.aadsts,
        })),
        "expires_on": answer.and_then(|a| a.expires_on.clone()),
        "secret_id": answer.and_then(|a| a.secret_id.clone()),
        "hint": answer.map(|a| a.hint.clone()),
        "retrieved_at": (record.state == crate::store::RequestState::Retrieved).then(|| record.ended_at.map(rfc3339)).flatten(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequestBody {
    tenant: String,
    note: Option<String>,
    ttl: Option<NumberOrText>,
    auto_apply: Option<bool>,
}

impl AppState {
    async fn create_request_for(
        &self,
        staff: &Staff,
        tenant: String,
        note: Option<&str>,
        ttl: Option<NumberOrText>,
        auto_apply: Option<bool>,
    ) -> Result<CreatedRequest, AppError> {
        let new = NewRequest {
            tenant,
            note: Note::parse_optional(note)?,
            ttl: self.parse_ttl(ttl)?,
            created_by: staff.name.clone(),
            auto_apply,
        };
        Ok(self.service.create_request(new).await?)
    }
}

/// `POST /api/v1/requests` (staff).
pub async fn create_request(
    State(app): State<AppState>,
    staff: Staff,
    body: Result<Json<CreateRequestBody>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body.map_err(|rejection| json_rejection(&rejection))?;
    let created = app
        .create_request_for(
            &staff,
            body.tenant,
            body.note.as_deref(),
            body.ttl,
            body.auto_apply,
        )
        .await?;
    let (submit_url, retrieve_url) = app.request_links(&created);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.id.to_string(),
            "tenant": created.tenant.slug,
            "submit_url": submit_url,
            "retrieve_url": retrieve_url,
            "expires_at": rfc3339(created.expires_at),
        })),
    )
        .into_response())
}

/// `GET /api/v1/requests` (staff).
pub async fn list_requests(
    State(app): State<AppState>,
    _staff: Staff,
) -> Result<Response, AppError> {
    let requests = app.service.list_requests().await?;
    Ok(
        Json(json!({ "requests": requests.iter().map(details_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `GET /api/v1/requests/{id}/details` (staff).
pub async fn request_details(
    State(app): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let details = app.service.request_details(&id).await?;
    Ok(Json(details_json(&details)).into_response())
}

/// `GET /api/v1/requests/{id}` with the submit key: the customer's view.
pub async fn request_view(
    State(app): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = headers
        .get(KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AppError::BadRequest(
                "Send the link key (the part after #) in the X-Handoff-Key header.".into(),
            )
        })?;
    let view = app
        .guarded(&client, async {
            app.service
                .request_view(&parse_id(&id)?, &parse_key(key)?)
                .await
        })
        .await?;
    Ok(Json(json!({
        "id": view.id.to_string(),
        "vendor_name": view.vendor_name,
        "tenant": {
            "name": view.tenant.name,
            "entra_tenant": view.tenant.entra_tenant,
            "client_id": view.tenant.client_id,
        },
        "note": view.note,
        "created_at": rfc3339(view.created_at),
        "expires_at": rfc3339(view.expires_at),
        "state": view.state.as_str(),
        "tries_remaining": view.tries_remaining,
        "answered_at": view.answered_at.map(rfc3339),
        "verify": view.tenant.verify.as_str(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    key: SecretString,
    secret: SecretString,
    expires_on: Option<String>,
    secret_id: Option<String>,
}

#[derive(Deserialize)]
pub struct AnswerQuery {
    expires_on: Option<String>,
    secret_id: Option<String>,
}

/// `POST /api/v1/requests/{id}/answer`: JSON `{"key", "secret",
/// "expires_on"?, "secret_id"?}`, or — for rotation scripts — the secret as
/// a `text/plain` body with the key in `X-Handoff-Key` and the rest in the
/// query string.
pub async fn answer_request(
    State(app): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    Query(query): Query<AnswerQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (key, secret, expires_on, secret_id) = match media_type(&headers).as_str() {
        "application/json" => {
            let body: AnswerBody = serde_json::from_slice(&body)
                .map_err(|e| AppError::BadRequest(format!("Invalid JSON: {e}")))?;
            (
                Zeroizing::new(body.key.expose_secret().to_owned()),
                Zeroizing::new(body.secret.expose_secret().to_owned()),
                body.expires_on,
                body.secret_id,
            )
        }
        "text/plain" | "application/x-www-form-urlencoded" | "application/octet-stream" => {
            let key = headers
                .get(KEY_HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    AppError::BadRequest("Send the link key in the X-Handoff-Key header.".into())
                })?;
            let secret = std::str::from_utf8(&body)
                .map_err(|_| AppError::BadRequest("The secret must be UTF-8 text.".into()))?;
            (
                Zeroizing::new(key.to_owned()),
                Zeroizing::new(secret.to_owned()),
                query.expires_on,
                query.secret_id,
            )
        }
        other => {
            return Err(AppError::BadRequest(format!(
                "Content-Type '{other}' is not supported: send application/json, or the secret itself as text/plain."
            )));
        }
    };
    if secret.len() > app.settings.max_secret_bytes {
        return Err(AppError::PayloadTooLarge("The secret is too large.".into()));
    }
    let answer = Answer {
        secret,
        expires_on: expires_on
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(|d| ExpiryDate::parse(d, now()))
            .transpose()?,
        secret_id: AzureSecretId::parse_optional(secret_id.as_deref())?,
    };
    let accepted = app
        .guarded(&client, async {
            let id = parse_id(&id)?;
            let key = parse_key(&key)?;
            app.service
                .answer_request(&id, &key, answer, &client.to_client())
                .await
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "status": "accepted",
            "verified": accepted.verification.verified,
            "verification": {
                "code": accepted.verification.code,
                "message": accepted.verification.message,
                "aadsts": accepted.verification.aadsts,
            },
            "notices": accepted.notices,
            "warnings": accepted.warnings,
            "hint": accepted.hint,
            // With auto-apply: delivered to the vendor's configuration, or
            // kept for staff to retry (the customer's part is done either way).
            "delivered": accepted.delivery.as_ref().map(Result::is_ok),
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrieveBody {
    key: SecretString,
}

/// `POST /api/v1/requests/{id}/retrieve` (staff, with the retrieve key).
pub async fn retrieve_answer(
    State(app): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Result<Json<RetrieveBody>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body.map_err(|rejection| json_rejection(&rejection))?;
    let retrieved = app
        .guarded(&client, async {
            let id = parse_id(&id)?;
            let key = parse_key(body.key.expose_secret())?;
            app.service.retrieve_answer(&id, &key, &staff.name).await
        })
        .await?;
    let answer = &retrieved.answer;
    Ok(Json(json!({
        "secret": retrieved.secret.expose(),
        "tenant": retrieved.tenant,
        "expires_on": answer.expires_on,
        "secret_id": answer.secret_id,
        "hint": answer.hint,
        "verification": {
            "verified": answer.verification.verified,
            "code": answer.verification.code,
            "message": answer.verification.message,
            "aadsts": answer.verification.aadsts,
        },
    }))
    .into_response())
}

#[derive(Template)]
#[template(path = "request.html")]
struct CustomerPage<'a> {
    static_base: &'a str,
    id: String,
}

/// `GET /r/{id}`: the customer's page; the key stays in the fragment.
pub async fn customer_page(Path(id): Path<String>) -> Response {
    match SecretId::parse(&id) {
        Ok(id) => render(
            StatusCode::OK,
            &CustomerPage {
                static_base: &STATIC_BASE,
                id: id.to_string(),
            },
        ),
        Err(_) => super::pages::not_found().await,
    }
}

pub struct RequestRow {
    pub tenant_name: String,
    pub state: &'static str,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub answered_at: Option<String>,
    pub tries: u32,
    pub verification: Option<String>,
}

#[derive(Template)]
#[template(path = "staff_requests.html")]
struct StaffRequestsPage<'a> {
    static_base: &'a str,
    staff_name: &'a str,
    csrf: &'a str,
    vendor_name: &'a str,
    tenants: Vec<TenantRow>,
    ttl_options: Vec<(String, String, bool)>,
    error: Option<String>,
    requests: Vec<RequestRow>,
}

async fn staff_requests(
    app: &AppState,
    staff: &Staff,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let requests = match app.service.list_requests().await {
        Ok(requests) => requests,
        Err(error) => return error_page(error.into()),
    };
    let directory = app.directory.current();
    render(
        status,
        &StaffRequestsPage {
            static_base: &STATIC_BASE,
            staff_name: &staff.name,
            csrf: staff.csrf.as_deref().unwrap_or(""),
            vendor_name: &directory.vendor_name,
            tenants: directory.tenants().map(TenantRow::from).collect(),
            ttl_options: ttl_options(app.settings.default_ttl, app.settings.max_ttl, None),
            error,
            requests: requests
                .iter()
                .map(|r| RequestRow {
                    tenant_name: r.tenant_name.clone(),
                    state: r.record.state.as_str(),
                    created_by: r.record.created_by.clone(),
                    created_at: human_time(r.record.created_at),
                    expires_at: human_time(r.record.expires_at),
                    answered_at: r.record.answer.as_ref().map(|a| human_time(a.answered_at)),
                    tries: r.record.tries,
                    verification: r
                        .record
                        .answer
                        .as_ref()
                        .map(|a| a.verification.message.clone()),
                })
                .collect(),
        },
    )
}

/// `GET /staff/requests`.
pub async fn staff_requests_page(
    State(app): State<AppState>,
    StaffPage(staff): StaffPage,
) -> Response {
    staff_requests(&app, &staff, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct CreateRequestForm {
    #[serde(default)]
    csrf: String,
    tenant: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    ttl: String,
}

#[derive(Template)]
#[template(path = "request_created.html")]
struct RequestCreatedPage<'a> {
    static_base: &'a str,
    tenant_name: String,
    submit_url: String,
    retrieve_url: String,
    expires_at: String,
}

/// `POST /staff/requests`: the create form.
pub async fn create_request_from_form(
    State(app): State<AppState>,
    StaffPage(staff): StaffPage,
    Form(form): Form<CreateRequestForm>,
) -> Response {
    if let Err(error) = check_csrf(&staff, &form.csrf) {
        return error_page(error);
    }
    let created = app
        .create_request_for(
            &staff,
            form.tenant,
            Some(&form.note),
            Some(NumberOrText::Text(form.ttl)),
            None,
        )
        .await;
    match created {
        Ok(created) => {
            let (submit_url, retrieve_url) = app.request_links(&created);
            render(
                StatusCode::CREATED,
                &RequestCreatedPage {
                    static_base: &STATIC_BASE,
                    tenant_name: created.tenant.name.clone(),
                    submit_url,
                    retrieve_url,
                    expires_at: human_time(created.expires_at),
                },
            )
        }
        Err(AppError::Invalid(invalid)) => {
            let message = format!("{}: {}", invalid.field, invalid.reason);
            staff_requests(
                &app,
                &staff,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(error),
    }
}

#[derive(Template)]
#[template(path = "retrieve.html")]
struct RetrievePage<'a> {
    static_base: &'a str,
    id: String,
}

/// `GET /staff/requests/{id}`: the retrieve page; the key is in the fragment.
pub async fn retrieve_page(StaffPage(_staff): StaffPage, Path(id): Path<String>) -> Response {
    match SecretId::parse(&id) {
        Ok(id) => render(
            StatusCode::OK,
            &RetrievePage {
                static_base: &STATIC_BASE,
                id: id.to_string(),
            },
        ),
        Err(_) => super::pages::not_found().await,
    }
}
