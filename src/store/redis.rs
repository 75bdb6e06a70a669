//! Redis store, for several instances behind a load balancer. One secret is
//! a hash `handoff:{<id>}`, a list `handoff:{<id>}:views` and, while it is
//! live, a marker `handoff:{<id>}:live`; the hash tag keeps them in one
//! Redis Cluster slot. Redis deletes the secret at its expiry by itself.
//! Every change is a Lua script, which Redis runs atomically: that is the
//! check-and-consume.
//!
//! `handoff:expiring` (secrets and requests by expiry) lets the sweepers
//! report what expired unused: the marker outlives the secret by a grace
//! period, and only the sweeper whose `ZREM` succeeds reports an item.
//! Audit events live in `handoff:audit` (by time) and, per secret or
//! request, in `handoff:{<id>}:audit`. The webhook outbox is sharded into
//! hash-tagged buckets, `handoff:{outbox:<n>}:due` (ids by due time) and
//! `handoff:{outbox:<n>}:items` (id → item), each bucket's pair in one slot.
//!
//! A reveal made with an idempotency key leaves a field
//! `replay:<key hash>` = `<until>:<views left>` in the secret's hash (the
//! same slot, written by the same script), and the payload stays until the
//! last such window has passed; `k:<id>` (secrets) and `a:<id>` (request
//! answers) in `handoff:expiring` tell the sweeper when to delete it.

use std::collections::HashMap;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{
    AuditStore, Claim, ClaimOutcome, ConsumeOutcome, Expired, ExpiredKind, Health, KeptFingerprint,
    MAX_PASSPHRASE_ATTEMPTS, OutboxItem, OutboxStore, PassphraseOutcome, REPLAY_WINDOW_SECS,
    Record, Replay, ReplayKey, RequestRecord, RequestStore, RevokeOutcome, SecretMeta, SecretState,
    SecretStore, StoreError, TenantRecord, TenantStore, Versioned, ViewEvent,
};
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::{SecretId, UnixTime};

/// Shared by the scripts that touch replay windows (`replay:<hash>` fields
/// holding `<until>:<views left>`).
const REPLAYS: &str = r"
local function replay_until(value)
  return tonumber(string.sub(value, 1, string.find(value, ':', 1, true) - 1))
end
-- Deletes the windows that have passed; returns how many are left and the
-- latest end among them (0 if none).
local function drop_lapsed_replays(key, now)
  local left, latest = 0, 0
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 7) == 'replay:' then
      local ends = replay_until(redis.call('HGET', key, field))
      if ends > now then
        left = left + 1
        if ends > latest then latest = ends end
      else
        redis.call('HDEL', key, field)
      end
    end
  end
  return left, latest
end
local function drop_all_replays(key)
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 7) == 'replay:' then redis.call('HDEL', key, field) end
  end
end
-- The later of the caller's time and Redis's own: a script that a stalled
-- Redis runs late starts its replay window when it actually runs.
local function replay_now(at)
  return math.max(tonumber(at), tonumber(redis.call('TIME')[1]))
end
";

// KEYS: record, views, live marker. ARGV: view, at, replay key ('' for
// none), replay window. Returns {outcome, views left}: 0 consumed,
// 1 replayed, -1 not live, -2 claimed by an apply.
const CONSUME_VIEW: &str = r"
local now = replay_now(ARGV[2])
if ARGV[3] ~= '' then
  local kept = redis.call('HGET', KEYS[1], 'replay:' .. ARGV[3])
  if kept and replay_until(kept) > now and redis.call('HEXISTS', KEYS[1], 'payload') == 1 then
    return {1, tonumber(string.sub(kept, string.find(kept, ':', 1, true) + 1))}
  end
end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'live' then return {-1, 0} end
local claimed_until = tonumber(redis.call('HGET', KEYS[1], 'claim_until') or '0')
if claimed_until > tonumber(ARGV[2]) then return {-2, 0} end
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
if remaining < 0 then
  redis.call('HSET', KEYS[1], 'remaining', 0)
  return {-1, 0}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
local kept = drop_lapsed_replays(KEYS[1], now)
if ARGV[3] ~= '' then
  local ends = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'replay:' .. ARGV[3], string.format('%d:%d', ends, remaining))
  kept = kept + 1
end
if remaining == 0 then
  redis.call('HSET', KEYS[1], 'state', 'revealed', 'ended_at', ARGV[2])
  if kept == 0 then redis.call('HDEL', KEYS[1], 'payload') end
  redis.call('DEL', KEYS[3])
end
return {0, remaining}
";

// KEYS: record. ARGV: now. Deletes passed replay windows and, when an ended
// secret has none left, its kept payload; returns the latest window still
// open (0 if none).
const DROP_LAPSED_REPLAYS: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local left, latest = drop_lapsed_replays(KEYS[1], replay_now(ARGV[1]))
if state ~= 'live' and left == 0 then redis.call('HDEL', KEYS[1], 'payload') end
return latest
";

// KEYS: record, live marker.
const FAIL_PASSPHRASE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'live' then return -1 end
local failed = redis.call('HINCRBY', KEYS[1], 'failed', 1)
if failed >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'destroyed', 'ended_at', ARGV[2])
  redis.call('HDEL', KEYS[1], 'payload')
  drop_all_replays(KEYS[1])
  redis.call('DEL', KEYS[2])
end
return failed
";

// KEYS: record, live marker. On a secret already revealed, still deletes a
// payload kept for a replay.
const REVOKE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
redis.call('HDEL', KEYS[1], 'payload')
drop_all_replays(KEYS[1])
if state ~= 'live' then return 2 end
redis.call('HSET', KEYS[1], 'state', 'revoked', 'ended_at', ARGV[1])
redis.call('DEL', KEYS[2])
return 1
";

// KEYS: record. ARGV: claim id, until, now. 0 = claimed, -1 = not live,
// otherwise the time the current claim holds until.
const CLAIM: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'live' then return -1 end
local held = tonumber(redis.call('HGET', KEYS[1], 'claim_until') or '0')
if held > tonumber(ARGV[3]) then return held end
redis.call('HSET', KEYS[1], 'claim_id', ARGV[1], 'claim_until', ARGV[2])
return 0
";

// KEYS: record, live marker. ARGV: claim id, at.
const COMMIT_CLAIM: &str = r"
if redis.call('HGET', KEYS[1], 'state') ~= 'live' then return 0 end
if redis.call('HGET', KEYS[1], 'claim_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'applied', 'ended_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'payload', 'claim_id', 'claim_until')
drop_all_replays(KEYS[1])
redis.call('DEL', KEYS[2])
return 1
";

// KEYS: record. ARGV: claim id.
const RELEASE_CLAIM: &str = r"
if redis.call('HGET', KEYS[1], 'claim_id') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'claim_id', 'claim_until')
return 1
";

/// Secrets (`s:<id>`) and requests (`r:<id>`) by expiry.
const EXPIRING: &str = "handoff:expiring";
/// How long the live marker and request records outlive their expiry, so a
/// sweeper can still tell what expired unused.
const GRACE_SECS: i64 = 120;
/// The slugs of tenants with a credential record.
const TENANT_INDEX: &str = "handoff:tenants";
/// Every audit event, scored by time.
const AUDIT: &str = "handoff:audit";
/// Items a sweeper handles per batch, and batches per sweep at most.
const SWEEP_BATCH: isize = 500;
const SWEEP_ROUNDS: usize = 40;
/// Compare-and-swap tries when the sweeper drops a kept request answer.
const SWEEP_CAS_ATTEMPTS: usize = 4;

/// Compare-and-swap of a request or tenant record: write only if the
/// version is unchanged (a missing record is version 0).
const REPLACE_REQUEST: &str = r"
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
return 1
";

/// All requests by expiry, for the staff list; one key for all, pruned as
/// it is read.
const REQUEST_INDEX: &str = "handoff:requests";

/// The fingerprint of the server key the records are sealed with: one key,
/// never expiring (it must outlive every record). It is what stops an
/// instance with another key from starting; a Redis that evicts keys
/// without a TTL (`maxmemory-policy allkeys-*`) could drop it, after which
/// the next instance to start records its own (records still carry theirs,
/// so nothing is destroyed, but use a `volatile-*` or `noeviction` policy).
const KEY_FINGERPRINT: &str = "handoff:key-fingerprint";

pub struct RedisStore {
    connection: ConnectionManager,
    description: String,
    consume_view: Script,
    drop_lapsed_replays: Script,
    fail_passphrase: Script,
    revoke: Script,
    replace_request: Script,
    claim: Script,
    commit_claim: Script,
    release_claim: Script,
    audit_retention_secs: i64,
}

fn unavailable(error: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("redis record: {what}"))
}

fn record_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}")
}

fn request_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:request")
}

fn tenant_key(tenant: &str) -> String {
    format!("handoff:tenant:{{{tenant}}}")
}

fn live_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:live")
}

fn audit_key(subject: &str) -> String {
    format!("handoff:{{{subject}}}:audit")
}

fn views_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:views")
}

/// A script that uses the replay helpers.
fn with_replays(body: &str) -> Script {
    Script::new(&format!("{REPLAYS}{body}"))
}

/// A replay key as the scripts name it: its field is `replay:<this>`.
fn replay_name(key: &ReplayKey) -> String {
    URL_SAFE_NO_PAD.encode(key)
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

impl RedisStore {
    /// Connects to `redis://` or `rediss://` (TLS). The connection manager
    /// reconnects by itself when Redis comes back after an outage.
    /// `audit_retention` sets how long the per-secret audit lists live;
    /// the global audit set is trimmed by [`AuditStore::purge_audit`].
    pub async fn connect(
        url: &str,
        audit_retention: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
        let info = client.get_connection_info();
        let description = format!("redis ({})", info.addr());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
            .set_response_timeout(Some(std::time::Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(std::time::Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(Self {
            connection,
            description,
            consume_view: with_replays(CONSUME_VIEW),
            drop_lapsed_replays: with_replays(DROP_LAPSED_REPLAYS),
            fail_passphrase: with_replays(FAIL_PASSPHRASE),
            revoke: with_replays(REVOKE),
            replace_request: Script::new(REPLACE_REQUEST),
            claim: Script::new(CLAIM),
            commit_claim: with_replays(COMMIT_CLAIM),
            release_claim: Script::new(RELEASE_CLAIM),
            audit_retention_secs: audit_retention.as_secs() as i64,
        })
    }
}

impl RedisStore {
    /// A `{version, record}` hash, as requests and tenant records are kept.
    async fn load_versioned<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let mut connection = self.connection.clone();
        let (version, record): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(key)
            .arg("version")
            .arg("record")
            .query_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        match (version, record) {
            (Some(version), Some(record)) => Ok(Some(Versioned {
                version,
                value: serde_json::from_str(&record).map_err(|e| corrupt(&e.to_string()))?,
            })),
            _ => Ok(None),
        }
    }

    /// Deletes a secret's passed replay windows (and its kept payload with
    /// the last); a window still open goes back into the index.
    async fn drop_lapsed_secret_replays(
        &self,
        id: &SecretId,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let latest: i64 = self
            .drop_lapsed_replays
            .key(record_key(id))
            .arg(now)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if latest > 0 {
            let () = connection
                .zadd(EXPIRING, format!("k:{id}"), latest)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        Ok(())
    }

    /// Deletes a retrieved answer kept for a replay once its window has
    /// passed (compare-and-swap, like every request change).
    async fn drop_lapsed_answer_replay(
        &self,
        id: &SecretId,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        for _ in 0..SWEEP_CAS_ATTEMPTS {
            let Some(mut request) = self
                .load_versioned::<RequestRecord>(&request_key(id))
                .await?
            else {
                return Ok(());
            };
            if !request.value.drop_lapsed_replay(now) {
                if let Some(replay) = &request.value.replay {
                    let mut connection = self.connection.clone();
                    let () = connection
                        .zadd(EXPIRING, format!("a:{id}"), replay.until)
                        .await
                        .map_err(|e| unavailable(&e))?;
                }
                return Ok(());
            }
            if self
                .replace_request(id, request.version, &request.value)
                .await?
            {
                return Ok(());
            }
        }
        Ok(())
    }

    /// One batch of due secrets and requests; `true` if the batch was full.
    async fn purge_batch(&self, now: UnixTime) -> Result<(Vec<Expired>, bool), StoreError> {
        let mut connection = self.connection.clone();
        let due: Vec<String> = connection
            .zrangebyscore_limit(EXPIRING, "-inf", now, 0, SWEEP_BATCH)
            .await
            .map_err(|e| unavailable(&e))?;
        let full = due.len() >= SWEEP_BATCH as usize;
        let mut expired = Vec::new();
        for member in due {
            let removed: i64 = connection
                .zrem(EXPIRING, &member)
                .await
                .map_err(|e| unavailable(&e))?;
            if removed == 0 {
                continue; // another instance took it
            }
            let (kind, id) = member.split_at(2);
            let Ok(id) = SecretId::parse(id) else {
                continue;
            };
            if kind == "k:" {
                self.drop_lapsed_secret_replays(&id, now).await?;
            } else if kind == "a:" {
                self.drop_lapsed_answer_replay(&id, now).await?;
            } else if kind == "s:" {
                let (was_live, (), ()): (i64, (), ()) = redis::pipe()
                    .del(live_key(&id))
                    .del(record_key(&id))
                    .del(views_key(&id))
                    .query_async(&mut connection)
                    .await
                    .map_err(|e| unavailable(&e))?;
                expired.push(Expired {
                    id,
                    kind: ExpiredKind::Secret,
                    tenant: None,
                    unused: was_live == 1,
                });
            } else {
                let record: Option<String> = connection
                    .hget(request_key(&id), "record")
                    .await
                    .map_err(|e| unavailable(&e))?;
                let () = connection
                    .del(request_key(&id))
                    .await
                    .map_err(|e| unavailable(&e))?;
                if let Some(record) =
                    record.and_then(|r| serde_json::from_str::<RequestRecord>(&r).ok())
                {
                    expired.push(Expired::request(id, &record));
                }
            }
        }
        Ok((expired, full))
    }
}

#[async_trait]
impl SecretStore for RedisStore {
    async fn insert(&self, id: &SecretId, record: &Record) -> Result<(), StoreError> {
        let meta = serde_json::to_string(&record.meta).expect("metadata always serialises");
        let mut fields: Vec<(&str, Vec<u8>)> = vec![
            ("meta", meta.into_bytes()),
            ("state", record.state.as_str().into()),
            ("remaining", record.views_remaining.to_string().into_bytes()),
            ("failed", record.failed_passphrases.to_string().into_bytes()),
        ];
        if let Some(sealed) = &record.sealed_secret {
            fields.push(("payload", sealed.clone()));
        }
        let key = record_key(id);
        let mut connection = self.connection.clone();
        let live = live_key(id);
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .expire_at(&key, record.meta.expires_at)
            .ignore()
            .set(&live, 1)
            .ignore()
            .expire_at(&live, record.meta.expires_at + GRACE_SECS)
            .ignore()
            .zadd(EXPIRING, format!("s:{id}"), record.meta.expires_at)
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn load(&self, id: &SecretId) -> Result<Option<Record>, StoreError> {
        let mut connection = self.connection.clone();
        let (mut fields, views): (HashMap<String, Vec<u8>>, Vec<String>) = redis::pipe()
            .atomic()
            .hgetall(record_key(id))
            .lrange(views_key(id), 0, -1)
            .query_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if fields.is_empty() {
            return Ok(None);
        }
        let mut text = |name: &str| -> Result<String, StoreError> {
            let bytes = fields
                .remove(name)
                .ok_or_else(|| corrupt(&format!("missing {name}")))?;
            String::from_utf8(bytes).map_err(|_| corrupt(name))
        };
        let meta: SecretMeta =
            serde_json::from_str(&text("meta")?).map_err(|e| corrupt(&e.to_string()))?;
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
        Ok(Some(Record {
            meta,
            state,
            views_remaining,
            failed_passphrases,
            ended_at,
            sealed_secret: fields.remove("payload"),
            views,
            claim,
            replays,
        }))
    }

    async fn consume_view(
        &self,
        id: &SecretId,
        view: &ViewEvent,
        replay: Option<&ReplayKey>,
    ) -> Result<ConsumeOutcome, StoreError> {
        let view_json = serde_json::to_string(view).expect("a view always serialises");
        let mut connection = self.connection.clone();
        if replay.is_some() {
            // Indexed before the script runs: should its answer be lost, the
            // sweeper still finds the payload it may have kept. NX keeps the
            // earliest time; the sweeper puts back what is still open then.
            let () = redis::cmd("ZADD")
                .arg(EXPIRING)
                .arg("NX")
                .arg(view.at + REPLAY_WINDOW_SECS)
                .arg(format!("k:{id}"))
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        let (outcome, remaining): (i64, i64) = self
            .consume_view
            .key(record_key(id))
            .key(views_key(id))
            .key(live_key(id))
            .arg(view_json)
            .arg(view.at)
            .arg(replay.map(replay_name).unwrap_or_default())
            .arg(REPLAY_WINDOW_SECS)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        let views_remaining = u32::try_from(remaining).map_err(|_| corrupt("remaining"))?;
        Ok(match outcome {
            0 => ConsumeOutcome::Consumed { views_remaining },
            1 => ConsumeOutcome::Replayed { views_remaining },
            -2 => ConsumeOutcome::Busy,
            _ => ConsumeOutcome::NotLive,
        })
    }

    async fn claim(
        &self,
        id: &SecretId,
        claim: &Claim,
        now: UnixTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut connection = self.connection.clone();
        let outcome: i64 = self
            .claim
            .key(record_key(id))
            .arg(&claim.id)
            .arg(claim.until)
            .arg(now)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        match outcome {
            0 => match self.load(id).await? {
                // While we hold the claim, only a revoke can have ended it.
                Some(mut record) if record.sealed_secret.is_some() => {
                    record.claim = None;
                    Ok(ClaimOutcome::Claimed(Box::new(record)))
                }
                _ => Ok(ClaimOutcome::NotLive),
            },
            -1 => Ok(ClaimOutcome::NotLive),
            until => Ok(ClaimOutcome::Busy { until }),
        }
    }

    async fn commit_claim(
        &self,
        id: &SecretId,
        claim_id: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let committed: i64 = self
            .commit_claim
            .key(record_key(id))
            .key(live_key(id))
            .arg(claim_id)
            .arg(at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(committed == 1)
    }

    async fn release_claim(&self, id: &SecretId, claim_id: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let _: i64 = self
            .release_claim
            .key(record_key(id))
            .arg(claim_id)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    async fn fail_passphrase(
        &self,
        id: &SecretId,
        at: UnixTime,
    ) -> Result<PassphraseOutcome, StoreError> {
        let mut connection = self.connection.clone();
        let failed: i64 = self
            .fail_passphrase
            .key(record_key(id))
            .key(live_key(id))
            .arg(MAX_PASSPHRASE_ATTEMPTS)
            .arg(at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(match u32::try_from(failed) {
            Err(_) => PassphraseOutcome::NotLive,
            Ok(failed) if failed >= MAX_PASSPHRASE_ATTEMPTS => PassphraseOutcome::Destroyed,
            Ok(failed) => PassphraseOutcome::AttemptsRemaining(MAX_PASSPHRASE_ATTEMPTS - failed),
        })
    }

    async fn revoke(&self, id: &SecretId, at: UnixTime) -> Result<RevokeOutcome, StoreError> {
        let mut connection = self.connection.clone();
        let outcome: i64 = self
            .revoke
            .key(record_key(id))
            .key(live_key(id))
            .arg(at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(match outcome {
            1 => RevokeOutcome::Revoked,
            2 => RevokeOutcome::AlreadyEnded,
            _ => RevokeOutcome::Missing,
        })
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<Vec<Expired>, StoreError> {
        // Batches until the backlog is gone (or a bound is reached, so that
        // one sweep never runs for long): under heavy load more than one
        // batch expires between sweeps.
        let mut expired = Vec::new();
        for _ in 0..SWEEP_ROUNDS {
            let (batch, full) = self.purge_batch(now).await?;
            expired.extend(batch);
            if !full {
                break;
            }
        }
        Ok(expired)
    }
}

#[async_trait]
impl RequestStore for RedisStore {
    async fn insert_request(
        &self,
        id: &SecretId,
        record: &RequestRecord,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).expect("a request always serialises");
        let key = request_key(id);
        let mut connection = self.connection.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &[("version", "1"), ("record", json.as_str())])
            .ignore()
            .expire_at(&key, record.expires_at + GRACE_SECS)
            .ignore()
            .zadd(REQUEST_INDEX, id.to_string(), record.expires_at)
            .ignore()
            .zadd(EXPIRING, format!("r:{id}"), record.expires_at)
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn load_request(
        &self,
        id: &SecretId,
    ) -> Result<Option<Versioned<RequestRecord>>, StoreError> {
        let request: Option<Versioned<RequestRecord>> =
            self.load_versioned(&request_key(id)).await?;
        // The record outlives its expiry by the grace period.
        Ok(request.filter(|r| !r.value.is_expired(crate::domain::now())))
    }

    async fn replace_request(
        &self,
        id: &SecretId,
        expected: u64,
        record: &RequestRecord,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(record).expect("a request always serialises");
        let mut connection = self.connection.clone();
        if let Some(replay) = &record.replay {
            // Indexed first, so that the sweeper deletes the kept answer
            // even if this answer is lost.
            let () = connection
                .zadd(EXPIRING, format!("a:{id}"), replay.until)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        let replaced: i64 = self
            .replace_request
            .key(request_key(id))
            .arg(expected)
            .arg(expected + 1)
            .arg(json)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(replaced == 1)
    }

    async fn list_requests(&self) -> Result<Vec<(SecretId, RequestRecord)>, StoreError> {
        let mut connection = self.connection.clone();
        let now = crate::domain::now();
        let (ids,): (Vec<String>,) = redis::pipe()
            .zrembyscore(REQUEST_INDEX, "-inf", now)
            .ignore()
            .zrangebyscore(REQUEST_INDEX, now, "+inf")
            .query_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut requests = Vec::with_capacity(ids.len());
        for id in ids {
            let Ok(id) = SecretId::parse(&id) else {
                continue;
            };
            if let Some(request) = self.load_request(&id).await? {
                requests.push((id, request.value));
            }
        }
        Ok(requests)
    }
}

#[async_trait]
impl TenantStore for RedisStore {
    async fn load_tenant_record(
        &self,
        tenant: &str,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError> {
        self.load_versioned(&tenant_key(tenant)).await
    }

    async fn replace_tenant_record(
        &self,
        tenant: &str,
        expected: u64,
        record: &TenantRecord,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(record).expect("a tenant record always serialises");
        let mut connection = self.connection.clone();
        let replaced: i64 = self
            .replace_request
            .key(tenant_key(tenant))
            .arg(expected)
            .arg(expected + 1)
            .arg(json)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if replaced == 1 {
            let _: i64 = connection
                .sadd(TENANT_INDEX, tenant)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        Ok(replaced == 1)
    }

    async fn list_tenant_records(&self) -> Result<Vec<(String, TenantRecord)>, StoreError> {
        let mut connection = self.connection.clone();
        let tenants: Vec<String> = connection
            .smembers(TENANT_INDEX)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut records = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            if let Some(record) = self.load_tenant_record(&tenant).await? {
                records.push((tenant, record.value));
            }
        }
        Ok(records)
    }
}

#[async_trait]
impl AuditStore for RedisStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        for event in events {
            let json = serde_json::to_string(event).expect("an audit event always serialises");
            pipe.zadd(AUDIT, &json, event.at).ignore();
            if let Some(subject) = &event.subject {
                let key = audit_key(subject);
                pipe.rpush(&key, &json)
                    .ignore()
                    .expire_at(&key, event.at + self.audit_retention_secs)
                    .ignore();
            }
        }
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut connection = self.connection.clone();
        let parse = |json: &String| serde_json::from_str::<AuditEvent>(json).ok();
        if let Some(subject) = &query.subject {
            let all: Vec<String> = connection
                .lrange(audit_key(subject), 0, -1)
                .await
                .map_err(|e| unavailable(&e))?;
            let mut found: Vec<AuditEvent> = all
                .iter()
                .filter_map(parse)
                .filter(|e| query.matches(e))
                .collect();
            AuditEvent::sort_newest_first(&mut found);
            found.truncate(query.limit);
            return Ok(found);
        }
        // Newest first, a page at a time, until enough match the filters.
        let mut found = Vec::new();
        let mut offset = 0;
        loop {
            let page: Vec<String> = connection
                .zrevrangebyscore_limit(AUDIT, query.until, query.since, offset, SWEEP_BATCH)
                .await
                .map_err(|e| unavailable(&e))?;
            let exhausted = page.len() < SWEEP_BATCH as usize;
            found.extend(page.iter().filter_map(parse).filter(|e| query.matches(e)));
            if found.len() >= query.limit || exhausted {
                found.truncate(query.limit);
                return Ok(found);
            }
            offset += SWEEP_BATCH;
        }
    }

    async fn purge_audit(&self, before: UnixTime) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        connection
            .zrembyscore(AUDIT, "-inf", format!("({before}"))
            .await
            .map_err(|e| unavailable(&e))
    }
}

/// Outbox buckets: enough that no one key is hot, few enough that a claim
/// round over all of them stays cheap.
const OUTBOX_BUCKETS: u64 = 8;

// KEYS: due, items. ARGV: id, item, due, capacity of the bucket.
const OUTBOX_ENQUEUE: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0
  and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
";

// KEYS: due, items. ARGV: now, lease until, limit. Moves each due item's
// score to the lease's end and returns the items.
const OUTBOX_CLAIM: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  local item = redis.call('HGET', KEYS[2], id)
  if item then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    claimed[#claimed + 1] = item
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
";

// KEYS: due, items. ARGV: id, lease, next due, item. Only while the lease
// is still the item's score.
const OUTBOX_RESCHEDULE: &str = r"
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
";

// KEYS: due, items. ARGV: id.
const OUTBOX_REMOVE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
";

struct OutboxScripts {
    enqueue: Script,
    claim: Script,
    reschedule: Script,
    remove: Script,
}

static OUTBOX_SCRIPTS: std::sync::LazyLock<OutboxScripts> =
    std::sync::LazyLock::new(|| OutboxScripts {
        enqueue: Script::new(OUTBOX_ENQUEUE),
        claim: Script::new(OUTBOX_CLAIM),
        reschedule: Script::new(OUTBOX_RESCHEDULE),
        remove: Script::new(OUTBOX_REMOVE),
    });

/// The bucket of a `webhook-id`: FNV-1a, stable across instances and
/// releases (std's hasher promises neither).
fn outbox_bucket(id: &str) -> u64 {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % OUTBOX_BUCKETS
}

fn outbox_keys(bucket: u64) -> (String, String) {
    (
        format!("handoff:{{outbox:{bucket}}}:due"),
        format!("handoff:{{outbox:{bucket}}}:items"),
    )
}

fn encode_outbox(item: &OutboxItem) -> String {
    serde_json::to_string(item).expect("an outbox item always serialises")
}

#[async_trait]
impl OutboxStore for RedisStore {
    async fn enqueue_outbox(&self, item: &OutboxItem, capacity: usize) -> Result<bool, StoreError> {
        let (due, items) = outbox_keys(outbox_bucket(&item.id));
        let per_bucket = capacity.div_ceil(OUTBOX_BUCKETS as usize);
        let mut connection = self.connection.clone();
        let added: i64 = OUTBOX_SCRIPTS
            .enqueue
            .key(due)
            .key(items)
            .arg(&item.id)
            .arg(encode_outbox(item))
            .arg(item.due_ms)
            .arg(per_bucket)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(added == 1)
    }

    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // Instances start at different buckets, so that they rarely queue
        // up behind each other on one.
        let first = now_ms.unsigned_abs() % OUTBOX_BUCKETS;
        let mut connection = self.connection.clone();
        let mut claimed = Vec::new();
        for offset in 0..OUTBOX_BUCKETS {
            if claimed.len() >= limit {
                break;
            }
            let (due, items) = outbox_keys((first + offset) % OUTBOX_BUCKETS);
            let found: Vec<String> = OUTBOX_SCRIPTS
                .claim
                .key(due)
                .key(items)
                .arg(now_ms)
                .arg(lease_until_ms)
                .arg(limit - claimed.len())
                .invoke_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            for json in found {
                let mut item: OutboxItem =
                    serde_json::from_str(&json).map_err(|e| corrupt(&e.to_string()))?;
                item.due_ms = lease_until_ms;
                claimed.push(item);
            }
        }
        Ok(claimed)
    }

    async fn reschedule_outbox(
        &self,
        item: &OutboxItem,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let (due, items) = outbox_keys(outbox_bucket(&item.id));
        let mut connection = self.connection.clone();
        let done: i64 = OUTBOX_SCRIPTS
            .reschedule
            .key(due)
            .key(items)
            .arg(&item.id)
            .arg(lease_ms)
            .arg(item.due_ms)
            .arg(encode_outbox(item))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(done == 1)
    }

    async fn remove_outbox(&self, id: &str) -> Result<bool, StoreError> {
        let (due, items) = outbox_keys(outbox_bucket(id));
        let mut connection = self.connection.clone();
        let removed: i64 = OUTBOX_SCRIPTS
            .remove
            .key(due)
            .key(items)
            .arg(id)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(removed == 1)
    }
}

#[async_trait]
impl Health for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        connection
            .ping::<String>()
            .await
            .map(drop)
            .map_err(|e| unavailable(&e))
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn keep_key_fingerprint(
        &self,
        fingerprint: &[u8],
    ) -> Result<KeptFingerprint, StoreError> {
        let mut connection = self.connection.clone();
        // `SET NX` is the atomic step; the other instances starting at the
        // same moment read the winner's. (Not `SET NX GET`, which needs
        // Redis 7.) Whether records were here already only decides what
        // the start-up line says, so it need not be in the same step.
        for _ in 0..3 {
            // Every secret and request is in the expiry index until swept.
            let held: bool = connection
                .exists(EXPIRING)
                .await
                .map_err(|e| unavailable(&e))?;
            let recorded: Option<String> = redis::cmd("SET")
                .arg(KEY_FINGERPRINT)
                .arg(fingerprint)
                .arg("NX")
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            if recorded.is_some() {
                return Ok(KeptFingerprint::Recorded { adopted: held });
            }
            let kept: Option<Vec<u8>> = connection
                .get(KEY_FINGERPRINT)
                .await
                .map_err(|e| unavailable(&e))?;
            if let Some(kept) = kept {
                return Ok(KeptFingerprint::Kept(kept));
            }
            // Deleted between our SET and GET: try again.
        }
        Err(StoreError::Unavailable(format!(
            "{KEY_FINGERPRINT} kept changing while it was read"
        )))
    }
}
