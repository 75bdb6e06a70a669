//! In-process store: for tests and for throwaway instances. Nothing survives
//! a restart.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AuditStore, Claim, ClaimOutcome, ConsumeOutcome, Expired, Health, KeptFingerprint, OutboxItem,
    OutboxStore, PassphraseOutcome, Record, ReplayKey, RequestRecord, RequestStore, RevokeOutcome,
    SecretStore, StoreError, TenantRecord, TenantStore, Versioned, ViewEvent,
};
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::{SecretId, UnixTime, now};

#[derive(Default)]
pub struct MemoryStore {
    /// Boxed: growing the map then moves a pointer per secret, not its
    /// whole record (copying the records inline into each larger table was
    /// about 7% of a create's CPU under load).
    records: Mutex<HashMap<SecretId, Box<Record>>>,
    requests: Mutex<HashMap<SecretId, Versioned<RequestRecord>>>,
    audit: Mutex<AuditLog>,
    tenants: Mutex<HashMap<String, Versioned<TenantRecord>>>,
    key_fingerprint: Mutex<Option<Vec<u8>>>,
    outbox: Mutex<HashMap<String, OutboxItem>>,
}

/// The audit trail in chunks of a fixed capacity, so that appending never
/// moves what is already kept (one growing vector copied its whole trail,
/// hundreds of megabytes under load, each time it outgrew its allocation).
#[derive(Default)]
struct AuditLog {
    chunks: Vec<Vec<AuditEvent>>,
}

impl AuditLog {
    const CHUNK: usize = 4096;

    fn append(&mut self, events: &[AuditEvent]) {
        for event in events {
            match self.chunks.last_mut() {
                Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(event.clone()),
                _ => {
                    let mut chunk = Vec::with_capacity(Self::CHUNK);
                    chunk.push(event.clone());
                    self.chunks.push(chunk);
                }
            }
        }
    }

    fn events(&self) -> impl Iterator<Item = &AuditEvent> {
        self.chunks.iter().flatten()
    }

    /// Forgets the events from before `before`; returns how many.
    fn purge(&mut self, before: UnixTime) -> u64 {
        let mut purged = 0;
        for chunk in &mut self.chunks {
            let count = chunk.len();
            chunk.retain(|e| e.at >= before);
            purged += count - chunk.len();
        }
        self.chunks.retain(|chunk| !chunk.is_empty());
        purged as u64
    }
}

impl MemoryStore {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `change` on the live (unexpired) record under the lock.
    fn with_record<T>(&self, id: &SecretId, change: impl FnOnce(Option<&mut Record>) -> T) -> T {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let record = records
            .get_mut(id)
            .map(|r| &mut **r)
            .filter(|r| !r.is_expired(now()));
        change(record)
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn insert(&self, id: &SecretId, record: &Record) -> Result<(), StoreError> {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        records.insert(*id, Box::new(record.clone()));
        Ok(())
    }

    async fn load(&self, id: &SecretId) -> Result<Option<Record>, StoreError> {
        Ok(self.with_record(id, |r: Option<&mut Record>| r.map(|r| r.clone())))
    }

    async fn consume_view(
        &self,
        id: &SecretId,
        view: &ViewEvent,
        replay: Option<&ReplayKey>,
    ) -> Result<ConsumeOutcome, StoreError> {
        Ok(self.with_record(id, |r| {
            r.map_or(ConsumeOutcome::NotLive, |r| r.consume_view(view, replay))
        }))
    }

    async fn claim(
        &self,
        id: &SecretId,
        claim: &Claim,
        now: UnixTime,
    ) -> Result<ClaimOutcome, StoreError> {
        Ok(self.with_record(id, |r| {
            r.map_or(ClaimOutcome::NotLive, |r| r.claim(claim, now))
        }))
    }

    async fn commit_claim(
        &self,
        id: &SecretId,
        claim_id: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self.with_record(id, |r| r.is_some_and(|r| r.commit_claim(claim_id, at))))
    }

    async fn release_claim(&self, id: &SecretId, claim_id: &str) -> Result<(), StoreError> {
        self.with_record(id, |r| r.map(|r| r.release_claim(claim_id)));
        Ok(())
    }

    async fn fail_passphrase(
        &self,
        id: &SecretId,
        at: UnixTime,
    ) -> Result<PassphraseOutcome, StoreError> {
        Ok(self.with_record(id, |r| {
            r.map_or(PassphraseOutcome::NotLive, |r| r.fail_passphrase(at))
        }))
    }

    async fn revoke(&self, id: &SecretId, at: UnixTime) -> Result<RevokeOutcome, StoreError> {
        Ok(self.with_record(id, |r| r.map_or(RevokeOutcome::Missing, |r| r.revoke(at))))
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<Vec<Expired>, StoreError> {
        let mut expired = Vec::new();
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        records.retain(|id, record| {
            let keep = !record.is_expired(now);
            if !keep {
                expired.push(Expired::secret(*id, record));
            }
            keep
        });
        for record in records.values_mut() {
            record.drop_lapsed_replays(now);
        }
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        requests.retain(|id, request| {
            let keep = !request.value.is_expired(now);
            if !keep {
                expired.push(Expired::request(*id, &request.value));
            }
            keep
        });
        for request in requests.values_mut() {
            if request.value.drop_lapsed_replay(now) {
                request.version += 1;
            }
        }
        Ok(expired)
    }
}

#[async_trait]
impl RequestStore for MemoryStore {
    async fn insert_request(
        &self,
        id: &SecretId,
        record: &RequestRecord,
    ) -> Result<(), StoreError> {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        requests.insert(
            *id,
            Versioned {
                version: 1,
                value: record.clone(),
            },
        );
        Ok(())
    }

    async fn load_request(
        &self,
        id: &SecretId,
    ) -> Result<Option<Versioned<RequestRecord>>, StoreError> {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(requests
            .get(id)
            .filter(|r| !r.value.is_expired(now()))
            .cloned())
    }

    async fn replace_request(
        &self,
        id: &SecretId,
        expected: u64,
        record: &RequestRecord,
    ) -> Result<bool, StoreError> {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match requests.get_mut(id) {
            Some(stored) if stored.version == expected => {
                *stored = Versioned {
                    version: expected + 1,
                    value: record.clone(),
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn list_requests(&self) -> Result<Vec<(SecretId, RequestRecord)>, StoreError> {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = now();
        Ok(requests
            .iter()
            .filter(|(_, r)| !r.value.is_expired(now))
            .map(|(id, r)| (*id, r.value.clone()))
            .collect())
    }
}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn load_tenant_record(
        &self,
        tenant: &str,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError> {
        let tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(tenants.get(tenant).cloned())
    }

    async fn replace_tenant_record(
        &self,
        tenant: &str,
        expected: u64,
        record: &TenantRecord,
    ) -> Result<bool, StoreError> {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = tenants.get(tenant).map_or(0, |r| r.version);
        if current != expected {
            return Ok(false);
        }
        tenants.insert(
            tenant.to_owned(),
            Versioned {
                version: expected + 1,
                value: record.clone(),
            },
        );
        Ok(true)
    }

    async fn list_tenant_records(&self) -> Result<Vec<(String, TenantRecord)>, StoreError> {
        let tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(tenants
            .iter()
            .map(|(t, r)| (t.clone(), r.value.clone()))
            .collect())
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut audit = self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        audit.append(events);
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let audit = self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut found: Vec<AuditEvent> = audit
            .events()
            .filter(|e| query.matches(e))
            .cloned()
            .collect();
        AuditEvent::sort_newest_first(&mut found);
        found.truncate(query.limit);
        Ok(found)
    }

    async fn purge_audit(&self, before: UnixTime) -> Result<u64, StoreError> {
        let mut audit = self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(audit.purge(before))
    }
}

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn enqueue_outbox(&self, item: &OutboxItem, capacity: usize) -> Result<bool, StoreError> {
        let mut outbox = self
            .outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !outbox.contains_key(&item.id) && outbox.len() >= capacity {
            return Ok(false);
        }
        outbox.insert(item.id.clone(), item.clone());
        Ok(true)
    }

    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut outbox = self
            .outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut due: Vec<&mut OutboxItem> = outbox
            .values_mut()
            .filter(|item| item.due_ms <= now_ms)
            .collect();
        due.sort_by_key(|item| item.due_ms);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|item| {
                item.due_ms = lease_until_ms;
                item.clone()
            })
            .collect())
    }

    async fn reschedule_outbox(
        &self,
        item: &OutboxItem,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut outbox = self
            .outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outbox.get_mut(&item.id) {
            Some(stored) if stored.due_ms == lease_ms => {
                *stored = item.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn remove_outbox(&self, id: &str) -> Result<bool, StoreError> {
        let mut outbox = self
            .outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(outbox.remove(id).is_some())
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (nothing survives a restart)".to_owned()
    }

    async fn keep_key_fingerprint(
        &self,
        fingerprint: &[u8],
    ) -> Result<KeptFingerprint, StoreError> {
        let mut kept = self
            .key_fingerprint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(kept) = kept.as_ref() {
            return Ok(KeptFingerprint::Kept(kept.clone()));
        }
        let adopted = !self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
            || !self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_empty();
        *kept = Some(fingerprint.to_vec());
        Ok(KeptFingerprint::Recorded { adopted })
    }
}
