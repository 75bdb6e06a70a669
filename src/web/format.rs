//! How times are written: RFC 3339 in UTC on the API, a short readable form
//! on pages.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::UnixTime;

#[must_use]
pub fn rfc3339(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `2026-11-22 10:32 UTC`.
#[must_use]
pub fn human_time(at: UnixTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// An audit event's kind as staff read it: `staff.sign_in_failed` is
/// "Sign-in failed". A kind this list does not know is shown as it is.
#[must_use]
pub fn audit_label(kind: &str) -> &str {
    match kind {
        "secret.created" => "Secret pushed",
        "secret.viewed" => "Link opened",
        "secret.revealed" => "Secret revealed",
        "secret.passphrase_failed" => "Wrong passphrase",
        "secret.destroyed" => "Destroyed after wrong passphrases",
        "secret.revoked" => "Secret deleted",
        "secret.expired" => "Expired unread",
        "request.created" => "Request created",
        "request.answered" => "Customer answered",
        "request.refused" => "Answer refused",
        "verification.passed" => "Microsoft accepted the secret",
        "verification.failed" => "Microsoft refused the secret",
        "request.locked" => "Request locked (too many tries)",
        "request.retrieved" => "Answer retrieved",
        "request.expired" => "Request expired",
        "request.cancelled" => "Request cancelled",
        "secret.applied" => "Applied to the tenant",
        "apply.failed" => "Apply failed",
        "tenant.secret_expiring" => "Tenant's secret expiring",
        "staff.signed_in" => "Signed in",
        "staff.sign_in_failed" => "Sign-in failed",
        "webhook.delivered" => "Webhook delivered",
        "webhook.failed" => "Webhook failed",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audit_kind_has_a_label_in_words() {
        use crate::domain::audit::Kind;
        for kind in Kind::ALL {
            let code = kind.as_str();
            let label = audit_label(code);
            assert_ne!(label, code, "{code} has no label");
            assert!(!label.contains(['.', '_']), "{label}");
        }
        assert_eq!(audit_label("staff.sign_in_failed"), "Sign-in failed");
        assert_eq!(audit_label("something.new"), "something.new");
    }
}
