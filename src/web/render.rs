//! Rendering pages: askama templates (which escape by default), the error
//! and not-found pages, and the pieces several pages share.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::assets::STATIC_BASE;
use super::error::AppError;
use crate::branding::Branding;
use crate::directory::Tenant;
use crate::domain::Ttl;
use crate::locale::{self, Language};

/// What the frame around every page (templates/base.html) needs: the
/// language and its words, the vendor's name and look, and the browser-side
/// messages. Customer and recipient pages are in the reader's language with
/// a language switch; staff pages are in English.
pub struct Chrome {
    pub static_base: &'static str,
    pub lang: Language,
    /// The header's and the title's name: the vendor's, or `handoff`.
    pub brand: String,
    /// The vendor's name as messages use it ("Note from Fabrikam").
    vendor: String,
    /// The support contact's link target and text.
    pub support: Option<(String, String)>,
    pub logo: bool,
    pub accent: bool,
    /// Offers the language switch.
    pub localised: bool,
    /// The page's browser-side messages, JSON that is safe inside a
    /// `<script>` element.
    pub browser_messages: String,
}

impl Chrome {
    /// The vendor's name is a default (`the vendor`) until it is set; the
    /// header then keeps the product's own name.
    #[must_use]
    pub fn new(lang: Language, vendor: &str, vendor_is_set: bool, branding: &Branding) -> Self {
        Self {
            static_base: &STATIC_BASE,
            lang,
            brand: if vendor_is_set {
                vendor.to_owned()
            } else {
                "handoff".to_owned()
            },
            vendor: vendor.to_owned(),
            support: branding
                .support
                .as_ref()
                .map(|s| (s.href(), s.text().to_owned())),
            logo: branding.logo.is_some(),
            accent: branding.accent.is_some(),
            localised: true,
            browser_messages: browser_messages(lang),
        }
    }

    /// English, the product's name, nothing of the vendor's: for pages
    /// drawn where no settings are at hand (error pages of staff routes).
    #[must_use]
    pub fn plain() -> Self {
        let mut chrome = Self::new(Language::En, "handoff", false, &Branding::default());
        chrome.localised = false;
        chrome
    }

    /// The same frame, in English and without the language switch.
    #[must_use]
    pub fn staff(mut self) -> Self {
        self.lang = Language::En;
        self.localised = false;
        self.browser_messages = browser_messages(Language::En);
        self
    }

    fn vendor_arg(&self) -> (&'static str, fluent_bundle::FluentValue<'_>) {
        ("vendor", locale::text(self.vendor.as_str()))
    }

    /// The message `id` in the page's language.
    #[must_use]
    pub fn t(&self, id: &str) -> String {
        self.lang.text_with(id, &[self.vendor_arg()])
    }

    /// A message with one number (which picks its plural form).
    #[must_use]
    #[allow(clippy::trivially_copy_pass_by_ref)] // askama passes fields by reference
    pub fn tn(&self, id: &str, name: &str, n: &u32) -> String {
        self.lang.text_with(
            id,
            &[self.vendor_arg(), (name, locale::number(u64::from(*n)))],
        )
    }

    /// A message with one number and one text.
    #[must_use]
    #[allow(clippy::trivially_copy_pass_by_ref)] // askama passes fields by reference
    pub fn tns(&self, id: &str, name: &str, n: &u32, text_name: &str, text: &str) -> String {
        self.lang.text_with(
            id,
            &[
                self.vendor_arg(),
                (name, locale::number(u64::from(*n))),
                (text_name, locale::text(text)),
            ],
        )
    }

    /// The language switch: `(tag, name, current)` for each language.
    #[must_use]
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Language::ALL
            .into_iter()
            .map(|l| (l.tag(), l.native_name(), l == self.lang))
            .collect()
    }
}

/// The `js-` messages of each language as a JSON object, made once. `<`,
/// `>` and `&` are escaped so that no message can end the `<script>`
/// element that holds them.
static BROWSER_MESSAGES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    Language::ALL
        .into_iter()
        .map(|lang| {
            let map: std::collections::BTreeMap<String, String> =
                lang.templates("js-").into_iter().collect();
            serde_json::to_string(&map)
                .unwrap_or_else(|_| "{}".to_owned())
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
        })
        .collect()
});

fn browser_messages(lang: Language) -> String {
    let index = Language::ALL.iter().position(|l| *l == lang).unwrap_or(0);
    BROWSER_MESSAGES[index].clone()
}

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Chrome,
    title: String,
    message: String,
}

/// An error as a page, with the same status and headers as on the API.
pub fn error_page(error: AppError) -> Response {
    error_page_in(Chrome::plain(), error)
}

/// An error as a page in the reader's language: the title is, the
/// server's sentence about the cause stays as the API words it.
pub fn error_page_in(page: Chrome, error: AppError) -> Response {
    error.respond_with(|described| {
        let title = if page.lang == Language::En {
            described
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned()
        } else {
            page.t("error-title")
        };
        render(
            described.status,
            &ErrorPage {
                page,
                title,
                message: described.message.clone(),
            },
        )
    })
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    page: Chrome,
}

#[must_use]
pub fn not_found() -> Response {
    not_found_in(Chrome::plain())
}

#[must_use]
pub fn not_found_in(page: Chrome) -> Response {
    render(StatusCode::NOT_FOUND, &NotFoundPage { page })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    page: Chrome,
    error: Option<&'a str>,
    next: &'a str,
}

pub fn sign_in_page(error: Option<&str>, next: &str, status: StatusCode) -> Response {
    render(
        status,
        &SignInPage {
            page: Chrome::plain(),
            error,
            next,
        },
    )
}

/// One configured tenant, as staff pages list it.
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub entra_tenant: String,
}

impl From<&Tenant> for TenantRow {
    fn from(tenant: &Tenant) -> Self {
        Self {
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
            entra_tenant: tenant.entra_tenant.clone(),
        }
    }
}

/// How a mail went, as the staff pages show it.
pub struct MailRow {
    /// `queued`, `sent` or `failed`.
    pub kind: &'static str,
    pub label: String,
    pub detail: Option<String>,
}

impl MailRow {
    /// From a `mail.*` audit event.
    #[must_use]
    pub fn of(event: &crate::audit::AuditEvent) -> Self {
        let at = super::format::human_time(event.at);
        let (kind, label) = match event.kind.as_str() {
            "mail.sent" => ("sent", format!("Mailed {at}")),
            "mail.failed" => ("failed", format!("Mail failed {at}")),
            _ => ("queued", format!("Mail queued {at}")),
        };
        Self {
            kind,
            label,
            detail: (kind == "failed").then(|| event.detail.clone()).flatten(),
        }
    }
}

/// Expiry choices offered in forms, up to the configured maximum: `(value
/// in seconds, label, selected)`.
#[must_use]
pub fn ttl_options(
    lang: Language,
    default: Ttl,
    max: Ttl,
    selected: Option<&str>,
) -> Vec<(String, String, bool)> {
    const CHOICES: &[u64] = &[
        3600,
        4 * 3600,
        86_400,
        3 * 86_400,
        7 * 86_400,
        14 * 86_400,
        30 * 86_400,
    ];
    // Whole days or hours in words; anything else as the setting says it.
    let label = |ttl: u64| match ttl {
        s if s % 86_400 == 0 => {
            lang.text_with("ttl-days", &[("count", locale::number(s / 86_400))])
        }
        s if s % 3600 == 0 => lang.text_with("ttl-hours", &[("count", locale::number(s / 3600))]),
        _ => String::new(),
    };
    let mut secs: Vec<(u64, String)> = CHOICES
        .iter()
        .filter(|s| **s <= max.as_secs())
        .map(|s| (*s, label(*s)))
        .collect();
    for extra in [default, max] {
        if !secs.iter().any(|(s, _)| *s == extra.as_secs()) {
            let words = label(extra.as_secs());
            let words = if words.is_empty() {
                extra.to_string()
            } else {
                words
            };
            secs.push((extra.as_secs(), words));
        }
    }
    secs.sort_unstable_by_key(|(s, _)| *s);
    let selected = selected.unwrap_or("");
    secs.into_iter()
        .map(|(s, label)| {
            let value = s.to_string();
            let is_selected = if selected.is_empty() {
                s == default.as_secs()
            } else {
                value == selected
            };
            (value, label, is_selected)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_languages_browser_messages_are_json_that_cannot_end_their_script_element() {
        for lang in Language::ALL {
            let json = browser_messages(lang);
            assert!(!json.contains(['<', '>', '&']), "{lang}: {json}");
            let parsed: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&json).unwrap();
            assert!(parsed["js-revealed-at"].contains("{time}"), "{lang}");
            assert!(parsed.keys().all(|id| id.starts_with("js-")));
        }
    }

    /// The ids a page script asks for with `t("…")` or `tp("…", n)`, by name.
    fn script_message_ids(source: &str) -> Vec<(String, bool)> {
        let mut ids = Vec::new();
        for (call, plural) in [("t(\"", false), ("tp(\"", true)] {
            for (at, _) in source.match_indices(call) {
                let before = source[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let rest = &source[at + call.len()..];
                if let Some(end) = rest.find('"') {
                    ids.push((rest[..end].to_owned(), plural));
                }
            }
        }
        ids
    }

    #[test]
    fn every_message_a_page_script_asks_for_exists_in_every_language() {
        let english: std::collections::BTreeSet<String> = Language::En
            .templates("js-")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut missing = Vec::new();
        let mut asked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "js") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (id, plural) in script_message_ids(&source) {
                asked += 1;
                let wanted = if plural {
                    vec![format!("js-{id}-one"), format!("js-{id}-other")]
                } else {
                    vec![format!("js-{id}")]
                };
                for id in wanted {
                    if !english.contains(&id) {
                        missing.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
        assert!(asked > 50, "the scan found the scripts' messages ({asked})");
        assert!(missing.is_empty(), "{missing:#?}");
    }

    /// The request page words the paste check and the server's refusals
    /// from their codes: every code in the shared list of pastes has its
    /// sentences (and so, by the locale tests, in every language).
    #[test]
    fn every_paste_code_has_its_sentences_for_the_request_page() {
        let cases: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/paste-cases.json"
        )))
        .unwrap();
        let mut wanted = std::collections::BTreeSet::new();
        for case in cases["cases"].as_array().unwrap() {
            if let Some(code) = case["refused"].as_str() {
                wanted.insert(format!("js-req-refused-{code}"));
            }
            for code in case["cleaned"].as_array().into_iter().flatten() {
                let code = code.as_str().unwrap();
                wanted.insert(format!("js-req-clean-{code}"));
                wanted.insert(format!("js-req-cleaned-{code}"));
            }
        }
        assert!(wanted.len() > 20, "{wanted:?}");
        for lang in Language::ALL {
            let have: std::collections::BTreeSet<String> = lang
                .templates("js-req-")
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let missing: Vec<&String> = wanted.difference(&have).collect();
            assert!(missing.is_empty(), "{lang}: {missing:?}");
        }
    }

    #[test]
    fn expiry_choices_are_worded_in_the_readers_language() {
        let max = Ttl::setting("7d").unwrap();
        let default = Ttl::setting("24h").unwrap();
        let german = ttl_options(Language::De, default, max, None);
        let labels: Vec<&str> = german.iter().map(|(_, label, _)| label.as_str()).collect();
        assert_eq!(
            labels,
            ["1 Stunde", "4 Stunden", "1 Tag", "3 Tage", "7 Tage"]
        );
        assert!(
            german
                .iter()
                .any(|(value, _, selected)| value == "86400" && *selected)
        );
    }
}
