use std::fmt;

use super::InvalidInput;

/// The shortest expiry a sender may choose.
pub const MIN_TTL_SECS: u64 = 60;

/// The longest expiry an operator may allow (`HANDOFF_MAX_TTL`).
pub const MAX_TTL_SETTING_SECS: u64 = 365 * 86_400;

/// No duration handoff reads is longer than this (100 years), whatever
/// the setting's own bound: seconds this small fit an `i64` with room to
/// spare, so adding one to a Unix time or casting it can never wrap.
pub const MAX_DURATION_SECS: u64 = 100 * 365 * 86_400;

/// Parses `"90"` (seconds), `"90s"`, `"90m"`, `"24h"` or `"7d"` into seconds,
/// at most [`MAX_DURATION_SECS`].
pub fn parse_duration_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().map_err(|error: std::num::ParseIntError| {
        if *error.kind() == std::num::IntErrorKind::PosOverflow {
            format!("'{text}' is too long (at most 36500d)")
        } else {
            format!("'{text}' is not a duration (use e.g. 3600, 90m, 24h or 7d)")
        }
    })?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "'{text}' has an unknown unit (use s, m, h or d, e.g. 90m, 24h, 7d)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .filter(|secs| *secs <= MAX_DURATION_SECS)
        .ok_or_else(|| format!("'{text}' is too long (at most 36500d)"))
}

/// Renders seconds the way people write them: `7d`, `24h`, `90m`, `45s`.
#[must_use]
pub fn format_duration_secs(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// How long a secret lives, between one minute and the configured maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ttl(u64);

impl Ttl {
    pub fn parse(text: &str, max: Ttl) -> Result<Self, InvalidInput> {
        let secs = parse_duration_secs(text).map_err(|reason| InvalidInput::new("ttl", reason))?;
        Self::from_secs(secs, max)
    }

    pub fn from_secs(secs: u64, max: Ttl) -> Result<Self, InvalidInput> {
        if (MIN_TTL_SECS..=max.0).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(InvalidInput::new(
                "ttl",
                format!(
                    "must be between {} and {} ({MIN_TTL_SECS} to {} seconds)",
                    format_duration_secs(MIN_TTL_SECS),
                    max,
                    max.0
                ),
            ))
        }
    }

    /// A bound set by the operator: from a minute to a year.
    pub fn setting(text: &str) -> Result<Self, String> {
        let secs = parse_duration_secs(text)?;
        if !(MIN_TTL_SECS..=MAX_TTL_SETTING_SECS).contains(&secs) {
            return Err(format!(
                "must be between {} and {} ({MIN_TTL_SECS} to {MAX_TTL_SETTING_SECS} seconds)",
                format_duration_secs(MIN_TTL_SECS),
                format_duration_secs(MAX_TTL_SETTING_SECS)
            ));
        }
        Ok(Self(secs))
    }

    #[must_use]
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// Seconds as a Unix-time offset. Every `Ttl` is at most
    /// [`MAX_TTL_SETTING_SECS`], so this never wraps.
    #[must_use]
    pub fn as_unix_secs(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration_secs(self.0))
    }
}

/// How many times a secret may be revealed: 1 to the configured maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Views(u32);

impl Views {
    pub const ONE: Views = Views(1);

    pub fn parse(text: &str, max: Views) -> Result<Self, InvalidInput> {
        let number: u64 = text.trim().parse().map_err(|_| Self::out_of_range(max))?;
        Self::from_count(number, max)
    }

    pub fn from_count(count: u64, max: Views) -> Result<Self, InvalidInput> {
        if (1..=u64::from(max.0)).contains(&count) {
            Ok(Self(count as u32))
        } else {
            Err(Self::out_of_range(max))
        }
    }

    fn out_of_range(max: Views) -> InvalidInput {
        InvalidInput::new(
            "views",
            format!("must be a whole number from 1 to {}", max.0),
        )
    }

    /// A bound set by the operator.
    pub fn setting(text: &str) -> Result<Self, String> {
        match text.trim().parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(Self(n)),
            _ => Err(format!("'{text}' must be a whole number from 1 to 10000")),
        }
    }

    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: Ttl = Ttl(7 * 86_400);

    #[test]
    fn ttl_accepts_seconds_and_units() {
        assert_eq!(Ttl::parse("3600", WEEK).unwrap().as_secs(), 3600);
        assert_eq!(Ttl::parse("90m", WEEK).unwrap().as_secs(), 5400);
        assert_eq!(Ttl::parse("24h", WEEK).unwrap().as_secs(), 86_400);
        assert_eq!(Ttl::parse("7d", WEEK).unwrap().as_secs(), 604_800);
    }

    #[test]
    fn ttl_refuses_out_of_range_naming_the_range() {
        let err = Ttl::parse("8d", WEEK).unwrap_err();
        assert_eq!(err.field, "ttl");
        assert!(err.reason.contains("between 1m and 7d"), "{}", err.reason);
        assert!(Ttl::parse("59", WEEK).is_err());
    }

    #[test]
    fn ttl_refuses_garbage_and_unknown_units() {
        assert!(Ttl::parse("soon", WEEK).is_err());
        assert!(Ttl::parse("3w", WEEK).is_err());
        assert!(Ttl::parse("99999999999999999999d", WEEK).is_err());
    }

    #[test]
    fn durations_beyond_a_hundred_years_are_refused_not_wrapped() {
        assert_eq!(parse_duration_secs("36500d").unwrap(), MAX_DURATION_SECS);
        assert!(parse_duration_secs("36501d").is_err());
        assert!(parse_duration_secs("18446744073709551615").is_err());
        assert!(parse_duration_secs("213503982334601d").is_err());
        assert!(i64::try_from(MAX_DURATION_SECS).unwrap() < i64::MAX / 2);
        assert_eq!(
            format_duration_secs(MAX_DURATION_SECS),
            "36500d",
            "the message's bound"
        );
    }

    #[test]
    fn operators_may_allow_ttls_from_a_minute_to_a_year() {
        assert_eq!(
            Ttl::setting("365d").unwrap().as_secs(),
            MAX_TTL_SETTING_SECS
        );
        let err = Ttl::setting("366d").unwrap_err();
        assert!(err.contains("between 1m and 365d"), "{err}");
        assert!(Ttl::setting("59s").is_err());
        assert!(Ttl::setting("9999999999d").is_err());
    }

    #[test]
    fn views_must_be_within_one_and_max() {
        let max = Views(10);
        assert_eq!(Views::parse("3", max).unwrap().get(), 3);
        assert!(Views::parse("0", max).is_err());
        assert!(Views::parse("11", max).is_err());
        assert!(Views::parse("-1", max).is_err());
        assert!(
            Views::parse("two", max)
                .unwrap_err()
                .reason
                .contains("1 to 10")
        );
    }
}
