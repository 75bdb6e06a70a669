//! The languages customers and recipients read: which ones there are, which
//! one a request asks for, and the words in each. The words live in Fluent
//! message files, `locales/<language>/<file>.ftl`, compiled into the binary;
//! every language has the same messages with the same variables (a unit test
//! below fails otherwise), so a lookup in any language finds its message.
//!
//! Pages and e-mail share this module; it depends on nothing else in the
//! crate.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;

/// A language the pages are written in. `parse` is the only way in from
/// text; the tags are the ones `<html lang>` and `Intl` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Language {
    #[default]
    En,
    De,
    Fr,
    Es,
    PtBr,
    Nl,
    It,
    Ja,
}

/// A language tag that is not one of [`Language::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a supported language (supported: en, de, fr, es, pt-BR, nl, it, ja)")]
pub struct UnsupportedLanguage;

impl Language {
    /// Every language, English (the fallback) first.
    pub const ALL: [Self; 8] = [
        Self::En,
        Self::De,
        Self::Fr,
        Self::Es,
        Self::PtBr,
        Self::Nl,
        Self::It,
        Self::Ja,
    ];

    /// One of the supported tags exactly (`en`, `de`, `fr`, `es`, `pt-BR`,
    /// `nl`, `it`, `ja`; letter case does not matter).
    pub fn parse(tag: &str) -> Result<Self, UnsupportedLanguage> {
        let tag = tag.trim();
        Self::ALL
            .into_iter()
            .find(|language| language.tag().eq_ignore_ascii_case(tag))
            .ok_or(UnsupportedLanguage)
    }

    /// The BCP 47 tag: `pt-BR`.
    #[must_use]
    pub const fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::PtBr => "pt-BR",
            Self::Nl => "nl",
            Self::It => "it",
            Self::Ja => "ja",
        }
    }

    /// The language's name in itself, as a language switch shows it.
    #[must_use]
    pub const fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
            Self::Fr => "Français",
            Self::Es => "Español",
            Self::PtBr => "Português (Brasil)",
            Self::Nl => "Nederlands",
            Self::It => "Italiano",
            Self::Ja => "日本語",
        }
    }

    /// The supported language nearest to one tag a browser sent: `de-AT`
    /// is German, `pt` and `pt-PT` are Brazilian Portuguese (the only
    /// Portuguese there is here), `en-GB` is English.
    fn nearest(tag: &str) -> Option<Self> {
        if let Ok(exact) = Self::parse(tag) {
            return Some(exact);
        }
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        Self::ALL.into_iter().find(|language| {
            let own = language.tag().split('-').next().unwrap_or_default();
            own.eq_ignore_ascii_case(primary)
        })
    }

    /// The language an `Accept-Language` header prefers most among the
    /// supported ones (q-values respected, `q=0` excluded), or English.
    #[must_use]
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        accept_language
            .map(accept_language::parse)
            .unwrap_or_default()
            .iter()
            .find_map(|tag| Self::nearest(tag))
            .unwrap_or_default()
    }

    /// The language for one request: the reader's own choice (the `lang`
    /// cookie the language switch sets) when it names a supported language,
    /// else what the browser asks for.
    #[must_use]
    pub fn choose(chosen: Option<&str>, accept_language: Option<&str>) -> Self {
        chosen
            .and_then(|tag| Self::parse(tag).ok())
            .unwrap_or_else(|| Self::negotiate(accept_language))
    }

    /// The message `id` in this language.
    #[must_use]
    pub fn text(self, id: &str) -> String {
        self.text_with(id, &[])
    }

    /// The message `id` with its variables: `("vendor", "Fabrikam".into())`,
    /// `("count", 3.into())`. Numbers select plural forms.
    #[must_use]
    pub fn text_with(self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        MESSAGES.format(self, id, &fluent_args)
    }

    /// Every message of one file whose id starts with `prefix`, with each
    /// variable left as `{name}` for a script to fill in: what a page hands
    /// to its browser-side code. Sorted by id.
    #[must_use]
    pub fn templates(self, prefix: &str) -> Vec<(String, String)> {
        MESSAGES.templates(self, prefix)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The message files, per language, in the order of [`Language::ALL`].
/// A new file is one more name in the list.
macro_rules! message_files {
    ($($file:literal),+) => {
        [
            message_files!(@one "en", $($file),+),
            message_files!(@one "de", $($file),+),
            message_files!(@one "fr", $($file),+),
            message_files!(@one "es", $($file),+),
            message_files!(@one "pt-BR", $($file),+),
            message_files!(@one "nl", $($file),+),
            message_files!(@one "it", $($file),+),
            message_files!(@one "ja", $($file),+),
        ]
    };
    (@one $lang:literal, $($file:literal),+) => {
        &[$((
            concat!($lang, "/", $file, ".ftl"),
            include_str!(concat!("../locales/", $lang, "/", $file, ".ftl")),
        )),+]
    };
}

type Files = [&'static [(&'static str, &'static str)]; 8];

const FILES: Files = message_files!("pages", "mail");

struct Messages {
    bundles: Vec<FluentBundle<FluentResource>>,
}

static MESSAGES: LazyLock<Messages> = LazyLock::new(|| Messages::load(&FILES));

impl Messages {
    /// The files are part of the binary and checked by the unit tests
    /// below, so a file that does not parse is a build mistake.
    fn load(files: &Files) -> Self {
        let bundles = Language::ALL
            .iter()
            .zip(files)
            .map(|(language, files)| {
                let id: unic_langid::LanguageIdentifier =
                    language.tag().parse().expect("a valid language tag");
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // The marks that isolate right-to-left text would show up
                // in titles and in text copied from the page; none of these
                // languages needs them.
                bundle.set_use_isolating(false);
                for (name, source) in *files {
                    let resource = FluentResource::try_new((*source).to_owned())
                        .unwrap_or_else(|(_, errors)| panic!("{name}: {errors:?}"));
                    bundle
                        .add_resource(resource)
                        .unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
                }
                bundle
            })
            .collect();
        Self { bundles }
    }

    fn bundle(&self, language: Language) -> &FluentBundle<FluentResource> {
        let index = Language::ALL
            .iter()
            .position(|l| *l == language)
            .unwrap_or(0);
        &self.bundles[index]
    }

    /// A missing message (which the tests rule out) falls back to English,
    /// then to its id, rather than failing a page.
    fn format(&self, language: Language, id: &str, args: &FluentArgs<'_>) -> String {
        for bundle in [self.bundle(language), self.bundle(Language::En)] {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(args), &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(message = id, ?errors, "a message did not format");
                }
                return text.into_owned();
            }
        }
        tracing::warn!(message = id, "no such message");
        id.to_owned()
    }

    fn templates(&self, language: Language, prefix: &str) -> Vec<(String, String)> {
        let mut ids: Vec<(String, BTreeSet<String>)> = FILES[0]
            .iter()
            .flat_map(|(_, source)| message_variables(source))
            .filter(|(id, _)| id.starts_with(prefix))
            .collect();
        ids.sort();
        ids.into_iter()
            .map(|(id, variables)| {
                let mut args = FluentArgs::new();
                for name in &variables {
                    args.set(name.clone(), format!("{{{name}}}"));
                }
                let text = self.format(language, &id, &args);
                (id, text)
            })
            .collect()
    }
}

/// Each message in a file, with the variables it uses.
fn message_variables(source: &str) -> Vec<(String, BTreeSet<String>)> {
    let resource = match FluentResource::try_new(source.to_owned()) {
        Ok(resource) | Err((resource, _)) => resource,
    };
    resource
        .entries()
        .filter_map(|entry| match entry {
            ast::Entry::Message(message) => {
                let mut variables = BTreeSet::new();
                if let Some(pattern) = &message.value {
                    pattern_variables(pattern, &mut variables);
                }
                for attribute in &message.attributes {
                    pattern_variables(&attribute.value, &mut variables);
                }
                Some((message.id.name.to_owned(), variables))
            }
            _ => None,
        })
        .collect()
}

fn pattern_variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_variables(expression, out);
        }
    }
}

fn expression_variables(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, out);
            for variant in variants {
                pattern_variables(&variant.value, out);
            }
        }
        ast::Expression::Inline(inline) => inline_variables(inline, out),
    }
}

fn inline_variables(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_owned());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for argument in &arguments.positional {
                inline_variables(argument, out);
            }
            for named in &arguments.named {
                inline_variables(&named.value, out);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
        _ => {}
    }
}

/// A number as a message variable.
#[must_use]
pub fn number(n: u64) -> FluentValue<'static> {
    FluentValue::from(n)
}

/// Text as a message variable.
#[must_use]
pub fn text<'a>(s: impl Into<Cow<'a, str>>) -> FluentValue<'a> {
    FluentValue::from(s.into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn every_message_file_parses_without_errors() {
        for files in FILES {
            for (name, source) in files {
                let parsed = FluentResource::try_new((*source).to_owned());
                assert!(parsed.is_ok(), "{name} does not parse: {:?}", parsed.err());
                let junk = parsed
                    .unwrap()
                    .entries()
                    .filter(|e| matches!(e, ast::Entry::Junk { .. }))
                    .count();
                assert_eq!(junk, 0, "{name} has entries that are not messages");
            }
        }
    }

    #[test]
    fn every_language_has_the_same_messages_with_the_same_variables_as_english() {
        let messages = |files: &[(&str, &str)]| -> BTreeMap<String, BTreeSet<String>> {
            files
                .iter()
                .flat_map(|(_, source)| message_variables(source))
                .collect()
        };
        let english = messages(FILES[0]);
        assert!(!english.is_empty());
        for (language, files) in Language::ALL.iter().zip(FILES).skip(1) {
            let own = messages(files);
            for (id, variables) in &english {
                let Some(theirs) = own.get(id) else {
                    panic!("{language} lacks the message {id}");
                };
                assert_eq!(
                    theirs, variables,
                    "{language}'s {id} uses other variables than English's"
                );
            }
            for id in own.keys() {
                assert!(
                    english.contains_key(id),
                    "{language} has {id}, English has not"
                );
            }
        }
    }

    #[test]
    fn each_file_exists_in_every_language() {
        let names = |files: &[(&'static str, &str)]| -> Vec<&'static str> {
            files
                .iter()
                .map(|(name, _)| name.split_once('/').unwrap().1)
                .collect()
        };
        for files in FILES {
            assert_eq!(names(files), names(FILES[0]));
        }
    }

    #[test]
    fn only_the_supported_tags_parse() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.tag()), Ok(language));
        }
        assert_eq!(Language::parse("PT-br"), Ok(Language::PtBr));
        for other in ["", "pt", "de-DE", "zz", "en;q=1", "x"] {
            assert_eq!(Language::parse(other), Err(UnsupportedLanguage), "{other}");
        }
    }

    #[test]
    fn the_browsers_most_preferred_supported_language_wins() {
        let cases = [
            (None, Language::En),
            (Some(""), Language::En),
            (Some("de-DE,de;q=0.9,en;q=0.8"), Language::De),
            (Some("en;q=0.5, fr;q=0.9"), Language::Fr),
            (Some("zh-CN, ja;q=0.3"), Language::Ja),
            (Some("pt-PT"), Language::PtBr),
            (Some("pt-BR"), Language::PtBr),
            (Some("nl-BE,fr;q=0.1"), Language::Nl),
            (Some("sv, da"), Language::En),
            (Some("es;q=0, it"), Language::It),
            (Some("*"), Language::En),
            (Some(";;;q=x,,"), Language::En),
        ];
        for (header, expected) in cases {
            assert_eq!(Language::negotiate(header), expected, "{header:?}");
        }
    }

    #[test]
    fn the_readers_own_choice_beats_the_browser() {
        assert_eq!(Language::choose(Some("ja"), Some("de")), Language::Ja);
        assert_eq!(Language::choose(Some("klingon"), Some("de")), Language::De);
        assert_eq!(Language::choose(None, Some("it")), Language::It);
    }

    #[test]
    fn messages_take_their_variables_and_plural_forms() {
        let one = Language::En.text_with("ttl-days", &[("count", number(1))]);
        let many = Language::En.text_with("ttl-days", &[("count", number(3))]);
        assert_eq!((one.as_str(), many.as_str()), ("1 day", "3 days"));
        let german = Language::De.text_with("note-from", &[("vendor", text("Fabrikam"))]);
        assert!(german.contains("Fabrikam"), "{german}");
        assert_ne!(
            german,
            Language::En.text_with("note-from", &[("vendor", text("Fabrikam"))])
        );
    }

    #[test]
    fn browser_messages_leave_their_variables_for_the_script() {
        let templates = Language::Fr.templates("js-");
        assert!(!templates.is_empty());
        assert!(templates.iter().all(|(id, _)| id.starts_with("js-")));
        let revealed = templates
            .iter()
            .find(|(id, _)| id == "js-revealed-at")
            .expect("js-revealed-at");
        assert!(revealed.1.contains("{time}"), "{}", revealed.1);
    }
}
