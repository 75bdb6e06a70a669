//! Staff session cookies: `name.expires.mac`, signed with a key derived
//! from the server key. The MAC also covers the member's token fingerprint,
//! so replacing a token ends the sessions it opened.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto;
use crate::domain::{UnixTime, now};

pub const SESSION_COOKIE: &str = "handoff_session";
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Session cookies are `name.expires.mac`; the MAC also covers the
/// member's token fingerprint, so a replaced token ends old sessions.
pub struct SessionSigner {
    key: zeroize::Zeroizing<[u8; 32]>,
}

impl SessionSigner {
    #[must_use]
    pub fn new(server_key: &crypto::ServerKey) -> Self {
        Self {
            key: crypto::purpose_key(server_key, "session"),
        }
    }

    fn mac(&self, name: &str, expires: UnixTime, fingerprint: &[u8]) -> String {
        let mac = crypto::mac(
            &self.key,
            &[name.as_bytes(), &expires.to_be_bytes(), fingerprint],
        );
        URL_SAFE_NO_PAD.encode(mac)
    }

    #[must_use]
    pub fn issue(&self, name: &str, fingerprint: &[u8]) -> String {
        let expires = now() + SESSION_LIFETIME.as_secs() as i64;
        format!(
            "{}.{expires}.{}",
            URL_SAFE_NO_PAD.encode(name),
            self.mac(name, expires, fingerprint)
        )
    }

    /// The staff name, if `cookie` is a valid, unexpired session.
    pub fn verify(
        &self,
        cookie: &str,
        fingerprint_of: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Option<String> {
        let mut parts = cookie.split('.');
        let (name, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let name = String::from_utf8(URL_SAFE_NO_PAD.decode(name).ok()?).ok()?;
        let expires: UnixTime = expires.parse().ok()?;
        if expires <= now() {
            return None;
        }
        let fingerprint = fingerprint_of(&name)?;
        crypto::constant_time_eq(
            self.mac(&name, expires, &fingerprint).as_bytes(),
            mac.as_bytes(),
        )
        .then_some(name)
    }

    /// The CSRF token for a session: only someone who can read the cookie
    /// (our own pages) can produce it.
    #[must_use]
    pub fn csrf_for(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(&crypto::mac(&self.key, &[b"csrf", cookie.as_bytes()])[..18])
    }

    /// The CSRF token for staff signed in by an SSO proxy, whose cookie we
    /// never see: a MAC of the user name under the server key, which only
    /// our own pages show them.
    #[must_use]
    pub fn csrf_for_user(&self, name: &str) -> String {
        URL_SAFE_NO_PAD.encode(&crypto::mac(&self.key, &[b"csrf-user", name.as_bytes()])[..18])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_until_the_token_changes() {
        let signer = SessionSigner::new(&crypto::ServerKey::generate());
        let cookie = signer.issue("alice", b"fingerprint-1");
        assert_eq!(
            signer
                .verify(&cookie, |_| Some(b"fingerprint-1".to_vec()))
                .as_deref(),
            Some("alice")
        );
        assert!(
            signer
                .verify(&cookie, |_| Some(b"fingerprint-2".to_vec()))
                .is_none()
        );
        assert!(
            signer.verify(&cookie, |_| None).is_none(),
            "removed staff are signed out"
        );
    }

    #[test]
    fn a_tampered_session_is_refused() {
        let signer = SessionSigner::new(&crypto::ServerKey::generate());
        let cookie = signer.issue("alice", b"f");
        let forged = cookie.replacen(
            &URL_SAFE_NO_PAD.encode("alice"),
            &URL_SAFE_NO_PAD.encode("bob"),
            1,
        );
        assert!(signer.verify(&forged, |_| Some(b"f".to_vec())).is_none());
        let other = SessionSigner::new(&crypto::ServerKey::generate());
        assert!(other.verify(&cookie, |_| Some(b"f".to_vec())).is_none());
    }
}
