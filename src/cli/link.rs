//! The links a server hands out, taken apart: which server, which kind, the
//! id, and the key or token after `#` (which never reaches a server's path
//! and never appears in a message).

use reqwest::Url;
use zeroize::Zeroizing;

use super::http::{Failure, Outcome};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/s/<id>#<key>`: a secret, for its recipient.
    Secret,
    /// `/m/<id>#<token>`: a secret's manage link, for its sender.
    Manage,
    /// `/r/<id>#<key>`: a request link, for the customer who answers it.
    Submit,
    /// `/staff/requests/<id>#<key>`: a request's answer, for staff.
    Retrieve,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Secret => "a secret's link (/s/…)",
            Self::Manage => "a manage link (/m/…)",
            Self::Submit => "a request link (/r/…)",
            Self::Retrieve => "a staff retrieve link (/staff/requests/…)",
        }
    }
}

pub struct Link {
    pub kind: Kind,
    /// The server's base URL (with any path prefix it is served under).
    pub server: Url,
    pub id: String,
    pub key: Zeroizing<String>,
}

impl Link {
    pub fn parse(text: &str) -> Outcome<Self> {
        let text = text.trim();
        let (address, key) = text.split_once('#').unwrap_or((text, ""));
        // Not echoed unless it is a URL: a secret pasted in by mistake
        // must not end up on stderr.
        let url = Url::parse(address).map_err(|_| {
            Failure::usage("the link is not a URL such as https://handoff.example/s/<id>#<key>")
        })?;
        let shown = crate::outbound::redacted_url(address);
        let not_a_link = |why: &str| {
            Failure::usage(format!(
                "'{shown}' is not a handoff link: {why} (copy the whole link, with the part after '#')"
            ))
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(not_a_link("not an http:// or https:// URL"));
        }
        let path = url.path().trim_end_matches('/');
        let (rest, id) = path.rsplit_once('/').ok_or_else(|| not_a_link("no id"))?;
        let (prefix, kind) = [
            ("/staff/requests", Kind::Retrieve),
            ("/s", Kind::Secret),
            ("/m", Kind::Manage),
            ("/r", Kind::Submit),
        ]
        .into_iter()
        .find_map(|(suffix, kind)| rest.strip_suffix(suffix).map(|prefix| (prefix, kind)))
        .ok_or_else(|| not_a_link("the path is not /s/, /m/, /r/ or /staff/requests/ and an id"))?;
        let id_fits = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_fits {
            return Err(not_a_link("the id is not base64url"));
        }
        if key.is_empty() {
            return Err(not_a_link("there is no key after '#'"));
        }
        let mut server = url.clone();
        server.set_path(prefix);
        server.set_query(None);
        server.set_fragment(None);
        Ok(Self {
            kind,
            server,
            id: id.to_owned(),
            key: Zeroizing::new(key.to_owned()),
        })
    }

    /// Refuses a link of another kind than `wanted`, saying what it is.
    pub fn expect(self, wanted: &[Kind], command: &str) -> Outcome<Self> {
        if wanted.contains(&self.kind) {
            return Ok(self);
        }
        let names: Vec<_> = wanted.iter().map(|kind| kind.describe()).collect();
        Err(Failure::usage(format!(
            "handoff {command} takes {}; this is {}",
            names.join(" or "),
            self.kind.describe()
        )))
    }
}

/// The server of a command without a link: `--url` or `HANDOFF_URL`.
pub fn server(url: Option<&str>) -> Outcome<Url> {
    let Some(text) = url.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(Failure::usage(
            "which server? Set HANDOFF_URL (or --url) to its address, such as https://handoff.example",
        ));
    };
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(Failure::usage(format!(
            "HANDOFF_URL / --url: '{}' is not an http:// or https:// URL",
            crate::outbound::redacted_url(text)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_link_gives_its_server_id_and_key() {
        let link = Link::parse("https://handoff.example/s/abc_-1#KEY").unwrap();
        assert_eq!(link.kind, Kind::Secret);
        assert_eq!(link.server.as_str(), "https://handoff.example/");
        assert_eq!(link.id, "abc_-1");
        assert_eq!(link.key.as_str(), "KEY");
    }

    #[test]
    fn a_server_under_a_path_prefix_keeps_it() {
        let link = Link::parse("http://127.0.0.1:8080/handoff/staff/requests/id1#k").unwrap();
        assert_eq!(link.kind, Kind::Retrieve);
        assert_eq!(link.server.as_str(), "http://127.0.0.1:8080/handoff");
    }

    #[test]
    fn a_link_without_its_key_is_refused_without_echoing_anything_after_the_hash() {
        let error = Link::parse("https://h.example/s/id").err().unwrap();
        assert!(error.message.contains("no key"), "{}", error.message);
        let error = Link::parse("https://h.example/x/id#SECRETKEY")
            .err()
            .unwrap();
        assert!(!error.message.contains("SECRETKEY"), "{}", error.message);
    }
}
