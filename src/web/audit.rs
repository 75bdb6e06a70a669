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
use crate::audit::{AuditEvent, AuditQuery, Kind};
use crate::domain::{InvalidInput, UnixTime, now};

const DEFAULT_WINDOW_SECS: i64 = 7 * 86_400;
const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 1000;
/// The most events of one second that paging can step over.
const MAX_SKIP: usize = 900;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this tenant's events.
    tenant: Option<String>,
    /// A date (`2026-11-22`), an RFC 3339 time, or Unix seconds; a week
    /// before `until` when absent.
    since: Option<String>,
    /// As `since`; now when absent. The "Older" link of the audit page
    /// pages back with it.
    until: Option<String>,
    /// Only events of this kind (`request.cancelled`, `staff.sign_in_failed`, …).
    kind: Option<String>,
    /// With `until`: leave out this many events of that very second, the
    /// newest first (they were on the newer page). The audit page's
    /// "Older" link sets it.
    #[param(maximum = 900)]
    skip: Option<usize>,
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
        let skip = self.skip.unwrap_or(0);
        if skip > MAX_SKIP {
            return Err(InvalidInput::new(
                "skip",
                format!("must be from 0 to {MAX_SKIP}"),
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(InvalidInput::new(
                "limit",
                format!("must be from 1 to {MAX_LIMIT}"),
            ));
        }
        let kind = self
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                Kind::ALL
                    .into_iter()
                    .find(|known| known.as_str() == k)
                    .map(|known| known.as_str().to_owned())
                    .ok_or_else(|| {
                        InvalidInput::new("kind", "is not an audit event kind (see the README)")
                    })
            })
            .transpose()?;
        Ok(AuditQuery {
            since: since.unwrap_or(until - DEFAULT_WINDOW_SECS),
            until,
            tenant: self.tenant.clone().filter(|t| !t.is_empty()),
            subject: None,
            kind,
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
/// `GET /api/v1/audit?tenant=&since=&until=&kind=&limit=` (staff).
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
    /// The kind filter: `(code, label, selected)` for each kind.
    kinds: Vec<(&'static str, &'static str, bool)>,
    /// The link to the next older page, when there is one.
    older: Option<String>,
    error: Option<String>,
    events: Vec<EventRow>,
}

/// Events on one page of the audit page.
const PAGE_EVENTS: usize = 100;

/// Where an older page starts: at or before `until`, after the first
/// `skip` events of that very second (shown on the newer page already).
/// Events of one second come in a fixed order (by id), so paging this way
/// neither repeats nor skips one, however many share a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    until: UnixTime,
    skip: usize,
}

/// One page from `events` (newest first, as queried from the cursor's
/// `until` with `skip + PAGE_EVENTS + 1` as the limit), and the cursor of
/// the next older page when there is one.
fn one_page(events: Vec<AuditEvent>, from: Cursor) -> (Vec<AuditEvent>, Option<Cursor>) {
    let skip = events
        .iter()
        .take(from.skip)
        .take_while(|e| e.at == from.until)
        .count();
    let mut events: Vec<AuditEvent> = events.into_iter().skip(skip).collect();
    let more = events.len() > PAGE_EVENTS;
    events.truncate(PAGE_EVENTS);
    let older = match events.last() {
        Some(last) if more => {
            let same_second = events.iter().filter(|e| e.at == last.at).count();
            Some(Cursor {
                until: last.at,
                skip: same_second + if last.at == from.until { skip } else { 0 },
            })
        }
        _ => None,
    };
    (events, older)
}

/// `GET /staff/audit`.
pub async fn audit_page(
    State(app): State<AppState>,
    StaffPage(staff): StaffPage,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let (events, older, error, status) = match params.query() {
        Ok(mut query) => {
            let from = Cursor {
                until: query.until,
                skip: params.skip.unwrap_or(0),
            };
            query.limit = from.skip + PAGE_EVENTS + 1;
            match app.service.audit_events(&query).await {
                Ok(events) => {
                    let (events, older) = one_page(events, from);
                    let older = older.map(|cursor| older_link(&params, query.since, cursor));
                    (events, older, None, StatusCode::OK)
                }
                Err(error) => return error_page(error.into()),
            }
        }
        Err(invalid) => (
            Vec::new(),
            None,
            Some(invalid.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let chosen_kind = params.kind.clone().unwrap_or_default();
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
            kinds: Kind::ALL
                .into_iter()
                .map(|k| {
                    (
                        k.as_str(),
                        audit_label(k.as_str()),
                        k.as_str() == chosen_kind,
                    )
                })
                .collect(),
            older,
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

/// The same filters, ending just before this page: `/staff/audit?…&until=…`.
fn older_link(params: &AuditParams, since: UnixTime, cursor: Cursor) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(tenant) = params.tenant.as_deref().filter(|t| !t.is_empty()) {
        query.append_pair("tenant", tenant);
    }
    if let Some(kind) = params.kind.as_deref().filter(|k| !k.is_empty()) {
        query.append_pair("kind", kind);
    }
    query.append_pair("since", &since.to_string());
    query.append_pair("until", &cursor.until.to_string());
    query.append_pair("skip", &cursor.skip.to_string());
    format!("/staff/audit?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditEvent, Kind};

    fn at(seconds: &[UnixTime]) -> Vec<AuditEvent> {
        seconds
            .iter()
            .map(|&s| {
                let mut event = AuditEvent::new(Kind::RequestCreated, &Actor::System);
                event.at = s;
                event
            })
            .collect()
    }

    #[test]
    fn paging_by_time_repeats_and_skips_nothing_even_within_one_second() {
        // 250 events, most of them in one second, paged through as the
        // audit page does.
        let mut seconds: Vec<UnixTime> = vec![2000, 1999];
        seconds.extend(std::iter::repeat_n(1500, 230));
        seconds.extend((0..18).map(|i| 1000 - i));
        let all = at(&seconds);
        let mut from = Cursor {
            until: 5000,
            skip: 0,
        };
        let mut seen = 0;
        for _ in 0..10 {
            // What the store answers: newest first, at or before `until`.
            let queried: Vec<AuditEvent> = all
                .iter()
                .filter(|e| e.at <= from.until)
                .take(from.skip + PAGE_EVENTS + 1)
                .cloned()
                .collect();
            let (page, older) = one_page(queried, from);
            assert!(page.iter().all(|e| e.at <= from.until));
            for (offset, event) in page.iter().enumerate() {
                assert_eq!(
                    event.event_id,
                    all[seen + offset].event_id,
                    "in order, once"
                );
            }
            seen += page.len();
            match older {
                Some(cursor) => from = cursor,
                None => break,
            }
        }
        assert_eq!(seen, all.len());
    }
}
