//! Sealing and opening secrets. The README's security model says what this
//! protects against; the construction:
//!
//! data key = HKDF-SHA256(ikm = K [‖ Argon2id(passphrase, salt)],
//!                        salt = server key S, info = "handoff/v1/data" ‖ id)
//! A copy of the store alone, or with a link, or with S, decrypts nothing:
//! K lives only in the link, S only in the server's configuration.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::TryRng as _;
use rand::rngs::SysRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::domain::{IdempotencyKey, LinkKey, ManageToken, Passphrase, SecretId};

const NONCE_LEN: usize = 12;
pub const KEY_CHECK_LEN: usize = 16;
pub const PASSPHRASE_SALT_LEN: usize = 16;
/// Bound into every ciphertext's associated data so a future format cannot
/// be confused with this one.
const FORMAT: &[u8] = b"handoff/v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Wrong key or passphrase, or a tampered record: AES-GCM cannot tell
    /// them apart, and neither do we.
    #[error("the sealed data could not be opened")]
    Undecryptable,
}

pub(crate) fn fill_random(bytes: &mut [u8]) {
    SysRng
        .try_fill_bytes(bytes)
        .expect("the operating system's random number generator failed");
}

/// The server key S: 32 bytes, identical on every instance sharing a store.
#[derive(Clone)]
pub struct ServerKey(Zeroizing<[u8; 32]>);

impl ServerKey {
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        fill_random(bytes.as_mut());
        Self(bytes)
    }

    /// Standard or URL-safe base64, padded or not, of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.trim()
                .trim_end_matches('=')
                .replace('-', "+")
                .replace('_', "/"),
        );
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(cleaned.as_bytes())
                .map_err(|_| "is not valid base64".to_owned())?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| format!("must decode to 32 bytes, not {}", decoded.len()))?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// Standard base64, as written to the embedded store's key file.
    #[must_use]
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(***)")
    }
}

/// Bytes in a server key's fingerprint.
pub const FINGERPRINT_LEN: usize = 16;

/// Names a server key without revealing it: a truncated HKDF output of S
/// under a fixed label, so it tells nothing about S (or about the keys
/// derived from S for other purposes) and cannot be turned back into it.
/// The store keeps it, and so does every record, so that a server with
/// another key is refused at start-up and a record sealed with another key
/// is told apart from a wrong passphrase.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyFingerprint([u8; FINGERPRINT_LEN]);

impl KeyFingerprint {
    #[must_use]
    pub fn of(server: &ServerKey) -> Self {
        let derived = purpose_key(server, "key-fingerprint");
        let mut bytes = [0u8; FINGERPRINT_LEN];
        bytes.copy_from_slice(&derived[..FINGERPRINT_LEN]);
        Self(bytes)
    }

    /// A stored fingerprint; `None` if it has the wrong length.
    #[must_use]
    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.0
    }

    /// Whether `stored` is this fingerprint.
    #[must_use]
    pub fn matches(&self, stored: &[u8]) -> bool {
        constant_time_eq(&self.0, stored)
    }
}

/// Lower-case hex, as start-up messages show it.
impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

/// A key for one purpose other than sealing secrets (session cookies,
/// CSRF tokens), derived from S so that every instance agrees on it.
#[must_use]
pub fn purpose_key(server: &ServerKey, purpose: &str) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(None, server.0.as_ref());
    let info = [FORMAT, b"/", purpose.as_bytes()].concat();
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf.expand(&info, okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// HMAC-SHA256 of `parts` (length-prefixed, so no two part lists collide).
#[must_use]
pub fn mac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time equality for tokens and MACs.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// An AES-256 key derived for one secret; wiped on drop.
pub struct DataKey(Zeroizing<[u8; 32]>);

fn aad(id: &SecretId) -> Vec<u8> {
    [FORMAT, b"/", id.as_bytes()].concat()
}

fn hkdf_expand(ikm: &[u8], server: &ServerKey, purpose: &[u8], id: &SecretId) -> DataKey {
    let hkdf = Hkdf::<Sha256>::new(Some(server.0.as_ref()), ikm);
    let info = [FORMAT, b"/", purpose, id.as_bytes()].concat();
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf.expand(&info, okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    DataKey(okm)
}

/// The secret's key: from K, S, the id and (if set) the passphrase.
/// With a passphrase this runs Argon2id, which takes tens of milliseconds:
/// call it off the async runtime.
#[must_use]
pub fn derive_data_key(
    server: &ServerKey,
    key: &LinkKey,
    id: &SecretId,
    passphrase: Option<(&Passphrase, &[u8; PASSPHRASE_SALT_LEN])>,
) -> DataKey {
    let mut ikm = Zeroizing::new(key.as_bytes().to_vec());
    if let Some((passphrase, salt)) = passphrase {
        let mut stretched = Zeroizing::new([0u8; 32]);
        passphrase_hasher()
            .hash_password_into(passphrase.as_bytes(), salt, stretched.as_mut())
            .expect("Argon2 parameters and salt length are fixed and valid");
        ikm.extend_from_slice(stretched.as_ref());
    }
    hkdf_expand(&ikm, server, b"data", id)
}

/// The key that seals a certificate request's private key: the submit key,
/// S and the id, so that only the customer's Check can use it to sign.
#[must_use]
pub fn derive_certificate_key(server: &ServerKey, submit_key: &LinkKey, id: &SecretId) -> DataKey {
    hkdf_expand(submit_key.as_bytes(), server, b"certificate", id)
}

/// The note's key: K, S and the id only, so the recipient can read the note
/// before typing the passphrase.
#[must_use]
pub fn derive_note_key(server: &ServerKey, key: &LinkKey, id: &SecretId) -> DataKey {
    hkdf_expand(key.as_bytes(), server, b"note", id)
}

/// The sender's private label's key: the manage token, S and the id, so
/// only the holder of the manage link reads it (never the recipient).
#[must_use]
pub fn derive_label_key(server: &ServerKey, token: &ManageToken, id: &SecretId) -> DataKey {
    hkdf_expand(token.as_bytes(), server, b"label", id)
}

/// Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
fn passphrase_hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[must_use]
pub fn new_passphrase_salt() -> [u8; PASSPHRASE_SALT_LEN] {
    let mut salt = [0u8; PASSPHRASE_SALT_LEN];
    fill_random(&mut salt);
    salt
}

/// Request links: the answer is sealed when the customer sends it, but only
/// the holder of the retrieve key Kr may open it, and Kr is never stored.
/// So Kr determines an X25519 key pair; the store keeps the public half,
/// the answer is sealed to it with an ephemeral key (ECIES), and opening
/// re-derives the private half from Kr. S is mixed in as everywhere else.
fn request_private_key(
    server: &ServerKey,
    retrieve_key: &LinkKey,
    id: &SecretId,
) -> x25519_dalek::StaticSecret {
    let derived = hkdf_expand(retrieve_key.as_bytes(), server, b"request-key", id);
    x25519_dalek::StaticSecret::from(*derived.0)
}

#[must_use]
pub fn request_public_key(server: &ServerKey, retrieve_key: &LinkKey, id: &SecretId) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&request_private_key(server, retrieve_key, id)).to_bytes()
}

fn answer_key(
    server: &ServerKey,
    shared: &x25519_dalek::SharedSecret,
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
    id: &SecretId,
) -> DataKey {
    let ikm = Zeroizing::new([shared.as_bytes().as_slice(), ephemeral, recipient].concat());
    hkdf_expand(&ikm, server, b"answer", id)
}

/// Seals `plaintext` to a request's public key: ephemeral public key ‖
/// nonce ‖ ciphertext ‖ tag.
#[must_use]
pub fn seal_to_request(
    server: &ServerKey,
    recipient: &[u8; 32],
    id: &SecretId,
    plaintext: &[u8],
) -> Vec<u8> {
    let mut ephemeral_bytes = Zeroizing::new([0u8; 32]);
    fill_random(ephemeral_bytes.as_mut());
    let ephemeral = x25519_dalek::StaticSecret::from(*ephemeral_bytes);
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
    let key = answer_key(server, &shared, &ephemeral_public, recipient, id);
    [ephemeral_public.as_slice(), &seal(&key, id, plaintext)].concat()
}

pub fn open_request_answer(
    server: &ServerKey,
    retrieve_key: &LinkKey,
    id: &SecretId,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (ephemeral_public, rest) = sealed
        .split_at_checked(32)
        .ok_or(CryptoError::Undecryptable)?;
    let ephemeral_public: [u8; 32] = ephemeral_public
        .try_into()
        .map_err(|_| CryptoError::Undecryptable)?;
    let private = request_private_key(server, retrieve_key, id);
    let recipient = x25519_dalek::PublicKey::from(&private).to_bytes();
    let shared = private.diffie_hellman(&x25519_dalek::PublicKey::from(ephemeral_public));
    let key = answer_key(server, &shared, &ephemeral_public, &recipient, id);
    open(&key, id, rest)
}

/// Seals what the outbox must keep for a while but never in clear (a
/// request's submit key until its mail is sent) under a key derived from S
/// and `id` alone: the store by itself opens nothing.
#[must_use]
pub fn seal_for_outbox(server: &ServerKey, id: &SecretId, plaintext: &[u8]) -> Vec<u8> {
    seal(&hkdf_expand(b"", server, b"outbox", id), id, plaintext)
}

pub fn open_from_outbox(
    server: &ServerKey,
    id: &SecretId,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open(&hkdf_expand(b"", server, b"outbox", id), id, sealed)
}

/// AES-256-GCM with a random 96-bit nonce; returns nonce ‖ ciphertext ‖ tag.
#[must_use]
pub fn seal(key: &DataKey, id: &SecretId, plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key.0.as_ref()).expect("a data key is 32 bytes");
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let aad = aad(id);
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption of a bounded message cannot fail");
    [nonce.as_slice(), &ciphertext].concat()
}

pub fn open(
    key: &DataKey,
    id: &SecretId,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError::Undecryptable);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Undecryptable)?;
    let cipher = Aes256Gcm::new_from_slice(key.0.as_ref()).expect("a data key is 32 bytes");
    let aad = aad(id);
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Undecryptable)
}

/// A truncated HMAC of K over the id. Stored, so that a wrong key is refused
/// before anything is consumed; 128 bits leave nothing to guess.
/// Deliberately independent of the server key: with the wrong server key
/// the check still passes, so the caller is told about the server's fault
/// (the record's [`KeyFingerprint`] differs) instead of "not found", and it
/// is never counted against them.
#[must_use]
pub fn key_check(key: &LinkKey, id: &SecretId) -> [u8; KEY_CHECK_LEN] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(FORMAT);
    mac.update(b"/check");
    mac.update(id.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut out = [0u8; KEY_CHECK_LEN];
    out.copy_from_slice(&tag[..KEY_CHECK_LEN]);
    out
}

#[must_use]
pub fn key_matches(key: &LinkKey, id: &SecretId, stored: &[u8]) -> bool {
    key_check(key, id).ct_eq(stored).into()
}

/// Manage tokens are 256 random bits, so a fast hash is enough.
#[must_use]
pub fn manage_token_hash(token: &ManageToken) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[must_use]
pub fn manage_token_matches(token: &ManageToken, stored: &[u8]) -> bool {
    manage_token_hash(token).ct_eq(stored).into()
}

/// What the store keeps of an idempotency key: a hash bound to the secret
/// (or request) id, so that the same client string means nothing elsewhere.
#[must_use]
pub fn idempotency_hash(id: &SecretId, key: &IdempotencyKey) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(FORMAT);
    hash.update(b"/idempotency");
    hash.update(id.as_bytes());
    hash.update(key.as_str().as_bytes());
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::parse_optional(Some(Zeroizing::new(text.into())))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn sealed_secret_opens_with_the_same_key_only() {
        let (server, key, id) = (
            ServerKey::generate(),
            LinkKey::generate(),
            SecretId::generate(),
        );
        let sealed = seal(&derive_data_key(&server, &key, &id, None), &id, b"s3cret");
        let opened = open(&derive_data_key(&server, &key, &id, None), &id, &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"s3cret");

        let other_key = LinkKey::generate();
        let wrong = derive_data_key(&server, &other_key, &id, None);
        assert_eq!(open(&wrong, &id, &sealed), Err(CryptoError::Undecryptable));
        let other_server = derive_data_key(&ServerKey::generate(), &key, &id, None);
        assert_eq!(
            open(&other_server, &id, &sealed),
            Err(CryptoError::Undecryptable)
        );
    }

    #[test]
    fn ciphertext_is_bound_to_its_id() {
        let (server, key, id) = (
            ServerKey::generate(),
            LinkKey::generate(),
            SecretId::generate(),
        );
        let sealed = seal(&derive_data_key(&server, &key, &id, None), &id, b"s3cret");
        let other = SecretId::generate();
        assert!(
            open(
                &derive_data_key(&server, &key, &other, None),
                &other,
                &sealed
            )
            .is_err()
        );
    }

    #[test]
    fn passphrase_is_part_of_the_key() {
        let (server, key, id) = (
            ServerKey::generate(),
            LinkKey::generate(),
            SecretId::generate(),
        );
        let salt = new_passphrase_salt();
        let right = passphrase("correct horse");
        let sealed = seal(
            &derive_data_key(&server, &key, &id, Some((&right, &salt))),
            &id,
            b"x",
        );
        let wrong = passphrase("wrong horse");
        let wrong_key = derive_data_key(&server, &key, &id, Some((&wrong, &salt)));
        assert!(open(&wrong_key, &id, &sealed).is_err());
        assert!(open(&derive_data_key(&server, &key, &id, None), &id, &sealed).is_err());
        let right_key = derive_data_key(&server, &key, &id, Some((&right, &salt)));
        assert_eq!(open(&right_key, &id, &sealed).unwrap().as_slice(), b"x");
    }

    #[test]
    fn a_request_answer_opens_with_the_retrieve_key_only() {
        let (server, retrieve, id) = (
            ServerKey::generate(),
            LinkKey::generate(),
            SecretId::generate(),
        );
        let public = request_public_key(&server, &retrieve, &id);
        let sealed = seal_to_request(&server, &public, &id, b"abc8Q~value");
        assert_eq!(
            open_request_answer(&server, &retrieve, &id, &sealed)
                .unwrap()
                .as_slice(),
            b"abc8Q~value"
        );
        assert!(open_request_answer(&server, &LinkKey::generate(), &id, &sealed).is_err());
        assert!(open_request_answer(&ServerKey::generate(), &retrieve, &id, &sealed).is_err());
        assert!(open_request_answer(&server, &retrieve, &SecretId::generate(), &sealed).is_err());
        assert!(open_request_answer(&server, &retrieve, &id, &sealed[..20]).is_err());
    }

    #[test]
    fn key_check_tells_right_from_wrong_key() {
        let (key, id) = (LinkKey::generate(), SecretId::generate());
        let stored = key_check(&key, &id);
        assert!(key_matches(&key, &id, &stored));
        assert!(!key_matches(&LinkKey::generate(), &id, &stored));
        assert!(!key_matches(&key, &SecretId::generate(), &stored));
    }

    #[test]
    fn a_fingerprint_names_one_server_key_and_is_none_of_its_derived_keys() {
        let key = ServerKey::generate();
        let fingerprint = KeyFingerprint::of(&key);
        assert_eq!(fingerprint, KeyFingerprint::of(&key.clone()));
        assert_ne!(fingerprint, KeyFingerprint::of(&ServerKey::generate()));
        assert!(fingerprint.matches(fingerprint.as_bytes()));
        assert!(!fingerprint.matches(&fingerprint.as_bytes()[..8]));
        for purpose in ["session", "csrf"] {
            assert_ne!(
                &purpose_key(&key, purpose)[..FINGERPRINT_LEN],
                fingerprint.as_bytes()
            );
        }
        let text = fingerprint.to_string();
        assert_eq!(text.len(), 2 * FINGERPRINT_LEN);
        assert!(!text.contains(key.encode().as_str()));
        assert_eq!(
            KeyFingerprint::from_stored(fingerprint.as_bytes()),
            Some(fingerprint)
        );
        assert_eq!(KeyFingerprint::from_stored(b"short"), None);
    }

    #[test]
    fn server_key_parses_both_base64_alphabets_and_needs_32_bytes() {
        let key = ServerKey::generate();
        let text = key.encode();
        assert!(ServerKey::parse(&text).is_ok());
        let url_safe = text.replace('+', "-").replace('/', "_");
        assert!(ServerKey::parse(&url_safe).is_ok());
        assert!(
            ServerKey::parse("c2hvcnQ=")
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(ServerKey::parse("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "ServerKey(***)");
    }
}
