//! What the Redis store keeps, byte by byte: `MessagePack`, because the Lua
//! scripts that change a secret's record read and write it with Redis's
//! `cmsgpack`. That library has no binary type, so byte strings go out as
//! `MessagePack` strings holding raw bytes (the reader takes either type);
//! only blobs no script opens (a record's metadata, an audit event) use
//! the binary type inside.
//!
//! A secret's record is one map with one-letter keys:
//!
//! | key | value |
//! |---|---|
//! | `m` | the metadata: an array, see [`encode_meta`] (never changes) |
//! | `x` | expires at |
//! | `s` | state: `live`, `revealed`, `revoked`, `destroyed`, `applied` |
//! | `r`, `f` | views left, failed passphrases |
//! | `g` | the reveal guard ([`RevealGuard`]), when the record has one |
//! | `e` | ended at, once it has |
//! | `p` | the sealed payload, while there is one |
//! | `ci`, `cu` | an apply's claim: its id and until when it holds |
//! | `v` | the reveals: `[at, ip, user agent]` each |
//! | `k` | replay windows: `[key hash, until, views left]` each |
//!
//! After the map come the secret's own audit events (see
//! [`encode_event`]), oldest first, each a string: the audit writer
//! appends them without reading the record.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmpv::Value;

use crate::domain::SecretId;
use crate::domain::audit::AuditEvent;
use crate::store::{
    Claim, Record, Replay, RevealGuard, SecretMeta, SecretState, StoreError, ViewEvent,
};

/// Audit kinds by number: an event stores its kind's position here, so
/// the list only ever grows at the end. A kind not listed is kept as text.
const KINDS: [&str; 27] = [
    "secret.created",
    "secret.viewed",
    "secret.revealed",
    "secret.passphrase_failed",
    "secret.destroyed",
    "secret.revoked",
    "secret.expired",
    "request.created",
    "request.answered",
    "request.refused",
    "verification.passed",
    "verification.failed",
    "request.locked",
    "request.retrieved",
    "request.expired",
    "request.cancelled",
    "secret.applied",
    "apply.failed",
    "tenant.secret_expiring",
    "staff.signed_in",
    "staff.sign_in_failed",
    "webhook.delivered",
    "webhook.failed",
    "mail.queued",
    "mail.sent",
    "mail.failed",
    "tenant.misconfigured",
];

/// The actors without a name, by number, like [`KINDS`].
const ACTORS: [&str; 5] = ["anonymous", "link holder", "sender", "customer", "system"];

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("redis record: {what}"))
}

/// A `MessagePack` writer into memory (which cannot fail).
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn map(&mut self, len: usize) {
        rmp::encode::write_map_len(&mut self.0, len_u32(len)).expect("writing to memory");
    }

    fn array(&mut self, len: usize) {
        rmp::encode::write_array_len(&mut self.0, len_u32(len)).expect("writing to memory");
    }

    /// A byte string as `cmsgpack` reads it: a `MessagePack` string.
    fn raw(&mut self, bytes: &[u8]) {
        rmp::encode::write_str_len(&mut self.0, len_u32(bytes.len())).expect("writing to memory");
        self.0.extend_from_slice(bytes);
    }

    fn text(&mut self, text: &str) {
        self.raw(text.as_bytes());
    }

    /// A byte string in a blob that no script opens.
    fn bin(&mut self, bytes: &[u8]) {
        rmp::encode::write_bin_len(&mut self.0, len_u32(bytes.len())).expect("writing to memory");
        self.0.extend_from_slice(bytes);
    }

    fn int(&mut self, number: i64) {
        rmp::encode::write_sint(&mut self.0, number).expect("writing to memory");
    }

    fn nil(&mut self) {
        rmp::encode::write_nil(&mut self.0).expect("writing to memory");
    }

    fn optional_bin(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(bytes) => self.bin(bytes),
            None => self.nil(),
        }
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("a record field is far below 4 GiB")
}

fn read(bytes: &[u8]) -> Option<Value> {
    rmpv::decode::read_value(&mut &bytes[..]).ok()
}

/// An integer, also as the float a Lua number may come back as.
fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(n) => n.as_i64(),
        #[allow(clippy::cast_possible_truncation)] // Checked to be whole and in range.
        Value::F64(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(*n as i64),
        _ => None,
    }
}

fn bytes_of(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(text) => Some(text.as_bytes().to_vec()),
        Value::Binary(bytes) => Some(bytes.clone()),
        _ => None,
    }
}

fn text_of(value: &Value) -> Option<String> {
    String::from_utf8(bytes_of(value)?).ok()
}

fn optional<T>(value: &Value, read: impl FnOnce(&Value) -> Option<T>) -> Result<Option<T>, ()> {
    if value.is_nil() {
        Ok(None)
    } else {
        read(value).map(Some).ok_or(())
    }
}

/// The metadata, which no script reads: `[created, views allowed, key
/// check, manage token hash, passphrase salt, sealed note, sealed label,
/// key fingerprint]`, absent ones nil (the expiry is the record's `x`).
fn encode_meta(meta: &SecretMeta) -> Vec<u8> {
    let mut out = Writer::default();
    out.array(8);
    out.int(meta.created_at);
    out.int(i64::from(meta.views_allowed));
    out.bin(&meta.key_check);
    out.bin(&meta.manage_token_hash);
    out.optional_bin(meta.passphrase_salt.as_deref());
    out.optional_bin(meta.sealed_note.as_deref());
    out.optional_bin(meta.sealed_label.as_deref());
    out.optional_bin(meta.key_fingerprint.as_deref());
    out.0
}

fn decode_meta(bytes: &[u8], expires_at: i64) -> Result<SecretMeta, StoreError> {
    let bad = || corrupt("metadata");
    let Some(Value::Array(fields)) = read(bytes) else {
        return Err(bad());
    };
    let [
        created,
        views,
        key_check,
        manage,
        salt,
        note,
        label,
        fingerprint,
    ]: [Value; 8] = fields.try_into().map_err(|_| bad())?;
    let optional_bytes = |value: &Value| optional(value, bytes_of).map_err(|()| bad());
    Ok(SecretMeta {
        created_at: int_of(&created).ok_or_else(bad)?,
        expires_at,
        views_allowed: int_of(&views)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(bad)?,
        key_check: bytes_of(&key_check).ok_or_else(bad)?,
        manage_token_hash: bytes_of(&manage).ok_or_else(bad)?,
        passphrase_salt: optional_bytes(&salt)?,
        sealed_note: optional_bytes(&note)?,
        sealed_label: optional_bytes(&label)?,
        key_fingerprint: optional_bytes(&fingerprint)?,
    })
}

/// A secret's record, with its own audit events (`activity`, each as
/// [`encode_event`] wrote it).
pub fn encode_record(record: &Record, activity: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Writer::default();
    let guard = RevealGuard::of(&record.meta);
    let fields = 5
        + usize::from(guard.is_some())
        + usize::from(record.ended_at.is_some())
        + usize::from(record.sealed_secret.is_some())
        + 2 * usize::from(record.claim.is_some())
        + usize::from(!record.views.is_empty())
        + usize::from(!record.replays.is_empty());
    out.map(fields);
    out.text("m");
    out.raw(&encode_meta(&record.meta));
    out.text("x");
    out.int(record.meta.expires_at);
    out.text("s");
    out.text(record.state.as_str());
    out.text("r");
    out.int(i64::from(record.views_remaining));
    out.text("f");
    out.int(i64::from(record.failed_passphrases));
    if let Some(guard) = &guard {
        out.text("g");
        out.raw(guard.as_bytes());
    }
    if let Some(at) = record.ended_at {
        out.text("e");
        out.int(at);
    }
    if let Some(sealed) = &record.sealed_secret {
        out.text("p");
        out.raw(sealed);
    }
    if let Some(claim) = &record.claim {
        out.text("ci");
        out.text(&claim.id);
        out.text("cu");
        out.int(claim.until);
    }
    if !record.views.is_empty() {
        out.text("v");
        out.array(record.views.len());
        for view in &record.views {
            out.array(3);
            out.int(view.at);
            out.text(&view.ip);
            out.text(&view.user_agent);
        }
    }
    if !record.replays.is_empty() {
        out.text("k");
        out.array(record.replays.len());
        for replay in &record.replays {
            out.array(3);
            out.raw(&replay.key_hash);
            out.int(replay.until);
            out.int(i64::from(replay.views_remaining));
        }
    }
    for event in activity {
        out.raw(event);
    }
    out.0
}

/// A record's own audit events, each as [`encode_event`] wrote it, from
/// the record as [`encode_record`] or a script wrote it.
pub fn decode_own_events(bytes: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut rest = bytes;
    rmpv::decode::read_value(&mut rest).map_err(|_| corrupt("not a map"))?;
    let mut activity = Vec::new();
    while !rest.is_empty() {
        let event = rmpv::decode::read_value(&mut rest).map_err(|_| corrupt("own events"))?;
        activity.push(bytes_of(&event).ok_or_else(|| corrupt("own events"))?);
    }
    Ok(activity)
}

/// A record as [`encode_record`] or a script wrote it; its own events
/// after it are not read (see [`decode_own_events`]).
pub fn decode_record(bytes: &[u8]) -> Result<Record, StoreError> {
    let mut rest = bytes;
    let Ok(Value::Map(entries)) = rmpv::decode::read_value(&mut rest) else {
        return Err(corrupt("not a map"));
    };
    let mut meta = None;
    let mut expires_at = None;
    let mut state = None;
    let mut views_remaining = None;
    let mut failed_passphrases = 0;
    let mut ended_at = None;
    let mut sealed_secret = None;
    let (mut claim_id, mut claim_until) = (None, None);
    let mut views = Vec::new();
    let mut replays = Vec::new();
    let number = |value: &Value, name: &str| int_of(value).ok_or_else(|| corrupt(name));
    let count = |value: &Value, name: &str| {
        int_of(value)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| corrupt(name))
    };
    for (key, value) in &entries {
        match key.as_str().unwrap_or_default() {
            "m" => meta = Some(bytes_of(value).ok_or_else(|| corrupt("m"))?),
            "x" => expires_at = Some(number(value, "x")?),
            "s" => {
                state = Some(SecretState::parse(
                    &text_of(value).ok_or_else(|| corrupt("s"))?,
                )?);
            }
            "r" => views_remaining = Some(count(value, "r")?),
            "f" => failed_passphrases = count(value, "f")?,
            "e" => ended_at = Some(number(value, "e")?),
            "p" => sealed_secret = Some(bytes_of(value).ok_or_else(|| corrupt("p"))?),
            "ci" => claim_id = Some(text_of(value).ok_or_else(|| corrupt("ci"))?),
            "cu" => claim_until = Some(number(value, "cu")?),
            "v" => views = list(value, "v", decode_view)?,
            "k" => replays = list(value, "k", decode_replay)?,
            _ => {}
        }
    }
    let record = Record {
        meta: decode_meta(
            &meta.ok_or_else(|| corrupt("missing m"))?,
            expires_at.ok_or_else(|| corrupt("missing x"))?,
        )?,
        state: state.ok_or_else(|| corrupt("missing s"))?,
        views_remaining: views_remaining.ok_or_else(|| corrupt("missing r"))?,
        failed_passphrases,
        ended_at,
        sealed_secret,
        views,
        claim: match (claim_id, claim_until) {
            (Some(id), Some(until)) => Some(Claim { id, until }),
            _ => None,
        },
        replays,
    };
    Ok(record)
}

/// A request's own events, as the scripts keep them in its hash: a list of
/// events as [`encode_event`] wrote them.
pub fn decode_event_list(bytes: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    list(
        &read(bytes).ok_or_else(|| corrupt("own events"))?,
        "own events",
        bytes_of,
    )
}

/// A list of items (Lua's `cmsgpack` writes even an empty table as an
/// array).
fn list<T>(
    value: &Value,
    name: &str,
    item: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>, StoreError> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| item(v).ok_or_else(|| corrupt(name)))
            .collect(),
        _ => Err(corrupt(name)),
    }
}

fn decode_view(value: &Value) -> Option<ViewEvent> {
    let Value::Array(fields) = value else {
        return None;
    };
    let [at, ip, user_agent] = fields.as_slice() else {
        return None;
    };
    Some(ViewEvent {
        at: int_of(at)?,
        ip: text_of(ip)?,
        user_agent: text_of(user_agent)?,
    })
}

fn decode_replay(value: &Value) -> Option<Replay> {
    let Value::Array(fields) = value else {
        return None;
    };
    let [key_hash, until, left] = fields.as_slice() else {
        return None;
    };
    Some(Replay {
        key_hash: bytes_of(key_hash)?,
        until: int_of(until)?,
        views_remaining: u32::try_from(int_of(left)?).ok()?,
    })
}

/// Which copy of an event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCopy {
    /// The audit trail's: whole.
    Trail,
    /// A secret's or request's own, kept with it: without the subject
    /// (the record's) and the id (its place in the list orders it; see
    /// [`own_event_id`]).
    Own,
}

/// Appends `encoded` (an event as [`encode_event`] wrote it) to `into` as
/// it is kept after a record, framed as a string, so that the scripts can
/// add a batch of a secret's events by concatenation alone.
pub fn push_own_event(into: &mut Vec<u8>, encoded: &[u8]) {
    let mut out = Writer(std::mem::take(into));
    out.raw(encoded);
    *into = out.0;
}

/// The id an own event reads back with (it keeps none): its time and its
/// place, so that `(at, id)` orders the events as they were appended.
#[must_use]
pub fn own_event_id(at: i64, place: usize) -> String {
    format!("{:012x}{place:08x}AAAAAAAA", at.max(0) * 1000)
}

/// An audit event in under 50 bytes plus its texts: `[id, at, kind,
/// actor, ip, user agent, subject, tenant, detail, AADSTS code]`, trailing
/// absent fields left out. The id is 16 bytes when it is handoff's own
/// (see [`packed_event_id`]; `at` is then the difference from the
/// seconds it starts with, usually 0); the kind is its number in [`KINDS`], an unnamed actor in [`ACTORS`];
/// an address its 4 or 16 bytes; a subject that is an id its 16 bytes.
pub fn encode_event(event: &AuditEvent, copy: EventCopy) -> Vec<u8> {
    let text = |t: Option<&str>| t.map_or(Value::Nil, Value::from);
    let packed_id = packed_event_id(&event.event_id).filter(|_| copy == EventCopy::Trail);
    let ip = event.ip.as_deref();
    let subject = event
        .subject
        .as_deref()
        .filter(|_| copy == EventCopy::Trail);
    let mut fields = vec![
        match (copy, packed_id) {
            (EventCopy::Own, _) => Value::Nil,
            (EventCopy::Trail, Some((bytes, _))) => Value::Binary(bytes.to_vec()),
            (EventCopy::Trail, None) => Value::from(event.event_id.as_str()),
        },
        Value::from(event.at - packed_id.map_or(0, |(_, seconds)| seconds)),
        KINDS
            .iter()
            .position(|k| *k == event.kind)
            .map_or_else(|| Value::from(event.kind.as_str()), Value::from),
        ACTORS
            .iter()
            .position(|a| *a == event.actor)
            .map_or_else(|| Value::from(event.actor.as_str()), Value::from),
        match ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(v4)) => Value::Binary(v4.octets().to_vec()),
            Some(IpAddr::V6(v6)) => Value::Binary(v6.octets().to_vec()),
            None => text(ip),
        },
        text(event.user_agent.as_deref()),
        match subject.and_then(|s| SecretId::parse(s).ok()) {
            Some(id) => Value::Binary(id.as_bytes().to_vec()),
            None => text(subject),
        },
        text(event.tenant.as_deref()),
        text(event.detail.as_deref()),
        event.aadsts.map_or(Value::Nil, Value::from),
    ];
    while fields.last().is_some_and(Value::is_nil) {
        fields.pop();
    }
    let mut out = Vec::with_capacity(64);
    rmpv::encode::write_value(&mut out, &Value::Array(fields)).expect("writing to memory");
    out
}

/// handoff's event ids are 20 lowercase hex digits (milliseconds and a
/// sequence number) and 6 random bytes in base64url: 16 bytes, and the
/// whole seconds of the milliseconds they start with.
fn packed_event_id(id: &str) -> Option<([u8; 16], i64)> {
    let (digits, random) = (id.get(..20)?, id.get(20..)?);
    if !digits
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let random = URL_SAFE_NO_PAD.decode(random).ok()?;
    // Only an id that reads back as it was.
    if random.len() != 6 || URL_SAFE_NO_PAD.encode(&random) != id[20..] {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes[..10].iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok()?;
    }
    bytes[10..].copy_from_slice(&random);
    let millis = i64::from_str_radix(&digits[..12], 16).ok()?;
    Some((bytes, millis / 1000))
}

fn unpacked_event_id(bytes: &[u8]) -> Option<(String, i64)> {
    use std::fmt::Write as _;
    if bytes.len() != 16 {
        return None;
    }
    let mut id = bytes[..10]
        .iter()
        .fold(String::with_capacity(28), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        });
    let millis = i64::from_str_radix(&id[..12], 16).ok()?;
    id.push_str(&URL_SAFE_NO_PAD.encode(&bytes[10..]));
    Some((id, millis / 1000))
}

/// An event as [`encode_event`] wrote it; `None` if it is not one.
pub fn decode_event(bytes: &[u8]) -> Option<AuditEvent> {
    let Value::Array(fields) = read(bytes)? else {
        return None;
    };
    let field = |i: usize| fields.get(i).unwrap_or(&Value::Nil);
    let (event_id, at_from) = match field(0) {
        Value::Binary(id) => unpacked_event_id(id)?,
        // An own copy: the caller names it (see `own_event_id`).
        Value::Nil => (String::new(), 0),
        other => (text_of(other)?, 0),
    };
    let kind = match field(2) {
        Value::Integer(code) => (*KINDS.get(usize::try_from(code.as_u64()?).ok()?)?).to_owned(),
        other => text_of(other)?,
    };
    let ip = match field(4) {
        Value::Binary(octets) => Some(match octets.len() {
            4 => IpAddr::from(<[u8; 4]>::try_from(octets.as_slice()).ok()?).to_string(),
            16 => IpAddr::from(<[u8; 16]>::try_from(octets.as_slice()).ok()?).to_string(),
            _ => return None,
        }),
        other => optional(other, text_of).ok()?,
    };
    let subject = match field(6) {
        Value::Binary(id) => Some(SecretId::from_bytes(id.as_slice().try_into().ok()?).to_string()),
        other => optional(other, text_of).ok()?,
    };
    Some(AuditEvent {
        event_id,
        at: at_from + int_of(field(1))?,
        kind,
        actor: match field(3) {
            Value::Integer(code) => {
                (*ACTORS.get(usize::try_from(code.as_u64()?).ok()?)?).to_owned()
            }
            other => text_of(other)?,
        },
        ip,
        user_agent: optional(field(5), text_of).ok()?,
        subject,
        tenant: optional(field(7), text_of).ok()?,
        detail: optional(field(8), text_of).ok()?,
        aadsts: optional(field(9), |v| u32::try_from(int_of(v)?).ok()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, Kind};

    fn meta() -> SecretMeta {
        SecretMeta {
            created_at: 1_790_000_000,
            expires_at: 1_790_086_400,
            views_allowed: 3,
            key_check: vec![7; 16],
            manage_token_hash: vec![0xff; 32],
            passphrase_salt: Some(vec![1; 16]),
            sealed_note: None,
            sealed_label: Some(vec![0, 159, 146, 150]),
            key_fingerprint: Some(vec![9; 8]),
        }
    }

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let mut record = Record::new(meta(), vec![0, 255, 128, 10]);
        record.views_remaining = 2;
        record.failed_passphrases = 1;
        record.views.push(ViewEvent {
            at: 1_790_000_100,
            ip: "2001:db8::1".into(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        });
        record.replays.push(Replay {
            key_hash: vec![0xee; 32],
            until: 1_790_000_400,
            views_remaining: 2,
        });
        record.claim = Some(Claim {
            id: "claim-1".into(),
            until: 1_790_000_160,
        });
        let activity = vec![vec![0x91, 0x01], vec![0xc0]];
        let encoded = encode_record(&record, &activity);
        let (read, kept) = (
            decode_record(&encoded).unwrap(),
            decode_own_events(&encoded).unwrap(),
        );
        assert_eq!(read, record);
        assert_eq!(kept, activity);

        let mut ended = Record::new(meta(), vec![1]);
        ended.state = SecretState::Revealed;
        ended.ended_at = Some(1_790_000_200);
        ended.sealed_secret = None;
        assert_eq!(decode_record(&encode_record(&ended, &[])).unwrap(), ended);
    }

    #[test]
    fn a_one_view_record_stays_small() {
        let mut meta = meta();
        meta.passphrase_salt = None;
        meta.sealed_label = None;
        // A 40-byte secret sealed: nonce, ciphertext, tag.
        let encoded = encode_record(&Record::new(meta, vec![0; 12 + 40 + 16]), &[]);
        assert!(encoded.len() < 190, "{} bytes", encoded.len());
    }

    #[test]
    fn an_audit_event_reads_back_whatever_its_fields_hold() {
        let full = AuditEvent::new(Kind::ApplyFailed, &Actor::Staff("a\tb".into()))
            .from_client("2001:db8::1", "Agent\\with\ttabs\nand lines\r")
            .subject(&SecretId::generate())
            .tenant("contoso")
            .detail("")
            .aadsts(Some(7_000_215));
        let bare = AuditEvent::new(Kind::SignedIn, &Actor::Anonymous);
        let mut foreign = AuditEvent::new(Kind::SecretViewed, &Actor::LinkHolder)
            .from_client("not an address", "");
        foreign.event_id = "an id from elsewhere".into();
        foreign.kind = "some.future_kind".into();
        foreign.subject = Some("not-an-id".into());
        foreign.at = 12;
        for event in [full, bare, foreign] {
            assert_eq!(
                decode_event(&encode_event(&event, EventCopy::Trail)),
                Some(event.clone())
            );
            let mut own = event.clone();
            own.subject = None;
            own.event_id = String::new();
            assert_eq!(
                decode_event(&encode_event(&event, EventCopy::Own)),
                Some(own)
            );
        }
        assert_eq!(decode_event(b"\x92\x01"), None);
        assert_eq!(decode_event(b"not msgpack"), None);
    }

    #[test]
    fn a_typical_event_takes_under_fifty_bytes() {
        let event = AuditEvent::new(Kind::SecretCreated, &Actor::Anonymous)
            .from_client("203.0.113.7", "")
            .subject(&SecretId::generate());
        let encoded = encode_event(&event, EventCopy::Trail);
        assert!(encoded.len() < 50, "{} bytes", encoded.len());
    }
}
