//! Who is asking: staff by a bearer token on the API; on the web by the
//! signed session cookie that sign-in sets (12 h, `HttpOnly`,
//! `SameSite=Strict`, `Secure` over https); or, behind an SSO proxy, by a
//! trusted user header. The cookie and the proxy's own cookie are ambient
//! credentials, which a browser sends wherever a request comes from: for
//! staff signed in either way, forms carry a CSRF token (tied to the
//! session, or to the proxy's user name), and every state-changing request
//! must come from our own pages (`Sec-Fetch-Site` / `Origin`). Bearer
//! tokens are never ambient and need neither.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::client::ClientAddr;
use super::error::AppError;
use super::extract::bearer;
use super::render::error_page;
use super::session::SESSION_COOKIE;
use super::state::AppState;
use crate::config::PublicUrl;
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
    /// The value forms must echo back; `None` for a bearer token, the one
    /// credential a browser does not send by itself.
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
    #[must_use]
    pub fn staff_from(&self, headers: &HeaderMap, client: &ClientAddr) -> Option<Staff> {
        let directory = self.directory.current();
        if let Some(token) = bearer(headers)
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
            let name: String = user.trim().chars().take(128).collect();
            return Some(Staff {
                csrf: Some(self.sessions.csrf_for_user(&name)),
                name,
                method: AuthMethod::Proxy,
            });
        }
        None
    }

    /// Staff for a request that changes something: as [`Self::staff_from`],
    /// but an ambient credential (session cookie, SSO proxy) counts only
    /// when the request comes from our own pages.
    pub fn staff_for_change(
        &self,
        method: &Method,
        headers: &HeaderMap,
        client: &ClientAddr,
    ) -> Result<Option<Staff>, AppError> {
        let Some(staff) = self.staff_from(headers, client) else {
            return Ok(None);
        };
        if staff.method == AuthMethod::Token
            || method.is_safe()
            || from_our_pages(headers, &self.settings.public_url)
        {
            Ok(Some(staff))
        } else {
            Err(AppError::Forbidden(
                "This request did not come from handoff's own pages; open the page again and retry."
                    .into(),
            ))
        }
    }
}

/// Whether the browser says this request comes from our own pages. Every
/// current browser sends `Sec-Fetch-Site` (or at least `Origin`) with a
/// state-changing request, so a request with neither is no browser's and
/// carries no ambient credential a page elsewhere could borrow (the same
/// rule as Go's `CrossOriginProtection`). `Origin` must be the public URL's
/// or that of the host the request was sent to.
fn from_our_pages(headers: &HeaderMap, public_url: &PublicUrl) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let ours = origin_of(public_url.as_str());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    origin.eq_ignore_ascii_case(ours)
        || origin
            .split_once("://")
            .is_some_and(|(_, authority)| !host.is_empty() && authority.eq_ignore_ascii_case(host))
}

/// `https://host:port` of a base URL that may have a path.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
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
            .staff_for_change(&parts.method, &parts.headers, &client)?
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
        match Staff::from_request_parts(parts, state).await {
            Ok(staff) => Ok(Self(staff)),
            Err(AppError::Unauthorized) => {
                let next = urlencode_path(parts.uri.path());
                Err(Redirect::to(&format!("/staff/sign-in?next={next}")).into_response())
            }
            Err(error) => Err(error_page(error)),
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

/// Checks a form's CSRF token. Staff signed in by a session cookie or an
/// SSO proxy must send the one our pages gave them; a bearer token is no
/// ambient credential, so API calls with one need none.
pub fn check_csrf(staff: &Staff, submitted: &str) -> Result<(), AppError> {
    if staff.method == AuthMethod::Token {
        return Ok(());
    }
    match &staff.csrf {
        Some(expected) if crypto::constant_time_eq(expected.as_bytes(), submitted.as_bytes()) => {
            Ok(())
        }
        _ => Err(AppError::Forbidden(
            "The form has expired; reload the page and try again.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_requests_from_our_own_pages_pass() {
        let ours = PublicUrl::parse("https://handoff.example.com/base").unwrap();
        let pass = |pairs: &[(&'static str, &'static str)]| from_our_pages(&headers(pairs), &ours);
        assert!(pass(&[("sec-fetch-site", "same-origin")]));
        assert!(!pass(&[("sec-fetch-site", "cross-site")]));
        assert!(!pass(&[("sec-fetch-site", "same-site")]));
        assert!(!pass(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://handoff.example.com")
        ]));
        assert!(pass(&[("origin", "https://handoff.example.com")]));
        assert!(pass(&[("origin", "HTTPS://Handoff.Example.com")]));
        assert!(pass(&[
            ("origin", "http://10.0.0.5:8080"),
            ("host", "10.0.0.5:8080")
        ]));
        assert!(!pass(&[("origin", "https://evil.example")]));
        assert!(!pass(&[
            ("origin", "https://evil.example"),
            ("host", "handoff.example.com")
        ]));
        assert!(!pass(&[("origin", "null")]));
        assert!(pass(&[]), "no browser sent this");
    }

    #[test]
    fn the_origin_of_a_base_url_drops_its_path() {
        assert_eq!(origin_of("https://h.example/base"), "https://h.example");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/staff/requests")), "/staff/requests");
        assert_eq!(safe_next(Some("//evil.example")), "/staff");
        assert_eq!(safe_next(Some("https://evil.example")), "/staff");
        assert_eq!(safe_next(None), "/staff");
    }
}
