//! The vendor's look on the pages customers and recipients see: a logo,
//! a support contact and an accent colour, each validated once at start-up
//! (`parse` is the only way in) and served from the binary's own origin.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Logos are small pictures in a header; a larger file is a mistake.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Branding {
    pub logo: Option<Logo>,
    pub support: Option<SupportContact>,
    pub accent: Option<AccentColor>,
}

/// A PNG, WebP or SVG picture, read once at start-up.
#[derive(Clone)]
pub struct Logo {
    bytes: Arc<[u8]>,
    content_type: &'static str,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo")
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Logo {
    /// Reads the file and tells its kind by its first bytes, not its name.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(bytes).map_err(|reason| format!("{}: {reason}", path.display()))
    }

    pub fn parse(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("the file is empty".into());
        }
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(format!(
                "the file is {} bytes; a logo may have at most {MAX_LOGO_BYTES}",
                bytes.len()
            ));
        }
        let content_type = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            "image/webp"
        } else if looks_like_svg(&bytes) {
            "image/svg+xml"
        } else {
            return Err("not a PNG, WebP or SVG picture".into());
        };
        Ok(Self {
            bytes: bytes.into(),
            content_type,
        })
    }

    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    #[must_use]
    pub const fn content_type(&self) -> &'static str {
        self.content_type
    }

    #[must_use]
    pub fn is_svg(&self) -> bool {
        self.content_type == "image/svg+xml"
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let start = text.trim_start_matches('\u{feff}').trim_start();
    (start.starts_with("<?xml") || start.starts_with("<svg") || start.starts_with("<!--"))
        && text.contains("<svg")
}

/// Where customers turn with a question: an e-mail address or an `https`
/// URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportContact {
    Email(String),
    Url(String),
}

impl SupportContact {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let printable = |s: &str| {
            !s.is_empty()
                && s.len() <= 200
                && s.chars().all(|c| c.is_ascii_graphic())
                && !s.contains(['<', '>', '"', '\''])
        };
        if let Some(rest) = text.strip_prefix("https://") {
            if printable(rest) && !rest.starts_with('/') {
                return Ok(Self::Url(text.to_owned()));
            }
            return Err(format!("'{text}' is not a usable https:// URL"));
        }
        if let Some((local, domain)) = text.split_once('@')
            && printable(text)
            && !local.is_empty()
            && domain.contains('.')
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
        {
            return Ok(Self::Email(text.to_owned()));
        }
        Err(format!(
            "'{text}' must be an e-mail address (support@example.com) or an https:// URL"
        ))
    }

    /// The link's target: `mailto:…` or the URL.
    #[must_use]
    pub fn href(&self) -> String {
        match self {
            Self::Email(address) => format!("mailto:{address}"),
            Self::Url(url) => url.clone(),
        }
    }

    /// What the link says.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::Email(address) => address,
            Self::Url(url) => url.strip_prefix("https://").unwrap_or(url),
        }
    }
}

/// A `#rrggbb` colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccentColor([u8; 3]);

/// The light pages' background (`--bg` in static/app.css).
const LIGHT_BACKGROUND: [u8; 3] = [0xf6, 0xf6, 0xf3];

impl AccentColor {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let hex = text
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| format!("'{text}' must be a colour written #rrggbb, e.g. #0b5cad"))?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_default();
        Ok(Self([byte(0), byte(2), byte(4)]))
    }

    #[must_use]
    pub fn css(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Black or white, whichever reads better on this colour.
    #[must_use]
    pub fn text_on(self) -> &'static str {
        if contrast(self.0, [255, 255, 255]) >= contrast(self.0, [0, 0, 0]) {
            "#ffffff"
        } else {
            "#000000"
        }
    }

    /// Whether links and focus rings may take this colour on the light
    /// background: only with the 4.5:1 contrast WCAG AA asks of text.
    #[must_use]
    pub fn readable_on_light(self) -> bool {
        contrast(self.0, LIGHT_BACKGROUND) >= 4.5
    }

    /// The stylesheet that applies the colour: the header's stripe always;
    /// buttons, links and focus rings in the light scheme when the colour
    /// is readable there (the dark scheme keeps its own light accent).
    #[must_use]
    pub fn stylesheet(self) -> String {
        let colour = self.css();
        let mut css = format!(":root {{ --brand: {colour}; }}\n");
        if self.readable_on_light() {
            let _ = write!(
                css,
                "@media (prefers-color-scheme: light) {{\n  :root {{ --accent: {colour}; --accent-hover: {colour}; --accent-fg: {}; --focus: {colour}; }}\n}}\n",
                self.text_on()
            );
        }
        css
    }
}

fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logos_are_told_apart_by_their_bytes() {
        let png = Logo::parse(b"\x89PNG\r\n\x1a\nrest".to_vec()).unwrap();
        assert_eq!(png.content_type(), "image/png");
        let webp = Logo::parse(b"RIFF\0\0\0\0WEBPVP8 ".to_vec()).unwrap();
        assert_eq!(webp.content_type(), "image/webp");
        let svg = Logo::parse(b"<?xml version=\"1.0\"?><svg xmlns=\"x\"/>".to_vec()).unwrap();
        assert!(svg.is_svg());
        for bad in [
            &b""[..],
            b"GIF89a",
            b"<html><svg></svg></html>",
            b"\xff\xd8\xff",
        ] {
            assert!(Logo::parse(bad.to_vec()).is_err(), "{bad:?}");
        }
        let huge = [b"\x89PNG\r\n\x1a\n".to_vec(), vec![0; MAX_LOGO_BYTES]].concat();
        assert!(Logo::parse(huge).unwrap_err().contains("at most"));
    }

    #[test]
    fn support_is_an_address_or_an_https_url() {
        assert_eq!(
            SupportContact::parse(" help@fabrikam.com ").unwrap().href(),
            "mailto:help@fabrikam.com"
        );
        let url = SupportContact::parse("https://fabrikam.com/support").unwrap();
        assert_eq!(url.text(), "fabrikam.com/support");
        for bad in [
            "",
            "http://fabrikam.com",
            "javascript:alert(1)",
            "a@b",
            "a b@c.com",
            "https://",
            "x@y.com\"onmouseover=",
        ] {
            assert!(SupportContact::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_accent_is_a_hex_colour_applied_only_where_it_reads() {
        assert_eq!(AccentColor::parse("#0B5CAD").unwrap().css(), "#0b5cad");
        for bad in ["0b5cad", "#0b5", "#0b5cadd", "red", "#gg0000", "#0b5cad; x"] {
            assert!(AccentColor::parse(bad).is_err(), "{bad}");
        }
        let dark_blue = AccentColor::parse("#0b5cad").unwrap();
        assert_eq!(dark_blue.text_on(), "#ffffff");
        assert!(dark_blue.stylesheet().contains("--accent: #0b5cad"));
        let yellow = AccentColor::parse("#ffe600").unwrap();
        assert_eq!(yellow.text_on(), "#000000");
        assert!(!yellow.readable_on_light());
        assert!(!yellow.stylesheet().contains("--accent:"));
        assert!(yellow.stylesheet().contains("--brand: #ffe600"));
    }
}
