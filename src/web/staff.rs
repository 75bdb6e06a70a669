//! Staff access: a bearer token on the API; on the web, a sign-in page that
//! takes the token and sets a signed session cookie (12 h, `HttpOnly`,
//! `SameSite=Strict`, `Secure` over https); or, behind an SSO proxy, a
//! trusted user header. Forms carry a CSRF token tied to the session.

use std::time::Duration;

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::{AppState, ClientAddr, pages};
use crate::audit::{Actor, Kind};
use crate::crypto;
use crate::domain::{UnixTime, now};
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "handoff_session";
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// How a staff member proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Token,
    Session,
    Proxy,
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    pub name: String,
    pub method: AuthMethod,
    /// The value forms must echo back; `None` when no cookie is involved.
    pub csrf: Option<String>,
}

/// Session cookies are `name.expires.mac`; the MAC also covers the
/// member's token fingerprint, so a replaced token ends old sessions.
pub struct SessionSigner {
    key: zeroize::Zeroizing<[u8; 32]>,
}

impl SessionSigner {
    #[must_use]
    pub fn new(server_key: &crypto::ServerKey) -> Self {
        Self {
            key: crypto::purpose_key(server_key, "session"),
        }
    }

    fn mac(&self, name: &str, expires: UnixTime, fingerprint: &[u8]) -> String {
        let mac = crypto::mac(
            &self.key,
            &[name.as_bytes(), &expires.to_be_bytes(), fingerprint],
        );
        URL_SAFE_NO_PAD.encode(mac)
    }

    #[must_use]
    pub fn issue(&self, name: &str, fingerprint: &[u8]) -> String {
        let expires = now() + SESSION_LIFETIME.as_secs() as i64;
        format!(
            "{}.{expires}.{}",
            URL_SAFE_NO_PAD.encode(name),
            self.mac(name, expires, fingerprint)
        )
    }

    /// The staff name, if `cookie` is a valid, unexpired session.
    fn verify(
        &self,
        cookie: &str,
        fingerprint_of: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Option<String> {
        let mut parts = cookie.split('.');
        let (name, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let name = String::from_utf8(URL_SAFE_NO_PAD.decode(name).ok()?).ok()?;
        let expires: UnixTime = expires.parse().ok()?;
        if expires <= now() {
            return None;
        }
        let fingerprint = fingerprint_of(&name)?;
        crypto::constant_time_eq(
            self.mac(&name, expires, &fingerprint).as_bytes(),
            mac.as_bytes(),
        )
        .then_some(name)
    }

    /// The CSRF token for a session: only someone who can read the cookie
    /// (our own pages) can produce it.
    #[must_use]
    pub fn csrf_for(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(&crypto::mac(&self.key, &[b"csrf", cookie.as_bytes()])[..18])
    }
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl AppState {
    /// Who is asking, if they are staff. Bearer tokens are the API's way;
    /// cookies the browser's; the trusted header the SSO proxy's.
    pub(super) fn staff_from(&self, headers: &HeaderMap, client: &ClientAddr) -> Option<Staff> {
        let directory = self.directory.current();
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            && let Some(member) = directory.staff_by_token(token)
        {
            return Some(Staff {
                name: member.name.clone(),
                method: AuthMethod::Token,
                csrf: None,
            });
        }
        if let Some(cookie) = cookie_value(headers, SESSION_COOKIE)
            && let Some(name) = self.sessions.verify(cookie, |name| {
                directory
                    .staff_member(name)
                    .map(|m| m.token_fingerprint().to_vec())
            })
        {
            return Some(Staff {
                name,
                method: AuthMethod::Session,
                csrf: Some(self.sessions.csrf_for(cookie)),
            });
        }
        if client.via_trusted_proxy
            && let Some(header_name) = &self.settings.trusted_user_header
            && let Some(user) = headers.get(header_name).and_then(|v| v.to_str().ok())
            && !user.trim().is_empty()
        {
            return Some(Staff {
                name: user.trim().chars().take(128).collect(),
                method: AuthMethod::Proxy,
                csrf: None,
            });
        }
        None
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = ClientAddr::from_request_parts(parts, state)
            .await
            .expect("infallible");
        state
            .staff_from(&parts.headers, &client)
            .ok_or(AppError::Unauthorized)
    }
}

/// For staff pages: like [`Staff`], but a visitor who is not signed in is
/// sent to the sign-in page and brought back afterwards.
pub struct StaffPage(pub Staff);

impl FromRequestParts<AppState> for StaffPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Ok(staff) = Staff::from_request_parts(parts, state).await {
            Ok(Self(staff))
        } else {
            let next = urlencode_path(parts.uri.path());
            Err(Redirect::to(&format!("/staff/sign-in?next={next}")).into_response())
        }
    }
}

/// Only local paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/staff".to_owned(),
    }
}

fn urlencode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Checks a form's CSRF token against the session. Requests authenticated
/// another way (bearer token, SSO header) carry no ambient cookie to abuse.
pub fn check_csrf(staff: &Staff, submitted: &str) -> Result<(), AppError> {
    match &staff.csrf {
        Some(expected) if crypto::constant_time_eq(expected.as_bytes(), submitted.as_bytes()) => {
            Ok(())
        }
        Some(_) => Err(AppError::Forbidden(
            "The form has expired; reload the page and try again.".into(),
        )),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_page(Query(query): Query<NextQuery>) -> Response {
    pages::sign_in(None, &safe_next(query.next.as_deref()), StatusCode::OK)
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
    if let Err(retry_after) = app.limiter.check(client.ip) {
        return pages::error_page(AppError::RateLimited { retry_after });
    }
    let directory = app.directory.current();
    let Some(member) = directory.staff_by_token(form.token.expose_secret()) else {
        app.limiter.record_failure(client.ip);
        let event = client
            .to_client()
            .event(Kind::SignInFailed, &Actor::Anonymous);
        app.service.audit().record(event).await;
        return pages::sign_in(
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
        return pages::error_page(error);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_until_the_token_changes() {
        let signer = SessionSigner::new(&crypto::ServerKey::generate());
        let cookie = signer.issue("alice", b"fingerprint-1");
        assert_eq!(
            signer
                .verify(&cookie, |_| Some(b"fingerprint-1".to_vec()))
                .as_deref(),
            Some("alice")
        );
        assert!(
            signer
                .verify(&cookie, |_| Some(b"fingerprint-2".to_vec()))
                .is_none()
        );
        assert!(
            signer.verify(&cookie, |_| None).is_none(),
            "removed staff are signed out"
        );
    }

    #[test]
    fn a_tampered_session_is_refused() {
        let signer = SessionSigner::new(&crypto::ServerKey::generate());
        let cookie = signer.issue("alice", b"f");
        let forged = cookie.replacen(
            &URL_SAFE_NO_PAD.encode("alice"),
            &URL_SAFE_NO_PAD.encode("bob"),
            1,
        );
        assert!(signer.verify(&forged, |_| Some(b"f".to_vec())).is_none());
        let other = SessionSigner::new(&crypto::ServerKey::generate());
        assert!(other.verify(&cookie, |_| Some(b"f".to_vec())).is_none());
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/staff/requests")), "/staff/requests");
        assert_eq!(safe_next(Some("//evil.example")), "/staff");
        assert_eq!(safe_next(Some("https://evil.example")), "/staff");
        assert_eq!(safe_next(None), "/staff");
    }
}
