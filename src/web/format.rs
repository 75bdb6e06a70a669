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
