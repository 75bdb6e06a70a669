//! Staff sign-in and sign-out pages.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::auth::{Staff, check_csrf, safe_next};
use super::client::ClientAddr;
use super::error::AppError;
use super::render::{error_page, sign_in_page as render_sign_in};
use super::session::{SESSION_COOKIE, SESSION_LIFETIME};
use super::state::AppState;
use crate::audit::{Actor, Kind};

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_page(Query(query): Query<NextQuery>) -> Response {
    render_sign_in(None, &safe_next(query.next.as_deref()), StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: SecretString,
    next: Option<String>,
}

pub async fn sign_in(
    State(app): State<AppState>,
    client: ClientAddr,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let directory = app.directory.current();
    // The right token signs in whatever the address's allowance; a wrong one
    // beyond it is told only 429.
    let Some(member) = directory.staff_by_token(form.token.expose_secret()) else {
        if let Err(retry_after) = app.limiter.record_failure(client.ip).await {
            return error_page(AppError::RateLimited { retry_after });
        }
        let event = client
            .to_client()
            .event(Kind::SignInFailed, &Actor::Anonymous);
        app.service.audit().record(event).await;
        return render_sign_in(
            Some("That token is not valid."),
            &next,
            StatusCode::UNAUTHORIZED,
        );
    };
    let event = client
        .to_client()
        .event(Kind::SignedIn, &Actor::Staff(member.name.clone()))
        .detail("token");
    app.service.audit().record(event).await;
    let cookie = app.sessions.issue(&member.name, member.token_fingerprint());
    let secure = if app.settings.public_url.is_https() {
        "; Secure"
    } else {
        ""
    };
    let set_cookie = format!(
        "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    );
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&set_cookie).expect("cookie text is ASCII"),
    );
    response
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(app): State<AppState>,
    staff: Staff,
    Form(form): Form<SignOutForm>,
) -> Response {
    if let Err(error) = check_csrf(&staff, &form.csrf) {
        return error_page(error);
    }
    let secure = if app.settings.public_url.is_https() {
        "; Secure"
    } else {
        ""
    };
    let mut response = Redirect::to("/staff/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
        ))
        .expect("cookie text is ASCII"),
    );
    response
}
