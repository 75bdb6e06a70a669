//! Server-rendered pages (askama templates in `templates/`). The recipient
//! and status pages are shells: the key or token sits in the URL fragment,
//! which never reaches the server, and `static/*.js` does the rest through
//! the JSON API. Opening a page therefore reads and consumes nothing.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::auth::StaffPage;
use super::client::ClientAddr;
use super::error::AppError;
use super::extract::{NumberOrText, PageId, PageLanguage};
use super::format::{human_time, rfc3339};
use super::render::{Chrome, MailRow, TenantRow, error_page_in, not_found_in, render, ttl_options};
use super::state::AppState;
use crate::domain::{Label, Note, Passphrase, SecretText};
use crate::locale::{Language, number};
use crate::service::NewSecret;

#[derive(Template)]
#[template(path = "create.html")]
struct CreatePage {
    page: Chrome,
    /// The field a server-side check refused, and why, in words.
    error: Option<FormError>,
    ttl_options: Vec<(String, String, bool)>,
    max_views: u32,
    views: String,
    note: String,
    label: String,
}

/// A refused field of the create form.
struct FormError {
    field: &'static str,
    message: String,
}

impl CreatePage {
    /// The error's message when it is about `field`.
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[derive(Template)]
#[template(path = "created.html")]
struct CreatedPage {
    page: Chrome,
    link: String,
    manage_link: String,
    /// RFC 3339, which the page's script writes in the reader's words.
    expires_at_iso: String,
    expires_at: String,
    views: u32,
    passphrase_set: bool,
    /// The link as a QR code: SVG markup drawn here, not by a script.
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "reveal.html")]
struct RevealPage {
    page: Chrome,
    id: String,
    /// For signed-in staff: tenants with a sink, to apply the secret to
    /// instead of revealing it. Empty for everyone else.
    apply_tenants: Vec<TenantRow>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    page: Chrome,
    id: String,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffHomePage<'a> {
    page: Chrome,
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
        Err(error) => return error_page_in(app.staff_chrome(), error.into()),
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
            page: app.staff_chrome(),
            staff_name: &staff.name,
            csrf: staff.csrf.as_deref().unwrap_or(""),
            vendor_name: &directory.vendor_name,
            tenants,
        },
    )
}

fn create_form(
    app: &AppState,
    lang: Language,
    error: Option<FormError>,
    form: Option<&CreateForm>,
) -> CreatePage {
    CreatePage {
        page: app.chrome(lang),
        error,
        ttl_options: ttl_options(
            lang,
            app.settings.default_ttl,
            app.settings.max_ttl,
            form.map(|f| f.ttl.as_str()),
        ),
        max_views: app.settings.max_views.get(),
        // What was typed, as typed: the field says what is wrong with it.
        views: form.map_or_else(|| "1".to_owned(), |f| f.views.clone()),
        note: form.map(|f| f.note.clone()).unwrap_or_default(),
        label: form.map(|f| f.label.clone()).unwrap_or_default(),
    }
}

/// A refused field in words the reader reads, beside the field.
fn form_error(app: &AppState, lang: Language, invalid: &crate::domain::InvalidInput) -> FormError {
    let max_views = u64::from(app.settings.max_views.get());
    let max_bytes = app.settings.max_secret_bytes as u64;
    let (field, message) = match invalid.field {
        "secret" if invalid.too_large => (
            "secret",
            lang.text_with("form-error-secret-too-large", &[("max", number(max_bytes))]),
        ),
        "ttl" => ("ttl", lang.text("form-error-ttl")),
        "views" => (
            "views",
            lang.text_with("form-error-views", &[("max", number(max_views))]),
        ),
        "passphrase" => ("passphrase", lang.text("form-error-passphrase")),
        "note" => ("note", lang.text("form-error-note")),
        "label" => ("label", lang.text("form-error-label")),
        _ => ("secret", lang.text("form-error-secret")),
    };
    FormError { field, message }
}

pub async fn create_page(
    State(app): State<AppState>,
    client: ClientAddr,
    PageLanguage(lang): PageLanguage,
    headers: HeaderMap,
) -> Response {
    if app.settings.require_staff_to_push && app.staff_from(&headers, &client).is_none() {
        return Redirect::to("/staff/sign-in?next=/").into_response();
    }
    render(StatusCode::OK, &create_form(&app, lang, None, None))
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
    /// Shown only to the sender, on the manage page.
    #[serde(default)]
    label: String,
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
            label: Label::parse_optional(Some(&self.label))?,
        })
    }
}

/// `POST /`: the create form, without JavaScript.
pub async fn create_from_form(
    State(app): State<AppState>,
    client: ClientAddr,
    PageLanguage(lang): PageLanguage,
    headers: HeaderMap,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let staff = match app.staff_for_change(&Method::POST, &headers, &client) {
        Ok(staff) => staff,
        Err(error) => return error_page_in(app.chrome(lang), error),
    };
    if app.settings.require_staff_to_push && staff.is_none() {
        return error_page_in(app.chrome(lang), AppError::Unauthorized);
    }
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_page_in(
                app.chrome(lang),
                AppError::PayloadTooLarge("The secret is too large.".into()),
            );
        }
        Err(rejection) => {
            return error_page_in(
                app.chrome(lang),
                AppError::BadRequest(rejection.body_text()),
            );
        }
    };
    let new = match form.parse(&app) {
        Ok(new) => new,
        Err(invalid) => {
            let status = if invalid.too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let error = form_error(&app, lang, &invalid);
            return render(status, &create_form(&app, lang, Some(error), Some(&form)));
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
            let qr_svg = qr_code(&link);
            render(
                StatusCode::CREATED,
                &CreatedPage {
                    page: app.chrome(lang),
                    qr_svg,
                    link,
                    manage_link,
                    expires_at_iso: rfc3339(created.expires_at),
                    expires_at: human_time(created.expires_at),
                    views: created.views,
                    passphrase_set,
                },
            )
        }
        Err(error) => error_page_in(app.chrome(lang), error.into()),
    }
}

/// The link as an SVG QR code. The link is all it encodes; the markup is
/// the renderer's own rectangles, so it is safe to put in the page as is.
fn qr_code(link: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
        Err(error) => {
            tracing::warn!(%error, "no QR code for the link");
            String::new()
        }
    }
}

/// `GET /s/{id}`: the recipient's page. Reads nothing from the store.
pub async fn reveal_page(
    State(app): State<AppState>,
    client: ClientAddr,
    PageLanguage(lang): PageLanguage,
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
            page: app.chrome(lang),
            id: id.to_string(),
            apply_tenants,
        },
    )
}

/// `GET /m/{id}`: the sender's status page.
pub async fn status_page(
    State(app): State<AppState>,
    PageLanguage(lang): PageLanguage,
    PageId(id): PageId,
) -> Response {
    render(
        StatusCode::OK,
        &StatusPage {
            page: app.chrome(lang),
            id: id.to_string(),
        },
    )
}

/// Every path no route takes.
pub async fn not_found(State(app): State<AppState>, PageLanguage(lang): PageLanguage) -> Response {
    not_found_in(app.chrome(lang))
}

/// `GET /assets/logo`: the vendor's logo. An SVG may hold scripts and
/// links; it is served with a policy that runs and loads nothing.
pub async fn logo(State(app): State<AppState>) -> Response {
    let Some(logo) = &app.settings.branding.logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let policy = if logo.is_svg() {
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    } else {
        "default-src 'none'"
    };
    (
        [
            (header::CONTENT_TYPE, logo.content_type()),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        logo.bytes().to_vec(),
    )
        .into_response()
}

/// `GET /assets/brand.css`: the vendor's accent colour as custom
/// properties, so that pages keep their `style-src 'self'` policy.
pub async fn brand_css(State(app): State<AppState>) -> Response {
    let Some(accent) = app.settings.branding.accent else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        accent.stylesheet(),
    )
        .into_response()
}
