//! Request links on the web: the staff API and pages that create and list
//! them and retrieve answers, and the customer's page and answer endpoint.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

use super::auth::{Staff, StaffPage, check_csrf};
use super::client::ClientAddr;
use super::error::AppError;
use super::extract::{
    AppBytes, AppJson, AppQuery, IdPath, Idempotency, NumberOrText, PageId, PageLanguage,
    link_key_header, media_type, unsupported_media_type,
};
use super::format::{human_time, rfc3339};
use super::json::{
    ActivatingJson, AnswerAcceptedJson, CreatedRequestLinks, RequestDetailsJson, RequestList,
    RequestViewJson, RetrievedAnswer,
};
use super::render::{Chrome, MailRow, TenantRow, error_page, render, ttl_options};
use super::state::AppState;
use crate::certificate::ValidFor;
use crate::domain::{AzureSecretId, ExpiryDate, InvalidInput, LinkKey, Note, now};
use crate::service::{Answer, AnswerOutcome, CreatedRequest, NewRequest, ServiceError};
use crate::store::RequestState;

fn parse_key(key: &str) -> Result<LinkKey, ServiceError> {
    LinkKey::parse(key).map_err(|_| ServiceError::NotFound)
}

/// A request link to create for a tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequestBody {
    /// A configured tenant's slug.
    tenant: String,
    /// A note the customer sees.
    note: Option<String>,
    /// Seconds, or `24h`, `7d`; the server's default when absent.
    ttl: Option<NumberOrText>,
    /// Deliver a verified answer to the tenant's sink at once (the
    /// tenant's setting when absent).
    auto_apply: Option<bool>,
    /// Mail the customer's submit link to the tenant's configured
    /// `contacts`, in the tenant's language (default false). The retrieve
    /// link is never mailed. Refused with 409 `mail_not_configured` or
    /// `no_contacts`, or 429 `mail_cap_reached`, before anything is created.
    #[serde(default)]
    notify: bool,
    /// `secret` (the default) or `certificate`: a key pair made here, whose
    /// public certificate the customer uploads to the app.
    kind: Option<String>,
    /// A certificate's validity: `12mo` (the default), `365d`; at most 24
    /// months.
    valid_for: Option<String>,
}

/// `kind` and `valid_for` of a new request: the certificate's validity, or
/// none for a secret.
fn requested_kind(
    kind: Option<&str>,
    valid_for: Option<&str>,
) -> Result<Option<ValidFor>, InvalidInput> {
    let valid_for = valid_for.map(str::trim).filter(|v| !v.is_empty());
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None | Some("secret") if valid_for.is_none() => Ok(None),
        None | Some("secret") => Err(InvalidInput::new(
            "valid_for",
            "is for certificate requests only (kind: certificate)",
        )),
        Some("certificate") => valid_for
            .map_or_else(|| Ok(ValidFor::default()), ValidFor::parse)
            .map(Some),
        Some(_) => Err(InvalidInput::new("kind", "must be secret or certificate")),
    }
}

/// A new request as staff asked for it, from the API or the form, before
/// its note and expiry are checked.
struct AskedFor<'a> {
    tenant: String,
    note: Option<&'a str>,
    ttl: Option<NumberOrText>,
    auto_apply: Option<bool>,
    notify: bool,
    certificate: Option<ValidFor>,
}

impl AppState {
    async fn create_request_for(
        &self,
        staff: &Staff,
        asked: AskedFor<'_>,
    ) -> Result<CreatedRequest, AppError> {
        let new = NewRequest {
            tenant: asked.tenant,
            note: Note::parse_optional(asked.note)?,
            ttl: self.settings.ttl(asked.ttl)?,
            created_by: staff.name.clone(),
            auto_apply: asked.auto_apply,
            notify: asked.notify,
            certificate: asked.certificate,
        };
        Ok(self.service.create_request(new).await?)
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    summary = "Create a request link for a tenant",
    request_body = CreateRequestBody,
    responses((status = 201, description = "Created: the submit link for the customer, the retrieve link for staff; with `notify`, the submit link is also mailed to the tenant's contacts", body = CreatedRequestLinks)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "invalid_field", "unauthorized", "unavailable", "forbidden", "mail_not_configured", "no_contacts", "mail_cap_reached", "internal"]))),
)]
/// `POST /api/v1/requests` (staff).
pub async fn create_request(
    State(app): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<CreateRequestBody>,
) -> Result<Response, AppError> {
    let created = app
        .create_request_for(
            &staff,
            AskedFor {
                tenant: body.tenant,
                note: body.note.as_deref(),
                ttl: body.ttl,
                auto_apply: body.auto_apply,
                notify: body.notify,
                certificate: requested_kind(body.kind.as_deref(), body.valid_for.as_deref())?,
            },
        )
        .await?;
    let (submit_url, retrieve_url) = app.settings.request_links(&created);
    Ok((
        StatusCode::CREATED,
        Json(CreatedRequestLinks {
            id: created.id.to_string(),
            tenant: created.tenant.slug,
            submit_url,
            retrieve_url,
            expires_at: rfc3339(created.expires_at),
        }),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    summary = "Every request link",
    responses((status = 200, description = "The requests", body = RequestList)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["unauthorized", "unavailable", "forbidden", "internal"]))),
)]
/// `GET /api/v1/requests` (staff).
pub async fn list_requests(
    State(app): State<AppState>,
    _staff: Staff,
) -> Result<Response, AppError> {
    let requests = app.service.list_requests().await?;
    Ok(Json(RequestList {
        requests: requests.iter().map(RequestDetailsJson::from).collect(),
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/details",
    tag = "requests",
    summary = "A request as staff see it",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 200, description = "The request (never its answer)", body = RequestDetailsJson)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["unauthorized", "not_found", "unavailable", "forbidden", "internal"]))),
)]
/// `GET /api/v1/requests/{id}/details` (staff).
pub async fn request_details(
    State(app): State<AppState>,
    _staff: Staff,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let details = app.service.request_details(&id).await?;
    Ok(Json(RequestDetailsJson::from(&details)).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    summary = "Cancel a request",
    description = "Ends a request that is open, locked or answered: its links stop working, and an answer it holds is deleted unread. A request already retrieved, applied or cancelled is left as it is.",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 204, description = "Cancelled")),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["unauthorized", "not_found", "already_retrieved", "already_applied", "being_applied", "contended", "unavailable", "forbidden", "internal"]))),
)]
/// `DELETE /api/v1/requests/{id}` (staff).
pub async fn cancel_request(
    State(app): State<AppState>,
    staff: Staff,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    app.service.cancel_request(&id, &staff.name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    summary = "The customer's view of a request",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 200, description = "The request", body = RequestViewJson)),
    security(("link_key" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "not_found", "already_retrieved", "rate_limited", "unavailable", "internal"]))),
)]
/// `GET /api/v1/requests/{id}` with the submit key: the customer's view.
pub async fn request_view(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = link_key_header(&headers)?;
    let view = app
        .guarded(client.ip, async {
            app.service.request_view(&id, &parse_key(key)?).await
        })
        .await?;
    Ok(Json(RequestViewJson::from(&view)).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/check",
    tag = "requests",
    summary = "Check a certificate request with Microsoft",
    description = "For a request of kind `certificate`, once the customer has uploaded its certificate to the app: the server signs a client assertion with the request's private key and asks Microsoft for a token. Accepted, the key becomes the answer (applied to the tenant's sink, or retrieved by staff once). Refused, the answer says in words why; `certificate_not_uploaded` counts no try.",
    params(("id" = String, Path, description = "The id in the link")),
    responses((status = 201, description = "Microsoft accepted the certificate", body = AnswerAcceptedJson)),
    security(("link_key" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "wrong_kind", "verification_failed", "not_found", "already_retrieved", "locked", "already_applied", "already_answered", "contended", "rate_limited", "vendor_misconfigured", "verifier_unreachable", "unavailable", "internal"]))),
)]
/// `POST /api/v1/requests/{id}/check`: the submit key in `X-Handoff-Key`.
pub async fn check_certificate(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = link_key_header(&headers)?;
    let outcome = app
        .guarded(client.ip, async {
            app.service
                .check_certificate(&id, &parse_key(key)?, &client.to_client())
                .await
        })
        .await?;
    match outcome {
        AnswerOutcome::Accepted(accepted) => Ok((
            StatusCode::CREATED,
            Json(AnswerAcceptedJson::from(&accepted)),
        )
            .into_response()),
        AnswerOutcome::Activating(_) => Err(ServiceError::Contended.into()),
    }
}

/// The customer's answer, as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The submit key (the part of the request link after `#`).
    #[schema(value_type = String)]
    key: SecretString,
    /// The client secret's Value.
    #[schema(value_type = String)]
    secret: SecretString,
    /// When the secret expires at Microsoft (`2027-05-01`).
    expires_on: Option<String>,
    /// The secret's Secret ID (a GUID) in Entra ID.
    secret_id: Option<String>,
}

/// With a `text/plain` body (the secret) and the key in `X-Handoff-Key`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnswerQuery {
    /// When the secret expires at Microsoft (`2027-05-01`).
    expires_on: Option<String>,
    /// The secret's Secret ID (a GUID) in Entra ID.
    secret_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/answer",
    tag = "requests",
    summary = "Answer a request with a client secret",
    description = "JSON, or the secret as a `text/plain` body with the submit key in `X-Handoff-Key` and `expires_on`, `secret_id` in the query string. The secret is checked at once (and with Entra ID when the tenant asks for it).",
    params(
        ("id" = String, Path, description = "The id in the link"),
        AnswerQuery,
    ),
    request_body(content(
        (AnswerBody = "application/json"),
        (String = "text/plain"),
    )),
    responses(
        (status = 201, description = "Taken", body = AnswerAcceptedJson),
        (status = 202, description = "Microsoft refused a brand-new secret that it may still be activating: nothing was stored and no try counted. Send the same value again after `Retry-After` seconds, until `until`.", body = ActivatingJson),
    ),
    security((), ("link_key" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "invalid_field", "secret_refused", "verification_failed", "not_found", "already_retrieved", "locked", "already_applied", "already_answered", "contended", "rate_limited", "vendor_misconfigured", "verifier_unreachable", "not_delivered", "unavailable", "internal"]))),
)]
/// `POST /api/v1/requests/{id}/answer`: JSON `{"key", "secret",
/// "expires_on"?, "secret_id"?}`, or — for rotation scripts — the secret as
/// a `text/plain` body with the key in `X-Handoff-Key` and the rest in the
/// query string.
pub async fn answer_request(
    State(app): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath,
    AppQuery(query): AppQuery<AnswerQuery>,
    headers: HeaderMap,
    AppBytes(body): AppBytes,
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
            let key = link_key_header(&headers)?;
            let secret = std::str::from_utf8(&body)
                .map_err(|_| AppError::BadRequest("The secret must be UTF-8 text.".into()))?;
            (
                Zeroizing::new(key.to_owned()),
                Zeroizing::new(secret.to_owned()),
                query.expires_on,
                query.secret_id,
            )
        }
        other => return Err(unsupported_media_type(other)),
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
    let outcome = app
        .guarded(client.ip, async {
            let key = parse_key(&key)?;
            app.service
                .answer_request(&id, &key, answer, &client.to_client())
                .await
        })
        .await?;
    Ok(match outcome {
        AnswerOutcome::Accepted(accepted) => (
            StatusCode::CREATED,
            Json(AnswerAcceptedJson::from(&accepted)),
        )
            .into_response(),
        AnswerOutcome::Activating(activating) => {
            let body = ActivatingJson::new(&activating, now());
            let retry_after = body.retry_after_secs.to_string();
            (
                StatusCode::ACCEPTED,
                [(axum::http::header::RETRY_AFTER, retry_after)],
                Json(body),
            )
                .into_response()
        }
    })
}

/// The request's retrieve key (the part of the retrieve link after `#`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrieveBody {
    #[schema(value_type = String)]
    key: SecretString,
}

#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/retrieve",
    tag = "requests",
    summary = "Retrieve a request's answer, once",
    description = "With an `Idempotency-Key` header, a retry with the same key within a minute gets the same answer.",
    params(
        ("id" = String, Path, description = "The id in the link"),
        ("Idempotency-Key" = Option<String>, Header, description = "Names this attempt (1 to 64 visible ASCII characters, a UUID for example)"),
    ),
    request_body = RetrieveBody,
    responses((status = 200, description = "The answer", body = RetrievedAnswer)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "too_large", "unauthorized", "not_found", "already_retrieved", "locked", "already_applied", "not_answered", "being_applied", "contended", "rate_limited", "outcome_unknown", "server_key_mismatch", "unavailable", "forbidden", "internal"]))),
)]
/// `POST /api/v1/requests/{id}/retrieve` (staff, with the retrieve key).
/// With `Idempotency-Key`, a retry with the same key gets the same answer.
pub async fn retrieve_answer(
    State(app): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    IdPath(id): IdPath,
    Idempotency(idempotency): Idempotency,
    AppJson(body): AppJson<RetrieveBody>,
) -> Result<Response, AppError> {
    let retrieved = app
        .guarded(client.ip, async {
            let key = parse_key(body.key.expose_secret())?;
            app.service
                .retrieve_answer_idempotent(&id, &key, idempotency.as_ref(), &staff.name)
                .await
        })
        .await?;
    Ok(Json(RetrievedAnswer::from(&retrieved)).into_response())
}

#[derive(Template)]
#[template(path = "request.html")]
struct CustomerPage {
    page: Chrome,
    id: String,
}

/// `GET /r/{id}`: the customer's page; the key stays in the fragment.
pub async fn customer_page(
    State(app): State<AppState>,
    PageLanguage(lang): PageLanguage,
    PageId(id): PageId,
) -> Response {
    render(
        StatusCode::OK,
        &CustomerPage {
            page: app.chrome(lang),
            id: id.to_string(),
        },
    )
}

struct RequestRow {
    pub id: String,
    pub note: Option<String>,
    /// Open, locked or answered: it can still be cancelled.
    pub cancellable: bool,
    pub tenant_name: String,
    pub state: &'static str,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub answered_at: Option<String>,
    pub tries: u32,
    pub verification: Option<String>,
    /// How its mail went, if it was mailed.
    pub mail: Option<MailRow>,
}

#[derive(Template)]
#[template(path = "staff_requests.html")]
struct StaffRequestsPage<'a> {
    page: Chrome,
    staff_name: &'a str,
    csrf: &'a str,
    vendor_name: &'a str,
    tenants: Vec<TenantRow>,
    ttl_options: Vec<(String, String, bool)>,
    error: Option<String>,
    requests: Vec<RequestRow>,
    can_mail: bool,
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
    // The newest mail event of each request.
    let mut mails = std::collections::HashMap::new();
    for event in app.service.recent_mail_events().await.unwrap_or_default() {
        if let Some(subject) = event.subject.clone() {
            mails.entry(subject).or_insert(event);
        }
    }
    let directory = app.directory.current();
    render(
        status,
        &StaffRequestsPage {
            can_mail: app.service.mail_settings().is_some(),
            page: app.staff_chrome(),
            staff_name: &staff.name,
            csrf: staff.csrf.as_deref().unwrap_or(""),
            vendor_name: &directory.vendor_name,
            tenants: directory.tenants().map(TenantRow::from).collect(),
            ttl_options: ttl_options(
                crate::locale::Language::En,
                app.settings.default_ttl,
                app.settings.max_ttl,
                None,
            ),
            error,
            requests: requests
                .iter()
                .map(|r| RequestRow {
                    id: r.id.to_string(),
                    note: r.record.note.clone(),
                    cancellable: matches!(
                        r.record.state,
                        RequestState::Open | RequestState::Locked | RequestState::Answered
                    ),
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
                    mail: mails.get(&r.id.to_string()).map(MailRow::of),
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
    /// The checkbox: present (`on`) when ticked.
    #[serde(default)]
    notify: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    valid_for: String,
}

#[derive(Template)]
#[template(path = "request_created.html")]
struct RequestCreatedPage {
    page: Chrome,
    tenant_name: String,
    submit_url: String,
    retrieve_url: String,
    expires_at: String,
    /// The contacts the submit link was mailed to.
    mailed_to: Option<String>,
}

fn mailed_to(created: &CreatedRequest) -> Option<String> {
    created.mailed.then(|| {
        created
            .tenant
            .contacts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    })
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
    let created = match requested_kind(
        Some(&form.kind),
        (form.kind == "certificate").then_some(form.valid_for.as_str()),
    ) {
        Ok(certificate) => {
            app.create_request_for(
                &staff,
                AskedFor {
                    tenant: form.tenant,
                    note: Some(&form.note),
                    ttl: Some(NumberOrText::Text(form.ttl)),
                    auto_apply: None,
                    notify: form.notify.is_some(),
                    certificate,
                },
            )
            .await
        }
        Err(invalid) => Err(invalid.into()),
    };
    match created {
        Ok(created) => {
            let (submit_url, retrieve_url) = app.settings.request_links(&created);
            render(
                StatusCode::CREATED,
                &RequestCreatedPage {
                    page: app.staff_chrome(),
                    tenant_name: created.tenant.name.clone(),
                    submit_url,
                    retrieve_url,
                    expires_at: human_time(created.expires_at),
                    mailed_to: mailed_to(&created),
                },
            )
        }
        Err(error) => match error.field_message() {
            Some(message) => {
                staff_requests(
                    &app,
                    &staff,
                    Some(message),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => error_page(error),
        },
    }
}

#[derive(Deserialize)]
pub struct CancelRequestForm {
    #[serde(default)]
    csrf: String,
    /// Present ("1"): ask again at once, for the same tenant with the same
    /// note, and show the new links.
    #[serde(default)]
    again: Option<String>,
}

/// `POST /staff/requests/{id}/cancel`: cancels a request; with `again`, also
/// creates its replacement (the answer to a lost retrieve link).
pub async fn cancel_request_from_form(
    State(app): State<AppState>,
    StaffPage(staff): StaffPage,
    PageId(id): PageId,
    Form(form): Form<CancelRequestForm>,
) -> Response {
    if let Err(error) = check_csrf(&staff, &form.csrf) {
        return error_page(error);
    }
    let cancelled = match app.service.cancel_request(&id, &staff.name).await {
        Ok(record) => record,
        Err(error) => return error_page(error.into()),
    };
    if form.again.is_none() {
        return axum::response::Redirect::to("/staff/requests").into_response();
    }
    let created = app
        .create_request_for(
            &staff,
            AskedFor {
                tenant: cancelled.tenant,
                note: cancelled.note.as_deref(),
                ttl: None,
                auto_apply: Some(cancelled.auto_apply),
                notify: false,
                // The same kind again; a certificate with the default validity.
                certificate: cancelled.certificate.as_ref().map(|_| ValidFor::default()),
            },
        )
        .await;
    match created {
        Ok(created) => {
            let (submit_url, retrieve_url) = app.settings.request_links(&created);
            render(
                StatusCode::CREATED,
                &RequestCreatedPage {
                    page: app.staff_chrome(),
                    tenant_name: created.tenant.name.clone(),
                    mailed_to: mailed_to(&created),
                    submit_url,
                    retrieve_url,
                    expires_at: human_time(created.expires_at),
                },
            )
        }
        Err(error) => error_page(error),
    }
}

#[derive(Template)]
#[template(path = "retrieve.html")]
struct RetrievePage {
    page: Chrome,
    id: String,
}

/// `GET /staff/requests/{id}`: the retrieve page; the key is in the fragment.
pub async fn retrieve_page(StaffPage(_staff): StaffPage, PageId(id): PageId) -> Response {
    render(
        StatusCode::OK,
        &RetrievePage {
            page: Chrome::plain(),
            id: id.to_string(),
        },
    )
}
