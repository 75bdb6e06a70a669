//! A Microsoft Entra ID client secret as a customer pastes it. What arrives is
//! often not the secret: the Secret ID (a GUID) copied from the wrong column,
//! the app's own client ID, a truncated value, or one wrapped in spaces and
//! line breaks by a chat window. These checks run as the customer types and
//! again on the server, before anything asks Microsoft.

use std::fmt;

use zeroize::Zeroizing;

/// The bounds the issue gives for a plausible secret (older, custom-set ones
/// included); what Entra ID generates is 37 or 40 characters.
const MIN_CHARS: usize = 16;
const MAX_CHARS: usize = 64;

/// The two generations Entra ID has issued: three characters, a marker, then
/// random characters. The lengths match Microsoft's own secret scanner
/// (`Microsoft.Security.Utilities`, rule SEC101/156): `7Q~` secrets are
/// 3 + 3 + 31 = 37 characters, `8Q~` secrets (today's) 3 + 3 + 34 = 40.
const CURRENT: Generation = Generation {
    marker: b"8Q~",
    len: 40,
};
const OLDER: Generation = Generation {
    marker: b"7Q~",
    len: 37,
};

struct Generation {
    marker: &'static [u8; 3],
    len: usize,
}

impl Generation {
    fn marks(&self, value: &str) -> bool {
        value.as_bytes().get(3..6) == Some(self.marker.as_slice())
    }

    fn matches(&self, value: &str) -> bool {
        self.marks(value) && value.len() == self.len && value.bytes().all(is_secret_byte)
    }
}

/// The URL-unreserved characters, the only ones Entra ID puts in a secret.
fn is_secret_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'~' | b'.' | b'-')
}

/// A client secret value, cleaned of what copying added, with what was said
/// about it. The only way in is [`ClientSecretInput::parse`].
pub struct ClientSecretInput {
    value: Zeroizing<String>,
    notices: Vec<String>,
    warnings: Vec<String>,
}

impl ClientSecretInput {
    /// `client_id` and `tenant_id` are the configured app's client ID and
    /// tenant (a GUID or a domain name), so that pasting either is caught.
    pub fn parse(raw: &str, client_id: &str, tenant_id: &str) -> Result<Self, ClientSecretRefusal> {
        let value = raw.trim_start_matches(is_trimmable);
        let leading = &raw[..raw.len() - value.len()];
        let value = value.trim_end_matches(is_trimmable);
        let trailing = &raw[leading.len() + value.len()..];

        if value.is_empty() {
            return Err(ClientSecretRefusal::Empty);
        }
        if value.chars().any(char::is_control) {
            return Err(ClientSecretRefusal::ControlCharacters);
        }
        // Before the GUID check: a client ID is a GUID too, and "you copied
        // the client ID" is the advice that helps, not "the Secret ID".
        if same_identifier(value, client_id) {
            return Err(ClientSecretRefusal::EqualsClientId);
        }
        if same_identifier(value, tenant_id) {
            return Err(ClientSecretRefusal::EqualsTenantId);
        }
        if is_guid(value) {
            return Err(ClientSecretRefusal::SecretIdGuid);
        }

        let notices = [("leading", leading), ("trailing", trailing)]
            .into_iter()
            .filter_map(|(side, removed)| describe_removed(side, removed))
            .collect();
        let warnings = format_doubt(value).into_iter().collect();
        Ok(Self {
            value: Zeroizing::new(value.to_owned()),
            notices,
            warnings,
        })
    }

    /// The cleaned secret.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Hands the cleaned secret on without another copy left behind.
    #[must_use]
    pub fn into_value(self) -> Zeroizing<String> {
        self.value
    }

    /// What was removed, e.g. "Removed 1 trailing space and a line break."
    #[must_use]
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Doubts about the format. Never a refusal: Microsoft, not the format,
    /// has the last word, and older or custom secrets exist.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The first three characters: what Microsoft itself shows as the
    /// secret's "hint" in the portal and in Graph, so staff and customer can
    /// tell which secret this is without seeing it.
    #[must_use]
    pub fn hint(&self) -> String {
        self.value.chars().take(3).collect()
    }
}

impl fmt::Debug for ClientSecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretInput")
            .field("value", &format_args!("***"))
            .field("notices", &self.notices)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Why a pasted value is plainly not a client secret.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum ClientSecretRefusal {
    #[error("The secret is empty: paste the Value of the new client secret.")]
    Empty,
    #[error(
        "That is the Secret ID, not the Value: in Certificates & secrets, copy the Value \
         column (it is shown only right after creating the secret)."
    )]
    SecretIdGuid,
    #[error(
        "That is the app's client ID, not a secret: in Certificates & secrets, copy the \
         Value column of the new secret."
    )]
    EqualsClientId,
    #[error(
        "That is the tenant ID, not a secret: in Certificates & secrets, copy the Value \
         column of the new secret."
    )]
    EqualsTenantId,
    #[error(
        "The value contains control characters, such as a line break in the middle: copy \
         it again from the Value column, in one piece."
    )]
    ControlCharacters,
}

impl ClientSecretRefusal {
    /// A stable code for the API and the audit trail.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::SecretIdGuid => "secret_id_not_value",
            Self::EqualsClientId => "equals_client_id",
            Self::EqualsTenantId => "equals_tenant_id",
            Self::ControlCharacters => "control_characters",
        }
    }
}

/// A GUID in any case, bare or in braces: the shape of Secret IDs, client
/// IDs and tenant IDs, none of which is ever a secret's value.
#[must_use]
pub fn is_guid(text: &str) -> bool {
    let bytes = strip_braces(text).as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

fn strip_braces(text: &str) -> &str {
    text.strip_prefix('{')
        .and_then(|inner| inner.strip_suffix('}'))
        .unwrap_or(text)
}

fn same_identifier(value: &str, configured: &str) -> bool {
    let configured = strip_braces(configured.trim());
    !configured.is_empty() && strip_braces(value).eq_ignore_ascii_case(configured)
}

/// Invisible characters that rich-text copies (Teams, Outlook, web pages)
/// and Windows files (a byte-order mark) add around a value; none can be part
/// of a secret, whose characters are all URL-unreserved ASCII.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

fn is_trimmable(c: char) -> bool {
    c.is_whitespace() || is_invisible(c)
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// "Removed 1 trailing space and a line break." for what was trimmed from
/// one side; `None` when nothing was.
fn describe_removed(side: &str, removed: &str) -> Option<String> {
    let (mut spaces, mut tabs, mut line_breaks, mut invisible) = (0, 0, 0, 0);
    let mut chars = removed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => tabs += 1,
            // Windows line endings are one line break to the person who pasted.
            '\r' if chars.peek() == Some(&'\n') => {}
            c if is_line_break(c) => line_breaks += 1,
            c if is_invisible(c) => invisible += 1,
            _ => spaces += 1,
        }
    }
    // Spaces and tabs are counted because they cannot be seen; a single line
    // break reads better as "a line break".
    let line_break_count = if line_breaks == 1 {
        "a".to_owned()
    } else {
        line_breaks.to_string()
    };
    let parts: Vec<(String, &str)> = [
        (
            spaces,
            spaces.to_string(),
            plural(spaces, "space", "spaces"),
        ),
        (tabs, tabs.to_string(), plural(tabs, "tab", "tabs")),
        (
            line_breaks,
            line_break_count,
            plural(line_breaks, "line break", "line breaks"),
        ),
        (
            invisible,
            invisible.to_string(),
            plural(invisible, "invisible character", "invisible characters"),
        ),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(_, count, what)| (count, what))
    .collect();
    let ((count, what), rest) = parts.split_first()?;
    let mut listed: Vec<String> = vec![format!("{count} {side} {what}")];
    listed.extend(rest.iter().map(|(count, what)| format!("{count} {what}")));
    let listed = match listed.split_last() {
        Some((last, before)) if !before.is_empty() => format!("{} and {last}", before.join(", ")),
        _ => listed.concat(),
    };
    Some(format!("Removed {listed}."))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// At most one doubt, the most specific one, so the customer reads one
/// sentence about what to check rather than a list of symptoms.
fn format_doubt(value: &str) -> Option<String> {
    let len = value.chars().count();
    if value.chars().any(is_trimmable) {
        return Some(
            "The value contains a space or an invisible character; Microsoft's client secrets \
             never do, so it may have been split or joined when it was copied."
                .to_owned(),
        );
    }
    for generation in [CURRENT, OLDER] {
        if generation.marks(value) && len != generation.len {
            return Some(format!(
                "The value is {len} characters long, but secrets of this kind are {}: it may \
                 be cut off or have something added. Copy the whole Value again.",
                generation.len
            ));
        }
    }
    if len < MIN_CHARS {
        return Some(format!(
            "The value is only {len} characters long; Microsoft's client secrets are {MIN_CHARS} \
             to {MAX_CHARS} characters (today's are 40), so it may be incomplete."
        ));
    }
    if len > MAX_CHARS {
        return Some(format!(
            "The value is {len} characters long; Microsoft's client secrets are {MIN_CHARS} to \
             {MAX_CHARS} characters (today's are 40), so it may contain more than the secret."
        ));
    }
    if !CURRENT.matches(value) && !OLDER.matches(value) {
        return Some(
            "The value does not look like a secret Entra ID creates (40 characters with 8Q~ \
             after the first three, or 37 with 7Q~ in older ones); check that it is the whole \
             Value."
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
    const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    /// Shaped like today's secrets: three characters, `8Q~`, 34 more.
    const TODAY: &str = "abc8Q~Zy1_x.w-v~U9t8S7r6Q5p4O3n2M1l0KkJj";
    /// Shaped like older secrets: three characters, `7Q~`, 31 more.
    const OLDER_SECRET: &str = "abc7Q~Zy1_x.w-v~U9t8S7r6Q5p4O3n2M1l0K";

    fn parse(raw: &str) -> Result<ClientSecretInput, ClientSecretRefusal> {
        ClientSecretInput::parse(raw, CLIENT_ID, TENANT_ID)
    }

    #[test]
    fn the_sample_secrets_have_the_documented_lengths() {
        assert_eq!(TODAY.len(), 40);
        assert_eq!(OLDER_SECRET.len(), 37);
    }

    #[test]
    fn a_current_format_secret_is_accepted_without_remarks() {
        let input = parse(TODAY).unwrap();
        assert_eq!(input.value(), TODAY);
        assert!(input.notices().is_empty());
        assert!(input.warnings().is_empty());
    }

    #[test]
    fn an_older_7q_secret_of_37_characters_is_accepted_without_warning() {
        assert!(parse(OLDER_SECRET).unwrap().warnings().is_empty());
    }

    #[test]
    fn an_empty_value_is_refused() {
        assert_eq!(parse("").unwrap_err(), ClientSecretRefusal::Empty);
    }

    #[test]
    fn only_spaces_and_line_breaks_count_as_empty() {
        assert_eq!(parse(" \t\r\n ").unwrap_err(), ClientSecretRefusal::Empty);
    }

    #[test]
    fn a_lowercase_guid_is_refused_as_the_secret_id() {
        let refusal = parse("0b0e3a5c-1d2f-4e6a-9b8c-7d6e5f4a3b2c").unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::SecretIdGuid);
    }

    #[test]
    fn an_uppercase_guid_in_braces_is_refused_as_the_secret_id() {
        let refusal = parse("{0B0E3A5C-1D2F-4E6A-9B8C-7D6E5F4A3B2C}").unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::SecretIdGuid);
    }

    #[test]
    fn a_guid_wrapped_in_whitespace_is_still_refused_as_the_secret_id() {
        let refusal = parse("  0b0e3a5c-1d2f-4e6a-9b8c-7d6e5f4a3b2c\n").unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::SecretIdGuid);
    }

    #[test]
    fn the_secret_id_refusal_says_which_column_to_copy() {
        let message = ClientSecretRefusal::SecretIdGuid.to_string();
        assert_eq!(
            message,
            "That is the Secret ID, not the Value: in Certificates & secrets, copy the Value \
             column (it is shown only right after creating the secret)."
        );
    }

    #[test]
    fn the_client_id_in_another_case_is_refused_as_the_client_id() {
        let refusal = parse(&CLIENT_ID.to_uppercase()).unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::EqualsClientId);
    }

    #[test]
    fn the_tenant_id_is_refused_as_the_tenant_id() {
        assert_eq!(
            parse(TENANT_ID).unwrap_err(),
            ClientSecretRefusal::EqualsTenantId
        );
    }

    #[test]
    fn a_tenant_domain_name_is_refused_as_the_tenant_id() {
        let refusal = ClientSecretInput::parse(
            "Contoso.onmicrosoft.com",
            CLIENT_ID,
            "contoso.onmicrosoft.com",
        )
        .unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::EqualsTenantId);
    }

    #[test]
    fn an_unconfigured_empty_client_id_refuses_nothing_extra() {
        assert!(ClientSecretInput::parse(TODAY, "", "").is_ok());
    }

    #[test]
    fn a_line_break_inside_the_value_is_refused_as_a_control_character() {
        let refusal = parse("abc8Q~Zy1_x.w-v~U9t8S7\nr6Q5p4O3n2M1l0Kk").unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::ControlCharacters);
    }

    #[test]
    fn a_nul_byte_is_refused_as_a_control_character() {
        let refusal = parse("abc8Q~Zy1_x.w-v~U9t8\0S7r6Q5p4O3n2M1l0Kk").unwrap_err();
        assert_eq!(refusal, ClientSecretRefusal::ControlCharacters);
    }

    #[test]
    fn refusal_codes_are_stable() {
        let codes = [
            ClientSecretRefusal::Empty,
            ClientSecretRefusal::SecretIdGuid,
            ClientSecretRefusal::EqualsClientId,
            ClientSecretRefusal::EqualsTenantId,
            ClientSecretRefusal::ControlCharacters,
        ]
        .map(|refusal| refusal.code());
        assert_eq!(
            codes,
            [
                "empty",
                "secret_id_not_value",
                "equals_client_id",
                "equals_tenant_id",
                "control_characters"
            ]
        );
    }

    #[test]
    fn a_trailing_space_and_line_break_are_removed() {
        assert_eq!(parse(&format!("{TODAY} \n")).unwrap().value(), TODAY);
    }

    #[test]
    fn removing_a_trailing_space_and_line_break_is_told() {
        let input = parse(&format!("{TODAY} \r\n")).unwrap();
        assert_eq!(
            input.notices(),
            ["Removed 1 trailing space and a line break."]
        );
    }

    #[test]
    fn leading_and_trailing_removals_are_told_separately() {
        let input = parse(&format!("\t  {TODAY}\n\n")).unwrap();
        assert_eq!(
            input.notices(),
            [
                "Removed 2 leading spaces and 1 tab.",
                "Removed 2 trailing line breaks."
            ]
        );
    }

    #[test]
    fn a_lone_line_break_is_told_without_a_count() {
        let input = parse(&format!("{TODAY}\n")).unwrap();
        assert_eq!(input.notices(), ["Removed a trailing line break."]);
    }

    #[test]
    fn a_byte_order_mark_in_front_is_removed_and_told() {
        let input = parse(&format!("\u{FEFF}{TODAY}")).unwrap();
        assert_eq!(input.value(), TODAY);
        assert_eq!(input.notices(), ["Removed 1 leading invisible character."]);
    }

    #[test]
    fn a_value_shorter_than_16_characters_gets_a_warning() {
        let input = parse("abcdefghijklmno").unwrap();
        assert!(input.warnings()[0].contains("only 15 characters"));
    }

    #[test]
    fn a_value_longer_than_64_characters_gets_a_warning() {
        let input = parse(&"a".repeat(65)).unwrap();
        assert!(input.warnings()[0].contains("65 characters long"));
    }

    #[test]
    fn a_truncated_current_secret_is_warned_about_as_cut_off() {
        let input = parse(&TODAY[..30]).unwrap();
        assert!(input.warnings()[0].contains("are 40: it may be cut off"));
    }

    #[test]
    fn a_value_of_plausible_length_but_another_format_gets_a_warning() {
        let input = parse("this-is-not-an-entra-secret-at-all").unwrap();
        assert!(input.warnings()[0].contains("does not look like a secret Entra ID creates"));
    }

    #[test]
    fn a_space_inside_the_value_is_warned_about_not_refused() {
        let input = parse("abc8Q~Zy1_x.w-v~U9t8S7 r6Q5p4O3n2M1l0Kk").unwrap();
        assert!(input.warnings()[0].contains("contains a space"));
    }

    #[test]
    fn a_current_length_value_with_a_character_microsoft_never_uses_gets_a_warning() {
        let input = parse("abc8Q~Zy1_x.w-v~U9t8S7r6Q5p4O3n2M1l0KkJ+").unwrap();
        assert!(input.warnings()[0].contains("does not look like a secret Entra ID creates"));
    }

    #[test]
    fn warnings_never_contain_the_value() {
        let value = "this-is-not-an-entra-secret-at-all";
        let input = parse(value).unwrap();
        assert!(input.warnings().iter().all(|w| !w.contains(value)));
    }

    #[test]
    fn the_hint_is_the_first_three_characters() {
        assert_eq!(parse(TODAY).unwrap().hint(), "abc");
    }

    #[test]
    fn debug_output_hides_the_value() {
        let printed = format!("{:?}", parse(TODAY).unwrap());
        assert!(printed.contains("***"));
        assert!(!printed.contains(TODAY));
        assert!(!printed.contains("abc"));
    }

    #[test]
    fn is_guid_refuses_a_guid_missing_a_brace() {
        assert!(!is_guid("{0b0e3a5c-1d2f-4e6a-9b8c-7d6e5f4a3b2c"));
    }
}
