//! What every handler shares: the service, the failure limiter, the web
//! settings, the directory and the session signer; and the few rules about
//! input and links that are the web layer's own.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderName;

use super::error::AppError;
use super::extract::NumberOrText;
use super::render::Chrome;
use super::session::SessionSigner;
use crate::branding::Branding;
use crate::config::{MetricsToken, PublicUrl};
use crate::directory::SharedDirectory;
use crate::domain::{InvalidInput, Ttl, Views};
use crate::locale::Language;
use crate::rate_limit::FailureLimiter;
use crate::service::{Created, CreatedRequest, Service, ServiceError};

/// What the web layer needs from the settings.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub public_url: PublicUrl,
    pub default_ttl: Ttl,
    pub max_ttl: Ttl,
    pub max_views: Views,
    pub max_secret_bytes: usize,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub trusted_user_header: Option<HeaderName>,
    pub require_staff_to_push: bool,
    pub metrics_token: Option<MetricsToken>,
    /// The vendor's logo, support contact and colour.
    pub branding: Branding,
}

/// What every handler shares, behind one `Arc`: axum clones the state for
/// the router, each route and each `State` extractor of every request, so
/// one reference count to touch instead of one per part is a measurable
/// share of a request's CPU.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub service: Arc<Service>,
    pub limiter: Arc<FailureLimiter>,
    pub settings: Arc<WebSettings>,
    pub directory: SharedDirectory,
    pub sessions: Arc<SessionSigner>,
}

impl AppState {
    #[must_use]
    pub fn new(shared: AppParts) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl WebSettings {
    /// An expiry as sent (seconds, `"24h"`, or nothing for the default).
    pub fn ttl(&self, ttl: Option<NumberOrText>) -> Result<Ttl, InvalidInput> {
        match ttl {
            None => Ok(self.default_ttl),
            Some(NumberOrText::Number(secs)) => Ttl::from_secs(secs, self.max_ttl),
            Some(NumberOrText::Text(text)) if text.trim().is_empty() => Ok(self.default_ttl),
            Some(NumberOrText::Text(text)) => Ttl::parse(&text, self.max_ttl),
        }
    }

    /// A view limit as sent (a number, `"3"`, or nothing for one view).
    pub fn views(&self, views: Option<NumberOrText>) -> Result<Views, InvalidInput> {
        match views {
            None => Ok(Views::ONE),
            Some(NumberOrText::Number(count)) => Views::from_count(count, self.max_views),
            Some(NumberOrText::Text(text)) if text.trim().is_empty() => Ok(Views::ONE),
            Some(NumberOrText::Text(text)) => Views::parse(&text, self.max_views),
        }
    }

    /// The recipient's link and the sender's manage link; each key only in
    /// the fragment, which browsers never send to a server.
    #[must_use]
    pub fn secret_links(&self, created: &Created) -> (String, String) {
        let base = self.public_url.as_str();
        (
            format!("{base}/s/{}#{}", created.id, created.key.encode()),
            format!("{base}/m/{}#{}", created.id, created.manage_token.encode()),
        )
    }

    /// The customer's submit link and the staff's retrieve link.
    #[must_use]
    pub fn request_links(&self, created: &CreatedRequest) -> (String, String) {
        let base = self.public_url.as_str();
        (
            format!("{base}/r/{}#{}", created.id, created.submit_key.encode()),
            format!(
                "{base}/staff/requests/{}#{}",
                created.id,
                created.retrieve_key.encode()
            ),
        )
    }
}

impl AppState {
    /// The frame of a customer's or recipient's page in `lang`.
    #[must_use]
    pub fn chrome(&self, lang: Language) -> Chrome {
        let directory = self.directory.current();
        Chrome::new(
            lang,
            &directory.vendor_name,
            directory.vendor_name_is_set(),
            &self.settings.branding,
        )
    }

    /// The frame of a staff page: the vendor's name, in English.
    #[must_use]
    pub fn staff_chrome(&self) -> Chrome {
        self.chrome(Language::En).staff()
    }

    /// Runs an attempt that needs a key or token, and counts its failure
    /// against the client's allowance. The attempt always runs: each guarded
    /// use case checks its key before it does anything else, which costs
    /// nothing and consumes nothing, so a right key is never refused by the
    /// limit. Beyond the allowance, a wrong key (or an unknown or ended id:
    /// the same `NotFound`) is answered `429` instead, so a limited client
    /// learns nothing from its guesses; a right key with a wrong passphrase
    /// still gets its own answer, the secret's own five tries bounding
    /// those.
    pub async fn guarded<T>(
        &self,
        client_ip: IpAddr,
        attempt: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, AppError> {
        let outcome = attempt.await;
        if let Err(error) = &outcome
            && error.is_failed_attempt()
            && let Err(retry_after) = self.limiter.record_failure(client_ip).await
            && matches!(error, ServiceError::NotFound)
        {
            return Err(AppError::RateLimited { retry_after });
        }
        outcome.map_err(AppError::from)
    }
}
