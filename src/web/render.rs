//! Rendering pages: askama templates (which escape by default), the error
//! and not-found pages, and the pieces several pages share.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::assets::STATIC_BASE;
use super::error::AppError;
use crate::directory::Tenant;
use crate::domain::Ttl;

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    static_base: &'a str,
    title: String,
    message: String,
}

/// An error as a page, with the same status and headers as on the API.
pub fn error_page(error: AppError) -> Response {
    error.respond_with(|described| {
        render(
            described.status,
            &ErrorPage {
                static_base: &STATIC_BASE,
                title: described
                    .status
                    .canonical_reason()
                    .unwrap_or("Error")
                    .to_owned(),
                message: described.message.clone(),
            },
        )
    })
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    static_base: &'a str,
}

#[must_use]
pub fn not_found() -> Response {
    render(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            static_base: &STATIC_BASE,
        },
    )
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    static_base: &'a str,
    error: Option<&'a str>,
    next: &'a str,
}

pub fn sign_in_page(error: Option<&str>, next: &str, status: StatusCode) -> Response {
    render(
        status,
        &SignInPage {
            static_base: &STATIC_BASE,
            error,
            next,
        },
    )
}

/// One configured tenant, as staff pages list it.
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub entra_tenant: String,
}

impl From<&Tenant> for TenantRow {
    fn from(tenant: &Tenant) -> Self {
        Self {
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
            entra_tenant: tenant.entra_tenant.clone(),
        }
    }
}

/// How a mail went, as the staff pages show it.
pub struct MailRow {
    /// `queued`, `sent` or `failed`.
    pub kind: &'static str,
    pub label: String,
    pub detail: Option<String>,
}

impl MailRow {
    /// From a `mail.*` audit event.
    #[must_use]
    pub fn of(event: &crate::audit::AuditEvent) -> Self {
        let at = super::format::human_time(event.at);
        let (kind, label) = match event.kind.as_str() {
            "mail.sent" => ("sent", format!("Mailed {at}")),
            "mail.failed" => ("failed", format!("Mail failed {at}")),
            _ => ("queued", format!("Mail queued {at}")),
        };
        Self {
            kind,
            label,
            detail: (kind == "failed").then(|| event.detail.clone()).flatten(),
        }
    }
}

/// Expiry choices offered in forms, up to the configured maximum: `(value
/// in seconds, label, selected)`.
#[must_use]
pub fn ttl_options(default: Ttl, max: Ttl, selected: Option<&str>) -> Vec<(String, String, bool)> {
    const CHOICES: &[(u64, &str)] = &[
        (3600, "1 hour"),
        (4 * 3600, "4 hours"),
        (86_400, "1 day"),
        (3 * 86_400, "3 days"),
        (7 * 86_400, "7 days"),
        (14 * 86_400, "14 days"),
        (30 * 86_400, "30 days"),
    ];
    let mut secs: Vec<(u64, String)> = CHOICES
        .iter()
        .filter(|(s, _)| *s <= max.as_secs())
        .map(|(s, label)| (*s, (*label).to_owned()))
        .collect();
    for extra in [default, max] {
        if !secs.iter().any(|(s, _)| *s == extra.as_secs()) {
            secs.push((extra.as_secs(), extra.to_string()));
        }
    }
    secs.sort_unstable_by_key(|(s, _)| *s);
    let selected = selected.unwrap_or("");
    secs.into_iter()
        .map(|(s, label)| {
            let value = s.to_string();
            let is_selected = if selected.is_empty() {
                s == default.as_secs()
            } else {
                value == selected
            };
            (value, label, is_selected)
        })
        .collect()
}
