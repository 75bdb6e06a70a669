//! The language a tenant's people read: what its mails are written in.

use std::fmt;

/// One of the languages handoff's texts exist in. `parse` is the only way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

impl Language {
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

    /// A BCP 47 tag as the settings spell it (`de`, `pt-BR`); the case of
    /// the region is not held against anyone.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|language| language.tag().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let tags: Vec<&str> = Self::ALL.iter().map(|l| l.tag()).collect();
                format!("'{text}' must be one of {}", tags.join(", "))
            })
    }

    #[must_use]
    pub fn tag(self) -> &'static str {
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
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_parses_from_its_tag_and_others_are_refused() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.tag()), Ok(language));
        }
        assert_eq!(Language::parse("pt-br"), Ok(Language::PtBr));
        let refused = Language::parse("klingon").unwrap_err();
        assert!(refused.contains("pt-BR"), "{refused}");
    }
}
