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
    cleanings: Vec<Cleaning>,
    notices: Vec<String>,
    warnings: Vec<String>,
    secret_id: Option<String>,
}

/// What was taken off a pasted value. Each has a stable code, so the page
/// (which cleans the same way as the customer types) and the server name
/// the same thing, and translations key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleaning {
    /// Spaces, tabs or line breaks at either end.
    Trimmed,
    /// Non-breaking or zero-width spaces, joiners, a byte order mark.
    Invisible,
    /// `Value:`, `client_secret=` and the like in front.
    Label,
    /// Straight or typographic quotes around it.
    Quotes,
    /// The JSON that `az ad app credential reset` or
    /// `az ad sp create-for-rbac` prints: its `password` was taken.
    CliOutput,
    /// A whole row of the portal's Client secrets table.
    PortalRow,
    /// A value a mail client broke across lines, joined again.
    Wrapped,
    /// The same value twice in a row.
    PastedTwice,
    /// `%7E` from a URL, turned back into `~`.
    PercentEncoded,
}

impl Cleaning {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Trimmed => "trimmed",
            Self::Invisible => "invisible",
            Self::Label => "label",
            Self::Quotes => "quotes",
            Self::CliOutput => "cli_output",
            Self::PortalRow => "portal_row",
            Self::Wrapped => "wrapped",
            Self::PastedTwice => "pasted_twice",
            Self::PercentEncoded => "percent_encoded",
        }
    }

    /// The sentence the customer reads (trimming has its own, counted one).
    fn sentence(self) -> &'static str {
        match self {
            Self::Trimmed => "Removed spaces or line breaks around the value.",
            Self::Invisible => {
                "Removed invisible characters (non-breaking or zero-width spaces, a byte order \
                 mark) that the copy added."
            }
            Self::Label => "Removed the label in front of the value.",
            Self::Quotes => "Removed the quotes around the value.",
            Self::CliOutput => {
                "Took the password from the Azure CLI output; the rest of it was left out."
            }
            Self::PortalRow => {
                "Took the Value from the copied Client secrets row; the description, expiry \
                 and Secret ID were left out."
            }
            Self::Wrapped => "Joined the value, which was broken across lines.",
            Self::PastedTwice => "The value was pasted twice; one copy was kept.",
            Self::PercentEncoded => "Turned %7E back into ~: the value had been copied from a URL.",
        }
    }
}

/// What is left of a paste as the cleaning goes, and what was done to it.
struct Paste {
    text: Zeroizing<String>,
    cleanings: Vec<Cleaning>,
    notices: Vec<String>,
    secret_id: Option<String>,
}

impl Paste {
    fn replace(&mut self, text: &str, cleaning: Cleaning) {
        self.text = Zeroizing::new(text.to_owned());
        self.note(cleaning);
    }

    fn note(&mut self, cleaning: Cleaning) {
        if !self.cleanings.contains(&cleaning) {
            self.cleanings.push(cleaning);
            if cleaning != Cleaning::Trimmed {
                self.notices.push(cleaning.sentence().to_owned());
            }
        }
    }

    /// Trims both ends, telling what was removed in counted words.
    fn trim(&mut self) {
        let raw = self.text.as_str();
        let value = raw.trim_start_matches(is_trimmable);
        let leading = &raw[..raw.len() - value.len()];
        let value = value.trim_end_matches(is_trimmable);
        let trailing = &raw[leading.len() + value.len()..];
        let told: Vec<String> = [("leading", leading), ("trailing", trailing)]
            .into_iter()
            .filter_map(|(side, removed)| describe_removed(side, removed))
            .collect();
        if told.is_empty() {
            return;
        }
        let value = Zeroizing::new(value.to_owned());
        self.text = value;
        if !self.cleanings.contains(&Cleaning::Trimmed) {
            self.cleanings.push(Cleaning::Trimmed);
        }
        self.notices.extend(told);
    }
}

impl ClientSecretInput {
    /// `client_id` and `tenant_id` are the configured app's client ID and
    /// tenant (a GUID or a domain name), so that pasting either is caught.
    ///
    /// A value of either generation Entra ID issues is never changed; the
    /// cleaning steps below only take off what no secret contains.
    pub fn parse(raw: &str, client_id: &str, tenant_id: &str) -> Result<Self, ClientSecretRefusal> {
        let mut paste = Paste {
            text: Zeroizing::new(raw.to_owned()),
            cleanings: Vec::new(),
            notices: Vec::new(),
            secret_id: None,
        };
        clean(&mut paste, client_id, tenant_id)?;
        let value = paste.text.as_str();

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
        if is_masked(value) {
            return Err(ClientSecretRefusal::Masked);
        }

        let warnings = format_doubt(value).into_iter().collect();
        Ok(Self {
            value: paste.text,
            cleanings: paste.cleanings,
            notices: paste.notices,
            warnings,
            secret_id: paste.secret_id,
        })
    }

    /// Today's format (`…8Q~…`, 40 characters): a secret Microsoft may
    /// still be propagating when it refuses it as wrong.
    #[must_use]
    pub fn is_current_format(&self) -> bool {
        CURRENT.matches(&self.value)
    }

    /// What was taken off, as stable codes, in the order it was done.
    #[must_use]
    pub fn cleanings(&self) -> &[Cleaning] {
        &self.cleanings
    }

    /// The Secret ID, when the paste carried one beside the value (a copied
    /// portal row): not secret, kept for the record.
    #[must_use]
    pub fn secret_id(&self) -> Option<&str> {
        self.secret_id.as_deref()
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
            .field("cleanings", &self.cleanings)
            .field("secret_id", &self.secret_id)
            .field("notices", &self.notices)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

/// Takes off, in order, what copying adds around or into a value. A value
/// that already has either generation's shape is left exactly as it is.
fn clean(paste: &mut Paste, client_id: &str, tenant_id: &str) -> Result<(), ClientSecretRefusal> {
    if paste.text.chars().any(is_invisible) {
        let visible: String = paste.text.chars().filter(|c| !is_invisible(*c)).collect();
        paste.replace(&visible, Cleaning::Invisible);
    }
    paste.trim();
    if is_generated(&paste.text) {
        return Ok(());
    }
    if let Some(password) = cli_output(&paste.text, client_id, tenant_id)? {
        paste.replace(&password, Cleaning::CliOutput);
        paste.trim();
    }
    if paste.text.contains('\t') {
        let (value, secret_id) = portal_row(&paste.text)?;
        paste.replace(&value, Cleaning::PortalRow);
        paste.secret_id = secret_id;
    }
    // Twice: `client_secret="…"` is a label, then quotes; `"Value: …"` is
    // quotes, then a label.
    for _ in 0..2 {
        if let Some(rest) = without_label(&paste.text).map(|rest| Zeroizing::new(rest.to_owned())) {
            paste.replace(&rest, Cleaning::Label);
            paste.trim();
        }
        if let Some(inner) =
            without_quotes(&paste.text).map(|inner| Zeroizing::new(inner.to_owned()))
        {
            paste.replace(&inner, Cleaning::Quotes);
            paste.trim();
        }
    }
    if let Some(one) = one_of_two(&paste.text).map(|one| Zeroizing::new(one.to_owned())) {
        paste.replace(&one, Cleaning::PastedTwice);
    } else if let Some(joined) = unwrapped(&paste.text) {
        paste.replace(&joined, Cleaning::Wrapped);
    }
    if let Some(decoded) = percent_decoded(&paste.text) {
        paste.replace(&decoded, Cleaning::PercentEncoded);
    }
    Ok(())
}

/// Either generation's exact shape: such a value is never touched.
fn is_generated(value: &str) -> bool {
    CURRENT.matches(value) || OLDER.matches(value)
}

/// What `az ad app credential reset` and `az ad sp create-for-rbac` print.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliOutput {
    password: Option<String>,
    app_id: Option<String>,
    tenant: Option<String>,
}

/// The `password` of the Azure CLI's JSON, once its `appId` and `tenant`
/// are this app's; `None` when the paste is not such JSON.
fn cli_output(
    text: &str,
    client_id: &str,
    tenant_id: &str,
) -> Result<Option<Zeroizing<String>>, ClientSecretRefusal> {
    if !(text.starts_with('{') && text.ends_with('}') && text.contains('"')) {
        return Ok(None);
    }
    let Ok(output) = serde_json::from_str::<CliOutput>(text) else {
        return Ok(None);
    };
    if output.password.is_none() && output.app_id.is_none() && output.tenant.is_none() {
        return Ok(None);
    }
    if let Some(app) = &output.app_id
        && !client_id.trim().is_empty()
        && !same_identifier(app, client_id)
    {
        return Err(ClientSecretRefusal::OtherApp);
    }
    // A configured domain name cannot be compared with the GUID the CLI
    // prints; Microsoft's check settles that case.
    if let Some(tenant) = &output.tenant
        && is_guid(tenant_id.trim())
        && !same_identifier(tenant, tenant_id)
    {
        return Err(ClientSecretRefusal::OtherTenant);
    }
    output
        .password
        .map(|password| Some(Zeroizing::new(password)))
        .ok_or(ClientSecretRefusal::CliOutputWithoutPassword)
}

/// The Value cell of a row copied from the portal's Client secrets table
/// (Description, Expires, Value, Secret ID, separated by tabs), and the
/// Secret ID beside it.
fn portal_row(text: &str) -> Result<(Zeroizing<String>, Option<String>), ClientSecretRefusal> {
    let cells: Vec<&str> = text
        .split('\t')
        .map(|cell| cell.trim_matches(is_trimmable))
        .filter(|cell| !cell.is_empty())
        .collect();
    let guid_at = cells.iter().position(|cell| is_guid(cell));
    let secret_id = guid_at.map(|at| strip_braces(cells[at]).to_ascii_lowercase());
    let generated: Vec<&&str> = cells.iter().filter(|cell| is_generated(cell)).collect();
    let value = match (generated.as_slice(), guid_at) {
        ([value], _) => Some(**value),
        ([], Some(at)) if at > 0 => Some(cells[at - 1]),
        _ => None,
    };
    match value {
        Some(value) if is_masked(value) => Err(ClientSecretRefusal::Masked),
        Some(value) => Ok((Zeroizing::new(value.to_owned()), secret_id)),
        None if cells.iter().any(|cell| is_masked(cell)) => Err(ClientSecretRefusal::Masked),
        None => Err(ClientSecretRefusal::PortalRow),
    }
}

/// Words people and tools put in front of a value, longest first.
const LABELS: &[&str] = &[
    "application (client) id",
    "directory (tenant) id",
    "client secret value",
    "client_secret_value",
    "client_secret",
    "client-secret",
    "clientsecret",
    "client secret",
    "secret value",
    "secret_id",
    "secret id",
    "secretid",
    "tenant id",
    "client id",
    "password",
    "secret",
    "value",
];

/// Quote pairs: straight ones, and those Word and Outlook type instead.
const QUOTES: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201C}', '\u{201D}'),
    ('\u{201D}', '\u{201D}'),
    ('\u{201E}', '\u{201C}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{2019}', '\u{2019}'),
    ('\u{201A}', '\u{2018}'),
    ('\u{00AB}', '\u{00BB}'),
    ('\u{00BB}', '\u{00AB}'),
];

fn is_quote(c: char) -> bool {
    QUOTES.iter().any(|(open, close)| *open == c || *close == c)
}

/// What follows `Value:`, `client_secret=` or `"password": ` (a line of
/// JSON, whose trailing comma goes too).
fn without_label(text: &str) -> Option<&str> {
    let (quoted, body) = match text.chars().next() {
        Some(quote) if is_quote(quote) => (true, &text[quote.len_utf8()..]),
        _ => (false, text),
    };
    let label = LABELS.iter().find(|label| {
        body.get(..label.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(label))
    })?;
    let mut rest = &body[label.len()..];
    if quoted {
        rest = rest.strip_prefix(is_quote)?;
    }
    let rest = rest
        .trim_start_matches([' ', '\t'])
        .strip_prefix([':', '='])?
        .trim_start_matches(is_trimmable);
    let rest = if quoted {
        rest.strip_suffix(',').unwrap_or(rest)
    } else {
        rest
    };
    (!rest.is_empty()).then_some(rest)
}

/// What quotes enclose. Typographic quotes are never part of a secret;
/// straight ones may be part of an older free-form value, so they are taken
/// off only around what is plainly no such value: one of Entra ID's formats,
/// a GUID, or a labelled value.
fn without_quotes(text: &str) -> Option<&str> {
    let (open, inner) = QUOTES.iter().find_map(|(open, close)| {
        let inner = text.strip_prefix(*open)?.strip_suffix(*close)?;
        Some((*open, inner))
    })?;
    let plain = inner.trim_matches(is_trimmable);
    let enclosed_debris = is_generated(plain) || is_guid(plain) || without_label(plain).is_some();
    (!inner.is_empty() && (!open.is_ascii() || enclosed_debris)).then_some(inner)
}

/// One copy of a value pasted twice, with or without a space or line
/// break between. Without one, only a value of a generated shape is split,
/// so that no free-form secret is ever cut in half.
fn one_of_two(text: &str) -> Option<&str> {
    let parts: Vec<&str> = text.split(is_trimmable).filter(|p| !p.is_empty()).collect();
    if let [first, second] = parts.as_slice() {
        return (first == second && first.chars().count() >= MIN_CHARS).then_some(*first);
    }
    let half = text.len() / 2;
    if text.len().is_multiple_of(2) && text.is_char_boundary(half) {
        let (first, second) = text.split_at(half);
        if first == second && is_generated(first) {
            return Some(first);
        }
    }
    None
}

/// A value a mail client broke across lines, when the pieces joined have a
/// generated shape (otherwise a line break inside is refused).
fn unwrapped(text: &str) -> Option<Zeroizing<String>> {
    if !text.contains(is_line_break) {
        return None;
    }
    let joined: Zeroizing<String> = Zeroizing::new(
        text.split(is_line_break)
            .map(|piece| piece.trim_matches(is_trimmable))
            .collect(),
    );
    is_generated(&joined).then_some(joined)
}

/// `~` that arrived as `%7E` from a URL, when decoding gives a generated
/// shape (a free-form secret may hold `%7E` itself).
fn percent_decoded(text: &str) -> Option<Zeroizing<String>> {
    let encoded = text
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'7' && w[2].eq_ignore_ascii_case(&b'e'));
    if !encoded {
        return None;
    }
    let decoded = Zeroizing::new(text.replace("%7E", "~").replace("%7e", "~"));
    is_generated(&decoded).then_some(decoded)
}

/// A value the portal has hidden: a few characters shown, then asterisks,
/// dots or an ellipsis. The portal shows a value only right after creating
/// it, so what it shows later can never be used.
fn is_masked(value: &str) -> bool {
    let shown = value.trim_end_matches(['*', '\u{2022}', '\u{25CF}', '\u{2026}']);
    let hidden = value[shown.len()..].chars().count();
    let (shown, dots) = match shown.strip_suffix("...") {
        Some(before) => (before, true),
        None => (shown, false),
    };
    (hidden >= 3 || value.ends_with('\u{2026}') || dots) && shown.chars().count() <= 6
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
    #[error(
        "That value is hidden behind asterisks: a secret's Value is shown only once, right \
         after it is created. Create a new secret: Certificates & secrets → Client secrets → \
         New client secret, and copy its Value right away."
    )]
    Masked,
    #[error(
        "That is a whole row of the Client secrets table, and its Value could not be told \
         apart: copy only the Value cell."
    )]
    PortalRow,
    #[error(
        "That Azure CLI output is for another app (its appId is not this app's client ID): \
         reset the credential of the app shown on this page."
    )]
    OtherApp,
    #[error(
        "That Azure CLI output is from another tenant (its tenant is not this tenant's ID): \
         sign in to the tenant shown on this page and reset the credential there."
    )]
    OtherTenant,
    #[error(
        "That Azure CLI output has no password: paste the output of `az ad app credential \
         reset`, or only its password."
    )]
    CliOutputWithoutPassword,
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
            Self::Masked => "masked_value",
            Self::PortalRow => "portal_row",
            Self::OtherApp => "other_app",
            Self::OtherTenant => "other_tenant",
            Self::CliOutputWithoutPassword => "cli_output_without_password",
        }
    }
}

/// The app registration's Certificates & secrets page, opened by client ID,
/// in the admin portal of the cloud whose sign-in host `authority` is.
/// `None` for a cloud without a known portal (or a stand-in) and for a client
/// ID that is not a GUID, so nothing else ever ends up in the link.
#[must_use]
pub fn credentials_page(authority: &str, client_id: &str) -> Option<String> {
    const BLADE: &str =
        "#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/";
    let client_id = strip_braces(client_id.trim());
    if !is_guid(client_id) {
        return None;
    }
    let host = authority
        .trim()
        .strip_prefix("https://")?
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let portal = match host.as_str() {
        "login.microsoftonline.com" | "login.windows.net" => "https://entra.microsoft.com/",
        "login.microsoftonline.us" => "https://entra.microsoft.us/",
        "login.partner.microsoftonline.cn" | "login.chinacloudapi.cn" => "https://portal.azure.cn/",
        _ => return None,
    };
    Some(format!("{portal}{BLADE}{}", client_id.to_ascii_lowercase()))
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
        '\u{00A0}'
            | '\u{00AD}'
            | '\u{200B}'
            | '\u{200C}'
            | '\u{200D}'
            | '\u{202F}'
            | '\u{2060}'
            | '\u{FEFF}'
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
            ClientSecretRefusal::Masked,
            ClientSecretRefusal::PortalRow,
            ClientSecretRefusal::OtherApp,
            ClientSecretRefusal::OtherTenant,
            ClientSecretRefusal::CliOutputWithoutPassword,
        ]
        .map(|refusal| refusal.code());
        assert_eq!(
            codes,
            [
                "empty",
                "secret_id_not_value",
                "equals_client_id",
                "equals_tenant_id",
                "control_characters",
                "masked_value",
                "portal_row",
                "other_app",
                "other_tenant",
                "cli_output_without_password"
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
        assert_eq!(
            input.notices(),
            [
                "Removed invisible characters (non-breaking or zero-width spaces, a byte order \
                 mark) that the copy added."
            ]
        );
    }

    /// The one list of pastes that the page's classifier is tested against
    /// too (tests/it/browser.rs), so the two cannot drift apart.
    #[derive(serde::Deserialize)]
    struct SharedCases {
        client_id: String,
        tenant_id: String,
        cases: Vec<SharedCase>,
    }

    #[derive(serde::Deserialize)]
    struct SharedCase {
        name: String,
        input: String,
        value: Option<String>,
        #[serde(default)]
        cleaned: Vec<String>,
        refused: Option<String>,
    }

    #[test]
    fn every_shared_paste_case_is_cleaned_or_refused_as_listed() {
        let shared: SharedCases =
            serde_json::from_str(include_str!("../../tests/paste-cases.json")).unwrap();
        let mut wrong = Vec::new();
        for case in &shared.cases {
            let got =
                match ClientSecretInput::parse(&case.input, &shared.client_id, &shared.tenant_id) {
                    Ok(input) => (
                        Some(input.value().to_owned()),
                        input
                            .cleanings()
                            .iter()
                            .map(|c| c.code().to_owned())
                            .collect(),
                        None,
                    ),
                    Err(refusal) => (None, Vec::new(), Some(refusal.code().to_owned())),
                };
            let expected = (
                case.value.clone(),
                case.cleaned.clone(),
                case.refused.clone(),
            );
            if got != expected {
                wrong.push(format!("{}: got {got:?}, expected {expected:?}", case.name));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_portal_row_gives_its_secret_id_for_the_record() {
        let row = format!("Q4\t5/1/2027\t{TODAY}\t{{0B0E3A5C-1D2F-4E6A-9B8C-7D6E5F4A3B2C}}");
        assert_eq!(
            parse(&row).unwrap().secret_id(),
            Some("0b0e3a5c-1d2f-4e6a-9b8c-7d6e5f4a3b2c")
        );
    }

    #[test]
    fn every_cleaning_is_told_in_a_sentence() {
        let input = parse(&format!("Value: \u{201C}{TODAY}\u{201D}")).unwrap();
        assert_eq!(
            input.notices(),
            [
                "Removed the label in front of the value.",
                "Removed the quotes around the value."
            ]
        );
    }

    #[test]
    fn a_masked_value_is_refused_saying_how_to_create_a_new_secret() {
        let refusal = parse("abc******************").unwrap_err();
        assert!(
            refusal.to_string().contains("shown only once")
                && refusal.to_string().contains("New client secret")
        );
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
    fn the_credentials_page_opens_the_app_by_client_id_in_its_clouds_portal() {
        assert_eq!(
            credentials_page("https://login.microsoftonline.com/", CLIENT_ID).as_deref(),
            Some(
                "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/\
                 ApplicationMenuBlade/~/Credentials/appId/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
            )
        );
        assert!(
            credentials_page("https://login.microsoftonline.us", CLIENT_ID)
                .unwrap()
                .starts_with("https://entra.microsoft.us/#view/")
        );
        assert!(
            credentials_page("https://login.partner.microsoftonline.cn", CLIENT_ID)
                .unwrap()
                .starts_with("https://portal.azure.cn/#view/")
        );
    }

    #[test]
    fn no_credentials_page_for_an_unknown_cloud_or_a_client_id_that_is_not_a_guid() {
        assert_eq!(credentials_page("http://127.0.0.1:9", CLIENT_ID), None);
        assert_eq!(
            credentials_page("https://login.microsoftonline.com", "x/../y"),
            None
        );
    }

    #[test]
    fn is_guid_refuses_a_guid_missing_a_brace() {
        assert!(!is_guid("{0b0e3a5c-1d2f-4e6a-9b8c-7d6e5f4a3b2c"));
    }
}
