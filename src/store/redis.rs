//! Redis store, for several instances behind a load balancer. One secret is
//! a hash `handoff:{<id>}` and a list `handoff:{<id>}:views`; the hash tag
//! keeps both in one Redis Cluster slot. Redis expires both at the secret's
//! expiry, so nothing needs sweeping. Every change is a Lua script, which
//! Redis runs atomically: that is the check-and-consume.

use std::collections::HashMap;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};

use super::{
    ConsumeOutcome, MAX_PASSPHRASE_ATTEMPTS, PassphraseOutcome, Record, RequestRecord,
    RevokeOutcome, SecretMeta, SecretState, Store, StoreError, Versioned, ViewEvent,
};
use crate::domain::{SecretId, UnixTime};

const CONSUME_VIEW: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'live' then return -1 end
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
if remaining < 0 then
  redis.call('HSET', KEYS[1], 'remaining', 0)
  return -1
end
redis.call('RPUSH', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
if remaining == 0 then
  redis.call('HSET', KEYS[1], 'state', 'revealed', 'ended_at', ARGV[2])
  redis.call('HDEL', KEYS[1], 'payload')
end
return remaining
";

const FAIL_PASSPHRASE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'live' then return -1 end
local failed = redis.call('HINCRBY', KEYS[1], 'failed', 1)
if failed >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'destroyed', 'ended_at', ARGV[2])
  redis.call('HDEL', KEYS[1], 'payload')
end
return failed
";

const REVOKE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if state ~= 'live' then return 2 end
redis.call('HSET', KEYS[1], 'state', 'revoked', 'ended_at', ARGV[1])
redis.call('HDEL', KEYS[1], 'payload')
return 1
";

/// Compare-and-swap of a request: write only if the version is unchanged.
const REPLACE_REQUEST: &str = r"
local version = redis.call('HGET', KEYS[1], 'version')
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
return 1
";

/// All requests by expiry, for the staff list; one key for all, pruned as
/// it is read.
const REQUEST_INDEX: &str = "handoff:requests";

pub struct RedisStore {
    connection: ConnectionManager,
    description: String,
    consume_view: Script,
    fail_passphrase: Script,
    revoke: Script,
    replace_request: Script,
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

fn views_key(id: &SecretId) -> String {
    format!("handoff:{{{id}}}:views")
}

impl RedisStore {
    /// Connects to `redis://` or `rediss://` (TLS). The connection manager
    /// reconnects by itself when Redis comes back after an outage.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
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
            consume_view: Script::new(CONSUME_VIEW),
            fail_passphrase: Script::new(FAIL_PASSPHRASE),
            revoke: Script::new(REVOKE),
            replace_request: Script::new(REPLACE_REQUEST),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
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
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .expire_at(&key, record.meta.expires_at)
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
        let views = views
            .iter()
            .map(|v| serde_json::from_str(v).map_err(|e| corrupt(&e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Some(Record {
            meta,
            state,
            views_remaining,
            failed_passphrases,
            ended_at,
            sealed_secret: fields.remove("payload"),
            views,
        }))
    }

    async fn consume_view(
        &self,
        id: &SecretId,
        view: &ViewEvent,
    ) -> Result<ConsumeOutcome, StoreError> {
        let view_json = serde_json::to_string(view).expect("a view always serialises");
        let mut connection = self.connection.clone();
        let remaining: i64 = self
            .consume_view
            .key(record_key(id))
            .key(views_key(id))
            .arg(view_json)
            .arg(view.at)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(match u32::try_from(remaining) {
            Ok(views_remaining) => ConsumeOutcome::Consumed { views_remaining },
            Err(_) => ConsumeOutcome::NotLive,
        })
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
            .expire_at(&key, record.expires_at)
            .ignore()
            .zadd(REQUEST_INDEX, id.to_string(), record.expires_at)
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn load_request(
        &self,
        id: &SecretId,
    ) -> Result<Option<Versioned<RequestRecord>>, StoreError> {
        let mut connection = self.connection.clone();
        let (version, record): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(request_key(id))
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

    async fn replace_request(
        &self,
        id: &SecretId,
        expected: u64,
        record: &RequestRecord,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(record).expect("a request always serialises");
        let mut connection = self.connection.clone();
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

    async fn purge_expired(&self, _now: UnixTime) -> Result<u64, StoreError> {
        Ok(0)
    }

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
}
