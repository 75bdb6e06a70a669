use std::fmt;

use zeroize::Zeroizing;

use super::InvalidInput;

/// The secret itself: non-empty UTF-8 text within the configured size.
/// Wiped from memory when dropped; never printed.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Raw request bodies (`curl --data-binary @-`) usually end with the
    /// newline of the command that printed the secret; that newline is not
    /// part of the secret, so one trailing line break is removed.
    pub fn from_raw_body(body: &[u8], max_bytes: usize) -> Result<Self, InvalidInput> {
        let mut text = match std::str::from_utf8(body) {
            Ok(text) => Zeroizing::new(text.to_owned()),
            Err(_) => return Err(InvalidInput::new("secret", "must be UTF-8 text")),
        };
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        Self::check(text, max_bytes)
    }

    pub fn parse(text: Zeroizing<String>, max_bytes: usize) -> Result<Self, InvalidInput> {
        Self::check(text, max_bytes)
    }

    fn check(text: Zeroizing<String>, max_bytes: usize) -> Result<Self, InvalidInput> {
        if text.is_empty() {
            return Err(InvalidInput::new("secret", "must not be empty"));
        }
        if text.len() > max_bytes {
            return Err(InvalidInput::too_large(
                "secret",
                format!("must be at most {max_bytes} bytes"),
            ));
        }
        Ok(Self(text))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn from_plaintext(plain: Zeroizing<String>) -> Self {
        Self(plain)
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(***)")
    }
}

/// An optional passphrase the recipient must also know.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub const MAX_BYTES: usize = 1024;

    /// An empty passphrase means "none" (forms send empty fields).
    pub fn parse_optional(text: Option<Zeroizing<String>>) -> Result<Option<Self>, InvalidInput> {
        match text {
            None => Ok(None),
            Some(text) if text.is_empty() => Ok(None),
            Some(text) if text.len() > Self::MAX_BYTES => Err(InvalidInput::new(
                "passphrase",
                format!("must be at most {} bytes", Self::MAX_BYTES),
            )),
            Some(text) => Ok(Some(Self(text))),
        }
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

/// A short note shown to the recipient before the reveal ("DB password for
/// staging"). Sealed in the store like the secret, under the link key alone.
#[derive(Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub const MAX_CHARS: usize = 500;

    pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                "note",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(InvalidInput::new(
                "note",
                "must not contain control characters",
            ));
        }
        Ok(Some(Self(text.to_owned())))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }
}

/// The sender's private label ("staging DB, for Ana"), so they know which
/// secret a manage page is about. Sealed under a key only the manage token
/// opens: never shown to the recipient, never in logs or the audit trail.
#[derive(Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    pub const MAX_CHARS: usize = 100;

    pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                "label",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "label",
                "must not contain control characters",
            ));
        }
        Ok(Some(Self(text.to_owned())))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Label(…)")
    }
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Note(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bytes: &[u8]) -> &[u8] {
        bytes
    }

    #[test]
    fn raw_body_loses_one_trailing_line_break_only() {
        let s = SecretText::from_raw_body(raw(b"abc8Q~xyz\n"), 100).unwrap();
        assert_eq!(s.expose(), "abc8Q~xyz");
        let s = SecretText::from_raw_body(raw(b"abc\r\n"), 100).unwrap();
        assert_eq!(s.expose(), "abc");
        let s = SecretText::from_raw_body(raw(b"abc \n\n"), 100).unwrap();
        assert_eq!(s.expose(), "abc \n");
    }

    #[test]
    fn secret_must_be_non_empty_utf8_within_size() {
        assert!(SecretText::from_raw_body(raw(b"\n"), 100).is_err());
        assert!(SecretText::from_raw_body(raw(&[0xff, 0xfe]), 100).is_err());
        let err = SecretText::parse(Zeroizing::new("x".repeat(101)), 100).unwrap_err();
        assert!(err.reason.contains("100 bytes"));
    }

    #[test]
    fn empty_passphrase_means_none() {
        assert!(
            Passphrase::parse_optional(Some(Zeroizing::new(String::new())))
                .unwrap()
                .is_none()
        );
        assert!(
            Passphrase::parse_optional(Some(Zeroizing::new("pw".into())))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn note_is_trimmed_and_bounded() {
        assert_eq!(
            Note::parse_optional(Some("  hi "))
                .unwrap()
                .unwrap()
                .as_str(),
            "hi"
        );
        assert!(Note::parse_optional(Some("   ")).unwrap().is_none());
        assert!(Note::parse_optional(Some(&"n".repeat(501))).is_err());
        assert!(Note::parse_optional(Some("a\u{7}b")).is_err());
    }

    #[test]
    fn secret_types_never_print_their_content() {
        let s = SecretText::parse(Zeroizing::new("hunter2".into()), 100).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let p = Passphrase::parse_optional(Some(Zeroizing::new("pw".into())))
            .unwrap()
            .unwrap();
        assert!(!format!("{p:?}").contains("pw"));
    }
}
