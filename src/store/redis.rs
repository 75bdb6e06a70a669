//! Redis store, for several instances behind a load balancer, on one Redis
//! node or a Redis Cluster (see [`connection`]). Every Lua script and
//! every `MULTI` touches the keys of one hash slot.
//!
//! A secret is one string, `handoff:{<id>}`: its whole record in
//! `MessagePack` ([`codec`]), its sealed payload, its reveals and its own
//! audit events included, expiring by itself a grace period after the
//! secret does (so that a sweeper can still tell what expired unused).
//! Every change is a Lua script that reads the record, changes it and
//! writes it back, which Redis runs atomically: that is the
//! check-and-consume. A request is a hash `handoff:{<id>}:request`.
//!
//! What many secrets share is sharded into a fixed number of hash-tagged
//! buckets (by an FNV-1a hash of the id), each bucket's keys in one slot,
//! and every instance goes through every bucket:
//!
//! * `handoff:{exp:<n>}:<minute>`: what falls due in that minute (a list
//!   of 17-byte entries: a kind and an id): secrets and requests to report
//!   as expired, payloads kept for a repeated reveal or retrieval to
//!   delete. A sweeper pops the entries of the minutes that have passed
//!   (`LPOP`, so no two instances get the same entry) and moves the
//!   bucket's cursor `handoff:{exp:<n>}:swept` past a minute once it is
//!   empty. Each minute's list expires a day after it falls due, should no
//!   instance run that long. A claim keeps what it popped for a minute
//!   in `handoff:{exp:<n>}:claim:<attempt>`, for a copy of itself.
//! * `handoff:{req:<n>}`: requests by expiry, for the staff list.
//! * `handoff:{audit:<n>:<day>}`: the audit trail, one stream per bucket
//!   (by tenant, or else by subject) and UTC day, expiring by itself
//!   a day after the retention has passed; a tenant's events are all in
//!   one bucket. A secret's own events are also in its record (a
//!   request's in its hash), for its status page.
//! * `handoff:{outbox:<n>}:due` (ids by due time) and
//!   `handoff:{outbox:<n>}:items` (id → item): the webhook outbox.
//!
//! Records written by an earlier release (a hash with a payload, views
//! and live marker beside it) are upgraded to the string when they are
//! next touched; their old index entries (`handoff:{exp:<n>}`, a sorted
//! set) are still swept.
//!
//! The cluster client sends a command again when its answer is lost (a
//! timeout, a dropped connection), and Redis then runs every copy. So each
//! call that changes a record once (a view, a failed passphrase, a revoke,
//! an apply's claim and commit, a request's compare-and-swap) carries an
//! attempt id of its own ([`Attempts`]), which the record keeps: a copy
//! that finds its id there answers as the first did and changes nothing.
//! Only the last attempt is kept, so a copy that runs after another
//! caller's change is not recognised (two faults at once).
//!
//! With `wait_replicas` above 0, every acknowledged write is followed by
//! `WAIT` on the node that holds its key, and a write that not enough
//! replicas confirm in time is reported as unavailable (its outcome is
//! unknown: the master has it, a failover might lose it).

mod codec;
mod connection;
mod legacy;

use self::codec::EventCopy;

pub use self::connection::{Patience, RedisConnection, cluster_seeds, is_cluster_url};

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use futures_util::StreamExt as _;
use redis::{AsyncCommands as _, Script};

use super::{
    AuditStore, Claim, ClaimOutcome, ConsumeOutcome, Expired, ExpiredKind, GuardedView, Health,
    KeptFingerprint, MAX_PASSPHRASE_ATTEMPTS, OutboxItem, OutboxStore, PassphraseOutcome,
    REPLAY_WINDOW_SECS, Record, ReplayKey, RequestRecord, RequestStore, RevealGuard, RevokeOutcome,
    SecretStore, StoreError, TakenView, TenantRecord, TenantStore, Versioned, ViewEvent,
};
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::{SecretId, UnixTime};

/// What the scripts on a secret's record share. A script that finds a
/// record in an earlier release's layout (a hash) answers `LEGACY`; the
/// caller upgrades it and runs the script again.
const RECORDS: &str = r"
local LEGACY = -9
-- A record is its map followed by its own events, each a MessagePack
-- string appended as it comes. Returns the map, the events' bytes as they
-- are, and the map's bytes as they are.
local function load(key)
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' then return nil, true, '', '' end
  if not raw then return nil, false, '', '' end
  local after, r = cmsgpack.unpack_one(raw)
  if after == -1 then return r, false, '', raw end
  return r, false, string.sub(raw, after + 1), string.sub(raw, 1, after)
end
-- Returns the map's bytes as written.
local function save(key, record, events)
  local map = cmsgpack.pack(record)
  redis.call('SET', key, map .. events, 'KEEPTTL')
  return map
end
-- Live: not ended and not past its expiry (the record outlives it by the
-- grace period).
local function is_live(r, now)
  return r.s == 'live' and tonumber(r.x) > now
end
-- The later of the caller's time and Redis's own: a script that a stalled
-- Redis runs late starts its replay window when it actually runs.
local function replay_now(at)
  return math.max(tonumber(at), tonumber(redis.call('TIME')[1]))
end
-- Forgets the windows that have passed; returns how many are left and the
-- latest end among them (0 if none).
local function drop_lapsed_replays(r, now)
  local kept, latest = {}, 0
  for _, window in ipairs(r.k or {}) do
    local ends = tonumber(window[2])
    if ends > now then
      kept[#kept + 1] = window
      if ends > latest then latest = ends end
    end
  end
  if #kept > 0 then r.k = kept else r.k = nil end
  return #kept, latest
end
-- The cluster client sends a command again when its answer is lost (a
-- timeout, a dropped connection), and Redis may then run both copies.
-- Each call that changes a record passes an attempt id of its own, which
-- the record keeps (`t`, the last one only): a copy that finds its id
-- there knows that it ran already and changes nothing more.
local function repeated(r, attempt)
  return r.t ~= nil and r.t == attempt
end
-- Revoked, destroyed or applied: the payload goes, kept or not.
local function finish(r, state, at)
  r.s = state
  r.e = tonumber(at)
  r.p = nil
  r.k = nil
end
-- Takes one view at `at` by the reader at `ip` with `agent`, its replay
-- window of `window` seconds remembered under `replay` ('' for none), as
-- Record::consume_view does. Returns 0 when it took one (the caller saves
-- the record); 1 and the views left then when `replay` took one before;
-- -1 when it is not live; -2 while an apply holds it.
local function take_view(r, at, ip, agent, replay, window)
  at = tonumber(at)
  if tonumber(r.x) <= at then return -1 end
  local now = replay_now(at)
  if replay ~= '' and r.p then
    for _, kept in ipairs(r.k or {}) do
      if kept[1] == replay and tonumber(kept[2]) > now then return 1, tonumber(kept[3]) end
    end
  end
  if r.s ~= 'live' or tonumber(r.r) <= 0 then return -1 end
  if tonumber(r.cu or 0) > at then return -2 end
  r.r = tonumber(r.r) - 1
  local views = r.v or {}
  views[#views + 1] = {at, ip, agent}
  r.v = views
  local kept = drop_lapsed_replays(r, now)
  if replay ~= '' then
    local windows = r.k or {}
    windows[#windows + 1] = {replay, now + tonumber(window), r.r}
    r.k = windows
    kept = kept + 1
  end
  if r.r == 0 then
    r.s = 'revealed'
    r.e = at
    if kept == 0 then r.p = nil end
  end
  return 0
end
";

// KEYS: record. ARGV: at, ip, user agent, replay key hash ('' for none),
// replay window, attempt. Returns {outcome, views left}: 0 consumed (also
// when a copy of this attempt did), 1 replayed, -1 not live, -2 claimed by
// an apply.
const CONSUME_VIEW: &str = r"
local r, legacy, events = load(KEYS[1])
if legacy then return {LEGACY, 0} end
if not r then return {-1, 0} end
if repeated(r, ARGV[6]) then return {0, tonumber(r.r)} end
local outcome, replayed = take_view(r, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if outcome == 0 then
  r.t = ARGV[6]
  save(KEYS[1], r, events)
  return {0, tonumber(r.r)}
end
if outcome == 1 then return {1, replayed} end
return {outcome, 0}
";

// KEYS: record. ARGV: at, ip, user agent, reveal guard, attempt. Takes a
// view as CONSUME_VIEW does (no replay key) when the guard is the record's
// own. Returns {0, record before, record after, views left} when it took
// one, else {1, record, false, false} (false for none, and always four
// elements). A copy of an attempt that took one answers {2, record, false,
// views left} while the payload is there, {3, false, false, false} once
// it has gone (that view's answer is lost). The guard is compared as it
// is: the server derives it from the link key a caller sends, so no
// caller chooses its bytes, and one who learnt it would still need the
// link key to open the payload (a view taken for a payload that does not
// open is given back).
const TAKE_GUARDED_VIEW: &str = r"
local r, legacy, events, map = load(KEYS[1])
if legacy then return {LEGACY, false, false, false} end
if not r then return {1, false, false, false} end
if r.g ~= ARGV[4] then return {1, map, false, false} end
if repeated(r, ARGV[5]) then
  if r.p then return {2, map, false, tonumber(r.r)} end
  return {3, false, false, false}
end
if take_view(r, ARGV[1], ARGV[2], ARGV[3], '', 0) ~= 0 then return {1, map, false, false} end
r.t = ARGV[5]
local after = save(KEYS[1], r, events)
return {0, map, after, tonumber(r.r)}
";

// KEYS: record. ARGV: the record before a view was taken, and after. Puts
// the record back as it was before, its own events kept, if it is still
// as the view left it. Returns 1 if it did, else 0.
const GIVE_BACK_VIEW: &str = r"
local r, legacy, events, map = load(KEYS[1])
if legacy or not r or map ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. events, 'KEEPTTL')
return 1
";

// KEYS: record. ARGV: now. Forgets passed replay windows and, when an
// ended secret has none left, its kept payload; returns the latest window
// still open (0 if none).
const DROP_LAPSED_REPLAYS: &str = r"
local r, legacy, events = load(KEYS[1])
if legacy then return LEGACY end
if not r then return 0 end
local left, latest = drop_lapsed_replays(r, replay_now(ARGV[1]))
if r.s ~= 'live' and left == 0 then r.p = nil end
save(KEYS[1], r, events)
return latest
";

// KEYS: record. ARGV: attempts allowed, at, attempt. Returns the failures
// so far (a copy of an attempt counts nothing more), -1 if not live.
const FAIL_PASSPHRASE: &str = r"
local r, legacy, events = load(KEYS[1])
if legacy then return LEGACY end
if r and repeated(r, ARGV[3]) then return tonumber(r.f) end
if not r or not is_live(r, tonumber(ARGV[2])) then return -1 end
r.t = ARGV[3]
r.f = tonumber(r.f or 0) + 1
if r.f >= tonumber(ARGV[1]) then finish(r, 'destroyed', ARGV[2]) end
save(KEYS[1], r, events)
return r.f
";

// KEYS: record. ARGV: at, attempt. 1 revoked (by this attempt, or a copy
// of it), 2 had ended (a payload kept for a replay is deleted all the
// same), 0 missing.
const REVOKE: &str = r"
local r, legacy, events = load(KEYS[1])
if legacy then return LEGACY end
if r and repeated(r, ARGV[2]) then return 1 end
if not r or tonumber(r.x) <= tonumber(ARGV[1]) then return 0 end
if r.s ~= 'live' then
  r.p = nil
  r.k = nil
  save(KEYS[1], r, events)
  return 2
end
finish(r, 'revoked', ARGV[1])
r.t = ARGV[2]
save(KEYS[1], r, events)
return 1
";

// KEYS: record. ARGV: claim id, until, now. {0, record as claimed} (also
// to a copy of this claim: its id is its attempt's), {-1, ''} not live,
// or {until, ''} while another claim holds.
const CLAIM: &str = r"
local r, legacy, events, map = load(KEYS[1])
if legacy then return {LEGACY, ''} end
local now = tonumber(ARGV[3])
if not r or not is_live(r, now) then return {-1, ''} end
local held = tonumber(r.cu or 0)
if held > now and r.ci == ARGV[1] then return {0, map} end
if held > now then return {held, ''} end
r.ci = ARGV[1]
r.cu = tonumber(ARGV[2])
return {0, save(KEYS[1], r, events)}
";

// KEYS: record. ARGV: claim id, at. 1 committed (by this claim, or a copy
// of this call), 0 not.
const COMMIT_CLAIM: &str = r"
local r, legacy, events = load(KEYS[1])
if legacy then return LEGACY end
if r and r.s == 'applied' and repeated(r, ARGV[1]) then return 1 end
if not r or not is_live(r, tonumber(ARGV[2])) or r.ci ~= ARGV[1] then return 0 end
r.ci = nil
r.cu = nil
finish(r, 'applied', ARGV[2])
r.t = ARGV[1]
save(KEYS[1], r, events)
return 1
";

// KEYS: record. ARGV: claim id.
const RELEASE_CLAIM: &str = r"
local r, legacy, events = load(KEYS[1])
if legacy then return LEGACY end
if not r or r.ci ~= ARGV[1] then return 0 end
r.ci = nil
r.cu = nil
save(KEYS[1], r, events)
return 1
";

// KEYS: for each subject, its record, its request and its events kept
// alone. ARGV: how many bytes of events a record keeps, the grace in
// seconds, then for each subject its new events, each a MessagePack string
// as kept after a record, one after the other.
// Appends a secret's own events to its record (without decoding it; once
// the record passes the budget, keeping the first event, its creation,
// and the newest in half of it), a request's to its hash; those of a
// subject that has neither (one already swept) are kept alone for the
// grace period. Answers, per subject: 1 appended, 0 kept alone, -9 a
// record in an earlier release's layout (left for the caller to upgrade).
// Without the record helpers, and for a record without decoding anything:
// this runs about three times per handoff.
const APPEND_OWN_EVENTS: &str = r"
local budget, grace = tonumber(ARGV[1]), ARGV[2]
local function trim(raw)
  local after = cmsgpack.unpack_one(raw)
  local packed = {}
  local at, event = after
  while at ~= -1 do
    at, event = cmsgpack.unpack_one(raw, at)
    packed[#packed + 1] = cmsgpack.pack(event)
  end
  if #packed == 0 then return raw end
  local newest, size = {}, 0
  for i = #packed, 2, -1 do
    size = size + string.len(packed[i])
    if size > budget / 2 then break end
    table.insert(newest, 1, packed[i])
  end
  return string.sub(raw, 1, after) .. packed[1] .. table.concat(newest)
end
-- A request keeps its first event and its 199 newest.
local function append_to_list(kept, added)
  local events = {}
  if kept then events = cmsgpack.unpack(kept) end
  for _, event in ipairs({cmsgpack.unpack(added)}) do events[#events + 1] = event end
  while #events > 200 do table.remove(events, 2) end
  return cmsgpack.pack(events)
end
local function append(record, request, alone, added)
  local raw = redis.pcall('GET', record)
  if type(raw) == 'table' then return -9 end
  if raw then
    raw = raw .. added
    if string.len(raw) > budget then raw = trim(raw) end
    redis.call('SET', record, raw, 'KEEPTTL')
    return 1
  end
  if redis.call('EXISTS', request) == 1 then
    redis.call('HSET', request, 'a', append_to_list(redis.call('HGET', request, 'a'), added))
    return 1
  end
  redis.call('SET', alone, append_to_list(redis.call('GET', alone), added), 'EX', grace)
  return 0
end
local answers = {}
for first = 1, #KEYS, 3 do
  answers[#answers + 1] = append(KEYS[first], KEYS[first + 1], KEYS[first + 2], ARGV[2 + (first + 2) / 3])
end
return answers
";

// KEYS: record, and an earlier release's views, live marker, payload and
// own events. ARGV: the record as a string, its expiry (Unix seconds),
// the hash as read (fields sorted, each name and value followed by a
// zero byte). Replaces the hash if it is still as read: 1 done, 0 nothing
// to upgrade, -1 changed meanwhile.
const UPGRADE: &str = r"
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
local flat = redis.call('HGETALL', KEYS[1])
local fields = {}
for i = 1, #flat, 2 do fields[#fields + 1] = {flat[i], flat[i + 1]} end
table.sort(fields, function(a, b) return a[1] < b[1] end)
local parts = {}
for _, field in ipairs(fields) do parts[#parts + 1] = field[1] .. '\0' .. field[2] .. '\0' end
if table.concat(parts) ~= ARGV[3] then return -1 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
";

// KEYS: record, and an earlier release's live marker, views and payload.
// ARGV: now. Deletes a secret that fell due: 1 if it expired unused, 0 if
// not, -1 if it is not due yet (left as it is).
const SWEEP_SECRET: &str = r"
local raw = redis.pcall('GET', KEYS[1])
if type(raw) == 'string' then
  local r = cmsgpack.unpack(raw)
  if tonumber(r.x) > tonumber(ARGV[1]) then return -1 end
  redis.call('DEL', KEYS[1])
  if r.s == 'live' then return 1 end
  return 0
end
-- An earlier release's: the hash expired by itself, the live marker
-- outlives it by the grace period.
local was_live = redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
return was_live
";

// KEYS: a bucket's cursor, where this attempt keeps what it takes, then
// the bucket's minute lists from the cursor on. ARGV: how many entries at
// most, the minute of the first list, how long the cursor lives, how long
// the kept entries live. Pops due entries, and moves the cursor past each
// list it empties. What it pops it also keeps under the attempt for a
// while: a copy of this call that the cluster client sends again (its
// answer lost) answers with them instead of popping the next ones, which
// would leave the first ones unreported.
const CLAIM_DUE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.call('LRANGE', KEYS[2], 0, -1) end
local taken = {}
local limit = tonumber(ARGV[1])
local emptied = nil
for i = 3, #KEYS do
  local want = limit - #taken
  if want <= 0 then break end
  local got = redis.call('LPOP', KEYS[i], want)
  if got then
    for _, entry in ipairs(got) do taken[#taken + 1] = entry end
  end
  if redis.call('EXISTS', KEYS[i]) == 1 then break end
  emptied = tonumber(ARGV[2]) + i - 3
end
if emptied then
  local cursor = tonumber(redis.call('GET', KEYS[1]) or '0')
  if emptied > cursor then redis.call('SET', KEYS[1], emptied, 'EX', ARGV[3]) end
end
if #taken > 0 then
  redis.call('RPUSH', KEYS[2], unpack(taken))
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return taken
";

// KEYS: an earlier release's expiry bucket (a sorted set). ARGV: now,
// limit. Removes and returns the due members.
const CLAIM_DUE_LEGACY: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
";

/// Buckets of the request index and of the audit trail: enough to spread
/// over a cluster's masters, few enough that a sweep over all of them
/// stays cheap.
const BUCKETS: u64 = 16;
/// Buckets of the expiry lists: each minute has one list per bucket, so
/// fewer buckets keep more entries per list (a list's own overhead is
/// about 100 bytes) while still spreading writes over several masters.
const EXPIRY_BUCKETS: u64 = 4;
const MINUTE_SECS: i64 = 60;
/// How long an expiry list outlives its minute, and how far back a
/// sweeper without a cursor looks: after that, what it held can no longer
/// be reported (the records are gone too).
const EXPIRY_BACKSTOP_SECS: i64 = 86_400;
/// Minutes before its cursor a sweeper looks at again.
const LOOKBACK_MINUTES: i64 = 5;
/// Minute lists one claim script reads at most.
const CLAIM_MINUTES: i64 = 60;
/// How long a claim keeps what it popped for a copy of itself that the
/// cluster client sends again: far longer than its retries take.
const CLAIM_KEPT_SECS: i64 = 60;
/// How long records and request records outlive their expiry, so a
/// sweeper can still tell what expired unused: a minute's list is swept
/// once the minute has passed, on the next sweep (every 30 s), so within
/// about 90 s, and more in a backlog.
const GRACE_SECS: i64 = 300;
/// The bytes of own events a secret's record keeps (a hundred and more
/// events; its status page shows 200 at most): past them, the first and
/// the newest in half of it.
const OWN_EVENTS_BYTES: usize = 16 * 1024;
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
/// Items of one batch handled at once.
const SWEEP_CONCURRENCY: usize = 32;
/// Compare-and-swap tries when the sweeper drops a kept request answer,
/// and when a record is upgraded.
const SWEEP_CAS_ATTEMPTS: usize = 4;

/// Compare-and-swap of a request or tenant record: write only if the
/// version is unchanged (a missing record is version 0). ARGV: that
/// version, the next, the record, the attempt: a copy of an attempt that
/// wrote (sent again by the cluster client, see `repeated`) answers as it
/// did.
const REPLACE_REQUEST: &str = r"
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version == ARGV[2] and redis.call('HGET', KEYS[1], 't') == ARGV[4] then return 1 end
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3], 't', ARGV[4])
return 1
";

/// The fingerprint of the server key the records are sealed with: one key,
/// never expiring (it must outlive every record). It is what stops an
/// instance with another key from starting; a Redis that evicts keys
/// without a TTL (`maxmemory-policy allkeys-*`) could drop it, after which
/// the next instance to start records its own (records still carry theirs,
/// so nothing is destroyed, but use a `volatile-*` or `noeviction` policy).
const KEY_FINGERPRINT: &str = "handoff:key-fingerprint";

/// What an entry of the expiry lists asks the sweeper to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// A secret expires: report it if unused, delete what is left.
    Secret,
    /// A request expires.
    Request,
    /// A secret's payload kept for a repeated reveal: delete it once the
    /// windows have passed.
    KeptPayload,
    /// A request's answer kept for a repeated retrieval, likewise.
    KeptAnswer,
}

impl Due {
    fn tag(self) -> u8 {
        match self {
            Self::Secret => b's',
            Self::Request => b'r',
            Self::KeptPayload => b'k',
            Self::KeptAnswer => b'a',
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            b's' => Some(Self::Secret),
            b'r' => Some(Self::Request),
            b'k' => Some(Self::KeptPayload),
            b'a' => Some(Self::KeptAnswer),
            _ => None,
        }
    }

    /// An entry of the minute lists: the tag and the id's 16 bytes.
    fn entry(self, id: &SecretId) -> Vec<u8> {
        let mut entry = Vec::with_capacity(17);
        entry.push(self.tag());
        entry.extend_from_slice(id.as_bytes());
        entry
    }

    fn parse_entry(entry: &[u8]) -> Option<(Self, SecretId)> {
        let (tag, id) = entry.split_first()?;
        Some((
            Self::from_tag(*tag)?,
            SecretId::from_bytes(id.try_into().ok()?),
        ))
    }

    /// A member of an earlier release's sorted set: `s:<id>` and so on.
    fn parse_member(member: &str) -> Option<(Self, SecretId)> {
        let (tag, id) = member.split_once(':')?;
        let [tag] = tag.as_bytes() else { return None };
        Some((Self::from_tag(*tag)?, SecretId::parse(id).ok()?))
    }
}

pub struct RedisStore {
    connection: RedisConnection,
    wait_replicas: u32,
    description: String,
    consume_view: Script,
    take_guarded_view: Script,
    give_back_view: Script,
    drop_lapsed_replays: Script,
    fail_passphrase: Script,
    revoke: Script,
    claim: Script,
    commit_claim: Script,
    release_claim: Script,
    append_own_events: Script,
    upgrade: Script,
    sweep_secret: Script,
    claim_due: Script,
    claim_due_legacy: Script,
    replace_request: Script,
    attempts: Attempts,
    audit_retention_secs: i64,
}

/// Ids for the calls that change a record once, one per call (see the
/// module's introduction). They need only tell apart the calls on one
/// record within the seconds a resend takes, so they are short (every
/// record keeps one): this store's random tag, drawn once, and a count
/// that wraps, rather than the operating system's randomness per call.
struct Attempts {
    tag: [u8; 4],
    count: AtomicU32,
}

impl Attempts {
    fn new() -> Self {
        use rand::TryRng as _;
        let mut tag = [0u8; 4];
        rand::rngs::SysRng
            .try_fill_bytes(&mut tag)
            .expect("the operating system's random number generator failed");
        Self {
            tag,
            count: AtomicU32::new(0),
        }
    }

    fn next(&self) -> [u8; 8] {
        let mut id = [0u8; 8];
        id[..4].copy_from_slice(&self.tag);
        id[4..].copy_from_slice(&self.count.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        id
    }
}

fn unavailable(error: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("redis record: {what}"))
}

/// A command that found a key of another type: a secret still in an
/// earlier release's layout.
fn is_wrong_type(error: &redis::RedisError) -> bool {
    error.code() == Some("WRONGTYPE")
}

/// FNV-1a, stable across instances and releases (std's hasher promises
/// neither).
fn bucket_of(text: &str, buckets: u64) -> u64 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % buckets
}

fn expiry_bucket_of(id: &SecretId) -> u64 {
    bucket_of(&id.to_string(), EXPIRY_BUCKETS)
}

/// The list of what falls due in `minute` (Unix time / 60).
fn expiry_list_key(bucket: u64, minute: i64) -> String {
    format!("handoff:{{exp:{bucket}}}:{minute}")
}

fn expiry_cursor_key(bucket: u64) -> String {
    format!("handoff:{{exp:{bucket}}}:swept")
}

/// Where one claim of a bucket's due entries keeps them for a copy of
/// itself ([`CLAIM_DUE`]).
fn expiry_claim_key(bucket: u64, attempt: [u8; 8]) -> String {
    format!(
        "handoff:{{exp:{bucket}}}:claim:{:016x}",
        u64::from_be_bytes(attempt)
    )
}

/// An earlier release's expiry bucket (a sorted set), still swept.
fn legacy_expiry_key(bucket: u64) -> String {
    format!("handoff:{{exp:{bucket}}}")
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

/// An earlier release's keys beside a secret's hash.
fn legacy_live_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:live")
}

fn legacy_own_events_key(subject: &str) -> String {
    format!("handoff:{{{subject}}}:audit")
}

/// The events of a subject whose record is gone, for the grace period.
fn lone_events_key(subject: &str) -> String {
    format!("handoff:{{{subject}}}:events")
}

fn legacy_payload_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:p")
}

fn legacy_views_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:views")
}

/// An earlier release's hash, views, payload and own events, as read
/// together.
type LegacyKeys = (
    HashMap<String, Vec<u8>>,
    Vec<String>,
    Option<Vec<u8>>,
    Option<String>,
);

/// A secret read from an earlier release's layout: the record, its own
/// events as a record keeps them, and its hash as read.
type LegacySecret = (Record, Vec<Vec<u8>>, Vec<u8>);

/// The oldest Redis the commands need (`LPOP` with a count, `SET … EXAT`).
const OLDEST_REDIS: (u32, u32) = (6, 2);

/// Refuses a Redis older than [`OLDEST_REDIS`] (every node of a cluster),
/// rather than failing on its first write.
async fn require_version(connection: &mut RedisConnection) -> Result<(), StoreError> {
    let info: redis::Value = redis::cmd("INFO")
        .arg("server")
        .query_async(connection)
        .await
        .map_err(|e| unavailable(&e))?;
    let mut texts = Vec::new();
    collect_texts(&info, &mut texts);
    match too_old(&texts) {
        Some(version) => Err(StoreError::Unavailable(format!(
            "Redis {version} is too old: handoff needs Redis {}.{} or later (or Valkey)",
            OLDEST_REDIS.0, OLDEST_REDIS.1
        ))),
        None => Ok(()),
    }
}

/// The first `redis_version` older than [`OLDEST_REDIS`] in `INFO` texts.
fn too_old(texts: &[String]) -> Option<String> {
    texts
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|line| line.strip_prefix("redis_version:"))
        .map(str::trim)
        .find(|version| {
            let mut parts = version.split('.').map(|n| n.parse::<u32>().ok());
            matches!(
                (parts.next().flatten(), parts.next().flatten()),
                (Some(major), Some(minor)) if (major, minor) < OLDEST_REDIS
            )
        })
        .map(str::to_owned)
}

/// The texts in an answer (one per node, from a cluster).
fn collect_texts(value: &redis::Value, into: &mut Vec<String>) {
    match value {
        redis::Value::BulkString(bytes) => into.push(String::from_utf8_lossy(bytes).into_owned()),
        redis::Value::VerbatimString { text, .. } | redis::Value::SimpleString(text) => {
            into.push(text.clone());
        }
        redis::Value::Array(items) | redis::Value::Set(items) => {
            for item in items {
                collect_texts(item, into);
            }
        }
        redis::Value::Map(entries) => {
            for (_, item) in entries {
                collect_texts(item, into);
            }
        }
        _ => {}
    }
}

/// A script with the record helpers.
fn on_records(body: &str) -> Script {
    Script::new(&format!("{RECORDS}{body}"))
}

/// The take-guarded-view script's answer: outcome, the record before and
/// after, views left (see `TAKE_GUARDED_VIEW`).
type TakeAnswer = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>);

/// How long a write waits for its replicas' acknowledgement.
const WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// A script's answer for a record in an earlier release's layout.
const LEGACY: i64 = -9;

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
        require_version(&mut connection.clone()).await?;
        Ok(Self {
            connection,
            wait_replicas: 0,
            description,
            consume_view: on_records(CONSUME_VIEW),
            take_guarded_view: on_records(TAKE_GUARDED_VIEW),
            give_back_view: on_records(GIVE_BACK_VIEW),
            drop_lapsed_replays: on_records(DROP_LAPSED_REPLAYS),
            fail_passphrase: on_records(FAIL_PASSPHRASE),
            revoke: on_records(REVOKE),
            claim: on_records(CLAIM),
            commit_claim: on_records(COMMIT_CLAIM),
            release_claim: on_records(RELEASE_CLAIM),
            append_own_events: Script::new(APPEND_OWN_EVENTS),
            upgrade: Script::new(UPGRADE),
            sweep_secret: Script::new(SWEEP_SECRET),
            claim_due: Script::new(CLAIM_DUE),
            claim_due_legacy: Script::new(CLAIM_DUE_LEGACY),
            replace_request: Script::new(REPLACE_REQUEST),
            attempts: Attempts::new(),
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

    /// Puts `id` in the list of what falls due in `due`'s minute (or, if
    /// that has passed, the current one, which no sweeper has passed yet).
    async fn schedule(&self, what: Due, id: &SecretId, due: UnixTime) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        schedule_in(&mut pipe, what, id, due);
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))
    }

    /// Runs `attempt`, which answers `None` for a record in an earlier
    /// release's layout; then upgrades the record and runs it once more.
    async fn upgrading<T, F, Fut>(&self, id: &SecretId, attempt: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, StoreError>>,
    {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        self.upgrade(id).await?;
        attempt()
            .await?
            .ok_or_else(|| corrupt("a record that does not upgrade"))
    }

    /// Rewrites a secret kept in an earlier release's layout (a hash, with
    /// its payload, views, live marker and own events in keys beside it)
    /// as one record, unless it changes meanwhile (then reads it again).
    async fn upgrade(&self, id: &SecretId) -> Result<(), StoreError> {
        for _ in 0..SWEEP_CAS_ATTEMPTS {
            let Some((record, activity, read_as)) = self.load_legacy(id).await? else {
                return Ok(());
            };
            let mut connection = self.connection.clone();
            let upgraded: i64 = self
                .upgrade
                .key(record_key(id))
                .key(legacy_views_key(id))
                .key(legacy_live_key(id))
                .key(legacy_payload_key(id))
                .key(legacy_own_events_key(&id.to_string()))
                .arg(codec::encode_record(&record, &activity))
                .arg(record.meta.expires_at + GRACE_SECS)
                .arg(read_as)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            if upgraded >= 0 {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(
            "a record kept changing while it was upgraded".into(),
        ))
    }

    /// A secret in an earlier release's layout, its own events (encoded as
    /// a record keeps them), and its hash as the upgrade script compares
    /// it; `None` if there is no such hash.
    async fn load_legacy(&self, id: &SecretId) -> Result<Option<LegacySecret>, StoreError> {
        let mut connection = self.connection.clone();
        let read: Result<LegacyKeys, _> = redis::pipe()
            .atomic()
            .hgetall(record_key(id))
            .lrange(legacy_views_key(id), 0, -1)
            .get(legacy_payload_key(id))
            .get(legacy_own_events_key(&id.to_string()))
            .query_async(&mut connection)
            .await;
        let (fields, views, payload, own) = match read {
            Ok(read) => read,
            Err(e) if is_wrong_type(&e) => return Ok(None),
            Err(e) => return Err(unavailable(&e)),
        };
        if fields.is_empty() {
            return Ok(None);
        }
        let mut sorted: Vec<(&String, &Vec<u8>)> = fields.iter().collect();
        sorted.sort();
        let mut read_as = Vec::new();
        for (name, value) in sorted {
            read_as.extend_from_slice(name.as_bytes());
            read_as.push(0);
            read_as.extend_from_slice(value);
            read_as.push(0);
        }
        let record = legacy::record(fields, &views, payload)?;
        let activity = own
            .unwrap_or_default()
            .lines()
            .filter_map(legacy::decode_line)
            .map(|event| codec::encode_event(&event, EventCopy::Own))
            .collect();
        Ok(Some((record, activity, read_as)))
    }

    /// A secret's record as stored (expired or not), without its own
    /// events; `None` in an earlier release's layout.
    async fn load_current(&self, id: &SecretId) -> Result<Option<Option<Record>>, StoreError> {
        let mut connection = self.connection.clone();
        let raw: Result<Option<Vec<u8>>, _> = connection.get(record_key(id)).await;
        match raw {
            Ok(Some(raw)) => Ok(Some(Some(codec::decode_record(&raw)?))),
            Ok(None) => Ok(Some(None)),
            Err(e) if is_wrong_type(&e) => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    /// A script on a secret's record whose answer starts with an outcome
    /// code; `None` if the record is in an earlier release's layout.
    async fn run_on_record<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        outcome: impl Fn(&T) -> i64,
    ) -> Result<Option<T>, StoreError> {
        let mut connection = self.connection.clone();
        let answer: T = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok((outcome(&answer) != LEGACY).then_some(answer))
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
    /// the last); a window still open goes back into the lists.
    async fn drop_lapsed_secret_replays(
        &self,
        id: &SecretId,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let key = record_key(id);
        let latest: i64 = self
            .upgrading(id, || async {
                let mut invocation = self.drop_lapsed_replays.key(&key);
                invocation.arg(now);
                self.run_on_record(&invocation, |latest: &i64| *latest)
                    .await
            })
            .await?;
        if latest > 0 {
            self.schedule(Due::KeptPayload, id, latest).await?;
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
                    self.schedule(Due::KeptAnswer, id, replay.until).await?;
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

    /// A secret that fell due: deleted, and reported if it expired unused.
    async fn sweep_secret(
        &self,
        id: SecretId,
        now: UnixTime,
    ) -> Result<Option<Expired>, StoreError> {
        let mut connection = self.connection.clone();
        let outcome: i64 = self
            .sweep_secret
            .key(record_key(&id))
            .key(legacy_live_key(&id))
            .key(legacy_views_key(&id))
            .key(legacy_payload_key(&id))
            .arg(now)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if outcome < 0 {
            // Not due by this instance's clock: a minute later.
            self.schedule(Due::Secret, &id, now + MINUTE_SECS).await?;
            return Ok(None);
        }
        // An entry whose secret was never written (a create that failed
        // after indexing it) finds nothing: not reported as unused, and
        // the service reports only those.
        Ok(Some(Expired {
            id,
            kind: ExpiredKind::Secret,
            tenant: None,
            unused: outcome == 1,
        }))
    }

    /// A request that fell due: deleted, and reported.
    async fn sweep_request(&self, id: SecretId) -> Result<Option<Expired>, StoreError> {
        let mut connection = self.connection.clone();
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
            .zrem(
                request_index_key(bucket_of(&id.to_string(), BUCKETS)),
                id.to_string(),
            )
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(record
            .and_then(|r| serde_json::from_str::<RequestRecord>(&r).ok())
            .map(|record| Expired::request(id, &record)))
    }

    /// One due entry: what it reports, if anything.
    async fn handle_due(
        &self,
        what: Due,
        id: SecretId,
        now: UnixTime,
    ) -> Result<Option<Expired>, StoreError> {
        match what {
            Due::Secret => self.sweep_secret(id, now).await,
            Due::Request => self.sweep_request(id).await,
            Due::KeptPayload => self
                .drop_lapsed_secret_replays(&id, now)
                .await
                .map(|()| None),
            Due::KeptAnswer => self
                .drop_lapsed_answer_replay(&id, now)
                .await
                .map(|()| None),
        }
    }

    async fn handle_all_due(
        &self,
        due: Vec<(Due, SecretId)>,
        now: UnixTime,
    ) -> Result<Vec<Expired>, StoreError> {
        let handled: Vec<Result<Option<Expired>, StoreError>> = futures_util::stream::iter(due)
            .map(|(what, id)| self.handle_due(what, id, now))
            .buffer_unordered(SWEEP_CONCURRENCY)
            .collect()
            .await;
        handled.into_iter().filter_map(Result::transpose).collect()
    }

    /// One batch of due entries from one bucket's minute lists; `true` if
    /// the batch was full.
    async fn purge_batch(
        &self,
        bucket: u64,
        now: UnixTime,
    ) -> Result<(Vec<Expired>, bool), StoreError> {
        let mut connection = self.connection.clone();
        let cursor: Option<i64> = connection
            .get(expiry_cursor_key(bucket))
            .await
            .map_err(|e| unavailable(&e))?;
        let this_minute = now.div_euclid(MINUTE_SECS);
        // A few minutes before the cursor too: an instance whose clock is
        // behind may still add to a minute that another has passed.
        let first = cursor.map_or(this_minute - EXPIRY_BACKSTOP_SECS / MINUTE_SECS, |c| {
            c + 1 - LOOKBACK_MINUTES
        });
        // Minutes that have passed; the current one may still fill.
        let last = (this_minute - 1).min(first + CLAIM_MINUTES - 1);
        if first > last {
            return Ok((Vec::new(), false));
        }
        let mut invocation = self.claim_due.key(expiry_cursor_key(bucket));
        invocation.key(expiry_claim_key(bucket, self.attempts.next()));
        for minute in first..=last {
            invocation.key(expiry_list_key(bucket, minute));
        }
        let taken: Vec<Vec<u8>> = invocation
            .arg(SWEEP_BATCH)
            .arg(first)
            .arg(EXPIRY_BACKSTOP_SECS)
            .arg(CLAIM_KEPT_SECS)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        // Full, or more minutes behind than one script reads.
        let more = taken.len() >= SWEEP_BATCH as usize || last < this_minute - 1;
        let due = taken.iter().filter_map(|e| Due::parse_entry(e)).collect();
        Ok((self.handle_all_due(due, now).await?, more))
    }

    /// One batch from an earlier release's sorted set.
    async fn purge_legacy_batch(
        &self,
        bucket: u64,
        now: UnixTime,
    ) -> Result<(Vec<Expired>, bool), StoreError> {
        let mut connection = self.connection.clone();
        let members: Vec<String> = self
            .claim_due_legacy
            .key(legacy_expiry_key(bucket))
            .arg(now)
            .arg(SWEEP_BATCH)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        let full = members.len() >= SWEEP_BATCH as usize;
        let due = members
            .iter()
            .filter_map(|m| Due::parse_member(m))
            .collect();
        Ok((self.handle_all_due(due, now).await?, full))
    }
}

#[async_trait]
impl SecretStore for RedisStore {
    async fn insert(&self, id: &SecretId, record: &Record) -> Result<(), StoreError> {
        let key = record_key(id);
        let mut write = redis::cmd("SET");
        write
            .arg(&key)
            .arg(codec::encode_record(record, &[]))
            .arg("EXAT")
            .arg(record.meta.expires_at + GRACE_SECS);
        let mut connection = self.connection.clone();
        if connection.is_cluster() {
            // Both at once (the index is another slot); an entry whose
            // record never arrived is skipped by the sweeper.
            let write = async {
                write
                    .query_async::<()>(&mut connection)
                    .await
                    .map_err(|e| unavailable(&e))
            };
            tokio::try_join!(
                self.schedule(Due::Secret, id, record.meta.expires_at),
                write
            )?;
        } else {
            // One round trip, the index entry first.
            let mut pipe = redis::pipe();
            schedule_in(&mut pipe, Due::Secret, id, record.meta.expires_at);
            pipe.add_command(write).ignore();
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        let mut connection = self.connection.clone();
        self.replicated(&mut connection, &key).await
    }

    async fn load(&self, id: &SecretId) -> Result<Option<Record>, StoreError> {
        let found = self.upgrading(id, || self.load_current(id)).await?;
        // A record outlives its expiry by the grace period.
        Ok(found.filter(|record| !record.is_expired(crate::domain::now())))
    }

    async fn consume_view(
        &self,
        id: &SecretId,
        view: &ViewEvent,
        replay: Option<&ReplayKey>,
    ) -> Result<ConsumeOutcome, StoreError> {
        if replay.is_some() {
            // Listed before the script runs: should its answer be lost,
            // the sweeper still finds the payload it may have kept. The
            // sweeper puts back what is still open then.
            self.schedule(Due::KeptPayload, id, view.at + REPLAY_WINDOW_SECS)
                .await?;
        }
        let key = record_key(id);
        let attempt = self.attempts.next();
        let (outcome, remaining): (i64, i64) = self
            .upgrading(id, || async {
                let mut invocation = self.consume_view.key(&key);
                invocation
                    .arg(view.at)
                    .arg(&view.ip)
                    .arg(&view.user_agent)
                    .arg(replay.map(|key| key.to_vec()).unwrap_or_default())
                    .arg(REPLAY_WINDOW_SECS)
                    .arg(&attempt);
                self.run_on_record(&invocation, |(outcome, _): &(i64, i64)| *outcome)
                    .await
            })
            .await?;
        if outcome == 0 {
            // A view taken but not on the replicas could come back after a
            // failover: not delivered until they have it.
            let mut connection = self.connection.clone();
            self.replicated(&mut connection, &key).await?;
        }
        let views_remaining = u32::try_from(remaining).map_err(|_| corrupt("remaining"))?;
        Ok(match outcome {
            0 => ConsumeOutcome::Consumed { views_remaining },
            1 => ConsumeOutcome::Replayed { views_remaining },
            -2 => ConsumeOutcome::Busy,
            _ => ConsumeOutcome::NotLive,
        })
    }

    async fn take_guarded_view(
        &self,
        id: &SecretId,
        guard: &RevealGuard,
        view: &ViewEvent,
    ) -> Result<GuardedView, StoreError> {
        let key = record_key(id);
        let attempt = self.attempts.next();
        let answer: Option<TakeAnswer> = self
            .upgrading(id, || async {
                let mut invocation = self.take_guarded_view.key(&key);
                invocation
                    .arg(view.at)
                    .arg(&view.ip)
                    .arg(&view.user_agent)
                    .arg(guard.as_bytes())
                    .arg(&attempt);
                let mut connection = self.connection.clone();
                match invocation.invoke_async::<TakeAnswer>(&mut connection).await {
                    Ok(answer) => Ok((answer.0 != LEGACY).then_some(Some(answer))),
                    // Nothing ran: let the caller read first, and hear then
                    // that the store is unavailable (not that the reveal's
                    // outcome is unknown).
                    Err(e) if e.is_connection_refusal() => Ok(Some(None)),
                    Err(e) => Err(unavailable(&e)),
                }
            })
            .await?;
        let Some(answer) = answer else {
            return Ok(GuardedView::NotTried);
        };
        match answer {
            (0, Some(before), Some(after), Some(remaining)) => {
                // As consume_view: not delivered until the replicas have it.
                let mut connection = self.connection.clone();
                self.replicated(&mut connection, &key).await?;
                Ok(GuardedView::Taken {
                    before: Box::new(codec::decode_record(&before)?),
                    views_remaining: u32::try_from(remaining).map_err(|_| corrupt("remaining"))?,
                    undo: Some(TakenView { before, after }),
                })
            }
            // A copy of this call took the view (its answer lost on the
            // way): the record as it left it, its payload still there.
            (2, Some(taken), None, Some(remaining)) => {
                let mut connection = self.connection.clone();
                self.replicated(&mut connection, &key).await?;
                Ok(GuardedView::Taken {
                    before: Box::new(codec::decode_record(&taken)?),
                    views_remaining: u32::try_from(remaining).map_err(|_| corrupt("remaining"))?,
                    undo: None,
                })
            }
            // ... and that was the last view: its payload has gone.
            (3, ..) => Err(StoreError::Unavailable(
                "Redis ran the reveal twice (the client sent it again after losing the answer); the first took the last view, and its answer is lost".to_owned(),
            )),
            (_, Some(record), ..) => {
                let record = codec::decode_record(&record)?;
                // A record outlives its expiry by the grace period.
                Ok(GuardedView::CheckFirst(
                    (!record.is_expired(crate::domain::now())).then(|| Box::new(record)),
                ))
            }
            _ => Ok(GuardedView::CheckFirst(None)),
        }
    }

    async fn give_back_view(&self, id: &SecretId, taken: &TakenView) -> Result<bool, StoreError> {
        let key = record_key(id);
        let given: i64 = self
            .upgrading(id, || async {
                let mut invocation = self.give_back_view.key(&key);
                invocation.arg(&taken.before).arg(&taken.after);
                self.run_on_record(&invocation, |given: &i64| *given).await
            })
            .await?;
        Ok(given == 1)
    }

    async fn claim(
        &self,
        id: &SecretId,
        claim: &Claim,
        now: UnixTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let key = record_key(id);
        let answer: (i64, Vec<u8>) = self
            .upgrading(id, || async {
                let mut invocation = self.claim.key(&key);
                invocation.arg(&claim.id).arg(claim.until).arg(now);
                self.run_on_record(&invocation, |(outcome, _): &(i64, Vec<u8>)| *outcome)
                    .await
            })
            .await?;
        match answer {
            (0, claimed) => {
                let mut connection = self.connection.clone();
                self.replicated(&mut connection, &key).await?;
                let mut record = codec::decode_record(&claimed)?;
                // While we hold the claim, only a revoke can have ended it.
                if record.sealed_secret.is_none() {
                    return Ok(ClaimOutcome::NotLive);
                }
                record.claim = None;
                Ok(ClaimOutcome::Claimed(Box::new(record)))
            }
            (until, _) if until > 0 => Ok(ClaimOutcome::Busy { until }),
            _ => Ok(ClaimOutcome::NotLive),
        }
    }

    async fn commit_claim(
        &self,
        id: &SecretId,
        claim_id: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let key = record_key(id);
        let committed: i64 = self
            .upgrading(id, || async {
                let mut invocation = self.commit_claim.key(&key);
                invocation.arg(claim_id).arg(at);
                self.run_on_record(&invocation, |outcome: &i64| *outcome)
                    .await
            })
            .await?;
        let mut connection = self.connection.clone();
        self.replicated(&mut connection, &key).await?;
        Ok(committed == 1)
    }

    async fn release_claim(&self, id: &SecretId, claim_id: &str) -> Result<(), StoreError> {
        let key = record_key(id);
        let _: i64 = self
            .upgrading(id, || async {
                let mut invocation = self.release_claim.key(&key);
                invocation.arg(claim_id);
                self.run_on_record(&invocation, |outcome: &i64| *outcome)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn fail_passphrase(
        &self,
        id: &SecretId,
        at: UnixTime,
    ) -> Result<PassphraseOutcome, StoreError> {
        let key = record_key(id);
        let attempt = self.attempts.next();
        let failed: i64 = self
            .upgrading(id, || async {
                let mut invocation = self.fail_passphrase.key(&key);
                invocation
                    .arg(MAX_PASSPHRASE_ATTEMPTS)
                    .arg(at)
                    .arg(&attempt);
                self.run_on_record(&invocation, |failed: &i64| *failed)
                    .await
            })
            .await?;
        let mut connection = self.connection.clone();
        self.replicated(&mut connection, &key).await?;
        Ok(match u32::try_from(failed) {
            Err(_) => PassphraseOutcome::NotLive,
            Ok(failed) if failed >= MAX_PASSPHRASE_ATTEMPTS => PassphraseOutcome::Destroyed,
            Ok(failed) => PassphraseOutcome::AttemptsRemaining(MAX_PASSPHRASE_ATTEMPTS - failed),
        })
    }

    async fn revoke(&self, id: &SecretId, at: UnixTime) -> Result<RevokeOutcome, StoreError> {
        let key = record_key(id);
        let attempt = self.attempts.next();
        let outcome: i64 = self
            .upgrading(id, || async {
                let mut invocation = self.revoke.key(&key);
                invocation.arg(at).arg(&attempt);
                self.run_on_record(&invocation, |outcome: &i64| *outcome)
                    .await
            })
            .await?;
        let mut connection = self.connection.clone();
        self.replicated(&mut connection, &key).await?;
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
        for bucket in 0..EXPIRY_BUCKETS {
            for _ in 0..SWEEP_ROUNDS {
                let (batch, more) = self.purge_batch(bucket, now).await?;
                expired.extend(batch);
                if !more {
                    break;
                }
            }
        }
        for bucket in 0..BUCKETS {
            for _ in 0..SWEEP_ROUNDS {
                let (batch, full) = self.purge_legacy_batch(bucket, now).await?;
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
        self.schedule(Due::Request, id, record.expires_at).await?;
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
            self.schedule(Due::KeptAnswer, id, replay.until).await?;
        }
        let replaced: i64 = self
            .replace_request
            .key(request_key(id))
            .arg(expected)
            .arg(expected + 1)
            .arg(json)
            .arg(&self.attempts.next())
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
            .arg(&self.attempts.next())
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

/// Adds to `pipe` what puts `id` in the list of what falls due in `due`'s
/// minute (or, if that has passed, the current one, which no sweeper has
/// passed yet).
fn schedule_in(pipe: &mut redis::Pipeline, what: Due, id: &SecretId, due: UnixTime) {
    let minute = due
        .div_euclid(MINUTE_SECS)
        .max(crate::domain::now().div_euclid(MINUTE_SECS));
    let key = expiry_list_key(expiry_bucket_of(id), minute);
    pipe.rpush(&key, what.entry(id))
        .ignore()
        .expire_at(&key, (minute + 1) * MINUTE_SECS + EXPIRY_BACKSTOP_SECS)
        .ignore();
}

/// A subject and its new own events, as [`codec::push_own_event`] puts
/// them one after the other.
type OwnEvents<'a> = (&'a String, &'a Vec<u8>);

/// Stream entries as `XRANGE` answers them: id and fields.
type StreamEntries = Vec<(String, HashMap<String, Vec<u8>>)>;

/// The event in a stream entry: `b` as [`codec::encode_event`] writes it,
/// or `e`, a line from an earlier release.
fn event_of(fields: &HashMap<String, Vec<u8>>) -> Option<AuditEvent> {
    match (fields.get("b"), fields.get("e")) {
        (Some(encoded), _) => codec::decode_event(encoded),
        (None, Some(line)) => legacy::decode_line(std::str::from_utf8(line).ok()?),
        (None, None) => None,
    }
}

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
                    .filter_map(|(_, fields)| event_of(fields))
                    .filter(|e| query.matches(e)),
            );
            if found.len() >= query.limit || exhausted {
                return Ok(found);
            }
        }
    }

    /// Appends each subject's own events to its record (or request), in
    /// one script; the subjects' answers, in order.
    async fn append_own_events(&self, subjects: &[OwnEvents<'_>]) -> Result<Vec<i64>, StoreError> {
        let mut invocation = self.append_own_events.prepare_invoke();
        invocation.arg(OWN_EVENTS_BYTES).arg(GRACE_SECS);
        for (subject, events) in subjects {
            invocation
                .key(format!("handoff:{{{subject}}}"))
                .key(format!("handoff:{{{subject}}}:request"))
                .key(lone_events_key(subject))
                .arg(events.as_slice());
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))
    }

    /// Each subject's new events: on one node in one script, on a cluster
    /// one script per subject (each its own slot), all at once. A record
    /// still in an earlier release's layout is upgraded, then appended to.
    async fn append_all_own_events(
        &self,
        own: std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<(), StoreError> {
        let subjects: Vec<OwnEvents<'_>> = own.iter().collect();
        let groups: Vec<&[OwnEvents<'_>]> = if self.connection.is_cluster() {
            subjects.chunks(1).collect()
        } else {
            vec![subjects.as_slice()]
        };
        let answers = futures_util::future::join_all(
            groups.iter().map(|group| self.append_own_events(group)),
        )
        .await;
        let mut legacy = Vec::new();
        for (group, answer) in groups.iter().zip(answers) {
            for (subject, outcome) in group.iter().zip(answer?) {
                if outcome == LEGACY {
                    legacy.push(*subject);
                }
            }
        }
        for (subject, events) in legacy {
            if let Ok(id) = SecretId::parse(subject) {
                self.upgrade(&id).await?;
            }
            self.append_own_events(&[(subject, events)]).await?;
        }
        Ok(())
    }

    /// A secret's or request's own events, as kept with it.
    async fn own_events(&self, subject: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let mut connection = self.connection.clone();
        let record: Result<Option<Vec<u8>>, _> =
            connection.get(format!("handoff:{{{subject}}}")).await;
        let mut encoded = match record {
            Ok(Some(raw)) => codec::decode_own_events(&raw)?,
            Ok(None) => Vec::new(),
            // An earlier release's hash: its events are beside it.
            Err(e) if is_wrong_type(&e) => Vec::new(),
            Err(e) => return Err(unavailable(&e)),
        };
        let (request, alone, legacy_lines): (Option<Vec<u8>>, Option<Vec<u8>>, Option<String>) =
            redis::pipe()
                .hget(format!("handoff:{{{subject}}}:request"), "a")
                .get(lone_events_key(subject))
                .get(legacy_own_events_key(subject))
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        for list in [request, alone].into_iter().flatten() {
            encoded.extend(codec::decode_event_list(&list)?);
        }
        let mut events: Vec<AuditEvent> = encoded
            .iter()
            .filter_map(|e| codec::decode_event(e))
            .enumerate()
            .map(|(place, mut event)| {
                if event.event_id.is_empty() {
                    event.event_id = codec::own_event_id(event.at, place);
                }
                event
            })
            .chain(
                legacy_lines
                    .unwrap_or_default()
                    .lines()
                    .filter_map(legacy::decode_line),
            )
            .collect();
        for event in &mut events {
            event.subject = Some(subject.to_owned());
        }
        Ok(events)
    }
}

#[async_trait]
impl AuditStore for RedisStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        // One pipeline for every stream (on a cluster, one per stream's
        // slot), the expiry set once per stream, and one script per
        // subject: in a cluster each is one slot.
        let mut streams: std::collections::BTreeMap<String, (i64, Vec<Vec<u8>>)> =
            std::collections::BTreeMap::new();
        let mut own: std::collections::BTreeMap<String, Vec<u8>> =
            std::collections::BTreeMap::new();
        for event in events {
            let day = event.at.div_euclid(DAY_SECS);
            let expires = (day + 2) * DAY_SECS + self.audit_retention_secs;
            streams
                .entry(audit_stream_key(audit_bucket(event), day))
                .or_insert_with(|| (expires, Vec::new()))
                .1
                .push(codec::encode_event(event, EventCopy::Trail));
            if let Some(subject) = &event.subject {
                // The subject is the record's: not repeated in each event.
                codec::push_own_event(
                    own.entry(subject.clone()).or_default(),
                    &codec::encode_event(event, EventCopy::Own),
                );
            }
        }
        let mut connection = self.connection.clone();
        if connection.is_cluster() {
            for (key, (expires, entries)) in &streams {
                let mut pipe = redis::pipe();
                add_to_stream(&mut pipe, key, *expires, entries);
                pipe.query_async::<()>(&mut connection)
                    .await
                    .map_err(|e| unavailable(&e))?;
            }
        } else {
            let mut pipe = redis::pipe();
            for (key, (expires, entries)) in &streams {
                add_to_stream(&mut pipe, key, *expires, entries);
            }
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        self.append_all_own_events(own).await
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        if let Some(subject) = &query.subject {
            let mut found: Vec<AuditEvent> = self
                .own_events(subject)
                .await?
                .into_iter()
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
                        .filter(|(_, fields)| event_of(fields).is_none_or(|e| e.at < before))
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

/// A stream's new entries and its expiry, into `pipe`.
fn add_to_stream(pipe: &mut redis::Pipeline, key: &str, expires: i64, entries: &[Vec<u8>]) {
    for entry in entries {
        pipe.cmd("XADD")
            .arg(key)
            .arg("*")
            .arg("b")
            .arg(entry.as_slice())
            .ignore();
    }
    pipe.expire_at(key, expires).ignore();
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

impl RedisStore {
    /// Whether secrets or requests are here. On one node a scan for the
    /// first `handoff:{…}` key; on a cluster, whether the nodes hold any
    /// key at all (a cluster is rarely shared).
    async fn holds_records(&self) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let mut held: bool = connection
            .exists("handoff:expiring")
            .await
            .map_err(|e| unavailable(&e))?;
        if connection.is_cluster() {
            let keys: i64 = redis::cmd("DBSIZE")
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            return Ok(held || keys > 0);
        }
        let mut cursor = 0_u64;
        while !held {
            let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg("handoff:{*")
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection)
                .await
                .map_err(|e| unavailable(&e))?;
            held = !found.is_empty();
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(held)
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
            let kept: Option<Vec<u8>> = connection
                .get(KEY_FINGERPRINT)
                .await
                .map_err(|e| unavailable(&e))?;
            if let Some(kept) = kept {
                return Ok(KeptFingerprint::Kept(kept));
            }
            // Only before the first fingerprint is kept: once per store.
            let held = self.holds_records().await?;
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
            // Another instance recorded one meanwhile: read it (or, were
            // it deleted again, try once more).
        }
        Err(StoreError::Unavailable(format!(
            "{KEY_FINGERPRINT} kept changing while it was read"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_release_s_audit_line_still_reads() {
        let line = "0193a1b2c3d4000000017abcdefgh\t1790000000\tapply.failed\tstaff:a\\tb\t2001:db8::1\tAgent\\nx\t\tcontoso\t\t7000215";
        let event = legacy::decode_line(line).unwrap();
        assert_eq!(event.actor, "staff:a\tb");
        assert_eq!(event.user_agent.as_deref(), Some("Agent\nx"));
        assert_eq!(event.subject, None);
        assert_eq!(event.tenant.as_deref(), Some("contoso"));
        assert_eq!(event.aadsts, Some(7_000_215));
        assert_eq!(legacy::decode_line("too\tfew"), None);
    }

    #[test]
    fn a_redis_older_than_6_2_is_refused_on_any_node() {
        let info = |v: &str| format!("# Server\r\nredis_version:{v}\r\nredis_mode:cluster\r\n");
        assert_eq!(too_old(&[info("7.0.15"), info("6.2.0")]), None);
        assert_eq!(
            too_old(&[info("7.0.15"), info("6.0.9")]).as_deref(),
            Some("6.0.9")
        );
        assert_eq!(too_old(&[info("5.0.14")]).as_deref(), Some("5.0.14"));
        assert_eq!(too_old(&["no version here".to_owned()]), None);
    }

    #[test]
    fn an_expiry_entry_names_what_and_which() {
        let id = SecretId::generate();
        for what in [Due::Secret, Due::Request, Due::KeptPayload, Due::KeptAnswer] {
            assert_eq!(Due::parse_entry(&what.entry(&id)), Some((what, id)));
        }
        assert_eq!(
            Due::parse_member(&format!("s:{id}")),
            Some((Due::Secret, id))
        );
        assert_eq!(Due::parse_entry(b"x"), None);
    }
}
