//! Server-rendered pages (askama templates in `templates/`). The recipient
//! and status pages are shells: the key or token sits in the URL fragment,
//! which never reaches the server, and `static/*.js` does the rest through
//! the JSON API. Opening a page therefore reads and consumes nothing.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::assets::STATIC_BASE;
use super::auth::StaffPage;
use super::client::ClientAddr;
use super::error::AppError;
use super::extract::{NumberOrText, PageId};
use super::format::human_time;
use super::render::{MailRow, TenantRow, error_page, render, ttl_options};
use super::state::AppState;
use crate::domain::{Note, Passphrase, SecretText};
use crate::service::NewSecret;

#[derive(Template)]
#[template(path = "create.html")]
struct CreatePage<'a> {
    static_base: &'a str,
    error: Option<String>,
    ttl_options: Vec<(String, String, bool)>,
    max_views: u32,
    views: u32,
    note: String,
}

#[derive(Template)]
#[template(path = "created.html")]
struct CreatedPage<'a> {
    static_base: &'a str,
    link: String,
    manage_link: String,
    expires_at: String,
    views: u32,
    passphrase_set: bool,
}

#[derive(Template)]
#[template(path = "reveal.html")]
struct RevealPage<'a> {
    static_base: &'a str,
    id: String,
    /// For signed-in staff: tenants with a sink, to apply the secret to
    /// instead of revealing it. Empty for everyone else.
    apply_tenants: Vec<TenantRow>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    static_base: &'a str,
    id: String,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffHomePage<'a> {
    static_base: &'a str,
    staff_name: &'a str,
    csrf: &'a str,
    vendor_name: &'a str,
    tenants: Vec<TenantExpiryRow>,
}

/// A tenant on the staff home page: its secret's expiry at a glance.
struct TenantExpiryRow {
    pub slug: String,
    pub name: String,
    /// `ok`, `expiring`, `expired`, `expiry_unknown` or `never_received`.
    pub status: &'static str,
    /// "in 12 days", "3 days ago", or empty.
    pub days_left: String,
    pub expires_on: String,
    pub applied_at: String,
    pub applied_by: String,
    pub hint: String,
    /// The sink's name, or empty.
    pub sink: String,
    /// "Request sent automatically on …", with the request's state.
    pub auto_request: Option<String>,
    /// How the tenant's last mail went.
    pub mail: Option<MailRow>,
}

/// `GET /staff`: the staff home page.
pub async fn staff_home(State(app): State<AppState>, StaffPage(staff): StaffPage) -> Response {
    let directory = app.directory.current();
    let statuses = match app.service.tenant_statuses().await {
        Ok(statuses) => statuses,
        Err(error) => return error_page(error.into()),
    };
    let mail_events = app.service.recent_mail_events().await.unwrap_or_default();
    let requests = app.service.list_requests().await.unwrap_or_default();
    let tenants = statuses
        .iter()
        .map(|s| {
            let record = s.record.as_ref();
            let auto_request = record.and_then(|r| r.auto_request.as_ref()).map(|auto| {
                let state = requests
                    .iter()
                    .find(|r| r.id.to_string() == auto.request_id)
                    .map_or("expired", |r| r.record.state.as_str());
                format!(
                    "Request sent automatically on {} (for the expiry on {}): {state}",
                    human_time(auto.at),
                    auto.for_expiry
                )
            });
            TenantExpiryRow {
                slug: s.tenant.slug.clone(),
                name: s.tenant.name.clone(),
                status: s.status.as_str(),
                days_left: match s.days_left {
                    Some(0) => "today".to_owned(),
                    Some(days) if days > 0 => format!("in {days} days"),
                    Some(days) => format!("{} days ago", -days),
                    None => String::new(),
                },
                expires_on: record
                    .and_then(|r| r.expires_on.clone())
                    .unwrap_or_default(),
                applied_at: record.map(|r| human_time(r.applied_at)).unwrap_or_default(),
                applied_by: record.map(|r| r.applied_by.clone()).unwrap_or_default(),
                hint: record.map(|r| r.hint.clone()).unwrap_or_default(),
                sink: s
                    .tenant
                    .sink
                    .as_ref()
                    .map(|(sink, _)| sink.clone())
                    .unwrap_or_default(),
                auto_request,
                mail: mail_events
                    .iter()
                    .find(|e| e.tenant.as_deref() == Some(s.tenant.slug.as_str()))
                    .map(MailRow::of),
            }
        })
        .collect();
    render(
        StatusCode::OK,
        &StaffHomePage {
            static_base: &STATIC_BASE,
            staff_name: &staff.name,
            csrf: staff.csrf.as_deref().unwrap_or(""),
            vendor_name: &directory.vendor_name,
            tenants,
        },
    )
}

fn create_form(
    app: &AppState,
    error: Option<String>,
    form: Option<&CreateForm>,
) -> CreatePage<'static> {
    CreatePage {
        static_base: &STATIC_BASE,
        error,
        ttl_options: ttl_options(
            app.settings.default_ttl,
            app.settings.max_ttl,
            form.map(|f| f.ttl.as_str()),
        ),
        max_views: app.settings.max_views.get(),
        views: form.and_then(|f| f.views.trim().parse().ok()).unwrap_or(1),
        note: form.map(|f| f.note.clone()).unwrap_or_default(),
    }
}

pub async fn create_page(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    if app.settings.require_staff_to_push && app.staff_from(&headers, &client).is_none() {
        return Redirect::to("/staff/sign-in?next=/").into_response();
    }
    render(StatusCode::OK, &create_form(&app, None, None))
}

#[derive(Deserialize)]
pub struct CreateForm {
    secret: SecretString,
    #[serde(default)]
    ttl: String,
    #[serde(default)]
    views: String,
    passphrase: Option<SecretString>,
    #[serde(default)]
    note: String,
}

impl CreateForm {
    fn parse(&self, app: &AppState) -> Result<NewSecret, crate::domain::InvalidInput> {
        Ok(NewSecret {
            secret: SecretText::parse(
                Zeroizing::new(self.secret.expose_secret().to_owned()),
                app.settings.max_secret_bytes,
            )?,
            ttl: app
                .settings
                .ttl(Some(NumberOrText::Text(self.ttl.clone())))?,
            views: app
                .settings
                .views(Some(NumberOrText::Text(self.views.clone())))?,
            passphrase: Passphrase::parse_optional(
                self.passphrase
                    .as_ref()
                    .map(|p| Zeroizing::new(p.expose_secret().to_owned())),
            )?,
            note: Note::parse_optional(Some(&self.note))?,
        })
    }
}

/// `POST /`: the create form, without JavaScript.
pub async fn create_from_form(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let staff = match app.staff_for_change(&Method::POST, &headers, &client) {
        Ok(staff) => staff,
        Err(error) => return error_page(error),
    };
    if app.settings.require_staff_to_push && staff.is_none() {
        return error_page(AppError::Unauthorized);
    }
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_page(AppError::PayloadTooLarge("The secret is too large.".into()));
        }
        Err(rejection) => return error_page(AppError::BadRequest(rejection.body_text())),
    };
    let new = match form.parse(&app) {
        Ok(new) => new,
        Err(invalid) => {
            let status = if invalid.too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = format!("{}: {}", invalid.field, invalid.reason);
            return render(status, &create_form(&app, Some(message), Some(&form)));
        }
    };
    let passphrase_set = new.passphrase.is_some();
    let caller = crate::service::Client {
        staff: staff.map(|s| s.name),
        ..client.to_client()
    };
    match app.service.create(new, &caller).await {
        Ok(created) => {
            let (link, manage_link) = app.settings.secret_links(&created);
            render(
                StatusCode::CREATED,
                &CreatedPage {
                    static_base: &STATIC_BASE,
                    link,
                    manage_link,
                    expires_at: human_time(created.expires_at),
                    views: created.views,
                    passphrase_set,
                },
            )
        }
        Err(error) => error_page(error.into()),
    }
}

/// `GET /s/{id}`: the recipient's page. Reads nothing from the store.
pub async fn reveal_page(
    State(app): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    PageId(id): PageId,
) -> Response {
    let apply_tenants = if app.staff_from(&headers, &client).is_some() {
        app.directory
            .current()
            .tenants()
            .filter(|t| t.sink.is_some())
            .map(TenantRow::from)
            .collect()
    } else {
        Vec::new()
    };
    render(
        StatusCode::OK,
        &RevealPage {
            static_base: &STATIC_BASE,
            id: id.to_string(),
            apply_tenants,
        },
    )
}

/// `GET /m/{id}`: the sender's status page.
pub async fn status_page(PageId(id): PageId) -> Response {
    render(
        StatusCode::OK,
        &StatusPage {
            static_base: &STATIC_BASE,
            id: id.to_string(),
        },
    )
}

/// Every path no route takes.
pub async fn not_found() -> Response {
    super::render::not_found()
}
