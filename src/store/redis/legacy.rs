//! Secrets as an earlier release kept them: a hash `handoff:{<id>}` of
//! short fields (`c` = `<created>:<expires>:<views allowed>`, `kc`, `mh`,
//! `ps`, `sn`, `sl`, `kf`, or older still one `meta` JSON field; `state`,
//! `remaining`, `failed`, `ended_at`, `claim_id`, `claim_until`,
//! `replay:<key hash>` = `<until>:<views left>`), with the payload
//! (`:p`, or older a `payload` field), the views (`:views`, JSON each),
//! a live marker (`:live`) and the own audit events (`:audit`, one
//! tab-separated line each) beside it. Read only, to upgrade such a
//! record to the current layout and to read audit streams written then.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::audit::AuditEvent;
use crate::store::{Claim, Record, Replay, SecretMeta, SecretState, StoreError};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("redis record: {what}"))
}

/// The record in a hash's fields, its views and its payload.
pub fn record(
    mut fields: HashMap<String, Vec<u8>>,
    views: &[String],
    payload: Option<Vec<u8>>,
) -> Result<Record, StoreError> {
    let meta: SecretMeta = match fields.remove("meta") {
        // Written before the metadata had fields of its own.
        Some(json) => serde_json::from_slice(&json).map_err(|e| corrupt(&e.to_string()))?,
        None => meta_from_fields(&mut fields)?,
    };
    let mut text = |name: &str| -> Result<String, StoreError> {
        let bytes = fields
            .remove(name)
            .ok_or_else(|| corrupt(&format!("missing {name}")))?;
        String::from_utf8(bytes).map_err(|_| corrupt(name))
    };
    let state = SecretState::parse(&text("state")?)?;
    let views_remaining = text("remaining")?
        .parse()
        .map_err(|_| corrupt("remaining"))?;
    let failed_passphrases = text("failed")?.parse().map_err(|_| corrupt("failed"))?;
    let ended_at = match text("ended_at") {
        Ok(at) => Some(at.parse().map_err(|_| corrupt("ended_at"))?),
        Err(_) => None,
    };
    let claim = match (text("claim_id"), text("claim_until")) {
        (Ok(id), Ok(until)) => Some(Claim {
            id,
            until: until.parse().map_err(|_| corrupt("claim_until"))?,
        }),
        _ => None,
    };
    let views = views
        .iter()
        .map(|v| serde_json::from_str(v).map_err(|e| corrupt(&e.to_string())))
        .collect::<Result<_, _>>()?;
    let mut replays = fields
        .iter()
        .filter(|(field, _)| field.starts_with("replay:"))
        .map(|(field, value)| parse_replay(field, value))
        .collect::<Result<Vec<_>, _>>()?;
    replays.sort_by(|a, b| (a.until, &a.key_hash).cmp(&(b.until, &b.key_hash)));
    Ok(Record {
        meta,
        state,
        views_remaining,
        failed_passphrases,
        ended_at,
        sealed_secret: payload.or_else(|| fields.remove("payload")),
        views,
        claim,
        replays,
    })
}

fn meta_from_fields(fields: &mut HashMap<String, Vec<u8>>) -> Result<SecretMeta, StoreError> {
    let times = fields.remove("c").ok_or_else(|| corrupt("missing c"))?;
    let times = String::from_utf8(times).map_err(|_| corrupt("c"))?;
    let mut parts = times.split(':');
    let mut number = || parts.next().and_then(|n| n.parse::<i64>().ok());
    let (Some(created_at), Some(expires_at), Some(views_allowed)) = (number(), number(), number())
    else {
        return Err(corrupt("c"));
    };
    Ok(SecretMeta {
        created_at,
        expires_at,
        views_allowed: u32::try_from(views_allowed).map_err(|_| corrupt("c"))?,
        key_check: fields.remove("kc").ok_or_else(|| corrupt("missing kc"))?,
        manage_token_hash: fields.remove("mh").ok_or_else(|| corrupt("missing mh"))?,
        passphrase_salt: fields.remove("ps"),
        sealed_note: fields.remove("sn"),
        sealed_label: fields.remove("sl"),
        key_fingerprint: fields.remove("kf"),
    })
}

/// A `replay:<hash>` field and its `<until>:<views left>` value.
fn parse_replay(field: &str, value: &[u8]) -> Result<Replay, StoreError> {
    let bad = || corrupt("replay window");
    let key_hash = URL_SAFE_NO_PAD
        .decode(field.strip_prefix("replay:").ok_or_else(bad)?)
        .map_err(|_| bad())?;
    let value = std::str::from_utf8(value).map_err(|_| bad())?;
    let (until, views_remaining) = value.split_once(':').ok_or_else(bad)?;
    Ok(Replay {
        key_hash,
        until: until.parse().map_err(|_| bad())?,
        views_remaining: views_remaining.parse().map_err(|_| bad())?,
    })
}

/// An audit event as an earlier release wrote it: one line of tab-separated
/// fields (id, time, kind, actor, ip, user agent, subject, tenant, detail,
/// AADSTS code), empty for what is absent; a backslash escapes a tab, a
/// line break or itself within a field.
pub fn decode_line(line: &str) -> Option<AuditEvent> {
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\t' => fields.push(String::new()),
            '\\' => {
                let escaped = match chars.next()? {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    other => other,
                };
                fields.last_mut()?.push(escaped);
            }
            c => fields.last_mut()?.push(c),
        }
    }
    let [
        event_id,
        at,
        kind,
        actor,
        ip,
        user_agent,
        subject,
        tenant,
        detail,
        aadsts,
    ]: [String; 10] = fields.try_into().ok()?;
    let present = |text: String| (!text.is_empty()).then_some(text);
    Some(AuditEvent {
        event_id,
        at: at.parse().ok()?,
        kind,
        actor,
        ip: present(ip),
        user_agent: present(user_agent),
        subject: present(subject),
        tenant: present(tenant),
        detail: present(detail),
        aadsts: present(aadsts).and_then(|code| code.parse().ok()),
    })
}
