//! Outbound HTTPS — to Entra ID, to webhooks, to sinks — built and described
//! one way: no redirects (a 307 would carry a secret or a token on to
//! wherever it points), a timeout, and failures told by their causes only
//! (reqwest's own message repeats the URL, which may hold a token; none of
//! them ever holds a request body).

use std::time::Duration;

/// reqwest is built without a TLS provider of its own and panics if none is
/// installed process-wide. ring builds with a plain C compiler, without the
/// cmake and Go that aws-lc-rs needs. Installing it again (tests build many
/// clients) is a harmless error.
pub fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A client for one kind of peer. Fails only when the system offers no
/// root certificates.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("handoff/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| format!("cannot set up HTTPS: {}", error_chain(&error)))
}

/// Why a request got no answer, in a sentence fit for logs and staff.
#[must_use]
pub fn describe_failure(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let failed = if error.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    match std::error::Error::source(error) {
        Some(cause) => format!("{failed}: {}", error_chain(cause)),
        None => failed.to_owned(),
    }
}

/// An error and its causes, `: `-separated.
#[must_use]
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// A URL as logs and `Debug` may show it: without credentials, query or
/// fragment, which vendors use to carry tokens.
#[must_use]
pub fn redacted_url(text: &str) -> String {
    let Ok(mut url) = reqwest::Url::parse(text.trim()) else {
        return "<not a URL>".to_owned();
    };
    let had_credentials = !url.username().is_empty() || url.password().is_some();
    let had_query = url.query().is_some();
    // Both setters only fail for URLs without a host, which say nothing.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let mut shown = url.to_string();
    if had_credentials {
        shown = shown.replacen("://", "://***@", 1);
    }
    if had_query {
        shown.push_str("?***");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_no_credentials_or_query() {
        let shown = redacted_url("https://user:pw@hooks.example.com/in?token=abc#x");
        assert_eq!(shown, "https://***@hooks.example.com/in?***");
        assert_eq!(redacted_url("not a url"), "<not a URL>");
    }
}
