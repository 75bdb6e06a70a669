//! HTTP: web pages, the JSON API, static assets, and the layers every
//! response goes through (security headers, tracing, metrics, body limits).
//!
//! Handler modules (`api`, `apply`, `audit`, `pages`, `pwpush`, `requests`, `staff`)
//! import only the leaf modules beside them, never one another: `state`,
//! `client` and `auth` (who is asking), `extract` (input), `error`,
//! `render` and `format` (output), `json` (the API's answer shapes),
//! `session` and `assets`.

mod api;
mod apply;
mod assets;
mod audit;
mod auth;
mod client;
mod error;
mod extract;
mod format;
mod json;
mod openapi;
mod pages;
mod pwpush;
mod pwpush_json;
mod pwpush_token;
mod render;
mod requests;
mod session;
mod staff;
mod state;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use auth::Staff;
pub use client::ClientAddr;
pub use error::AppError;
pub use session::SessionSigner;
pub use state::{AppParts, AppState, WebSettings};

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    // JSON may escape every byte of a secret as \uXXXX: allow for that, and
    // let the secret's own limit give the precise 413.
    let body_limit = state.settings.max_secret_bytes * 6 + 16 * 1024;
    let https = state.settings.public_url.is_https();

    let api = Router::new()
        .route("/secrets", post(api::create_secret))
        .route(
            "/secrets/{id}",
            get(api::secret_metadata).delete(api::delete_secret),
        )
        .route("/secrets/{id}/reveal", post(api::reveal_secret))
        .route("/secrets/{id}/status", get(api::secret_status))
        .route("/secrets/{id}/apply", post(apply::apply_secret))
        .route("/requests/{id}/apply", post(apply::apply_request))
        .route("/tenants", get(apply::tenants))
        .route(
            "/requests",
            post(requests::create_request).get(requests::list_requests),
        )
        .route(
            "/requests/{id}",
            get(requests::request_view).delete(requests::cancel_request),
        )
        .route("/requests/{id}/answer", post(requests::answer_request))
        .route("/requests/{id}/check", post(requests::check_certificate))
        .route("/requests/{id}/details", get(requests::request_details))
        .route("/requests/{id}/retrieve", post(requests::retrieve_answer))
        .route("/audit", get(audit::audit_api))
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(api::no_route)
        .method_not_allowed_fallback(api::method_not_allowed);

    // Password Pusher's API v2; every route also answers with `.json`.
    let pwpush_v2 = Router::new()
        .route("/version", get(pwpush::version_document))
        .route("/version.json", get(pwpush::version_document))
        .route("/pushes", post(pwpush::create_v2))
        .route("/pushes.json", post(pwpush::create_v2))
        .route("/pushes/active", get(pwpush::active))
        .route("/pushes/active.json", get(pwpush::active))
        .route("/pushes/expired", get(pwpush::expired))
        .route("/pushes/expired.json", get(pwpush::expired))
        .route(
            "/pushes/{token}",
            get(pwpush::retrieve).delete(pwpush::expire),
        )
        .route("/pushes/{token}/preview", get(pwpush::preview))
        .route("/pushes/{token}/preview.json", get(pwpush::preview))
        .route("/pushes/{token}/audit", get(pwpush::audit_v2))
        .route("/pushes/{token}/audit.json", get(pwpush::audit_v2));

    let router = Router::new()
        .route("/", get(pages::create_page).post(pages::create_from_form))
        // Password Pusher's links and legacy JSON routes: `/p/{token}` is
        // the shared link (consumes nothing), `/p/{token}.json` the API's
        // retrieval (consumes a view).
        .route("/p.json", post(pwpush::create_legacy))
        .route("/p/active.json", get(pwpush::active))
        .route("/p/expired.json", get(pwpush::expired))
        .route("/p/{token}", get(pwpush::open).delete(pwpush::expire))
        .route("/p/{token}/r", get(pwpush::open_with_step))
        .route("/p/{token}/preview.json", get(pwpush::preview))
        .route("/p/{token}/audit.json", get(pwpush::audit_legacy))
        .nest("/api/v2", pwpush_v2)
        .route("/s/{id}", get(pages::reveal_page))
        .route("/m/{id}", get(pages::status_page))
        .route("/static/{version}/{file}", get(assets::serve))
        .route("/assets/logo", get(pages::logo))
        .route("/assets/brand.css", get(pages::brand_css))
        .route("/r/{id}", get(requests::customer_page))
        .route("/staff", get(pages::staff_home))
        .route(
            "/staff/requests",
            get(requests::staff_requests_page).post(requests::create_request_from_form),
        )
        .route("/staff/requests/{id}", get(requests::retrieve_page))
        .route(
            "/staff/requests/{id}/cancel",
            post(requests::cancel_request_from_form),
        )
        .route("/staff/audit", get(audit::audit_page))
        .route(
            "/staff/sign-in",
            get(staff::sign_in_page).post(staff::sign_in),
        )
        .route("/staff/sign-out", post(staff::sign_out))
        .route("/api", get(openapi::api_page))
        .route("/metrics", get(apply::metrics))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .nest("/api/v1", api)
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // The route template only: raw paths and bodies may carry ids
                // and secrets; the link key never reaches us at all.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .layer(CatchPanicLayer::custom(api::panic_response))
        .with_state(state);

    security_headers(router, https)
}

/// Counts every request by route template, method and status, and times
/// it; logs the internal cause of an error once, here, inside the request's
/// span.
async fn observe(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    if let Some(error::ErrorCause { internal, cause }) = response.extensions().get() {
        if *internal {
            tracing::error!(%cause, status = response.status().as_u16(), "internal error");
        } else {
            tracing::warn!(%cause, status = response.status().as_u16(), "a dependency is unavailable");
        }
    }
    state.service.metrics().http_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn security_headers(router: Router, https: bool) -> Router {
    let fixed = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    let router = router
        // The logo sets a stricter policy of its own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(fixed(header::REFERRER_POLICY, "no-referrer"))
        .layer(fixed(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(fixed(header::X_FRAME_OPTIONS, "DENY"))
        // Static assets set their own long-lived caching; everything else
        // may carry secret data and is never stored.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    if https {
        router.layer(fixed(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        router
    }
}
