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

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument as _;

pub use auth::Staff;
pub use client::ClientAddr;
pub use error::AppError;
pub use session::SessionSigner;
pub use state::{AppParts, AppState, WebSettings};

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The whole HTTP application. The layers that need no route run once
/// around the router: a layer given to `Router::layer` wraps every route
/// in a boxed service that is cloned, box and all, for each request, so
/// only what needs the matched route ([`observe`]) sits inside.
pub fn app(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ 'static {
    // JSON may escape every byte of a secret as \uXXXX: allow for that, and
    // let the secret's own limit give the precise 413.
    let body_limit = state.settings.max_secret_bytes * 6 + 16 * 1024;
    let https = state.settings.public_url.is_https();
    tower::ServiceBuilder::new()
        .map_response(move |response| with_security_headers(response, https))
        .map_response(|response: axum::http::Response<_>| response.map(Body::new))
        .layer(CatchPanicLayer::custom(api::panic_response))
        .layer(DefaultBodyLimit::max(body_limit))
        .service(router(state))
}

/// Every route, each behind [`observe`].
pub fn router(state: AppState) -> Router {
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

    Router::new()
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
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Runs each request in a span that names its route template (never the
/// raw path: paths and bodies may carry ids and secrets; the link key never
/// reaches us at all); counts every request by route template, method and
/// status, and times it; logs the internal cause of an error once, here,
/// inside the request's span.
async fn observe(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, route);
    async move {
        let started = std::time::Instant::now();
        let response = next.run(request).await;
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        if let Some(error::ErrorCause { internal, cause }) = response.extensions().get() {
            if *internal {
                tracing::error!(%cause, status, "internal error");
            } else {
                tracing::warn!(%cause, status, "a dependency is unavailable");
            }
        }
        tracing::debug!(
            status,
            latency_us = elapsed.as_micros(),
            "finished processing request"
        );
        state
            .service
            .metrics()
            .http_request(route, &method, status, elapsed);
        response
    }
    .instrument(span)
    .await
}

/// The headers every answer carries. The logo sets a stricter policy of
/// its own; static assets set their own long-lived caching, and everything
/// else may carry secret data and is never stored.
fn with_security_headers(mut response: Response, https: bool) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}
