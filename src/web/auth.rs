//! Who is asking: staff by a bearer token on the API; on the web by the
//! signed session cookie that sign-in sets (12 h, `HttpOnly`,
//! `SameSite=Strict`, `Secure` over https); or, behind an SSO proxy, by a
//! trusted user header. Forms carry a CSRF token tied to the session.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::client::ClientAddr;
use super::error::AppError;
use super::session::SESSION_COOKIE;
use super::state::AppState;
use crate::crypto;

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
    pub fn staff_from(&self, headers: &HeaderMap, client: &ClientAddr) -> Option<Staff> {
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
pub fn safe_next(next: Option<&str>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/staff/requests")), "/staff/requests");
        assert_eq!(safe_next(Some("//evil.example")), "/staff");
        assert_eq!(safe_next(Some("https://evil.example")), "/staff");
        assert_eq!(safe_next(None), "/staff");
    }
}
