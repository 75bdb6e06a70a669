//! The `url_token` of a Password Pusher–compatible push. Password Pusher's
//! link is all its recipient gets (`https://host/p/<url_token>`), so the
//! token itself must open the secret: it carries a random seed from which
//! both the handoff id and the link key K are derived.
//!
//! Why a seed and not `id ‖ K`: handoff's id (16 bytes) and K (32 bytes) in
//! base64url are 64 characters, and `pwpush` prints the link through `rich`,
//! which hard-wraps at 80 columns when stdout is not a terminal. The budget,
//! for a 30-character host (the issue's bound):
//!
//! ```text
//!   "https://" 8 + host 30 + "/p/" 3 + token T + "/r" 2  <=  80   =>  T <= 37
//!   token = "h" + base64url(24-byte seed) = 1 + 32 = 33 characters  ->  76
//! ```
//!
//! The seed has 192 bits; id = HKDF-SHA256(seed, "id")[..16] and
//! K = HKDF-SHA256(seed, "key"), so K keeps 192 bits of entropy (≥ 128), and
//! the id, which appears in the store and the audit trail, reveals nothing of
//! K (HKDF is one-way). Ordinary handoff links are untouched: their id and K
//! stay independent random values; a derived id is just another 16-byte id,
//! colliding with a random one with probability 2⁻¹²⁸.
//!
//! The leading `h` keeps tokens from starting with `-` (which `pwpush expire`
//! and `pwpush audit` would read as an option) and from ever being `active`
//! or `expired`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::TryRng as _;
use rand::rngs::SysRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::{LinkKey, SecretId};

const PREFIX: char = 'h';
const SEED_LEN: usize = 24;
/// `h` + 32 base64url characters.
pub const TOKEN_LEN: usize = 1 + (SEED_LEN * 4).div_ceil(3);
const DERIVATION_SALT: &[u8] = b"handoff/pwpush-token/v1";

/// A push's `url_token`. Prints as `PushToken(***)` in `Debug`.
pub struct PushToken {
    seed: Zeroizing<[u8; SEED_LEN]>,
}

impl PushToken {
    #[must_use]
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        SysRng
            .try_fill_bytes(seed.as_mut())
            .expect("the operating system's random number generator failed");
        Self { seed }
    }

    /// A token as it appears in a path; `None` for anything else (an id,
    /// `active`, a typo).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(PREFIX)?;
        if text.len() != TOKEN_LEN {
            return None;
        }
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        match URL_SAFE_NO_PAD.decode_slice(body.as_bytes(), seed.as_mut()) {
            Ok(SEED_LEN) => Some(Self { seed }),
            _ => None,
        }
    }

    #[must_use]
    pub fn encode(&self) -> String {
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(self.seed.as_ref()))
    }

    fn expand<const N: usize>(&self, info: &[u8]) -> Zeroizing<[u8; N]> {
        let hkdf = Hkdf::<Sha256>::new(Some(DERIVATION_SALT), self.seed.as_ref());
        let mut out = Zeroizing::new([0u8; N]);
        hkdf.expand(info, out.as_mut())
            .expect("HKDF-SHA256 yields up to 8160 bytes");
        out
    }

    #[must_use]
    pub fn id(&self) -> SecretId {
        SecretId::from_bytes(*self.expand::<16>(b"id"))
    }

    #[must_use]
    pub fn key(&self) -> LinkKey {
        LinkKey::from_bytes(*self.expand::<32>(b"key"))
    }
}

impl fmt::Debug for PushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_url_fits_80_columns_for_a_30_character_host() {
        let token = PushToken::generate().encode();
        assert_eq!(token.len(), TOKEN_LEN);
        let url = format!("https://{}/p/{token}/r", "h".repeat(30));
        assert_eq!(url.len(), 76);
        assert!(url.len() <= 80);
    }

    #[test]
    fn tokens_round_trip_and_never_start_with_a_dash() {
        for _ in 0..200 {
            let token = PushToken::generate();
            let text = token.encode();
            assert!(text.starts_with('h'));
            let parsed = PushToken::parse(&text).unwrap();
            assert_eq!(parsed.id(), token.id());
            assert_eq!(parsed.key().as_bytes(), token.key().as_bytes());
        }
    }

    #[test]
    fn the_id_and_key_differ_and_other_texts_are_no_token() {
        let token = PushToken::generate();
        assert_ne!(&token.id().as_bytes()[..], &token.key().as_bytes()[..16]);
        for bad in ["active", "expired", "", "h", &"h".repeat(40), "-abc"] {
            assert!(PushToken::parse(bad).is_none(), "{bad}");
        }
        let mut wrong_prefix = token.encode();
        wrong_prefix.replace_range(0..1, "x");
        assert!(PushToken::parse(&wrong_prefix).is_none());
        assert_eq!(format!("{token:?}"), "PushToken(***)");
    }
}
