//! The default store: one redb file in the data folder. Every change runs
//! inside a redb write transaction (serialised, durable on commit), which
//! makes the check-and-consume atomic for this process; concurrent changes
//! share one transaction and one fsync (group commit, [`group_commit`]).
//! One process owns the file; several instances need Redis.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{
    Database, ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _,
    TableDefinition, WriteTransaction,
};
use tokio::sync::{mpsc, oneshot};

use super::{
    AuditStore, Claim, ClaimOutcome, ConsumeOutcome, Expired, Health, KeptFingerprint, OutboxItem,
    OutboxStore, PassphraseOutcome, Record, ReplayKey, RequestRecord, RequestStore, RevokeOutcome,
    SecretStore, StoreError, TenantRecord, TenantStore, Versioned, ViewEvent,
};
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::{SecretId, UnixTime, now};

/// redb's page cache, write buffer included; it fills under load and is
/// most of the server's resident memory (a 32 MiB cache gave a peak of
/// about 80 MiB under 32 connections, 16 MiB about 56 MiB, with the same
/// throughput: pages it misses come from the kernel's page cache).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// id → record as JSON.
const SECRETS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("secrets");
/// id → request link record with its version, as JSON.
const REQUESTS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("requests");
/// tenant slug → its credential record with version, as JSON.
const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
/// `(at, event_id)` → audit event as JSON.
const AUDIT: TableDefinition<(i64, &str), &[u8]> = TableDefinition::new("audit");
/// `(subject, at, event_id)` → `()`: one secret's or request's events.
const AUDIT_BY_SUBJECT: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("audit_by_subject");
/// Webhook outbox: `webhook-id` → item as JSON. Opened (and created) by
/// the outbox's own write transactions.
const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");
/// `(due_ms, webhook-id)` → `()`, so a claim reads only what is due.
const OUTBOX_DUE: TableDefinition<(i64, &str), ()> = TableDefinition::new("outbox_due");
/// `(expires_at, id)` → `()`, so the sweeper reads only what has expired.
const EXPIRY: TableDefinition<(i64, [u8; 16]), ()> = TableDefinition::new("expiry");
/// Facts about the store itself: [`KEY_FINGERPRINT`].
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The fingerprint of the server key the records are sealed with.
const KEY_FINGERPRINT: &str = "key_fingerprint";
/// `(until, id)` → `()`: payloads kept for a replay (of a reveal or a
/// retrieval), deleted by the sweeper once the window has passed.
const KEPT: TableDefinition<(i64, [u8; 16]), ()> = TableDefinition::new("kept");

pub struct EmbeddedStore {
    db: Arc<Database>,
    path: PathBuf,
    /// Write jobs for [`group_commit`]; `None` only while dropping.
    jobs: Option<mpsc::Sender<Box<dyn WriteJob>>>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// Read jobs for the [`READERS`] reader threads; `None` only while
    /// dropping.
    reads: Option<mpsc::Sender<ReadJob>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// A read, run on one of the reader threads; it answers its caller itself.
type ReadJob = Box<dyn FnOnce(&Database) + Send>;

/// Threads that run reads. A read mostly finds its pages in the cache and
/// takes microseconds, so a few threads keep up with any number of
/// clients. On the blocking pool instead, 32 clients' reads kept some 50
/// threads alive, each with an allocator heap of its own, and the server's
/// resident memory past 90 MiB.
const READERS: usize = 2;
/// Reads waiting for a reader; a caller beyond it waits to enqueue.
const READ_QUEUE: usize = 1024;

/// Write jobs waiting for the writer; a caller beyond it waits to enqueue
/// (each store call is bounded by the service's store timeout).
const WRITE_QUEUE: usize = 1024;
/// The most jobs one transaction (and one fsync) holds.
const MAX_BATCH: usize = 256;

/// One caller's change, run inside a write transaction shared with others.
trait WriteJob: Send {
    /// Runs the change; it may run again (in a transaction of its own) if
    /// another job of the batch failed, so it keeps nothing between runs.
    fn run(&mut self, txn: &WriteTransaction) -> Result<(), StoreError>;
    /// Answers the caller once the transaction holding the change has been
    /// committed (`Ok`) or has failed.
    fn answer(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Pending<T, F> {
    work: F,
    outcome: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Pending<T, F>
where
    T: Send,
    F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, txn: &WriteTransaction) -> Result<(), StoreError> {
        self.outcome = Some((self.work)(txn)?);
        Ok(())
    }

    fn answer(self: Box<Self>, committed: Result<(), StoreError>) {
        let Self { outcome, reply, .. } = *self;
        let result = committed.and_then(|()| {
            outcome.ok_or_else(|| unavailable("a write job was answered without running"))
        });
        // The caller may have given up waiting (a store timeout); the change
        // is committed all the same, which is why callers treat a timeout as
        // an unknown outcome.
        let _ = reply.send(result);
    }
}

/// The one writer: group commit. It takes every job waiting (up to
/// [`MAX_BATCH`]), runs them in one write transaction, commits once — one
/// fsync for all of them — and only then answers each. redb serialises
/// write transactions anyway; without this, every durable write waited for
/// its own fsync behind all the others. If a job fails, the batch is rolled
/// back and each job runs again in a transaction of its own, so one bad
/// record never fails its neighbours.
fn group_commit(db: &Database, mut queue: mpsc::Receiver<Box<dyn WriteJob>>) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if commit_batch(db, &mut batch).is_ok() {
            for job in batch.drain(..) {
                job.answer(Ok(()));
            }
        } else {
            for mut job in batch.drain(..) {
                let alone = commit_batch(db, std::slice::from_mut(&mut job));
                job.answer(alone);
            }
        }
    }
}

fn commit_batch(db: &Database, batch: &mut [Box<dyn WriteJob>]) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    for job in batch.iter_mut() {
        // An error drops `txn`, which rolls the whole batch back.
        job.run(&txn)?;
    }
    txn.commit().map_err(unavailable)
}

impl Drop for EmbeddedStore {
    /// Closes the queues and waits for the writer and the readers to finish
    /// what they hold, so that the file is closed when the store is gone (a reopen in the
    /// same process then succeeds).
    fn drop(&mut self) {
        self.jobs.take();
        self.reads.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn decode(bytes: &[u8]) -> Result<Record, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode_request(bytes: &[u8]) -> Result<Versioned<RequestRecord>, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn encode_request(request: &Versioned<RequestRecord>) -> Vec<u8> {
    serde_json::to_vec(request).expect("a request always serialises")
}

fn encode(record: &Record) -> Vec<u8> {
    serde_json::to_vec(record).expect("a record always serialises")
}

impl EmbeddedStore {
    /// Opens (or creates) `folder/secrets.redb`.
    pub fn open(folder: &Path) -> Result<Self, StoreError> {
        let path = folder.join("secrets.redb");
        let db = redb::Builder::new()
            // redb's default cache is 1 GiB; secrets are small and hot for
            // minutes; a modest cache is plenty.
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(SECRETS).map_err(unavailable)?;
        txn.open_table(EXPIRY).map_err(unavailable)?;
        txn.open_table(KEPT).map_err(unavailable)?;
        txn.open_table(REQUESTS).map_err(unavailable)?;
        txn.open_table(AUDIT).map_err(unavailable)?;
        txn.open_table(AUDIT_BY_SUBJECT).map_err(unavailable)?;
        txn.open_table(TENANTS).map_err(unavailable)?;
        txn.open_table(META).map_err(unavailable)?;
        // The outbox tables too, so that the writer never has to create a
        // table while other jobs of its batch hold theirs open.
        txn.open_table(OUTBOX).map_err(unavailable)?;
        txn.open_table(OUTBOX_DUE).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        let (jobs, queue) = mpsc::channel(WRITE_QUEUE);
        let writer = std::thread::Builder::new()
            .name("handoff-embedded-writer".into())
            .spawn({
                let db = Arc::clone(&db);
                move || group_commit(&db, queue)
            })
            .map_err(unavailable)?;
        let (reads, read_queue) = mpsc::channel::<ReadJob>(READ_QUEUE);
        let read_queue = Arc::new(std::sync::Mutex::new(read_queue));
        let readers = (0..READERS)
            .map(|n| {
                let db = Arc::clone(&db);
                let queue = Arc::clone(&read_queue);
                std::thread::Builder::new()
                    .name(format!("handoff-embedded-reader-{n}"))
                    .spawn(move || {
                        loop {
                            // One reader waits on the queue at a time; the
                            // others wait for the lock.
                            let job = queue
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .blocking_recv();
                            let Some(job) = job else { break };
                            // A read that panics answers nothing (its
                            // caller sees the store unavailable) and leaves
                            // the thread to serve the next.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                job(&db);
                            }));
                        }
                    })
                    .map_err(unavailable)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            db,
            path,
            jobs: Some(jobs),
            writer: Some(writer),
            reads: Some(reads),
            readers,
        })
    }

    /// Whether the file holds no secret, no request and no key
    /// fingerprint: only then may a new server key be made for it.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let secrets = txn.open_table(SECRETS).map_err(unavailable)?;
        let requests = txn.open_table(REQUESTS).map_err(unavailable)?;
        let meta = txn.open_table(META).map_err(unavailable)?;
        Ok(secrets.is_empty().map_err(unavailable)?
            && requests.is_empty().map_err(unavailable)?
            && meta.get(KEY_FINGERPRINT).map_err(unavailable)?.is_none())
    }

    /// redb blocks on disk I/O, so every read runs on a reader thread.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let stopped = || unavailable("the embedded store's readers have stopped");
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |db: &Database| {
            // The caller may have given up waiting (a store timeout).
            let _ = reply.send(work(db));
        });
        self.reads
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `work` in the writer's next transaction and answers once that
    /// transaction is durable.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let stopped = || unavailable("the embedded store's writer has stopped");
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Pending {
            work,
            outcome: None,
            reply,
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// One write that reads the live record, lets `change` update it, and
    /// writes it back if `change` says so (indexing a payload kept for a
    /// replay in the same transaction).
    async fn update<T: Send + 'static>(
        &self,
        id: &SecretId,
        mut change: impl FnMut(Option<&mut Record>) -> (T, bool) + Send + 'static,
    ) -> Result<T, StoreError> {
        let key = *id.as_bytes();
        self.write(move |txn| {
            let outcome = {
                let mut table = txn.open_table(SECRETS).map_err(unavailable)?;
                let mut record = match table.get(key).map_err(unavailable)? {
                    Some(bytes) => Some(decode(bytes.value())?),
                    None => None,
                }
                .filter(|r| !r.is_expired(now()));
                let (outcome, changed) = change(record.as_mut());
                if let (true, Some(record)) = (changed, record) {
                    table
                        .insert(key, encode(&record).as_slice())
                        .map_err(unavailable)?;
                    if let Some(until) = record.kept_until() {
                        txn.open_table(KEPT)
                            .map_err(unavailable)?
                            .insert((until, key), ())
                            .map_err(unavailable)?;
                    }
                }
                outcome
            };
            Ok(outcome)
        })
        .await
    }
}

#[async_trait]
impl SecretStore for EmbeddedStore {
    async fn insert(&self, id: &SecretId, record: &Record) -> Result<(), StoreError> {
        let key = *id.as_bytes();
        let expires_at = record.meta.expires_at;
        let bytes = encode(record);
        self.write(move |txn| {
            txn.open_table(SECRETS)
                .map_err(unavailable)?
                .insert(key, bytes.as_slice())
                .map_err(unavailable)?;
            txn.open_table(EXPIRY)
                .map_err(unavailable)?
                .insert((expires_at, key), ())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn load(&self, id: &SecretId) -> Result<Option<Record>, StoreError> {
        let key = *id.as_bytes();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(SECRETS).map_err(unavailable)?;
            let Some(bytes) = table.get(key).map_err(unavailable)? else {
                return Ok(None);
            };
            Ok(Some(decode(bytes.value())?).filter(|r| !r.is_expired(now())))
        })
        .await
    }

    async fn consume_view(
        &self,
        id: &SecretId,
        view: &ViewEvent,
        replay: Option<&ReplayKey>,
    ) -> Result<ConsumeOutcome, StoreError> {
        let (view, replay) = (view.clone(), replay.copied());
        self.update(id, move |record| match record {
            Some(record) => {
                let outcome = record.consume_view(&view, replay.as_ref());
                (outcome, matches!(outcome, ConsumeOutcome::Consumed { .. }))
            }
            None => (ConsumeOutcome::NotLive, false),
        })
        .await
    }

    async fn claim(
        &self,
        id: &SecretId,
        claim: &Claim,
        now: UnixTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let claim = claim.clone();
        self.update(id, move |record| match record {
            Some(record) => {
                let outcome = record.claim(&claim, now);
                let changed = matches!(outcome, ClaimOutcome::Claimed(_));
                (outcome, changed)
            }
            None => (ClaimOutcome::NotLive, false),
        })
        .await
    }

    async fn commit_claim(
        &self,
        id: &SecretId,
        claim_id: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let claim_id = claim_id.to_owned();
        self.update(id, move |record| {
            let committed = record.is_some_and(|r| r.commit_claim(&claim_id, at));
            (committed, committed)
        })
        .await
    }

    async fn release_claim(&self, id: &SecretId, claim_id: &str) -> Result<(), StoreError> {
        let claim_id = claim_id.to_owned();
        self.update(id, move |record| {
            let released = record.is_some_and(|r| r.release_claim(&claim_id));
            ((), released)
        })
        .await
    }

    async fn fail_passphrase(
        &self,
        id: &SecretId,
        at: UnixTime,
    ) -> Result<PassphraseOutcome, StoreError> {
        self.update(id, move |record| match record {
            Some(record) => {
                let outcome = record.fail_passphrase(at);
                (outcome, outcome != PassphraseOutcome::NotLive)
            }
            None => (PassphraseOutcome::NotLive, false),
        })
        .await
    }

    async fn revoke(&self, id: &SecretId, at: UnixTime) -> Result<RevokeOutcome, StoreError> {
        self.update(id, move |record| match record {
            Some(record) => {
                let had_payload = record.sealed_secret.is_some();
                let outcome = record.revoke(at);
                (outcome, outcome == RevokeOutcome::Revoked || had_payload)
            }
            None => (RevokeOutcome::Missing, false),
        })
        .await
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<Vec<Expired>, StoreError> {
        self.write(move |txn| {
            let mut expired = Vec::new();
            {
                let mut expiry = txn.open_table(EXPIRY).map_err(unavailable)?;
                let mut secrets = txn.open_table(SECRETS).map_err(unavailable)?;
                let mut requests = txn.open_table(REQUESTS).map_err(unavailable)?;
                let due: Vec<(i64, [u8; 16])> = expiry
                    .range(..=(now, [0xff; 16]))
                    .map_err(unavailable)?
                    .map(|entry| entry.map(|(key, _)| key.value()))
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                for (expires_at, id) in due {
                    expiry.remove((expires_at, id)).map_err(unavailable)?;
                    let secret_id = SecretId::from_bytes(id);
                    if let Some(bytes) = secrets.remove(id).map_err(unavailable)? {
                        expired.push(Expired::secret(secret_id, &decode(bytes.value())?));
                    }
                    if let Some(bytes) = requests.remove(id).map_err(unavailable)? {
                        expired.push(Expired::request(
                            secret_id,
                            &decode_request(bytes.value())?.value,
                        ));
                    }
                }
                drop_lapsed_replays(txn, &mut secrets, &mut requests, now)?;
            }
            Ok(expired)
        })
        .await
    }
}

/// Deletes the payloads kept for replays whose window has passed; a record
/// with a later window still open goes back into the index under it.
fn drop_lapsed_replays(
    txn: &redb::WriteTransaction,
    secrets: &mut redb::Table<[u8; 16], &[u8]>,
    requests: &mut redb::Table<[u8; 16], &[u8]>,
    now: UnixTime,
) -> Result<(), StoreError> {
    let mut kept = txn.open_table(KEPT).map_err(unavailable)?;
    let due: Vec<(i64, [u8; 16])> = kept
        .range(..=(now, [0xff; 16]))
        .map_err(unavailable)?
        .map(|entry| entry.map(|(key, _)| key.value()))
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    for (until, id) in due {
        kept.remove((until, id)).map_err(unavailable)?;
        let secret = match secrets.get(id).map_err(unavailable)? {
            Some(bytes) => Some(decode(bytes.value())?),
            None => None,
        };
        if let Some(mut record) = secret
            && record.drop_lapsed_replays(now)
        {
            secrets
                .insert(id, encode(&record).as_slice())
                .map_err(unavailable)?;
            if let Some(later) = record.kept_until() {
                kept.insert((later, id), ()).map_err(unavailable)?;
            }
        }
        let request = match requests.get(id).map_err(unavailable)? {
            Some(bytes) => Some(decode_request(bytes.value())?),
            None => None,
        };
        if let Some(mut request) = request
            && request.value.drop_lapsed_replay(now)
        {
            request.version += 1;
            requests
                .insert(id, encode_request(&request).as_slice())
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

#[async_trait]
impl RequestStore for EmbeddedStore {
    async fn insert_request(
        &self,
        id: &SecretId,
        record: &RequestRecord,
    ) -> Result<(), StoreError> {
        let key = *id.as_bytes();
        let expires_at = record.expires_at;
        let bytes = encode_request(&Versioned {
            version: 1,
            value: record.clone(),
        });
        self.write(move |txn| {
            txn.open_table(REQUESTS)
                .map_err(unavailable)?
                .insert(key, bytes.as_slice())
                .map_err(unavailable)?;
            txn.open_table(EXPIRY)
                .map_err(unavailable)?
                .insert((expires_at, key), ())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn load_request(
        &self,
        id: &SecretId,
    ) -> Result<Option<Versioned<RequestRecord>>, StoreError> {
        let key = *id.as_bytes();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(REQUESTS).map_err(unavailable)?;
            let Some(bytes) = table.get(key).map_err(unavailable)? else {
                return Ok(None);
            };
            Ok(Some(decode_request(bytes.value())?).filter(|r| !r.value.is_expired(now())))
        })
        .await
    }

    async fn replace_request(
        &self,
        id: &SecretId,
        expected: u64,
        record: &RequestRecord,
    ) -> Result<bool, StoreError> {
        let key = *id.as_bytes();
        let bytes = encode_request(&Versioned {
            version: expected + 1,
            value: record.clone(),
        });
        let kept_until = record.replay.as_ref().map(|r| r.until);
        self.write(move |txn| {
            let replaced = {
                let mut table = txn.open_table(REQUESTS).map_err(unavailable)?;
                let current = match table.get(key).map_err(unavailable)? {
                    Some(stored) => Some(decode_request(stored.value())?.version),
                    None => None,
                };
                if current == Some(expected) {
                    table.insert(key, bytes.as_slice()).map_err(unavailable)?;
                    if let Some(until) = kept_until {
                        txn.open_table(KEPT)
                            .map_err(unavailable)?
                            .insert((until, key), ())
                            .map_err(unavailable)?;
                    }
                    true
                } else {
                    false
                }
            };
            Ok(replaced)
        })
        .await
    }

    async fn list_requests(&self) -> Result<Vec<(SecretId, RequestRecord)>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(REQUESTS).map_err(unavailable)?;
            let now = now();
            let mut requests = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let request = decode_request(value.value())?;
                if !request.value.is_expired(now) {
                    requests.push((SecretId::from_bytes(key.value()), request.value));
                }
            }
            Ok(requests)
        })
        .await
    }
}

#[async_trait]
impl TenantStore for EmbeddedStore {
    async fn load_tenant_record(
        &self,
        tenant: &str,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError> {
        let tenant = tenant.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TENANTS).map_err(unavailable)?;
            let Some(bytes) = table.get(tenant.as_str()).map_err(unavailable)? else {
                return Ok(None);
            };
            serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .await
    }

    async fn replace_tenant_record(
        &self,
        tenant: &str,
        expected: u64,
        record: &TenantRecord,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.to_owned();
        let bytes = serde_json::to_vec(&Versioned {
            version: expected + 1,
            value: record.clone(),
        })
        .expect("a tenant record always serialises");
        self.write(move |txn| {
            let replaced = {
                let mut table = txn.open_table(TENANTS).map_err(unavailable)?;
                let current = match table.get(tenant.as_str()).map_err(unavailable)? {
                    Some(stored) => {
                        serde_json::from_slice::<Versioned<TenantRecord>>(stored.value())
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?
                            .version
                    }
                    None => 0,
                };
                if current == expected {
                    table
                        .insert(tenant.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                    true
                } else {
                    false
                }
            };
            Ok(replaced)
        })
        .await
    }

    async fn list_tenant_records(&self) -> Result<Vec<(String, TenantRecord)>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TENANTS).map_err(unavailable)?;
            let mut records = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let record: Versioned<TenantRecord> = serde_json::from_slice(value.value())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                records.push((key.value().to_owned(), record.value));
            }
            Ok(records)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for EmbeddedStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |txn| {
            {
                let mut audit = txn.open_table(AUDIT).map_err(unavailable)?;
                let mut by_subject = txn.open_table(AUDIT_BY_SUBJECT).map_err(unavailable)?;
                for event in &events {
                    let json = serde_json::to_vec(event).expect("an audit event always serialises");
                    audit
                        .insert((event.at, event.event_id.as_str()), json.as_slice())
                        .map_err(unavailable)?;
                    if let Some(subject) = &event.subject {
                        by_subject
                            .insert((subject.as_str(), event.at, event.event_id.as_str()), ())
                            .map_err(unavailable)?;
                    }
                }
            }
            Ok(())
        })
        .await
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let query = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let audit = txn.open_table(AUDIT).map_err(unavailable)?;
            let decode_event = |bytes: &[u8]| -> Result<AuditEvent, StoreError> {
                serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            };
            let mut found = Vec::new();
            if let Some(subject) = &query.subject {
                // One secret's events: the subject index, not a scan.
                let index = txn.open_table(AUDIT_BY_SUBJECT).map_err(unavailable)?;
                let range =
                    (subject.as_str(), query.since, "")..=(subject.as_str(), query.until, "~");
                for entry in index.range(range).map_err(unavailable)?.rev() {
                    let (key, _) = entry.map_err(unavailable)?;
                    let (_, at, event_id) = key.value();
                    if let Some(bytes) = audit.get((at, event_id)).map_err(unavailable)? {
                        let event = decode_event(bytes.value())?;
                        if query.matches(&event) {
                            found.push(event);
                        }
                    }
                    if found.len() >= query.limit {
                        break;
                    }
                }
            } else {
                for entry in audit
                    .range((query.since, "")..=(query.until, "~"))
                    .map_err(unavailable)?
                    .rev()
                {
                    let (_, bytes) = entry.map_err(unavailable)?;
                    let event = decode_event(bytes.value())?;
                    if query.matches(&event) {
                        found.push(event);
                    }
                    if found.len() >= query.limit {
                        break;
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn purge_audit(&self, before: UnixTime) -> Result<u64, StoreError> {
        self.write(move |txn| {
            let mut purged = 0;
            {
                let mut audit = txn.open_table(AUDIT).map_err(unavailable)?;
                let mut by_subject = txn.open_table(AUDIT_BY_SUBJECT).map_err(unavailable)?;
                let old: Vec<(i64, String, Option<String>)> = audit
                    .range(..(before, ""))
                    .map_err(unavailable)?
                    .map(|entry| {
                        let (key, value) = entry.map_err(unavailable)?;
                        let (at, event_id) = key.value();
                        let subject = serde_json::from_slice::<AuditEvent>(value.value())
                            .ok()
                            .and_then(|e| e.subject);
                        Ok((at, event_id.to_owned(), subject))
                    })
                    .collect::<Result<_, StoreError>>()?;
                for (at, event_id, subject) in old {
                    audit.remove((at, event_id.as_str())).map_err(unavailable)?;
                    if let Some(subject) = subject {
                        by_subject
                            .remove((subject.as_str(), at, event_id.as_str()))
                            .map_err(unavailable)?;
                    }
                    purged += 1;
                }
            }
            Ok(purged)
        })
        .await
    }
}

fn decode_outbox(bytes: &[u8]) -> Result<OutboxItem, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn encode_outbox(item: &OutboxItem) -> Vec<u8> {
    serde_json::to_vec(item).expect("an outbox item always serialises")
}

impl EmbeddedStore {
    /// One write on the outbox and its due index.
    async fn outbox_transaction<T: Send + 'static>(
        &self,
        mut change: impl FnMut(
            &mut redb::Table<&str, &[u8]>,
            &mut redb::Table<(i64, &str), ()>,
        ) -> Result<T, StoreError>
        + Send
        + 'static,
    ) -> Result<T, StoreError> {
        self.write(move |txn| {
            let outcome = {
                let mut items = txn.open_table(OUTBOX).map_err(unavailable)?;
                let mut due = txn.open_table(OUTBOX_DUE).map_err(unavailable)?;
                change(&mut items, &mut due)?
            };
            Ok(outcome)
        })
        .await
    }
}

/// The stored item with `id`, if any.
fn stored_outbox(
    items: &redb::Table<&str, &[u8]>,
    id: &str,
) -> Result<Option<OutboxItem>, StoreError> {
    match items.get(id).map_err(unavailable)? {
        Some(bytes) => Ok(Some(decode_outbox(bytes.value())?)),
        None => Ok(None),
    }
}

/// Writes `item` and its due-index entry, replacing `before`'s.
fn put_outbox(
    items: &mut redb::Table<&str, &[u8]>,
    due: &mut redb::Table<(i64, &str), ()>,
    before: Option<&OutboxItem>,
    item: &OutboxItem,
) -> Result<(), StoreError> {
    if let Some(before) = before {
        due.remove((before.due_ms, before.id.as_str()))
            .map_err(unavailable)?;
    }
    items
        .insert(item.id.as_str(), encode_outbox(item).as_slice())
        .map_err(unavailable)?;
    due.insert((item.due_ms, item.id.as_str()), ())
        .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl OutboxStore for EmbeddedStore {
    async fn enqueue_outbox(&self, item: &OutboxItem, capacity: usize) -> Result<bool, StoreError> {
        let item = item.clone();
        self.outbox_transaction(move |items, due| {
            let before = stored_outbox(items, &item.id)?;
            if before.is_none() && items.len().map_err(unavailable)? >= capacity as u64 {
                return Ok(false);
            }
            put_outbox(items, due, before.as_ref(), &item)?;
            Ok(true)
        })
        .await
    }

    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // Every instance polls every second: look before taking the write
        // lock (and a commit's disk flush) when nothing is due.
        let any_due = self
            .blocking(move |db| {
                let txn = db.begin_read().map_err(unavailable)?;
                let due = match txn.open_table(OUTBOX_DUE) {
                    Ok(due) => due,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
                    Err(error) => return Err(unavailable(error)),
                };
                Ok(due
                    .first()
                    .map_err(unavailable)?
                    .is_some_and(|(key, _)| key.value().0 <= now_ms))
            })
            .await?;
        if !any_due {
            return Ok(Vec::new());
        }
        self.outbox_transaction(move |items, due| {
            let ids: Vec<String> = due
                .range(..=(now_ms, "\u{10FFFF}"))
                .map_err(unavailable)?
                .take(limit)
                .map(|entry| entry.map(|(key, _)| key.value().1.to_owned()))
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(before) = stored_outbox(items, &id)? else {
                    continue;
                };
                let mut item = before.clone();
                item.due_ms = lease_until_ms;
                put_outbox(items, due, Some(&before), &item)?;
                claimed.push(item);
            }
            Ok(claimed)
        })
        .await
    }

    async fn reschedule_outbox(
        &self,
        item: &OutboxItem,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let item = item.clone();
        self.outbox_transaction(move |items, due| match stored_outbox(items, &item.id)? {
            Some(before) if before.due_ms == lease_ms => {
                put_outbox(items, due, Some(&before), &item)?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await
    }

    async fn remove_outbox(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.outbox_transaction(move |items, due| {
            let Some(before) = stored_outbox(items, &id)? else {
                return Ok(false);
            };
            items.remove(id.as_str()).map_err(unavailable)?;
            due.remove((before.due_ms, id.as_str()))
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl Health for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|db| db.begin_read().map(drop).map_err(unavailable))
            .await
    }

    fn describe(&self) -> String {
        format!("embedded ({})", self.path.display())
    }

    async fn keep_key_fingerprint(
        &self,
        fingerprint: &[u8],
    ) -> Result<KeptFingerprint, StoreError> {
        let fingerprint = fingerprint.to_vec();
        self.write(move |txn| {
            let outcome = {
                let mut meta = txn.open_table(META).map_err(unavailable)?;
                let kept = meta
                    .get(KEY_FINGERPRINT)
                    .map_err(unavailable)?
                    .map(|kept| kept.value().to_vec());
                if let Some(kept) = kept {
                    KeptFingerprint::Kept(kept)
                } else {
                    let secrets = txn.open_table(SECRETS).map_err(unavailable)?;
                    let requests = txn.open_table(REQUESTS).map_err(unavailable)?;
                    let adopted = !secrets.is_empty().map_err(unavailable)?
                        || !requests.is_empty().map_err(unavailable)?;
                    meta.insert(KEY_FINGERPRINT, fingerprint.as_slice())
                        .map_err(unavailable)?;
                    KeptFingerprint::Recorded { adopted }
                }
            };
            Ok(outcome)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_at: i64) -> Record {
        let meta = crate::store::SecretMeta {
            created_at: expires_at - 60,
            expires_at,
            views_allowed: 1,
            key_check: vec![0; 16],
            manage_token_hash: vec![0; 32],
            passphrase_salt: None,
            sealed_note: None,
            sealed_label: None,
            key_fingerprint: None,
        };
        Record::new(meta, vec![9; 8])
    }

    fn secrets_in(store: &EmbeddedStore) -> u64 {
        let txn = store.db.begin_read().unwrap();
        txn.open_table(SECRETS).unwrap().len().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_write_fails_alone_and_its_batch_neighbours_commit() {
        let folder = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(folder.path()).unwrap());
        let writes = (0..64).map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                if n % 8 == 0 {
                    store
                        .write(|txn| {
                            txn.open_table(SECRETS)
                                .map_err(unavailable)?
                                .insert([0xEE; 16], b"debris".as_slice())
                                .map_err(unavailable)?;
                            Err::<(), _>(StoreError::Corrupt("a bad record".into()))
                        })
                        .await
                } else {
                    store
                        .insert(&SecretId::generate(), &record(now() + 3600))
                        .await
                }
            })
        });
        let outcomes = futures_join(writes).await;
        let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
        assert_eq!(failed, 8, "only the eight failing writes fail");
        assert_eq!(secrets_in(&store), 56, "no write of a failed job is kept");
    }

    async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut outcomes = Vec::new();
        for handle in handles.collect::<Vec<_>>() {
            outcomes.push(handle.await.unwrap());
        }
        outcomes
    }

    #[tokio::test]
    async fn the_file_is_closed_when_the_store_is_dropped() {
        let folder = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(folder.path()).unwrap();
        store
            .insert(&SecretId::generate(), &record(now() + 3600))
            .await
            .unwrap();
        drop(store);
        let reopened = EmbeddedStore::open(folder.path()).expect("the writer let go of the file");
        assert_eq!(secrets_in(&reopened), 1);
    }
}
