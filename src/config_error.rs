//! The error every setting reports: which setting, and why. A leaf module,
//! so that the settings, the directory and the sinks can all name a bad
//! setting without importing one another.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting as the operator writes it: `HANDOFF_MAX_TTL`, or a
    /// `handoff.toml` path such as `tenants.contoso.client_id`.
    pub setting: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(setting: &str, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for ConfigError {}
