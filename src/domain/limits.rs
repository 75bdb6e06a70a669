use std::fmt;

use super::InvalidInput;

/// The shortest expiry a sender may choose.
pub const MIN_TTL_SECS: u64 = 60;

/// Parses `"90"` (seconds), `"90s"`, `"90m"`, `"24h"` or `"7d"` into seconds.
pub fn parse_duration_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (use e.g. 3600, 90m, 24h or 7d)"))?;
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
        .ok_or_else(|| format!("'{text}' is too long"))
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

    /// A bound set by the operator (no upper limit of its own).
    pub fn setting(text: &str) -> Result<Self, String> {
        let secs = parse_duration_secs(text)?;
        if secs < MIN_TTL_SECS {
            return Err(format!("must be at least {MIN_TTL_SECS} seconds"));
        }
        Ok(Self(secs))
    }

    #[must_use]
    pub fn as_secs(self) -> u64 {
        self.0
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
