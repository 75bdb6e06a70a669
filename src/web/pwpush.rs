//! Password Pusher's API, so that its official CLI (`pwpush`) and its API
//! users work against handoff unchanged: API v2 under `/api/v2` and the
//! legacy `/p.json` routes, text pushes only. The contract, status by status,
//! is Password Pusher 2.11's; its answers keep their shapes (`{"error":
//! "not-found"}`, a 422 keyed by field, an empty 401).
//!
//! A push is an ordinary handoff secret whose id and link key come from its
//! `url_token` (see `pwpush_token`). Two things differ from handoff's own
//! routes, both because Password Pusher's clients depend on them:
//! the link carries the key in its path, and the JSON retrieval routes
//! (`GET /api/v2/pushes/{token}`, `GET /p/{token}.json`) consume a view on
//! GET. The link a person shares (`/p/{token}`, `/p/{token}/r`) never
//! consumes: it sends the browser to handoff's recipient page.

// Refusals here are finished answers in Password Pusher's shapes, returned
// early and once per request; boxing them would buy nothing.
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::client::ClientAddr;
use super::error::AppError;
use super::extract::Idempotency;
use super::format::rfc3339;
use super::pwpush_json::{AuditLog, Preview, PushObject, version};
use super::pwpush_token::PushToken;
use super::render;
use super::state::AppState;
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::{InvalidInput, Passphrase, SecretId, SecretText, Ttl, Views, now};
use crate::service::{Client, Deleter, NewSecret, ServiceError};
use crate::store::{Record, SecretState};

const DAY_SECS: u64 = 86_400;
const PAGE_SIZE: usize = 50;
const MAX_PAGE: usize = 200;

/// Which of Password Pusher's two APIs is being spoken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    V2,
    Legacy,
}

impl Api {
    fn root(self) -> &'static str {
        match self {
            Self::V2 => "push",
            Self::Legacy => "password",
        }
    }
}

/// Who is calling, as Password Pusher decides it: by an API token (a
/// handoff staff token), or nobody.
enum Caller {
    Anonymous,
    Staff(String),
}

impl Caller {
    fn staff(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Staff(name) => Some(name),
        }
    }
}

/// Password Pusher's empty 401.
fn unauthorized() -> Response {
    StatusCode::UNAUTHORIZED.into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not-found")
}

/// A 422 the way Password Pusher words validation: `{"field": ["…"]}`.
fn invalid(field: &str, message: impl Into<String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ field: [message.into()] })),
    )
        .into_response()
}

/// With both `X-User-Email` and `X-User-Token`, the token is the latter;
/// otherwise the last word of `Authorization`. The email is never checked
/// (Password Pusher looks users up by token alone). A token that is sent but
/// unknown is refused everywhere, public routes included.
fn caller(app: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or_default());
    let token = match (text("x-user-email"), text("x-user-token")) {
        (Some(_), Some(token)) => token,
        _ => match text(header::AUTHORIZATION.as_str()) {
            Some(authorization) => authorization.rsplit(' ').next().unwrap_or_default(),
            None => return Ok(Caller::Anonymous),
        },
    };
    app.directory
        .current()
        .staff_by_token(token)
        .map(|member| Caller::Staff(member.name.clone()))
        .ok_or_else(unauthorized)
}

fn client_of(client: &ClientAddr, caller: &Caller) -> Client {
    Client {
        staff: caller.staff().map(str::to_owned),
        ..client.to_client()
    }
}

/// A path segment as a token: without its `.json` suffix, which every
/// Password Pusher route accepts.
fn token_of(segment: &str) -> Option<PushToken> {
    PushToken::parse(segment.strip_suffix(".json").unwrap_or(segment))
}

// ---------------------------------------------------------------- version

/// `GET /api/v2/version`: public, even with a bad token. Its 200 is what
/// makes `pwpush` speak v2.
pub async fn version_document(State(app): State<AppState>) -> Response {
    Json(version(!app.settings.require_staff_to_push)).into_response()
}

// ----------------------------------------------------------------- create

/// A number as Password Pusher takes it: a JSON number or a numeric string
/// (`pwpush` sends config-file defaults as `"4"`). Anything else is absent.
fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `pwpush push --days D` sends D as `expire_after_duration` (an enum) when
/// D is 1–7, 14, 21, 30, 60 or 90. Other values are absent.
fn duration_days(code: u64) -> Option<u64> {
    const DAYS: [u64; 12] = [1, 2, 3, 4, 5, 6, 7, 14, 21, 30, 60, 90];
    let index = usize::try_from(code.checked_sub(6)?).ok()?;
    DAYS.get(index).copied()
}

/// The push's lifetime: `expire_after_days` wins over `expire_after_duration`.
/// Like Password Pusher, a value outside 1–90 days (or not a number) is the
/// default; unlike it, the default and the bound are handoff's
/// (`HANDOFF_DEFAULT_TTL`, `HANDOFF_MAX_TTL`), and a value over the bound is
/// refused rather than shortened, so that nobody is surprised by an early
/// expiry.
fn lifetime(app: &AppState, push: &serde_json::Map<String, Value>) -> Result<Ttl, Response> {
    let days = number(push.get("expire_after_days"))
        .or_else(|| number(push.get("expire_after_duration")).and_then(duration_days))
        .filter(|d| (1..=90).contains(d));
    let Some(days) = days else {
        return Ok(app.settings.default_ttl);
    };
    let max = app.settings.max_ttl;
    Ttl::from_secs(days * DAY_SECS, max).map_err(|_| {
        invalid(
            "expire_after_days",
            format!(
                "must be at most {} on this server (HANDOFF_MAX_TTL is {max}).",
                max.as_secs() / DAY_SECS
            ),
        )
    })
}

/// The view limit: 1–100 as sent, otherwise one view (handoff's default);
/// over `HANDOFF_MAX_VIEWS` is refused.
fn view_limit(app: &AppState, push: &serde_json::Map<String, Value>) -> Result<Views, Response> {
    let Some(views) = number(push.get("expire_after_views")).filter(|v| (1..=100).contains(v))
    else {
        return Ok(Views::ONE);
    };
    let max = app.settings.max_views;
    Views::from_count(views, max).map_err(|_| {
        invalid(
            "expire_after_views",
            format!(
                "must be at most {} on this server (HANDOFF_MAX_VIEWS).",
                max.get()
            ),
        )
    })
}

fn text_field(push: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    match push.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn parse_push(
    app: &AppState,
    api: Api,
    body: &[u8],
) -> Result<(NewSecret, Option<String>, Option<String>), Response> {
    let missing = || {
        error(
            StatusCode::BAD_REQUEST,
            &format!(
                "param is missing or the value is empty or invalid: {}",
                api.root()
            ),
        )
    };
    let mut document: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("The body is not valid JSON: {e}"),
        )
    })?;
    let Some(Value::Object(push)) = document.get_mut(api.root()).map(Value::take) else {
        return Err(missing());
    };
    if push.is_empty() {
        return Err(missing());
    }
    match push.get("kind").and_then(Value::as_str).unwrap_or("text") {
        "text" => {}
        "url" | "qr" | "file" => {
            return Err(invalid("kind", "handoff takes text pushes only."));
        }
        _ => return Err(invalid("kind", "is not included in the list")),
    }
    let payload = match push.get("payload") {
        Some(Value::String(s)) if !s.trim().is_empty() => Zeroizing::new(s.clone()),
        _ => return Err(invalid("payload", "Payload is required.")),
    };
    let max_bytes = app.settings.max_secret_bytes;
    let secret = SecretText::parse(payload, max_bytes).map_err(|e| {
        if e.too_large {
            invalid(
                "payload",
                format!("The payload is too large.  You can only push up to {max_bytes} bytes."),
            )
        } else {
            invalid("payload", e.reason)
        }
    })?;
    let passphrase = match push.get("passphrase") {
        Some(Value::String(p)) => Passphrase::parse_optional(Some(Zeroizing::new(p.clone())))
            .map_err(|e: InvalidInput| invalid("passphrase", e.reason))?,
        _ => None,
    };
    let new = NewSecret {
        secret,
        ttl: lifetime(app, &push)?,
        views: view_limit(app, &push)?,
        passphrase,
        // Password Pusher's note and name are the sender's own reference,
        // never shown to the recipient; handoff's note is shown to the
        // recipient. So they are echoed once, in the create answer, and not
        // kept.
        note: None,
        label: None,
    };
    Ok((
        new,
        text_field(&push, "note").filter(|s| !s.is_empty()),
        text_field(&push, "name").filter(|s| !s.is_empty()),
    ))
}

/// `POST /api/v2/pushes`: 201 with the push.
pub async fn create_v2(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(&app, &client, &headers, &body, Api::V2).await
}

/// `POST /p.json` (legacy): the same with `{"password": {…}}`.
pub async fn create_legacy(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(&app, &client, &headers, &body, Api::Legacy).await
}

async fn create(
    app: &AppState,
    client: &ClientAddr,
    headers: &HeaderMap,
    body: &[u8],
    api: Api,
) -> Response {
    let caller = match caller(app, headers) {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if app.settings.require_staff_to_push && caller.staff().is_none() {
        return unauthorized();
    }
    let (new, note, name) = match parse_push(app, api, body) {
        Ok(parsed) => parsed,
        Err(refused) => return refused,
    };
    let token = PushToken::generate();
    let created = match app
        .service
        .create_with_link(new, token.id(), token.key(), &client_of(client, &caller))
        .await
    {
        Ok(created) => created,
        Err(e) => return AppError::from(e).into_response(),
    };
    let ttl_secs = u64::try_from(created.expires_at - now()).unwrap_or(0);
    let days = ttl_secs.div_ceil(DAY_SECS);
    let at = rfc3339(now());
    let (html_url, json_url) = links(app, &token.encode());
    let object = PushObject {
        expire_after_views: created.views,
        expired: false,
        url_token: token.encode(),
        deletable_by_viewer: true,
        retrieval_step: true,
        expired_on: None,
        passphrase: None,
        created_at: at.clone(),
        updated_at: at,
        expire_after_days: days,
        days_remaining: days,
        views_remaining: created.views,
        deleted: false,
        json_url,
        html_url,
        note: Some(note.unwrap_or_default()),
        name: Some(name.unwrap_or_default()),
        payload: None,
        files: None,
    };
    (StatusCode::CREATED, Json(object)).into_response()
}

/// The link a person opens (always with the retrieval step: handoff's page
/// asks before it reveals) and the JSON retrieval route.
fn links(app: &AppState, token: &str) -> (String, String) {
    let base = app.settings.public_url.as_str();
    (
        format!("{base}/p/{token}/r"),
        format!("{base}/p/{token}.json"),
    )
}

/// A push object from its stored record; `url_token` is what the caller
/// named it by (the token, or for lists the bare id).
fn object_of<'a>(
    app: &AppState,
    url_token: &str,
    record: &Record,
    openable: bool,
) -> PushObject<'a> {
    let now = now();
    let meta = &record.meta;
    let live = record.state == SecretState::Live && meta.expires_at > now;
    let lifetime = u64::try_from(meta.expires_at - meta.created_at).unwrap_or(0);
    let left = u64::try_from(meta.expires_at - now).unwrap_or(0);
    let ended_at = if live {
        None
    } else {
        Some(record.ended_at.unwrap_or(meta.expires_at))
    };
    let (html_url, json_url) = if openable {
        links(app, url_token)
    } else {
        (String::new(), String::new())
    };
    PushObject {
        expire_after_views: meta.views_allowed,
        expired: !live,
        url_token: url_token.to_owned(),
        deletable_by_viewer: true,
        retrieval_step: true,
        expired_on: ended_at.map(rfc3339),
        passphrase: None,
        created_at: rfc3339(meta.created_at),
        updated_at: rfc3339(ended_at.unwrap_or(meta.created_at)),
        expire_after_days: lifetime.div_ceil(DAY_SECS),
        days_remaining: if live { left.div_ceil(DAY_SECS) } else { 0 },
        views_remaining: if live { record.views_remaining } else { 0 },
        deleted: record.state == SecretState::Revoked,
        json_url,
        html_url,
        note: None,
        name: None,
        payload: None,
        files: None,
    }
}

async fn load(app: &AppState, id: &SecretId) -> Result<Option<Record>, Response> {
    app.service
        .store()
        .load(id)
        .await
        .map_err(|e| AppError::from(ServiceError::Store(e)).into_response())
}

// ---------------------------------------------------------------- preview

/// `GET /api/v2/pushes/{token}/preview`: the link to hand out. Consumes
/// nothing.
pub async fn preview(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    if let Err(refused) = caller(&app, &headers) {
        return refused;
    }
    let Some(token) = token_of(&segment) else {
        return not_found();
    };
    match load(&app, &token.id()).await {
        Ok(Some(_)) => Json(Preview {
            url: links(&app, &token.encode()).0,
        })
        .into_response(),
        Ok(None) => not_found(),
        Err(failed) => failed,
    }
}

// --------------------------------------------------------------- retrieve

#[derive(Deserialize)]
pub struct RetrieveQuery {
    passphrase: Option<String>,
}

fn passphrase_refused(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "error": "That passphrase is incorrect.",
            "message": message,
            "status": "unauthorized",
        })),
    )
        .into_response()
}

/// `GET /api/v2/pushes/{token}` and `GET /p/{token}.json`: an API call that
/// consumes a view, as Password Pusher's does. An ended push answers 200
/// with `expired: true` and no payload.
pub async fn retrieve(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(segment): Path<String>,
    Query(query): Query<RetrieveQuery>,
    Idempotency(idempotency): Idempotency,
) -> Response {
    retrieve_push(&app, &client, &headers, &segment, query, idempotency).await
}

async fn retrieve_push(
    app: &AppState,
    client: &ClientAddr,
    headers: &HeaderMap,
    segment: &str,
    query: RetrieveQuery,
    idempotency: Option<crate::domain::IdempotencyKey>,
) -> Response {
    let caller = match caller(app, headers) {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let Some(token) = token_of(segment) else {
        return not_found();
    };
    let Ok(passphrase) = Passphrase::parse_optional(query.passphrase.map(Zeroizing::new)) else {
        return passphrase_refused("The passphrase is too long.");
    };
    let (id, key) = (token.id(), token.key());
    let outcome = app
        .guarded(client.ip, async {
            app.service
                .reveal_idempotent(
                    &id,
                    &key,
                    passphrase,
                    idempotency.as_ref(),
                    &client_of(client, &caller),
                )
                .await
        })
        .await;
    let revealed = match outcome {
        Ok(revealed) => revealed,
        Err(AppError::Service(ServiceError::Ended { .. })) => {
            return match load(app, &id).await {
                Ok(Some(record)) => {
                    let mut object = object_of(app, &token.encode(), &record, true);
                    object.payload = Some(None);
                    object.files = Some([]);
                    Json(object).into_response()
                }
                Ok(None) => not_found(),
                Err(failed) => failed,
            };
        }
        Err(AppError::Service(ServiceError::NotFound)) => return not_found(),
        Err(AppError::Service(ServiceError::PassphraseRequired)) => {
            return passphrase_refused(
                "This push requires a passphrase. Please provide it using the 'passphrase' parameter (e.g. ?passphrase=mysecret)",
            );
        }
        Err(AppError::Service(ServiceError::WrongPassphrase { attempts_remaining })) => {
            return passphrase_refused(&format!(
                "This push requires a passphrase. Please provide it using the 'passphrase' parameter (e.g. ?passphrase=mysecret). {attempts_remaining} attempts left before the push is destroyed."
            ));
        }
        Err(AppError::Service(ServiceError::DestroyedNow)) => {
            return passphrase_refused(
                "That was the last attempt allowed: the push has been destroyed.",
            );
        }
        Err(AppError::RateLimited { retry_after }) => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many passphrase attempts. Please try again in a minute.",
            );
            if let Ok(value) = retry_after.as_secs().max(1).to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Err(other) => return other.into_response(),
    };
    // Delivered all the same when the push ended and was purged meanwhile.
    let Ok(Some(record)) = load(app, &id).await else {
        return Json(json!({
            "payload": revealed.secret.expose(),
            "expired": false,
            "views_remaining": revealed.views_remaining,
            "url_token": token.encode(),
        }))
        .into_response();
    };
    let mut object = object_of(app, &token.encode(), &record, true);
    // The view that uses up the limit still says `expired: false`, as
    // Password Pusher's "legacy API shape" does.
    object.expired = false;
    object.expired_on = None;
    object.views_remaining = revealed.views_remaining;
    object.payload = Some(Some(revealed.secret.expose()));
    object.files = Some([]);
    Json(object).into_response()
}

// ----------------------------------------------------------------- expire

/// `DELETE /api/v2/pushes/{token}` and `DELETE /p/{token}.json`. Whoever
/// holds the token holds the link key, and a handoff link holder may always
/// destroy what they were sent: every push is deletable by its viewer.
pub async fn expire(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let caller = match caller(&app, &headers) {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let Some(token) = token_of(&segment) else {
        return not_found();
    };
    let id = token.id();
    let deleted = app
        .guarded(client.ip, async {
            app.service
                .delete(
                    &id,
                    &Deleter::LinkHolder(token.key()),
                    &client_of(&client, &caller),
                )
                .await
        })
        .await;
    match deleted {
        Ok(()) => {}
        Err(AppError::Service(ServiceError::NotFound)) => return not_found(),
        Err(other) => return other.into_response(),
    }
    match load(&app, &id).await {
        Ok(Some(record)) => {
            let mut object = object_of(&app, &token.encode(), &record, true);
            object.deleted = true;
            object.expired = true;
            Json(object).into_response()
        }
        Ok(None) => not_found(),
        Err(failed) => failed,
    }
}

// ------------------------------------------------------------------ audit

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// `?page=N`: 1 when absent or below 1; not a number or over 200 is a 400.
fn page_of(query: &PageQuery) -> Result<usize, Response> {
    let bad = || error(StatusCode::BAD_REQUEST, "Invalid page parameter");
    match query.page.as_deref().map(str::trim) {
        None | Some("") => Ok(1),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n < 1 => Ok(1),
            Ok(n) if n <= MAX_PAGE as i64 => Ok(usize::try_from(n).unwrap_or(1)),
            _ => Err(bad()),
        },
    }
}

/// The id a staff route names a push by: its token, or (as `pwpush list`
/// shows pushes, since the server keeps no link key) its bare handoff id.
fn id_of(segment: &str) -> Option<SecretId> {
    let segment = segment.strip_suffix(".json").unwrap_or(segment);
    token_of(segment)
        .map(|t| t.id())
        .or_else(|| SecretId::parse(segment).ok())
}

fn creator_label(staff: &str) -> String {
    crate::domain::audit::Actor::Staff(staff.to_owned()).label()
}

async fn events_of(
    app: &AppState,
    id: &SecretId,
    since: i64,
    limit: usize,
) -> Result<Vec<AuditEvent>, Response> {
    app.service
        .audit_events(&AuditQuery {
            since,
            until: now() + 1,
            tenant: None,
            subject: Some(id.to_string()),
            kind: None,
            limit,
        })
        .await
        .map_err(|e| AppError::from(e).into_response())
}

/// handoff's audit kinds in Password Pusher's words (`kind.title()` is what
/// `pwpush audit` shows).
fn audit_kind(kind: &str) -> &'static str {
    match kind {
        "secret.created" => "creation",
        "secret.revealed" => "view",
        "secret.viewed" => "page_open",
        "secret.passphrase_failed" => "failed_passphrase",
        "secret.revoked" | "secret.destroyed" | "secret.expired" => "expire",
        "secret.applied" => "applied",
        _ => "other",
    }
}

/// `GET /api/v2/pushes/{token}/audit` (`{"logs": […]}`) and
/// `GET /p/{token}/audit.json` (`{"views": […]}`): for the staff member
/// who pushed it.
pub async fn audit_v2(
    state: State<AppState>,
    headers: HeaderMap,
    path: Path<String>,
    query: Query<PageQuery>,
) -> Response {
    audit(state, headers, path, query, "logs").await
}

pub async fn audit_legacy(
    state: State<AppState>,
    headers: HeaderMap,
    path: Path<String>,
    query: Query<PageQuery>,
) -> Response {
    audit(state, headers, path, query, "views").await
}

async fn audit(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    Query(query): Query<PageQuery>,
    field: &str,
) -> Response {
    let staff = match caller(&app, &headers) {
        Ok(Caller::Staff(name)) => name,
        Ok(Caller::Anonymous) | Err(_) => return unauthorized(),
    };
    let page = match page_of(&query) {
        Ok(page) => page,
        Err(bad) => return bad,
    };
    let Some(id) = id_of(&segment) else {
        return not_found();
    };
    let record = match load(&app, &id).await {
        Ok(record) => record,
        Err(failed) => return failed,
    };
    let since = record.as_ref().map_or_else(
        || now() - i64::try_from(app.settings.max_ttl.as_secs()).unwrap_or(i64::MAX / 4) * 2,
        |r| r.meta.created_at - 1,
    );
    let mut events = match events_of(&app, &id, since, PAGE_SIZE * page + 1).await {
        Ok(events) => events,
        Err(failed) => return failed,
    };
    let created = events.iter().find(|e| e.kind == "secret.created");
    match created {
        None if record.is_none() => return not_found(),
        Some(event) if event.actor == creator_label(&staff) => {}
        _ => return error(StatusCode::FORBIDDEN, "That push doesn't belong to you."),
    }
    events.sort_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
    let logs: Vec<AuditLog> = events
        .iter()
        .skip(PAGE_SIZE * (page - 1))
        .take(PAGE_SIZE)
        .map(|event| AuditLog {
            ip: event.ip.clone().unwrap_or_default(),
            user_agent: event.user_agent.clone().unwrap_or_default(),
            referrer: String::new(),
            kind: audit_kind(&event.kind),
            created_at: rfc3339(event.at),
            updated_at: rfc3339(event.at),
        })
        .collect();
    Json(json!({ field: logs })).into_response()
}

// ------------------------------------------------------------------ lists

/// How many creation events a list looks through: bounded, like every
/// query here.
const LIST_SCAN: usize = 2_000;

pub async fn active(
    state: State<AppState>,
    headers: HeaderMap,
    query: Query<PageQuery>,
) -> Response {
    list(state, headers, query, false).await
}

pub async fn expired(
    state: State<AppState>,
    headers: HeaderMap,
    query: Query<PageQuery>,
) -> Response {
    list(state, headers, query, true).await
}

/// `GET /api/v2/pushes/active` and `/expired` (and `/p/…json`): the staff
/// member's own pushes, newest first, found through the audit trail's
/// creation events. The server keeps no link key, so each push is named by
/// its bare id there: `pwpush audit` takes it; opening or expiring needs the
/// link.
async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    want_expired: bool,
) -> Response {
    let staff = match caller(&app, &headers) {
        Ok(Caller::Staff(name)) => name,
        Ok(Caller::Anonymous) | Err(_) => return unauthorized(),
    };
    let page = match page_of(&query) {
        Ok(page) => page,
        Err(bad) => return bad,
    };
    let now = now();
    let window = i64::try_from(app.settings.max_ttl.as_secs()).unwrap_or(i64::MAX / 4);
    let events = match app
        .service
        .audit_events(&AuditQuery {
            since: now - window - 1,
            until: now + 1,
            tenant: None,
            subject: None,
            kind: None,
            limit: LIST_SCAN,
        })
        .await
    {
        Ok(events) => events,
        Err(e) => return AppError::from(e).into_response(),
    };
    let label = creator_label(&staff);
    let mut pushes = Vec::new();
    let mut seen = 0;
    for event in events
        .iter()
        .filter(|e| e.kind == "secret.created" && e.actor == label)
    {
        let Some(id) = event
            .subject
            .as_deref()
            .and_then(|s| SecretId::parse(s).ok())
        else {
            continue;
        };
        let record = match load(&app, &id).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(failed) => return failed,
        };
        let mut object = object_of(&app, &id.to_string(), &record, false);
        if object.expired != want_expired {
            continue;
        }
        seen += 1;
        if seen <= PAGE_SIZE * (page - 1) {
            continue;
        }
        object.note = Some(String::new());
        object.name = Some(String::new());
        pushes.push(object);
        if pushes.len() == PAGE_SIZE {
            break;
        }
    }
    Json(pushes).into_response()
}

// ------------------------------------------------------------------ pages

/// `GET /p/{token}` and `/p/{token}/r`: the link a person shares, and what
/// a link preview bot opens. It consumes nothing: it sends the browser on to
/// handoff's recipient page, `/s/{id}#{K}`, with the key where handoff keeps
/// it, in the fragment, which the browser never sends again; the page then
/// asks before it reveals. (`/p/{token}.json` is the API's retrieval.)
pub async fn open(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(segment): Path<String>,
    Query(query): Query<RetrieveQuery>,
    Idempotency(idempotency): Idempotency,
) -> Response {
    if segment.strip_suffix(".json").is_some() {
        return retrieve_push(&app, &client, &headers, &segment, query, idempotency).await;
    }
    open_page(&segment)
}

pub async fn open_with_step(Path(segment): Path<String>) -> Response {
    open_page(&segment)
}

fn open_page(segment: &str) -> Response {
    match PushToken::parse(segment) {
        Some(token) => {
            Redirect::to(&format!("/s/{}#{}", token.id(), token.key().encode())).into_response()
        }
        None => render::not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_map_onto_the_days_pwpush_sends() {
        assert_eq!(duration_days(6), Some(1));
        assert_eq!(duration_days(12), Some(7));
        assert_eq!(duration_days(13), Some(14));
        assert_eq!(duration_days(17), Some(90));
        assert_eq!(duration_days(5), None);
        assert_eq!(duration_days(18), None);
    }

    #[test]
    fn numbers_arrive_as_json_or_as_strings() {
        assert_eq!(number(Some(&json!("4"))), Some(4));
        assert_eq!(number(Some(&json!(4))), Some(4));
        assert_eq!(number(Some(&json!("four"))), None);
    }

    #[test]
    fn pages_start_at_one_and_stop_at_200() {
        let page = |p: &str| {
            page_of(&PageQuery {
                page: Some(p.into()),
            })
            .ok()
        };
        assert_eq!(page("0"), Some(1));
        assert_eq!(page("3"), Some(3));
        assert_eq!(page("201"), None);
        assert_eq!(page("x"), None);
    }
}
