//! Redis store, for several instances behind a load balancer, on one Redis
//! node or a Redis Cluster (see [`connection`]). Every Lua script and
//! every `MULTI` touches the keys of one hash slot: one secret is a hash
//! `handoff:{<id>}`, a list `handoff:{<id>}:views` and, while it is live, a
//! marker `handoff:{<id>}:live`, all tagged `{<id>}`. Redis deletes the
//! secret at its expiry by itself. Every change is a Lua script, which
//! Redis runs atomically: that is the check-and-consume.
//!
//! What many secrets share is sharded into a fixed number of hash-tagged
//! buckets (by an FNV-1a hash of the id), each bucket's keys in one slot,
//! and every instance goes through every bucket:
//!
//! * `handoff:{exp:<n>}`: secrets (`s:<id>`) and requests (`r:<id>`) by
//!   expiry, so that the sweepers report what expired unused. The live
//!   marker outlives the secret by a grace period. A sweeper claims the due
//!   members of a bucket with one script (range and remove in one step), so
//!   no two instances report the same item. A new secret is indexed before
//!   it is written: a crash between the two leaves an index entry pointing
//!   at nothing, which the sweeper skips.
//! * `handoff:{req:<n>}`: requests by expiry, for the staff list.
//! * `handoff:{audit:<n>:<day>}`: the audit trail, one stream per bucket
//!   (by tenant, or else by subject) and UTC day, expiring by itself
//!   a day after the retention has passed; a tenant's events are all in
//!   one bucket. A secret's or request's own events are also in
//!   `handoff:{<id>}:audit`, which expires with it (plus the grace period).
//! * `handoff:{outbox:<n>}:due` (ids by due time) and
//!   `handoff:{outbox:<n>}:items` (id → item): the webhook outbox.
//!
//! A reveal made with an idempotency key leaves a field
//! `replay:<key hash>` = `<until>:<views left>` in the secret's hash (the
//! same slot, written by the same script), and the payload stays until the
//! last such window has passed; `k:<id>` (secrets) and `a:<id>` (request
//! answers) in the expiry buckets tell the sweeper when to delete it.
//!
//! With `wait_replicas` above 0, every acknowledged write is followed by
//! `WAIT` on the node that holds its key, and a write that not enough
//! replicas confirm in time is reported as unavailable (its outcome is
//! unknown: the master has it, a failover might lose it).

mod connection;

pub use self::connection::{Patience, RedisConnection, cluster_seeds, is_cluster_url};

use std::collections::HashMap;

use async_trait::async_trait;
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
-- The sealed payload is its own key; records written before it was (a
-- `payload` field) are handled alike.
local function has_payload(record, payload)
  return redis.call('EXISTS', payload) == 1 or redis.call('HEXISTS', record, 'payload') == 1
end
local function drop_payload(record, payload)
  redis.call('DEL', payload)
  redis.call('HDEL', record, 'payload')
end
";

// KEYS: record, views, live marker, payload. ARGV: view, at, replay key ('' for
// none), replay window. Returns {outcome, views left}: 0 consumed,
// 1 replayed, -1 not live, -2 claimed by an apply.
const CONSUME_VIEW: &str = r"
local now = replay_now(ARGV[2])
if ARGV[3] ~= '' then
  local kept = redis.call('HGET', KEYS[1], 'replay:' .. ARGV[3])
  if kept and replay_until(kept) > now and has_payload(KEYS[1], KEYS[4]) then
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
  if kept == 0 then drop_payload(KEYS[1], KEYS[4]) end
  redis.call('DEL', KEYS[3])
end
return {0, remaining}
";

// KEYS: record, payload. ARGV: now. Deletes passed replay windows and, when an ended
// secret has none left, its kept payload; returns the latest window still
// open (0 if none).
const DROP_LAPSED_REPLAYS: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local left, latest = drop_lapsed_replays(KEYS[1], replay_now(ARGV[1]))
if state ~= 'live' and left == 0 then drop_payload(KEYS[1], KEYS[2]) end
return latest
";

// KEYS: record, live marker, payload.
const FAIL_PASSPHRASE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'live' then return -1 end
local failed = redis.call('HINCRBY', KEYS[1], 'failed', 1)
if failed >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'destroyed', 'ended_at', ARGV[2])
  drop_payload(KEYS[1], KEYS[3])
  drop_all_replays(KEYS[1])
  redis.call('DEL', KEYS[2])
end
return failed
";

// KEYS: record, live marker, payload. On a secret already revealed, still deletes a
// payload kept for a replay.
const REVOKE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
drop_payload(KEYS[1], KEYS[3])
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

// KEYS: record, live marker, payload. ARGV: claim id, at.
const COMMIT_CLAIM: &str = r"
if redis.call('HGET', KEYS[1], 'state') ~= 'live' then return 0 end
if redis.call('HGET', KEYS[1], 'claim_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'applied', 'ended_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'claim_id', 'claim_until')
drop_payload(KEYS[1], KEYS[3])
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

/// Buckets of the expiry and request indexes and of the audit trail:
/// enough to spread over a cluster's masters, few enough that a sweep over
/// all of them stays cheap.
const BUCKETS: u64 = 16;
/// How long the live marker and request records outlive their expiry, so a
/// sweeper can still tell what expired unused.
const GRACE_SECS: i64 = 120;
/// The slugs of tenants with a credential record.
const TENANT_INDEX: &str = "handoff:tenants";
/// How far an audit event's time may be from the moment Redis appended it
/// (the audit writer batches; clocks differ a little): stream ids are
/// Redis's own time, so a query by time reads this much more on each side
/// and filters on the event's own time.
const AUDIT_SLACK_SECS: i64 = 600;
const DAY_SECS: i64 = 86_400;
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

// KEYS: an expiry bucket. ARGV: now, limit. Removes and returns the due
// members, so that of several sweepers exactly one gets each.
const CLAIM_DUE: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
";

// KEYS: the subject's own events, its secret record, its request record.
// ARGV: grace in ms, events (compact JSON, one line each). One string of
// lines, rewritten whole (a list or `APPEND` would keep spare room), that
// lives as long as the longer-lived of the two records plus the grace.
const APPEND_OWN_AUDIT: &str = r"
local kept = redis.call('GET', KEYS[1])
local lines = {}
if kept then lines[1] = kept end
for i = 2, #ARGV do lines[#lines + 1] = ARGV[i] end
local ttl = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[3]), 0)
redis.call('SET', KEYS[1], table.concat(lines, '\n'), 'PX', ttl + tonumber(ARGV[1]))
return 1
";

/// The fingerprint of the server key the records are sealed with: one key,
/// never expiring (it must outlive every record). It is what stops an
/// instance with another key from starting; a Redis that evicts keys
/// without a TTL (`maxmemory-policy allkeys-*`) could drop it, after which
/// the next instance to start records its own (records still carry theirs,
/// so nothing is destroyed, but use a `volatile-*` or `noeviction` policy).
const KEY_FINGERPRINT: &str = "handoff:key-fingerprint";

pub struct RedisStore {
    connection: RedisConnection,
    wait_replicas: u32,
    claim_due: Script,
    append_own_audit: Script,
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

/// FNV-1a, stable across instances and releases (std's hasher promises
/// neither).
fn bucket_of(text: &str, buckets: u64) -> u64 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % buckets
}

fn expiry_key(bucket: u64) -> String {
    format!("handoff:{{exp:{bucket}}}")
}

/// The expiry bucket of a secret or request.
fn expiry_key_of(id: &SecretId) -> String {
    expiry_key(bucket_of(&id.to_string(), BUCKETS))
}

fn request_index_key(bucket: u64) -> String {
    format!("handoff:{{req:{bucket}}}")
}

fn audit_stream_key(bucket: u64, day: i64) -> String {
    format!("handoff:{{audit:{bucket}:{day}}}")
}

/// The bucket an event goes to: its tenant's, so that a tenant's events
/// are read from one bucket; otherwise its subject's or its own.
fn audit_bucket(event: &AuditEvent) -> u64 {
    let by = event
        .tenant
        .as_deref()
        .or(event.subject.as_deref())
        .unwrap_or(&event.event_id);
    bucket_of(by, BUCKETS)
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

fn own_audit_key(subject: &str) -> String {
    format!("handoff:{{{subject}}}:audit")
}

fn payload_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:p")
}

fn views_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:views")
}

/// A secret's metadata as fields of its hash, each short enough for Redis
/// to keep the hash compact (a listpack, which values over 64 bytes end):
/// `c` = `<created>:<expires>:<views allowed>`, then the byte fields as
/// they are. The sealed payload is a key of its own for the same reason.
fn meta_fields(meta: &SecretMeta) -> Vec<(&'static str, Vec<u8>)> {
    let mut fields = vec![
        (
            "c",
            format!(
                "{}:{}:{}",
                meta.created_at, meta.expires_at, meta.views_allowed
            )
            .into_bytes(),
        ),
        ("kc", meta.key_check.clone()),
        ("mh", meta.manage_token_hash.clone()),
    ];
    for (name, value) in [
        ("ps", &meta.passphrase_salt),
        ("sn", &meta.sealed_note),
        ("sl", &meta.sealed_label),
        ("kf", &meta.key_fingerprint),
    ] {
        if let Some(value) = value {
            fields.push((name, value.clone()));
        }
    }
    fields
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

/// How long a write waits for its replicas' acknowledgement.
const WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

impl RedisStore {
    /// Connects to `redis://` or `rediss://` (TLS), one node, or to
    /// `redis+cluster://` or `rediss+cluster://`, a cluster. Either
    /// reconnects by itself when Redis comes back after an outage, and a
    /// cluster rides out a failover (commands retry for up to 10 s).
    /// `audit_retention` sets how long audit events are kept.
    pub async fn connect(
        url: &str,
        audit_retention: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let description = if is_cluster_url(url) {
            let seeds = cluster_seeds(url).unwrap_or_default();
            let hosts: Vec<String> = seeds
                .iter()
                .filter_map(|seed| redis::Client::open(seed.as_str()).ok())
                .map(|client| client.get_connection_info().addr().to_string())
                .collect();
            format!("redis cluster ({})", hosts.join(","))
        } else {
            let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
            format!("redis ({})", client.get_connection_info().addr())
        };
        let connection = RedisConnection::open(
            url,
            Patience {
                connect: std::time::Duration::from_secs(2),
                response: std::time::Duration::from_secs(2),
                retries: 2,
                cluster_overall: std::time::Duration::from_secs(10),
            },
        )
        .await
        .map_err(|e| unavailable(&e))?;
        Ok(Self {
            connection,
            wait_replicas: 0,
            claim_due: Script::new(CLAIM_DUE),
            append_own_audit: Script::new(APPEND_OWN_AUDIT),
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

    /// Every acknowledged write waits until `replicas` replicas have it
    /// (`WAIT`), or is reported unavailable after a second.
    #[must_use]
    pub fn wait_for_replicas(mut self, replicas: u32) -> Self {
        self.wait_replicas = replicas;
        self
    }

    /// After a write to `key`'s slot on `connection`: the replicas asked
    /// for have it, or the write is not acknowledged.
    async fn replicated(
        &self,
        connection: &mut RedisConnection,
        key: &str,
    ) -> Result<(), StoreError> {
        if self.wait_replicas == 0 {
            return Ok(());
        }
        let acknowledged = connection
            .wait_for_replicas(key, self.wait_replicas, WAIT_TIMEOUT)
            .await
            .map_err(|e| unavailable(&e))?;
        if acknowledged < self.wait_replicas {
            return Err(StoreError::Unavailable(format!(
                "the write reached {acknowledged} of {} replicas in time",
                self.wait_replicas
            )));
        }
        Ok(())
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
            .key(payload_key(id))
            .arg(now)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if latest > 0 {
            let () = connection
                .zadd(expiry_key_of(id), format!("k:{id}"), latest)
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
                        .zadd(expiry_key_of(id), format!("a:{id}"), replay.until)
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

    /// One batch of due secrets and requests from one bucket; `true` if
    /// the batch was full.
    async fn purge_batch(
        &self,
        bucket: u64,
        now: UnixTime,
    ) -> Result<(Vec<Expired>, bool), StoreError> {
        let mut connection = self.connection.clone();
        let due: Vec<String> = self
            .claim_due
            .key(expiry_key(bucket))
            .arg(now)
            .arg(SWEEP_BATCH)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        let full = due.len() >= SWEEP_BATCH as usize;
        let mut expired = Vec::new();
        for member in due {
            let (kind, id) = member.split_at(2);
            let Ok(id) = SecretId::parse(id) else {
                continue;
            };
            if kind == "k:" {
                self.drop_lapsed_secret_replays(&id, now).await?;
            } else if kind == "a:" {
                self.drop_lapsed_answer_replay(&id, now).await?;
            } else if kind == "s:" {
                // An entry whose secret was never written (a create that
                // failed after indexing it) finds no marker: not reported
                // as unused, and the service reports only those.
                let (was_live, (), (), ()): (i64, (), (), ()) = redis::pipe()
                    .del(live_key(&id))
                    .del(record_key(&id))
                    .del(views_key(&id))
                    .del(payload_key(&id))
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
                // Out of the staff list's index too, listed or not.
                let _: i64 = connection
                    .zrem(request_index_key(bucket), id.to_string())
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
        let mut fields = meta_fields(&record.meta);
        fields.extend([
            ("state", record.state.as_str().into()),
            ("remaining", record.views_remaining.to_string().into_bytes()),
            ("failed", record.failed_passphrases.to_string().into_bytes()),
        ]);
        let key = record_key(id);
        let payload = payload_key(id);
        let mut connection = self.connection.clone();
        let live = live_key(id);
        // Indexed first (another slot): a crash in between leaves an entry
        // the sweeper skips, never a secret it does not know of.
        let () = connection
            .zadd(expiry_key_of(id), format!("s:{id}"), record.meta.expires_at)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .expire_at(&key, record.meta.expires_at)
            .ignore()
            .set(&live, 1)
            .ignore()
            .expire_at(&live, record.meta.expires_at + GRACE_SECS)
            .ignore();
        if let Some(sealed) = &record.sealed_secret {
            pipe.set_options(
                &payload,
                sealed,
                redis::SetOptions::default().with_expiration(redis::SetExpiry::EXAT(
                    u64::try_from(record.meta.expires_at).unwrap_or(0),
                )),
            )
            .ignore();
        }
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        self.replicated(&mut connection, &key).await
    }

    async fn load(&self, id: &SecretId) -> Result<Option<Record>, StoreError> {
        let mut connection = self.connection.clone();
        let (mut fields, views, payload): (HashMap<String, Vec<u8>>, Vec<String>, Option<Vec<u8>>) =
            redis::pipe()
                .atomic()
                .hgetall(record_key(id))
                .lrange(views_key(id), 0, -1)
                .get(payload_key(id))
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        if fields.is_empty() {
            return Ok(None);
        }
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
        Ok(Some(Record {
            meta,
            state,
            views_remaining,
            failed_passphrases,
            ended_at,
            sealed_secret: payload.or_else(|| fields.remove("payload")),
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
                .arg(expiry_key_of(id))
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
            .key(payload_key(id))
            .arg(view_json)
            .arg(view.at)
            .arg(replay.map(replay_name).unwrap_or_default())
            .arg(REPLAY_WINDOW_SECS)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if outcome == 0 {
            // A view taken but not on the replicas could come back after a
            // failover: not delivered until they have it.
            self.replicated(&mut connection, &record_key(id)).await?;
        }
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
        if outcome == 0 {
            self.replicated(&mut connection, &record_key(id)).await?;
        }
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
            .key(payload_key(id))
            .arg(claim_id)
            .arg(at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        self.replicated(&mut connection, &record_key(id)).await?;
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
            .key(payload_key(id))
            .arg(MAX_PASSPHRASE_ATTEMPTS)
            .arg(at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        self.replicated(&mut connection, &record_key(id)).await?;
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
            .key(payload_key(id))
            .arg(at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        self.replicated(&mut connection, &record_key(id)).await?;
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
        for bucket in 0..BUCKETS {
            for _ in 0..SWEEP_ROUNDS {
                let (batch, full) = self.purge_batch(bucket, now).await?;
                expired.extend(batch);
                if !full {
                    break;
                }
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
        // Indexed first, each index its own slot; the sweeper and the list
        // skip an entry whose request was never written.
        let bucket = bucket_of(&id.to_string(), BUCKETS);
        let () = connection
            .zadd(expiry_key(bucket), format!("r:{id}"), record.expires_at)
            .await
            .map_err(|e| unavailable(&e))?;
        let () = connection
            .zadd(request_index_key(bucket), id.to_string(), record.expires_at)
            .await
            .map_err(|e| unavailable(&e))?;
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &[("version", "1"), ("record", json.as_str())])
            .ignore()
            .expire_at(&key, record.expires_at + GRACE_SECS)
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        self.replicated(&mut connection, &key).await
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
                .zadd(expiry_key_of(id), format!("a:{id}"), replay.until)
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
        if replaced == 1 {
            self.replicated(&mut connection, &request_key(id)).await?;
        }
        Ok(replaced == 1)
    }

    async fn list_requests(&self) -> Result<Vec<(SecretId, RequestRecord)>, StoreError> {
        let mut connection = self.connection.clone();
        let now = crate::domain::now();
        let mut ids = Vec::new();
        for bucket in 0..BUCKETS {
            let index = request_index_key(bucket);
            let (found,): (Vec<String>,) = redis::pipe()
                .zrembyscore(&index, "-inf", now)
                .ignore()
                .zrangebyscore(&index, now, "+inf")
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            ids.extend(found);
        }
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
            self.replicated(&mut connection, &tenant_key(tenant))
                .await?;
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

/// An audit event as Redis keeps it: one line of tab-separated fields
/// (id, time, kind, actor, ip, user agent, subject, tenant, detail,
/// AADSTS code), empty for what is absent; a backslash escapes a tab, a
/// line break or itself within a field. A third of the bytes of JSON,
/// and no field names.
fn encode_event(event: &AuditEvent) -> String {
    fn field(out: &mut String, value: Option<&str>) {
        out.push('\t');
        for c in value.unwrap_or_default().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
    let mut out = String::with_capacity(128);
    field(&mut out, Some(&event.event_id));
    field(&mut out, Some(&event.at.to_string()));
    field(&mut out, Some(&event.kind));
    field(&mut out, Some(&event.actor));
    field(&mut out, event.ip.as_deref());
    field(&mut out, event.user_agent.as_deref());
    field(&mut out, event.subject.as_deref());
    field(&mut out, event.tenant.as_deref());
    field(&mut out, event.detail.as_deref());
    field(
        &mut out,
        event.aadsts.map(|code| code.to_string()).as_deref(),
    );
    out.remove(0);
    out
}

fn decode_event(line: &str) -> Option<AuditEvent> {
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

/// Stream entries as `XRANGE` answers them: id and fields.
type StreamEntries = Vec<(String, HashMap<String, String>)>;

impl RedisStore {
    /// Newest first, the events of one stream that match `query`, at most
    /// `query.limit`.
    async fn query_stream(
        &self,
        key: &str,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut connection = self.connection.clone();
        let mut end = format!("{}", (query.until + AUDIT_SLACK_SECS + 1) * 1000);
        let start = format!("{}", ((query.since - AUDIT_SLACK_SECS) * 1000).max(0));
        let mut found = Vec::new();
        loop {
            let page: StreamEntries = redis::cmd("XREVRANGE")
                .arg(key)
                .arg(&end)
                .arg(&start)
                .arg("COUNT")
                .arg(SWEEP_BATCH)
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            let exhausted = page.len() < SWEEP_BATCH as usize;
            if let Some((last, _)) = page.last() {
                end = format!("({last}");
            }
            found.extend(
                page.iter()
                    .filter_map(|(_, fields)| decode_event(fields.get("e")?))
                    .filter(|e| query.matches(e)),
            );
            if found.len() >= query.limit || exhausted {
                return Ok(found);
            }
        }
    }
}

#[async_trait]
impl AuditStore for RedisStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        // One pipeline per stream and one script per subject: in a cluster
        // each is one slot.
        let mut streams: std::collections::BTreeMap<String, (i64, Vec<String>)> =
            std::collections::BTreeMap::new();
        let mut own: std::collections::BTreeMap<&str, Vec<String>> =
            std::collections::BTreeMap::new();
        for event in events {
            let encoded = encode_event(event);
            let day = event.at.div_euclid(DAY_SECS);
            let expires = (day + 2) * DAY_SECS + self.audit_retention_secs;
            streams
                .entry(audit_stream_key(audit_bucket(event), day))
                .or_insert_with(|| (expires, Vec::new()))
                .1
                .push(encoded.clone());
            if let Some(subject) = &event.subject {
                // The subject is the key's: not repeated in each line.
                let mut line = event.clone();
                line.subject = None;
                own.entry(subject).or_default().push(encode_event(&line));
            }
        }
        let mut connection = self.connection.clone();
        for (key, (expires, entries)) in &streams {
            let mut pipe = redis::pipe();
            for entry in entries {
                pipe.cmd("XADD")
                    .arg(key)
                    .arg("*")
                    .arg("e")
                    .arg(entry)
                    .ignore();
            }
            pipe.expire_at(key, *expires).ignore();
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        for (subject, entries) in own {
            let mut invocation = self.append_own_audit.key(own_audit_key(subject));
            invocation
                .key(format!("handoff:{{{subject}}}"))
                .key(format!("handoff:{{{subject}}}:request"))
                .arg(GRACE_SECS * 1000);
            for entry in entries {
                invocation.arg(entry);
            }
            let _: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        if let Some(subject) = &query.subject {
            let mut connection = self.connection.clone();
            let all: Option<String> = connection
                .get(own_audit_key(subject))
                .await
                .map_err(|e| unavailable(&e))?;
            let mut found: Vec<AuditEvent> = all
                .unwrap_or_default()
                .lines()
                .filter_map(decode_event)
                .map(|mut e| {
                    e.subject = Some(subject.clone());
                    e
                })
                .filter(|e| query.matches(e))
                .collect();
            AuditEvent::sort_newest_first(&mut found);
            found.truncate(query.limit);
            return Ok(found);
        }
        // A tenant's events are all in its bucket; otherwise every bucket.
        let buckets: Vec<u64> = match &query.tenant {
            Some(tenant) => vec![bucket_of(tenant, BUCKETS)],
            None => (0..BUCKETS).collect(),
        };
        // Day by day, newest first: every event of a day is older than
        // those of the day after, so once a day fills the page, stop.
        let mut found = Vec::new();
        let first_day = query.since.div_euclid(DAY_SECS);
        let mut day = query.until.div_euclid(DAY_SECS);
        while day >= first_day && found.len() < query.limit {
            for bucket in &buckets {
                found.extend(
                    self.query_stream(&audit_stream_key(*bucket, day), query)
                        .await?,
                );
            }
            day -= 1;
        }
        AuditEvent::sort_newest_first(&mut found);
        found.truncate(query.limit);
        Ok(found)
    }

    async fn purge_audit(&self, before: UnixTime) -> Result<u64, StoreError> {
        // Whole days go by themselves (each stream expires a day after the
        // retention); this trims the day `before` falls in, and the one
        // before it for events appended late.
        let mut connection = self.connection.clone();
        let mut purged = 0;
        let last_day = before.div_euclid(DAY_SECS);
        for day in [last_day - 1, last_day] {
            for bucket in 0..BUCKETS {
                let key = audit_stream_key(bucket, day);
                let mut start = "-".to_owned();
                loop {
                    let page: StreamEntries = redis::cmd("XRANGE")
                        .arg(&key)
                        .arg(&start)
                        .arg((before + AUDIT_SLACK_SECS) * 1000)
                        .arg("COUNT")
                        .arg(SWEEP_BATCH)
                        .query_async(&mut connection)
                        .await
                        .map_err(|e| unavailable(&e))?;
                    let exhausted = page.len() < SWEEP_BATCH as usize;
                    let old: Vec<&String> = page
                        .iter()
                        .filter(|(_, fields)| {
                            fields
                                .get("e")
                                .and_then(|e| decode_event(e))
                                .is_none_or(|e| e.at < before)
                        })
                        .map(|(id, _)| id)
                        .collect();
                    if !old.is_empty() {
                        let deleted: u64 = redis::cmd("XDEL")
                            .arg(&key)
                            .arg(&old)
                            .query_async(&mut connection)
                            .await
                            .map_err(|e| unavailable(&e))?;
                        purged += deleted;
                    }
                    match page.last() {
                        Some((last, _)) if !exhausted => start = format!("({last}"),
                        _ => break,
                    }
                }
            }
        }
        Ok(purged)
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
    bucket_of(id, OUTBOX_BUCKETS)
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
            // Every secret and request is in an expiry bucket until swept
            // (or, written by an older release, in `handoff:expiring`).
            let mut held: bool = connection
                .exists("handoff:expiring")
                .await
                .map_err(|e| unavailable(&e))?;
            for bucket in 0..BUCKETS {
                held |= connection
                    .exists::<_, bool>(expiry_key(bucket))
                    .await
                    .map_err(|e| unavailable(&e))?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, Kind};

    #[test]
    fn an_audit_event_survives_its_line_whatever_its_fields_hold() {
        let full = AuditEvent::new(Kind::ApplyFailed, &Actor::Staff("a\tb".into()))
            .from_client("2001:db8::1", "Agent\\with\ttabs\nand lines\r")
            .subject(&SecretId::generate())
            .tenant("contoso")
            .detail("")
            .aadsts(Some(7_000_215));
        let bare = AuditEvent::new(Kind::SignedIn, &Actor::Anonymous);
        for event in [full, bare] {
            let line = encode_event(&event);
            assert!(!line.contains('\n'), "one line: {line:?}");
            let mut expected = event.clone();
            // An empty field reads back as absent.
            expected.detail = expected.detail.filter(|d| !d.is_empty());
            assert_eq!(decode_event(&line), Some(expected));
        }
        assert_eq!(decode_event("too\tfew"), None);
    }
}
