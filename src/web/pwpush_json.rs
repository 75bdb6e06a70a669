//! The answer shapes of the Password Pusher–compatible API, field for field
//! as Password Pusher 2.11 sends them (`_push.json.jbuilder`), in its order.

use serde::Serialize;

/// A push. `passphrase` is always `null`: Password Pusher echoes it in plain
/// text, which no client reads and handoff never does.
// The wire format decides the fields: its booleans, and a payload that is
// either absent or `null` or the secret.
#[allow(clippy::struct_excessive_bools, clippy::option_option)]
#[derive(Serialize)]
pub struct PushObject<'a> {
    pub expire_after_views: u32,
    pub expired: bool,
    pub url_token: String,
    pub deletable_by_viewer: bool,
    pub retrieval_step: bool,
    pub expired_on: Option<String>,
    pub passphrase: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub expire_after_days: u64,
    pub days_remaining: u64,
    pub views_remaining: u32,
    pub deleted: bool,
    pub json_url: String,
    pub html_url: String,
    /// Create and lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Show only: the secret, or `null` once the push has expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Option<&'a str>>,
    /// Show only: always empty (text pushes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<[(); 0]>,
}

/// `GET …/preview`.
#[derive(Serialize)]
pub struct Preview {
    pub url: String,
}

/// One event of `GET …/audit`.
#[derive(Serialize)]
pub struct AuditLog {
    pub ip: String,
    pub user_agent: String,
    pub referrer: String,
    pub kind: &'static str,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/v2/version`.
#[must_use]
pub fn version(anonymous_access: bool) -> serde_json::Value {
    serde_json::json!({
        "application_version": "2.11.4",
        "api_version": "2.1",
        "edition": "oss",
        "features": {
            "anonymous_access": anonymous_access,
            "api_token_authentication": true,
            // Either true would make pwpush call routes handoff does not have.
            "accounts": { "enabled": false },
            "pushes": {
                "enabled": true,
                "email_auto_dispatch": false,
                "file_attachments": { "enabled": false, "requires_authentication": true },
                "url_pushes": { "enabled": false },
                "qr_code_pushes": { "enabled": false }
            },
            "requests": { "enabled": false }
        }
    })
}
