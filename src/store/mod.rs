//! Where sealed secrets live. A few traits by concern ([`SecretStore`],
//! [`RequestStore`], [`TenantStore`], [`AuditStore`], [`OutboxStore`],
//! [`Health`]), combined
//! in [`Store`]; three backends (memory, embedded redb file, Redis) that
//! each implement them all; one conformance suite
//! (`tests/it/store_conformance.rs`).
//!
//! Every state change is one atomic step in the backend (a lock, a write
//! transaction, a Lua script), never read-then-write from the service: that
//! is what keeps "at most N reveals" true across instances.

mod embedded;
mod memory;
mod redis;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::embedded::EmbeddedStore;
pub use self::memory::MemoryStore;
pub use self::redis::{Patience, RedisConnection, RedisStore, cluster_seeds, is_cluster_url};
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::{SecretId, UnixTime};

/// A wrong passphrase this many times destroys the secret.
pub const MAX_PASSPHRASE_ATTEMPTS: u32 = 5;

/// How long a reveal or retrieval may be repeated with the same idempotency
/// key (after a timeout or a lost answer); the sealed payload is kept that
/// long after the last view, then deleted by the sweeper.
pub const REPLAY_WINDOW_SECS: i64 = 60;

/// What the store keeps of an idempotency key: its hash, bound to the id
/// (`crypto::idempotency_hash`).
pub type ReplayKey = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
}

/// The whole store, as the service holds it: one backend behind every
/// concern.
pub type SharedStore = Arc<dyn Store>;

/// Every concern at once, from one backend; implemented for anything that
/// implements them all. Code that needs one concern (the audit writer) takes
/// that trait alone.
pub trait Store:
    SecretStore + RequestStore + TenantStore + AuditStore + OutboxStore + Health
{
}

impl<T> Store for T where
    T: SecretStore + RequestStore + TenantStore + AuditStore + OutboxStore + Health + ?Sized
{
}

/// Whether the backend is there, whatever it keeps.
#[async_trait]
pub trait Health: Send + Sync + 'static {
    /// Answers when the store can serve requests (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// For logs and the start-up line.
    fn describe(&self) -> String;
    /// Keeps `fingerprint` as that of the server key this store's records
    /// are sealed with, unless one is kept already; says which. Atomic: of
    /// several instances starting at once on an empty store, one records
    /// its fingerprint and the others are handed it back. Start-up compares
    /// (see `startup`); the store only keeps the bytes.
    async fn keep_key_fingerprint(&self, fingerprint: &[u8])
    -> Result<KeptFingerprint, StoreError>;
}

/// What [`Health::keep_key_fingerprint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptFingerprint {
    /// The store already keeps this fingerprint (which may not be the one
    /// offered).
    Kept(Vec<u8>),
    /// None was kept; the one offered now is. `adopted`: the store already
    /// held secrets or requests, written before fingerprints were kept.
    Recorded { adopted: bool },
}

/// Pushed secrets and their one-way transitions (see [`Record`]).
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Stores a new record; it disappears by itself at `meta.expires_at`.
    async fn insert(&self, id: &SecretId, record: &Record) -> Result<(), StoreError>;
    /// The record, or `None` when unknown or expired. Never changes anything.
    async fn load(&self, id: &SecretId) -> Result<Option<Record>, StoreError>;
    /// Atomically takes one view of a live secret; the last view removes the
    /// sealed payload and leaves a tombstone until the original expiry.
    ///
    /// With a `replay` key, the same step remembers it for
    /// [`REPLAY_WINDOW_SECS`] (keeping the sealed payload that long after
    /// the last view), and a consume presented again with that key within
    /// the window answers [`ConsumeOutcome::Replayed`] and takes nothing.
    async fn consume_view(
        &self,
        id: &SecretId,
        view: &ViewEvent,
        replay: Option<&ReplayKey>,
    ) -> Result<ConsumeOutcome, StoreError>;
    /// A reveal's read and its view in one step, for a store where each
    /// is a round trip: when `guard` is the record's own [`RevealGuard`],
    /// takes one view as [`Self::consume_view`] does (without a replay
    /// key) and answers the record as it was before; otherwise takes
    /// nothing and answers the record as [`Self::load`] does, for the
    /// caller to check first. A view taken here whose payload then fails
    /// to open goes back with [`Self::give_back_view`]. An error may have
    /// taken the view. Stores where reading first costs nothing do not
    /// try.
    async fn take_guarded_view(
        &self,
        id: &SecretId,
        guard: &RevealGuard,
        view: &ViewEvent,
    ) -> Result<GuardedView, StoreError> {
        let _ = (id, guard, view);
        Ok(GuardedView::NotTried)
    }
    /// Undoes a view [`Self::take_guarded_view`] took, unless the record
    /// changed since (then nothing changes); whether it did.
    async fn give_back_view(&self, id: &SecretId, taken: &TakenView) -> Result<bool, StoreError> {
        let _ = (id, taken);
        Ok(false)
    }
    /// Atomically counts a wrong passphrase; the last allowed one destroys
    /// the payload.
    async fn fail_passphrase(
        &self,
        id: &SecretId,
        at: UnixTime,
    ) -> Result<PassphraseOutcome, StoreError>;
    /// Atomically takes a live secret for an apply until `claim.until`.
    async fn claim(
        &self,
        id: &SecretId,
        claim: &Claim,
        now: UnixTime,
    ) -> Result<ClaimOutcome, StoreError>;
    /// Ends a claimed secret as applied (payload deleted); `false` if the
    /// claim no longer holds.
    async fn commit_claim(
        &self,
        id: &SecretId,
        claim_id: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Gives a claimed secret back, unchanged.
    async fn release_claim(&self, id: &SecretId, claim_id: &str) -> Result<(), StoreError>;
    /// Atomically destroys the payload of a live secret.
    async fn revoke(&self, id: &SecretId, at: UnixTime) -> Result<RevokeOutcome, StoreError>;
    /// Physically deletes expired secrets and requests, and says which (so
    /// that their expiry can be audited); also deletes the payloads kept
    /// for a replay once their window has passed (not reported). Requests are swept here too
    /// because the backends keep one expiry index for both. Safe to run on
    /// every instance at once: each expired item is reported by exactly one
    /// caller.
    async fn purge_expired(&self, now: UnixTime) -> Result<Vec<Expired>, StoreError>;
}

/// Request links, updated by compare-and-swap on their version.
#[async_trait]
pub trait RequestStore: Send + Sync + 'static {
    /// Stores a new request link record.
    async fn insert_request(&self, id: &SecretId, record: &RequestRecord)
    -> Result<(), StoreError>;
    /// The request and its version, or `None` when unknown or expired.
    async fn load_request(
        &self,
        id: &SecretId,
    ) -> Result<Option<Versioned<RequestRecord>>, StoreError>;
    /// Writes `record` only if the stored version is still `expected`
    /// (compare-and-swap); `false` means someone else changed it first.
    async fn replace_request(
        &self,
        id: &SecretId,
        expected: u64,
        record: &RequestRecord,
    ) -> Result<bool, StoreError>;
    /// Every unexpired request, for the staff list.
    async fn list_requests(&self) -> Result<Vec<(SecretId, RequestRecord)>, StoreError>;
}

/// What handoff remembers about each tenant's current credential.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// The tenant's current credential record and its version.
    async fn load_tenant_record(
        &self,
        tenant: &str,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError>;
    /// Compare-and-swap; `expected` 0 means "there is none yet".
    async fn replace_tenant_record(
        &self,
        tenant: &str,
        expected: u64,
        record: &TenantRecord,
    ) -> Result<bool, StoreError>;
    /// Every tenant that has a record.
    async fn list_tenant_records(&self) -> Result<Vec<(String, TenantRecord)>, StoreError>;
}

/// The audit trail, kept for the retention period.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends audit events.
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    /// Audit events matching `query`, newest first, at most `query.limit`.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
    /// Deletes audit events older than `before`; returns how many.
    async fn purge_audit(&self, before: UnixTime) -> Result<u64, StoreError>;
}

/// Webhook events waiting to be delivered, kept here so that they survive a
/// restart and so that any instance can deliver them, one at a time: a
/// claim moves an item's due time forward by a lease, and only a caller
/// holding that lease (its due time still the one the claim set) may
/// reschedule it. Items are removed when delivered or given up.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Adds `item`, or replaces the one with its id. Refuses (`false`,
    /// nothing changed) a new item when the outbox holds `capacity` items
    /// already; Redis counts per bucket, so its bound is within a few items
    /// of `capacity`.
    async fn enqueue_outbox(&self, item: &OutboxItem, capacity: usize) -> Result<bool, StoreError>;
    /// Claims up to `limit` items due at `now_ms`: each one's due time
    /// moves to `lease_until_ms`, so that nobody claims it again before
    /// then. Returns them as claimed (`due_ms` = `lease_until_ms`, the
    /// lease to pass to [`OutboxStore::reschedule_outbox`]).
    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Stores a claimed item's next attempt (`item.due_ms`,
    /// `item.attempts`) if its lease still holds (its due time is still
    /// `lease_ms`); `false` if someone claimed it since, or it is gone.
    async fn reschedule_outbox(&self, item: &OutboxItem, lease_ms: i64)
    -> Result<bool, StoreError>;
    /// Removes an item, delivered or given up; `false` if it was not there.
    async fn remove_outbox(&self, id: &str) -> Result<bool, StoreError>;
}

/// One webhook event in the outbox. The payload is the event as it is sent:
/// ids, tenants and outcomes, never secret material (the signature is made
/// afresh at each attempt, with the secret from the settings).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxItem {
    /// The event's `webhook-id`, the same on every try.
    pub id: String,
    /// Where it goes, as the webhook module names destinations (never a
    /// URL, which may carry the vendor's token).
    pub target: String,
    pub event_type: String,
    /// The JSON body.
    pub payload: String,
    /// Unix milliseconds of the next attempt, or while claimed, when the
    /// claim's lease lapses.
    pub due_ms: i64,
    /// Attempts made so far.
    pub attempts: u32,
    pub created_at: UnixTime,
}

impl std::fmt::Debug for OutboxItem {
    /// Without the payload, so that no event body reaches a log by way of a
    /// stray `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("event_type", &self.event_type)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("due_ms", &self.due_ms)
            .field("attempts", &self.attempts)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Something that reached its expiry and was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: SecretId,
    pub kind: ExpiredKind,
    /// The request's tenant.
    pub tenant: Option<String>,
    /// The secret was never (fully) revealed, or the request never answered.
    pub unused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiredKind {
    Secret,
    Request,
}

impl Expired {
    #[must_use]
    pub fn secret(id: SecretId, record: &Record) -> Self {
        Self {
            id,
            kind: ExpiredKind::Secret,
            tenant: None,
            unused: record.state == SecretState::Live,
        }
    }

    #[must_use]
    pub fn request(id: SecretId, record: &RequestRecord) -> Self {
        Self {
            id,
            kind: ExpiredKind::Request,
            tenant: Some(record.tenant.clone()),
            unused: record.state == RequestState::Open,
        }
    }
}

/// Set at creation, never changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecretMeta {
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub views_allowed: u32,
    #[serde(with = "base64_bytes")]
    pub key_check: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub manage_token_hash: Vec<u8>,
    #[serde(with = "base64_bytes::optional", default)]
    pub passphrase_salt: Option<Vec<u8>>,
    /// The note, sealed under a key derived from K alone.
    #[serde(with = "base64_bytes::optional", default)]
    pub sealed_note: Option<Vec<u8>>,
    /// The sender's private label, sealed under a key derived from the
    /// manage token.
    #[serde(
        with = "base64_bytes::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sealed_label: Option<Vec<u8>>,
    /// The fingerprint of the server key it was sealed with (`None` in
    /// records written before fingerprints were kept): a record that does
    /// not open is then known to be the server's fault, not a wrong
    /// passphrase.
    #[serde(with = "base64_bytes::optional", default)]
    pub key_fingerprint: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SecretState {
    Live,
    Revealed,
    Revoked,
    /// Too many wrong passphrases.
    Destroyed,
    /// Written to a tenant's sink and deleted here.
    Applied,
}

impl SecretState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Revealed => "revealed",
            Self::Revoked => "revoked",
            Self::Destroyed => "destroyed",
            Self::Applied => "applied",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "live" => Ok(Self::Live),
            "revealed" => Ok(Self::Revealed),
            "revoked" => Ok(Self::Revoked),
            "destroyed" => Ok(Self::Destroyed),
            "applied" => Ok(Self::Applied),
            other => Err(StoreError::Corrupt(format!("unknown state '{other}'"))),
        }
    }
}

/// One reveal, as the sender's status page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewEvent {
    pub at: UnixTime,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub meta: SecretMeta,
    pub state: SecretState,
    pub views_remaining: u32,
    pub failed_passphrases: u32,
    pub ended_at: Option<UnixTime>,
    /// nonce ‖ ciphertext ‖ tag; `None` once the secret has ended.
    #[serde(with = "base64_bytes::optional", default)]
    pub sealed_secret: Option<Vec<u8>>,
    pub views: Vec<ViewEvent>,
    /// An apply in progress; nobody else may reveal or apply until it ends
    /// or its lease lapses.
    #[serde(default)]
    pub claim: Option<Claim>,
    /// Reveals that may be repeated with their idempotency key; while one
    /// is in its window an ended secret keeps its sealed payload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replays: Vec<Replay>,
}

/// A reveal (or retrieval) that a retry with the same idempotency key gets
/// again, until `until`. Holds the key's hash only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Replay {
    #[serde(with = "base64_bytes")]
    pub key_hash: Vec<u8>,
    pub until: UnixTime,
    /// The views left after the reveal it repeats.
    #[serde(default)]
    pub views_remaining: u32,
}

impl Replay {
    fn matches(&self, key: &ReplayKey, now: UnixTime) -> bool {
        self.until > now && self.key_hash.as_slice() == key.as_slice()
    }
}

/// An apply's hold on a secret or request, with a lease that lapses by
/// itself if the server dies half-way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    pub until: UnixTime,
}

impl Claim {
    #[must_use]
    pub fn holds(claim: Option<&Claim>, now: UnixTime) -> bool {
        claim.is_some_and(|c| c.until > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Taken; the record as it was, with its sealed payload.
    Claimed(Box<Record>),
    /// Another apply holds it until then.
    Busy {
        until: UnixTime,
    },
    NotLive,
}

/// What handoff knows about a tenant's current client secret: recorded at
/// each apply, kept until the next one (never the secret itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TenantRecord {
    pub applied_at: UnixTime,
    pub applied_by: String,
    /// YYYY-MM-DD, when known.
    pub expires_on: Option<String>,
    /// The first three characters, as Entra ID shows them.
    pub hint: String,
    pub secret_id: Option<String>,
    pub verification: VerificationRecord,
    pub sink: String,
    /// Reminder thresholds (days before expiry) already announced.
    #[serde(default)]
    pub reminded: Vec<u32>,
    /// The request handoff created by itself for this secret's expiry, so
    /// that of several instances and restarts exactly one creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_request: Option<AutoRequestRecord>,
}

/// An automatic request: which expiry it was for, which request, when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AutoRequestRecord {
    pub for_expiry: String,
    pub request_id: String,
    pub at: UnixTime,
}

/// A value with the version it was read at, for compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for the customer's answer.
    Open,
    /// Answered; the sealed answer waits for staff.
    Answered,
    /// Too many refused answers.
    Locked,
    /// Staff took the answer; it is deleted.
    Retrieved,
    /// The answer went into the tenant's sink; it is deleted.
    Applied,
    /// Staff cancelled it; its links no longer work and an answer it held
    /// is deleted.
    Cancelled,
}

impl RequestState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Locked => "locked",
            Self::Retrieved => "retrieved",
            Self::Applied => "applied",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What Microsoft said about an answer, as kept for staff and the audit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerificationRecord {
    pub verified: bool,
    pub code: String,
    pub message: String,
    pub aadsts: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnswerRecord {
    pub answered_at: UnixTime,
    /// Sealed to the request's public key; `None` once retrieved.
    #[serde(with = "base64_bytes::optional", default)]
    pub sealed_secret: Option<Vec<u8>>,
    /// The new secret's expiry date (YYYY-MM-DD), when the customer gave it.
    pub expires_on: Option<String>,
    /// The Secret ID (a GUID, not secret), for the record.
    pub secret_id: Option<String>,
    /// The value's first three characters, as Microsoft shows them.
    pub hint: String,
    pub verification: VerificationRecord,
}

/// A request link: staff ask a customer for a secret for one tenant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestRecord {
    pub tenant: String,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Key check of the customer's submit key.
    #[serde(with = "base64_bytes")]
    pub submit_check: Vec<u8>,
    /// Key check of the staff's retrieve key.
    #[serde(with = "base64_bytes")]
    pub retrieve_check: Vec<u8>,
    /// X25519 public key derived from the retrieve key.
    #[serde(with = "base64_bytes")]
    pub retrieve_public_key: Vec<u8>,
    pub state: RequestState,
    /// Refused answers so far.
    pub tries: u32,
    pub answer: Option<AnswerRecord>,
    /// When it was locked, retrieved or applied.
    pub ended_at: Option<UnixTime>,
    /// Apply the answer to the tenant's sink as soon as it is accepted.
    #[serde(default)]
    pub auto_apply: bool,
    /// An apply in progress.
    #[serde(default)]
    pub claim: Option<Claim>,
    /// The retrieval a retry with the same idempotency key gets again;
    /// while it holds, the retrieved answer keeps its sealed secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
    /// Since when Microsoft has refused a brand-new secret that may still
    /// be propagating: re-checks within the window count no try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activating_since: Option<UnixTime>,
    /// A request for a certificate credential instead of a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateRecord>,
}

/// The certificate a request asks the customer to upload, and its private
/// key, sealed with a key derived from the submit key so that the
/// customer's Check can sign an assertion and nobody can read it. Once
/// Microsoft accepts it, the key moves into the answer (sealed to the
/// retrieve key) and `sealed_key` is emptied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// The public certificate, DER.
    #[serde(with = "base64_bytes")]
    pub der: Vec<u8>,
    pub not_after: UnixTime,
    #[serde(with = "base64_bytes")]
    pub sealed_key: Vec<u8>,
}

impl RequestRecord {
    #[must_use]
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.expires_at
    }

    /// The sealed answer, if `key` retrieved it within the replay window.
    #[must_use]
    pub fn replayable_answer(&self, key: &ReplayKey, now: UnixTime) -> Option<&[u8]> {
        if self.state != RequestState::Retrieved
            || !self.replay.as_ref().is_some_and(|r| r.matches(key, now))
        {
            return None;
        }
        self.answer.as_ref()?.sealed_secret.as_deref()
    }

    /// Ends the replay window once it has passed, deleting the answer kept
    /// for it; whether anything changed.
    pub fn drop_lapsed_replay(&mut self, now: UnixTime) -> bool {
        if self.replay.as_ref().is_none_or(|r| r.until > now) {
            return false;
        }
        self.replay = None;
        if self.state != RequestState::Answered
            && let Some(answer) = &mut self.answer
        {
            answer.sealed_secret = None;
        }
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOutcome {
    Consumed {
        views_remaining: u32,
    },
    /// The same idempotency key already took a view within the replay
    /// window: nothing was consumed, the payload is still there, and the
    /// caller may deliver it again.
    Replayed {
        views_remaining: u32,
    },
    /// Unknown, expired, or already ended: nothing was consumed.
    NotLive,
    /// An apply holds it: nothing was consumed.
    Busy,
}

/// What lets a store take a reveal's view in the same step as it reads
/// the record ([`SecretStore::take_guarded_view`]): a digest of the link
/// key's check and the fingerprint of the server key. A caller's guard is
/// the record's own only if the caller holds the link key and this
/// server's key sealed it, which is all the reveal checks before taking a
/// view; a record with a passphrase has none (only Argon2id can tell a
/// passphrase is right), nor has one written before fingerprints were
/// kept. The store compares it, never the key check itself; callers
/// never choose its bytes (the server derives it from the link key sent).
#[derive(Clone, PartialEq, Eq)]
pub struct RevealGuard([u8; REVEAL_GUARD_LEN]);

const REVEAL_GUARD_LEN: usize = 16;

impl RevealGuard {
    #[must_use]
    pub fn new(key_check: &[u8], key_fingerprint: &[u8]) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::new()
            .chain_update(b"handoff/v1/reveal-guard")
            .chain_update([u8::try_from(key_check.len()).unwrap_or(u8::MAX)])
            .chain_update(key_check)
            .chain_update(key_fingerprint)
            .finalize();
        let mut guard = [0u8; REVEAL_GUARD_LEN];
        guard.copy_from_slice(&digest[..REVEAL_GUARD_LEN]);
        Self(guard)
    }

    /// The guard a record was written with, if it may have one.
    #[must_use]
    pub fn of(meta: &SecretMeta) -> Option<Self> {
        if meta.passphrase_salt.is_some() {
            return None;
        }
        Some(Self::new(&meta.key_check, meta.key_fingerprint.as_deref()?))
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for RevealGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevealGuard(..)")
    }
}

/// What [`SecretStore::take_guarded_view`] did.
#[derive(Debug)]
pub enum GuardedView {
    /// One view taken: the record as it was before, the views left, and
    /// what gives the view back (`None` when the view was taken by an
    /// earlier copy of this call, whose answer was lost: the record as it
    /// was before is gone, and `before` is the record as it left it).
    Taken {
        before: Box<Record>,
        views_remaining: u32,
        undo: Option<TakenView>,
    },
    /// Nothing taken: the record (`None` when unknown or expired).
    CheckFirst(Option<Box<Record>>),
    /// Nothing read or taken: this store reads first.
    NotTried,
}

/// What a store needs to give back a view it took, as it wrote it.
pub struct TakenView {
    /// The record's stored form before the view was taken.
    pub(crate) before: Vec<u8>,
    /// Its stored form after: the give-back happens only while the record
    /// is still exactly that.
    pub(crate) after: Vec<u8>,
}

impl std::fmt::Debug for TakenView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TakenView(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphraseOutcome {
    AttemptsRemaining(u32),
    Destroyed,
    NotLive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked,
    AlreadyEnded,
    Missing,
}

impl Record {
    #[must_use]
    pub fn new(meta: SecretMeta, sealed_secret: Vec<u8>) -> Self {
        Self {
            views_remaining: meta.views_allowed,
            meta,
            state: SecretState::Live,
            failed_passphrases: 0,
            ended_at: None,
            sealed_secret: Some(sealed_secret),
            views: Vec::new(),
            claim: None,
            replays: Vec::new(),
        }
    }

    #[must_use]
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.meta.expires_at
    }

    /// Revoked, destroyed or applied: the payload goes, kept or not.
    fn end(&mut self, state: SecretState, at: UnixTime) {
        self.state = state;
        self.ended_at = Some(at);
        self.sealed_secret = None;
        self.replays.clear();
    }

    /// The reveal that `key` may repeat at `now`: within its window, and
    /// the payload still there (a revoke deletes it all the same).
    #[must_use]
    pub fn replay_for(&self, key: &ReplayKey, now: UnixTime) -> Option<&Replay> {
        self.sealed_secret.as_ref()?;
        self.replays.iter().find(|r| r.matches(key, now))
    }

    /// The end of the last replay window, if any.
    #[must_use]
    pub fn kept_until(&self) -> Option<UnixTime> {
        self.replays.iter().map(|r| r.until).max()
    }

    /// Forgets replay windows that have passed and, once an ended secret
    /// has none left, the payload kept for them; whether anything changed.
    pub fn drop_lapsed_replays(&mut self, now: UnixTime) -> bool {
        let before = self.replays.len();
        self.replays.retain(|r| r.until > now);
        let mut changed = self.replays.len() != before;
        if self.state != SecretState::Live
            && self.replays.is_empty()
            && self.sealed_secret.is_some()
        {
            self.sealed_secret = None;
            changed = true;
        }
        changed
    }

    /// The transitions below are the reference semantics; the Redis Lua
    /// scripts mirror them and the conformance suite holds both to it.
    pub fn consume_view(&mut self, view: &ViewEvent, replay: Option<&ReplayKey>) -> ConsumeOutcome {
        if let Some(repeated) = replay.and_then(|key| self.replay_for(key, view.at)) {
            return ConsumeOutcome::Replayed {
                views_remaining: repeated.views_remaining,
            };
        }
        if self.state != SecretState::Live || self.views_remaining == 0 {
            return ConsumeOutcome::NotLive;
        }
        if Claim::holds(self.claim.as_ref(), view.at) {
            return ConsumeOutcome::Busy;
        }
        self.views_remaining -= 1;
        self.views.push(view.clone());
        self.replays.retain(|r| r.until > view.at);
        if let Some(key) = replay {
            self.replays.push(Replay {
                key_hash: key.to_vec(),
                until: view.at + REPLAY_WINDOW_SECS,
                views_remaining: self.views_remaining,
            });
        }
        if self.views_remaining == 0 {
            self.state = SecretState::Revealed;
            self.ended_at = Some(view.at);
            // Kept only for a reveal that may be repeated; the sweeper
            // deletes it when the window has passed.
            if self.replays.is_empty() {
                self.sealed_secret = None;
            }
        }
        ConsumeOutcome::Consumed {
            views_remaining: self.views_remaining,
        }
    }

    pub fn fail_passphrase(&mut self, at: UnixTime) -> PassphraseOutcome {
        if self.state != SecretState::Live {
            return PassphraseOutcome::NotLive;
        }
        self.failed_passphrases += 1;
        if self.failed_passphrases >= MAX_PASSPHRASE_ATTEMPTS {
            self.end(SecretState::Destroyed, at);
            PassphraseOutcome::Destroyed
        } else {
            PassphraseOutcome::AttemptsRemaining(MAX_PASSPHRASE_ATTEMPTS - self.failed_passphrases)
        }
    }

    pub fn claim(&mut self, claim: &Claim, now: UnixTime) -> ClaimOutcome {
        if self.state != SecretState::Live {
            return ClaimOutcome::NotLive;
        }
        if let Some(held) = self.claim.as_ref().filter(|c| c.until > now) {
            return ClaimOutcome::Busy { until: held.until };
        }
        let before = self.clone();
        self.claim = Some(claim.clone());
        ClaimOutcome::Claimed(Box::new(before))
    }

    /// Ends the secret as applied, if `claim_id` still holds it.
    pub fn commit_claim(&mut self, claim_id: &str, at: UnixTime) -> bool {
        if self.state != SecretState::Live || self.claim.as_ref().is_none_or(|c| c.id != claim_id) {
            return false;
        }
        self.claim = None;
        self.end(SecretState::Applied, at);
        true
    }

    pub fn release_claim(&mut self, claim_id: &str) -> bool {
        if self.claim.as_ref().is_some_and(|c| c.id == claim_id) {
            self.claim = None;
            true
        } else {
            false
        }
    }

    /// On a secret already revealed, still deletes a payload kept for a
    /// replay: the sender wants it gone.
    pub fn revoke(&mut self, at: UnixTime) -> RevokeOutcome {
        if self.state == SecretState::Live {
            self.end(SecretState::Revoked, at);
            RevokeOutcome::Revoked
        } else {
            self.sealed_secret = None;
            self.replays.clear();
            RevokeOutcome::AlreadyEnded
        }
    }
}

/// Byte fields as base64 text in JSON, so a record stays compact and readable.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        STANDARD_NO_PAD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }

    pub mod optional {
        use super::{Deserialize, Deserializer, STANDARD_NO_PAD, Serializer};
        use base64::Engine as _;

        #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<T>`.
        pub fn serialize<S: Serializer>(
            bytes: &Option<Vec<u8>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(bytes) => serializer.serialize_some(&STANDARD_NO_PAD.encode(bytes)),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Vec<u8>>, D::Error> {
            Option::<&str>::deserialize(deserializer)?
                .map(|text| {
                    STANDARD_NO_PAD
                        .decode(text)
                        .map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}
