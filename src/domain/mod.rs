//! Domain types. Each has a private field and a `parse` that is the only way
//! in, so a value of the type is valid by construction. `audit` holds the
//! audit trail's event records, which are plain data.

pub mod audit;
mod azure;
mod ids;
mod limits;
mod request;
mod text;

pub use azure::{Cleaning, ClientSecretInput, ClientSecretRefusal, credentials_page, is_guid};
pub use ids::{IdempotencyKey, LinkKey, ManageToken, SecretId, new_push};
pub use limits::{Ttl, Views, parse_duration_secs};
pub use request::{AzureSecretId, ExpiryDate};
pub use text::{Label, Note, Passphrase, SecretText};

use std::fmt;

/// Why a piece of input was refused; `field` names what the user sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub field: &'static str,
    pub reason: String,
    /// Over a size limit (413 rather than 422 on the API).
    pub too_large: bool,
}

impl InvalidInput {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
            too_large: false,
        }
    }

    pub fn too_large(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            too_large: true,
            ..Self::new(field, reason)
        }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidInput {}

/// Seconds since the Unix epoch; what the stores keep.
pub type UnixTime = i64;

#[must_use]
pub fn now() -> UnixTime {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
