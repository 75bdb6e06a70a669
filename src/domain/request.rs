use std::fmt;

use time::Date;
use time::macros::format_description;

use super::{InvalidInput, UnixTime, is_guid};

/// The expiry date of a new client secret, as the customer gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpiryDate(Date);

impl ExpiryDate {
    /// `YYYY-MM-DD`, today or later (as of `today`), at most 100 years on.
    pub fn parse(text: &str, now: UnixTime) -> Result<Self, InvalidInput> {
        let invalid = |reason: &str| InvalidInput::new("expires_on", reason);
        let date = Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
            .map_err(|_| invalid("must be a date as YYYY-MM-DD"))?;
        let today = time::OffsetDateTime::from_unix_timestamp(now)
            .map_err(|_| invalid("cannot be checked"))?
            .date();
        if date < today {
            return Err(invalid(
                "is in the past: a new secret expires in the future",
            ));
        }
        if date.year() > today.year() + 100 {
            return Err(invalid("is too far in the future"));
        }
        Ok(Self(date))
    }

    /// Seconds since the epoch at the start of that day (UTC).
    #[must_use]
    pub fn unix_time(self) -> UnixTime {
        self.0.midnight().assume_utc().unix_timestamp()
    }
}

impl fmt::Display for ExpiryDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .0
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// The Secret ID Entra ID shows beside a client secret: a GUID, not secret,
/// kept for the record so staff can tell which credential was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureSecretId(String);

impl AzureSecretId {
    pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let guid = text
            .trim_start_matches('{')
            .trim_end_matches('}')
            .to_ascii_lowercase();
        if is_guid(&guid) {
            Ok(Some(Self(guid)))
        } else {
            Err(InvalidInput::new(
                "secret_id",
                "must be the Secret ID GUID shown beside the secret (or left out)",
            ))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_22_2026: UnixTime = 1_795_305_600;

    #[test]
    fn expiry_date_accepts_today_and_later() {
        assert_eq!(
            ExpiryDate::parse("2026-11-22", NOV_22_2026)
                .unwrap()
                .to_string(),
            "2026-11-22"
        );
        assert!(ExpiryDate::parse("2028-11-22", NOV_22_2026).is_ok());
    }

    #[test]
    fn expiry_date_refuses_the_past_and_garbage() {
        assert!(
            ExpiryDate::parse("2026-11-21", NOV_22_2026)
                .unwrap_err()
                .reason
                .contains("past")
        );
        assert!(ExpiryDate::parse("22/11/2027", NOV_22_2026).is_err());
        assert!(ExpiryDate::parse("2027-02-30", NOV_22_2026).is_err());
    }

    #[test]
    fn secret_id_must_be_a_guid() {
        let id =
            AzureSecretId::parse_optional(Some("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}")).unwrap();
        assert_eq!(id.unwrap().as_str(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        assert!(AzureSecretId::parse_optional(Some("abc8Q~value")).is_err());
        assert!(AzureSecretId::parse_optional(Some(" ")).unwrap().is_none());
    }
}
