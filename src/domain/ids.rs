use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use rand::rngs::SysRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::InvalidInput;

/// Fills `N` bytes from the operating system's RNG.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // An OS without a working RNG cannot run this service safely at all.
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    bytes
}

/// A new push's id, link key and manage token, drawn from the operating
/// system's RNG in one call (one system call per push, not three).
#[must_use]
pub fn new_push() -> (SecretId, LinkKey, ManageToken) {
    let mut bytes: [u8; 80] = random_bytes();
    let mut id = [0u8; 16];
    let (mut key, mut token) = ([0u8; 32], [0u8; 32]);
    id.copy_from_slice(&bytes[..16]);
    key.copy_from_slice(&bytes[16..48]);
    token.copy_from_slice(&bytes[48..]);
    bytes.zeroize();
    (SecretId(id), LinkKey(key), ManageToken(token))
}

fn decode_exact<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], InvalidInput> {
    let expected_len = (N * 4).div_ceil(3);
    let bad = || {
        InvalidInput::new(
            field,
            format!("must be {expected_len} base64url characters"),
        )
    };
    if text.len() != expected_len {
        return Err(bad());
    }
    let mut bytes = [0u8; N];
    let written = URL_SAFE_NO_PAD
        .decode_slice(text.as_bytes(), &mut bytes)
        .map_err(|_| bad())?;
    if written != N {
        return Err(bad());
    }
    Ok(bytes)
}

/// A secret's public identifier: 16 random bytes, base64url in links.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretId([u8; 16]);

impl SecretId {
    #[must_use]
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        decode_exact("id", text).map(Self)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// For stores that keep ids as raw bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretId({self})")
    }
}

/// The 32-byte link key K. It is never stored or logged; only the creator
/// receives it, inside the link's fragment.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    #[must_use]
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        decode_exact("key", text.trim()).map(Self)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key derived elsewhere (Password Pusher tokens), not generated here.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The base64url form that goes into the link fragment.
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey(***)")
    }
}

/// The sender's manage token: 32 random bytes. Only its SHA-256 is stored.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ManageToken([u8; 32]);

impl ManageToken {
    #[must_use]
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        decode_exact("manage token", text.trim()).map(Self)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManageToken(***)")
    }
}

/// A client's name for one attempt at a reveal or retrieval, sent as the
/// `Idempotency-Key` header so that a retry after an unclear outcome gets the
/// same answer. Any 1 to 64 visible ASCII characters (a UUID fits). Not
/// secret, but kept only as a hash bound to the secret's id.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let fits =
            (1..=Self::MAX_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if fits {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::new(
                "Idempotency-Key",
                format!(
                    "must be 1 to {} visible ASCII characters (a UUID, for example)",
                    Self::MAX_LEN
                ),
            ))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdempotencyKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_gets_an_id_key_and_token_of_its_own() {
        let (id, key, token) = new_push();
        let (other_id, other_key, other_token) = new_push();
        assert_ne!(id, other_id);
        assert_ne!(key.as_bytes(), other_key.as_bytes());
        assert_ne!(key.as_bytes(), token.as_bytes());
        assert_ne!(token.as_bytes(), other_token.as_bytes());
        assert_ne!(&key.as_bytes()[..16], id.as_bytes());
    }

    #[test]
    fn secret_id_round_trips_through_its_text_form() {
        let id = SecretId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 22);
        assert_eq!(SecretId::parse(&text).unwrap(), id);
    }

    #[test]
    fn secret_id_refuses_wrong_length_and_alphabet() {
        assert!(SecretId::parse("abc").is_err());
        assert!(SecretId::parse("!!!!!!!!!!!!!!!!!!!!!!").is_err());
        assert!(SecretId::parse(&"A".repeat(23)).is_err());
    }

    #[test]
    fn link_key_round_trips_and_hides_in_debug() {
        let key = LinkKey::generate();
        let text = key.encode();
        assert_eq!(text.len(), 43);
        assert_eq!(LinkKey::parse(&text).unwrap().as_bytes(), key.as_bytes());
        assert_eq!(format!("{key:?}"), "LinkKey(***)");
    }

    #[test]
    fn two_generated_keys_differ() {
        assert_ne!(
            LinkKey::generate().as_bytes(),
            LinkKey::generate().as_bytes()
        );
    }

    #[test]
    fn idempotency_key_takes_1_to_64_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b").is_ok());
        assert!(IdempotencyKey::parse("x").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(64)).is_ok());
        for bad in ["", " ", "a b", "tab\there", "é", &"k".repeat(65)] {
            let refused = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(refused.field, "Idempotency-Key", "{bad:?}");
        }
    }
}
