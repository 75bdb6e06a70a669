//! The audit trail for staff: `GET /api/v1/audit` and the `/staff/audit`
//! page, filtered by tenant and time.

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use utoipa::IntoParams;

use super::auth::{Staff, StaffPage};
use super::error::AppError;
use super::extract::AppQuery;
use super::format::{audit_label, human_time, rfc3339};
use super::json::{AuditTrail, Event};
use super::render::{Chrome, TenantRow, error_page, render};
use super::state::AppState;
use crate::audit::AuditQuery;
use crate::domain::{InvalidInput, UnixTime, now};

const DEFAULT_WINDOW_SECS: i64 = 7 * 86_400;
const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this tenant's events.
    tenant: Option<String>,
    /// A date (`2026-11-22`), an RFC 3339 time, or Unix seconds; a week
    /// before `until` when absent.
    since: Option<String>,
    /// As `since`; now when absent.
    until: Option<String>,
    /// At most this many events, 1 to 1000 (200 when absent).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// `2026-11-22`, `2026-11-22T10:32:00Z`, or seconds since the epoch.
fn parse_time(field: &'static str, text: &str) -> Result<UnixTime, InvalidInput> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at.unix_timestamp());
    }
    time::Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map(|date| date.midnight().assume_utc().unix_timestamp())
        .map_err(|_| {
            InvalidInput::new(
                field,
                "must be a date (2026-11-22), an RFC 3339 time, or Unix seconds",
            )
        })
}

impl AuditParams {
    fn query(&self) -> Result<AuditQuery, InvalidInput> {
        let until = self
            .until
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_time("until", t))
            .transpose()?;
        let since = self
            .since
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_time("since", t))
            .transpose()?;
        let until = until.unwrap_or_else(now);
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(InvalidInput::new(
                "limit",
                format!("must be from 1 to {MAX_LIMIT}"),
            ));
        }
        Ok(AuditQuery {
            since: since.unwrap_or(until - DEFAULT_WINDOW_SECS),
            until,
            tenant: self.tenant.clone().filter(|t| !t.is_empty()),
            subject: None,
            limit,
        })
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    summary = "The audit trail",
    params(AuditParams),
    responses((status = 200, description = "The events, newest last", body = AuditTrail)),
    security(("staff_token" = [])),
    extensions(("x-error-codes" = json!(["bad_request", "invalid_field", "unauthorized", "unavailable", "forbidden", "internal"]))),
)]
/// `GET /api/v1/audit?tenant=&since=&until=&limit=` (staff).
pub async fn audit_api(
    State(app): State<AppState>,
    _staff: Staff,
    AppQuery(params): AppQuery<AuditParams>,
) -> Result<Response, AppError> {
    let query = params.query()?;
    let events = app.service.audit_events(&query).await?;
    Ok(Json(AuditTrail {
        since: rfc3339(query.since),
        until: rfc3339(query.until),
        events: events.iter().map(Event::from).collect(),
    })
    .into_response())
}

struct EventRow {
    pub at: String,
    /// In words ("Sign-in failed"); the code stays beside it for searches.
    pub label: String,
    pub kind: String,
    pub actor: String,
    pub ip: String,
    pub subject: String,
    pub tenant: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    page: Chrome,
    staff_name: &'a str,
    csrf: &'a str,
    vendor_name: &'a str,
    tenants: Vec<TenantRow>,
    tenant: String,
    since: String,
    error: Option<String>,
    events: Vec<EventRow>,
}

/// `GET /staff/audit`.
pub async fn audit_page(
    State(app): State<AppState>,
    StaffPage(staff): StaffPage,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let (events, error, status) = match params.query() {
        Ok(query) => match app.service.audit_events(&query).await {
            Ok(events) => (events, None, StatusCode::OK),
            Err(error) => return error_page(error.into()),
        },
        Err(invalid) => (
            Vec::new(),
            Some(invalid.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let directory = app.directory.current();
    render(
        status,
        &AuditPage {
            page: app.staff_chrome(),
            staff_name: &staff.name,
            csrf: staff.csrf.as_deref().unwrap_or(""),
            vendor_name: &directory.vendor_name,
            tenants: directory.tenants().map(TenantRow::from).collect(),
            tenant: params.tenant.clone().unwrap_or_default(),
            since: params.since.clone().unwrap_or_default(),
            error,
            events: events
                .iter()
                .map(|e| EventRow {
                    at: human_time(e.at),
                    label: audit_label(&e.kind).to_owned(),
                    kind: e.kind.clone(),
                    actor: e.actor.clone(),
                    ip: e.ip.clone().unwrap_or_default(),
                    subject: e.subject.clone().unwrap_or_default(),
                    tenant: e.tenant.clone().unwrap_or_default(),
                    detail: match (&e.detail, e.aadsts) {
                        (Some(detail), Some(code)) => format!("{detail} (AADSTS{code})"),
                        (Some(detail), None) => detail.clone(),
                        (None, Some(code)) => format!("AADSTS{code}"),
                        (None, None) => String::new(),
                    },
                })
                .collect(),
        },
    )
}
