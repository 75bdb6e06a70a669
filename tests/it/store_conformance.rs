//! One suite, every store: the same behaviour and the same concurrency
//! guarantees from memory, the embedded redb file, and Redis.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use handoff::audit::{Actor, AuditEvent, AuditQuery, Kind};
use handoff::crypto::ServerKey;
use handoff::domain::{
    IdempotencyKey, LinkKey, Note, Passphrase, SecretId, SecretText, Ttl, Views, now,
};
use handoff::service::{Client, Created, Deleter, NewSecret, Service, ServiceError};
use handoff::store::{
    AnswerRecord, Claim, ClaimOutcome, ConsumeOutcome, EmbeddedStore, Expired, ExpiredKind,
    GuardedView, KeptFingerprint, MemoryStore, OutboxItem, OutboxStore as _, REPLAY_WINDOW_SECS,
    Record, RedisStore, Replay, RequestRecord, RequestState, RevealGuard, SecretMeta, SecretState,
    SecretStore, SharedStore, TenantRecord, VerificationRecord, ViewEvent,
};
use zeroize::Zeroizing;

use crate::common::{RedisCluster, RedisServer};

/// A store under test plus whatever keeps it alive (temp folder, Redis).
struct Fixture {
    store: SharedStore,
    _guard: Box<dyn Send + Sync>,
}

async fn memory_store() -> Fixture {
    Fixture {
        store: Arc::new(MemoryStore::new()),
        _guard: Box::new(()),
    }
}

async fn embedded_store() -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    Fixture {
        store: Arc::new(EmbeddedStore::open(folder.path()).unwrap()),
        _guard: Box::new(folder),
    }
}

async fn redis_store() -> Fixture {
    let server = RedisServer::start();
    Fixture {
        store: Arc::new(RedisStore::connect(&server.url(), RETENTION).await.unwrap()),
        _guard: Box::new(server),
    }
}

async fn cluster_store() -> Fixture {
    let cluster = RedisCluster::start();
    Fixture {
        store: Arc::new(
            RedisStore::connect(&cluster.url(), RETENTION)
                .await
                .unwrap(),
        ),
        _guard: Box::new(cluster),
    }
}

const RETENTION: Duration = Duration::from_secs(90 * 86_400);
/// How long after an expiry a sweep at most reports it: Redis lists what
/// falls due by the minute and sweeps a minute once it has passed.
const SWEPT_WITHIN: i64 = 2 * 60;

fn client() -> Client {
    Client {
        ip: "192.0.2.1".into(),
        user_agent: "conformance".into(),
        staff: None,
    }
}

fn new_secret(text: &str, views: u32, passphrase: Option<&str>) -> NewSecret {
    NewSecret {
        secret: SecretText::parse(Zeroizing::new(text.into()), 1024).unwrap(),
        ttl: Ttl::setting("1h").unwrap(),
        views: Views::setting(&views.to_string()).unwrap(),
        passphrase: Passphrase::parse_optional(passphrase.map(|p| Zeroizing::new(p.into())))
            .unwrap(),
        note: Note::parse_optional(Some("note")).unwrap(),
        label: None,
    }
}

async fn concurrent_reveals(
    service: &Arc<Service>,
    created: &Created,
    attempts: usize,
) -> (usize, usize) {
    let tasks = (0..attempts).map(|_| {
        let (service, id, key) = (Arc::clone(service), created.id, created.key.clone());
        tokio::spawn(async move { service.reveal(&id, &key, None, &client()).await })
    });
    let results = join_all(tasks).await;
    let revealed = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Ok(Err(ServiceError::Ended { .. } | ServiceError::NotFound))
            )
        })
        .count();
    (revealed, refused)
}

async fn one_view_secret_is_revealed_once_under_64_concurrent_reveals(fixture: Fixture) {
    let service = Arc::new(Service::new(fixture.store, ServerKey::generate()));
    let created = service
        .create(new_secret("once", 1, None), &client())
        .await
        .unwrap();
    assert_eq!(concurrent_reveals(&service, &created, 64).await, (1, 63));
}

async fn three_view_secret_is_revealed_three_times_under_64_concurrent_reveals(fixture: Fixture) {
    let service = Arc::new(Service::new(fixture.store, ServerKey::generate()));
    let created = service
        .create(new_secret("thrice", 3, None), &client())
        .await
        .unwrap();
    assert_eq!(concurrent_reveals(&service, &created, 64).await, (3, 61));
    let status = service
        .status(&created.id, &created.manage_token)
        .await
        .unwrap();
    assert_eq!(status.state, SecretState::Revealed);
    assert_eq!(status.views.len(), 3);
}

async fn reveal_returns_the_secret_and_metadata_consumes_nothing(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("value", 1, None), &client())
        .await
        .unwrap();
    for _ in 0..3 {
        let meta = service
            .metadata(&created.id, &created.key, &client())
            .await
            .unwrap();
        assert_eq!(meta.views_remaining, 1);
        assert_eq!(meta.note.unwrap().as_str(), "note");
    }
    let wrong = service
        .reveal(&created.id, &LinkKey::generate(), None, &client())
        .await;
    assert!(matches!(wrong, Err(ServiceError::NotFound)));
    let revealed = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "value");
    assert_eq!(revealed.views_remaining, 0);
}

async fn wrong_passphrases_are_counted_atomically_and_destroy_at_five(fixture: Fixture) {
    let service = Arc::new(Service::new(fixture.store, ServerKey::generate()));
    let created = service
        .create(new_secret("pp", 1, Some("right")), &client())
        .await
        .unwrap();
    let tasks = (0..8).map(|_| {
        let (service, id, key) = (Arc::clone(&service), created.id, created.key.clone());
        tokio::spawn(async move {
            let wrong = Passphrase::parse_optional(Some(Zeroizing::new("wrong".into()))).unwrap();
            service.reveal(&id, &key, wrong, &client()).await
        })
    });
    let results = join_all(tasks).await;
    let destroyed = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(ServiceError::DestroyedNow))))
        .count();
    assert_eq!(destroyed, 1, "exactly one attempt is the fifth");
    let right = Passphrase::parse_optional(Some(Zeroizing::new("right".into()))).unwrap();
    let after = service
        .reveal(&created.id, &created.key, right, &client())
        .await;
    assert!(matches!(
        after,
        Err(ServiceError::Ended {
            state: SecretState::Destroyed,
            ..
        })
    ));
}

async fn a_correct_passphrase_with_another_server_key_never_counts_or_destroys(fixture: Fixture) {
    let (right_key, wrong_key) = (ServerKey::generate(), ServerKey::generate());
    let sealer = Service::new(fixture.store.clone(), right_key.clone());
    let created = sealer
        .create(new_secret("pp", 1, Some("right")), &client())
        .await
        .unwrap();
    let plain = sealer
        .create(new_secret("plain", 1, None), &client())
        .await
        .unwrap();
    let right = || Passphrase::parse_optional(Some(Zeroizing::new("right".into()))).unwrap();

    let misconfigured = Service::new(fixture.store.clone(), wrong_key);
    for _ in 0..MAX_TRIES {
        let outcome = misconfigured
            .reveal(&created.id, &created.key, right(), &client())
            .await;
        assert!(
            matches!(outcome, Err(ServiceError::Undecryptable)),
            "{outcome:?}"
        );
    }
    assert!(matches!(
        misconfigured
            .reveal(&plain.id, &plain.key, None, &client())
            .await,
        Err(ServiceError::Undecryptable)
    ));
    assert!(matches!(
        misconfigured
            .metadata(&created.id, &created.key, &client())
            .await,
        Err(ServiceError::Undecryptable)
    ));
    let status = sealer
        .status(&created.id, &created.manage_token)
        .await
        .unwrap();
    assert_eq!(
        (status.state, status.failed_passphrases),
        (SecretState::Live, 0)
    );
    assert_eq!(status.views_remaining, 1);
    let status = sealer.status(&plain.id, &plain.manage_token).await.unwrap();
    assert_eq!(
        (status.state, status.views_remaining),
        (SecretState::Live, 1)
    );

    let revealed = Service::new(fixture.store, right_key)
        .reveal(&created.id, &created.key, right(), &client())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "pp");
}

/// One more than the wrong passphrases that destroy a secret.
const MAX_TRIES: u32 = handoff::store::MAX_PASSPHRASE_ATTEMPTS + 1;

async fn the_first_key_fingerprint_is_kept_and_handed_to_later_ones(fixture: Fixture) {
    let store = fixture.store;
    let (first, second) = ([1u8; 16], [2u8; 16]);
    assert_eq!(
        store.keep_key_fingerprint(&first).await.unwrap(),
        KeptFingerprint::Recorded { adopted: false }
    );
    for offered in [second, first] {
        assert_eq!(
            store.keep_key_fingerprint(&offered).await.unwrap(),
            KeptFingerprint::Kept(first.to_vec())
        );
    }
}

async fn a_store_with_records_but_no_fingerprint_adopts_the_first(fixture: Fixture) {
    let store = fixture.store;
    Service::new(store.clone(), ServerKey::generate())
        .create(new_secret("old", 1, None), &client())
        .await
        .unwrap();
    assert_eq!(
        store.keep_key_fingerprint(&[3u8; 16]).await.unwrap(),
        KeptFingerprint::Recorded { adopted: true }
    );
}

async fn one_of_many_instances_starting_at_once_records_its_fingerprint(fixture: Fixture) {
    let tasks = (0..16u8).map(|i| {
        let store = fixture.store.clone();
        tokio::spawn(async move { (i, store.keep_key_fingerprint(&[i; 16]).await.unwrap()) })
    });
    let outcomes: Vec<(u8, KeptFingerprint)> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<u8> = outcomes
        .iter()
        .filter(|(_, outcome)| matches!(outcome, KeptFingerprint::Recorded { .. }))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for (_, outcome) in &outcomes {
        if let KeptFingerprint::Kept(kept) = outcome {
            assert_eq!(kept, &vec![winners[0]; 16]);
        }
    }
}

async fn revoked_secret_cannot_be_revealed(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("r", 2, None), &client())
        .await
        .unwrap();
    service
        .delete(
            &created.id,
            &Deleter::Sender(created.manage_token.clone()),
            &client(),
        )
        .await
        .unwrap();
    let after = service
        .reveal(&created.id, &created.key, None, &client())
        .await;
    assert!(matches!(
        after,
        Err(ServiceError::Ended {
            state: SecretState::Revoked,
            ..
        })
    ));
    let record = service.store().load(&created.id).await.unwrap().unwrap();
    assert!(
        record.sealed_secret.is_none(),
        "the ciphertext itself is gone"
    );
}

async fn expired_records_are_gone_and_physically_deleted(fixture: Fixture) {
    let store = fixture.store;
    let id = SecretId::generate();
    store.insert(&id, &short_lived_record()).await.unwrap();
    assert!(store.load(&id).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;

    assert!(
        store.load(&id).await.unwrap().is_none(),
        "expired is never served"
    );
    let view = ViewEvent {
        at: now(),
        ip: "192.0.2.1".into(),
        user_agent: String::new(),
    };
    assert_eq!(
        store.consume_view(&id, &view, None).await.unwrap(),
        ConsumeOutcome::NotLive
    );
    // A store may sweep what expired by the minute (Redis does).
    let later = now() + SWEPT_WITHIN;
    let expired = store.purge_expired(later).await.unwrap();
    assert_eq!(
        expired,
        vec![Expired {
            id,
            kind: ExpiredKind::Secret,
            tenant: None,
            unused: true
        }],
        "reported once, as never revealed"
    );
    assert!(
        store.purge_expired(later).await.unwrap().is_empty(),
        "nothing left to delete"
    );
}

async fn a_revealed_secret_does_not_expire_unused(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let mut new = new_secret("x", 1, None);
    new.ttl = Ttl::setting("1m").unwrap();
    let created = service.create(new, &client()).await.unwrap();
    service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    let expired = service
        .store()
        .purge_expired(now() + 60 + SWEPT_WITHIN)
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);
    assert!(!expired[0].unused);
}

fn idempotency(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

/// The secret and the views left, or why not.
type RevealResult = Result<(String, u32), ServiceError>;

async fn reveal_with(service: &Service, created: &Created, key: Option<&str>) -> RevealResult {
    let key = key.map(idempotency);
    service
        .reveal_idempotent(&created.id, &created.key, None, key.as_ref(), &client())
        .await
        .map(|r| (r.secret.expose().to_owned(), r.views_remaining))
}

fn already_revealed(result: &RevealResult) -> bool {
    matches!(
        result,
        Err(ServiceError::Ended {
            state: SecretState::Revealed,
            ..
        })
    )
}

async fn a_reveal_repeated_with_its_idempotency_key_gets_the_same_secret_and_takes_no_view(
    fixture: Fixture,
) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("again", 1, None), &client())
        .await
        .unwrap();
    let first = reveal_with(&service, &created, Some("click-1"))
        .await
        .unwrap();
    assert_eq!(first, ("again".to_owned(), 0));
    let repeated = reveal_with(&service, &created, Some("click-1"))
        .await
        .unwrap();
    assert_eq!(repeated, first, "the same secret, the same views left");

    assert!(already_revealed(
        &reveal_with(&service, &created, Some("click-2")).await
    ));
    assert!(already_revealed(
        &reveal_with(&service, &created, None).await
    ));
    let status = service
        .status(&created.id, &created.manage_token)
        .await
        .unwrap();
    assert_eq!(status.views.len(), 1, "a repeat is not a view");
}

async fn a_repeated_reveal_of_a_two_view_secret_counts_once(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("twice", 2, None), &client())
        .await
        .unwrap();
    assert_eq!(
        reveal_with(&service, &created, Some("a")).await.unwrap().1,
        1
    );
    assert_eq!(
        reveal_with(&service, &created, Some("a")).await.unwrap().1,
        1
    );
    let record = service.store().load(&created.id).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.views_remaining),
        (SecretState::Live, 1)
    );
    assert_eq!(
        reveal_with(&service, &created, Some("b")).await.unwrap(),
        ("twice".to_owned(), 0)
    );
    assert_eq!(
        reveal_with(&service, &created, Some("a")).await.unwrap(),
        ("twice".to_owned(), 1),
        "each key repeats its own reveal"
    );
    assert!(already_revealed(
        &reveal_with(&service, &created, Some("c")).await
    ));
}

async fn concurrent_reveals_and_their_retries_deliver_a_one_view_secret_to_one_key(
    fixture: Fixture,
) {
    let service = Arc::new(Service::new(fixture.store, ServerKey::generate()));
    let created = Arc::new(
        service
            .create(new_secret("one", 1, None), &client())
            .await
            .unwrap(),
    );
    let tasks = (0..32).flat_map(|n| {
        let (service, created) = (Arc::clone(&service), Arc::clone(&created));
        (0..2).map(move |_| {
            let (service, created) = (Arc::clone(&service), Arc::clone(&created));
            tokio::spawn(async move {
                let key = format!("key-{n}");
                (
                    key.clone(),
                    reveal_with(&service, &created, Some(&key)).await,
                )
            })
        })
    });
    let results: Vec<(String, RevealResult)> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let delivered: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.as_ref().is_ok_and(|(s, _)| s == "one"))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(delivered.len(), 2, "both tries of one key: {delivered:?}");
    assert_eq!(delivered[0], delivered[1], "one key only");
    assert!(
        results
            .iter()
            .filter(|(key, _)| key != delivered[0])
            .all(|(_, r)| already_revealed(r)),
        "every other key finds it revealed"
    );
}

async fn after_the_replay_window_a_retry_finds_it_revealed_and_the_payload_is_gone(
    fixture: Fixture,
) {
    let store = fixture.store;
    let id = SecretId::generate();
    store
        .insert(&id, &one_view_record(now() + 3600))
        .await
        .unwrap();
    let t = now();
    let view = |at| ViewEvent {
        at,
        ip: "192.0.2.1".into(),
        user_agent: String::new(),
    };
    let (key, other) = ([7u8; 32], [8u8; 32]);
    assert_eq!(
        store.consume_view(&id, &view(t), Some(&key)).await.unwrap(),
        ConsumeOutcome::Consumed { views_remaining: 0 }
    );
    let kept = store.load(&id).await.unwrap().unwrap();
    assert_eq!(kept.state, SecretState::Revealed);
    assert_eq!(
        kept.sealed_secret.as_deref(),
        Some(&[1, 2, 3][..]),
        "kept for the window"
    );
    assert_eq!(kept.replays.len(), 1);
    assert_eq!(
        kept.replays[0].key_hash,
        key.to_vec(),
        "only the hash is kept"
    );
    assert_eq!(
        store
            .consume_view(&id, &view(t + 30), Some(&key))
            .await
            .unwrap(),
        ConsumeOutcome::Replayed { views_remaining: 0 }
    );
    for stranger in [Some(&other), None] {
        assert_eq!(
            store
                .consume_view(&id, &view(t + 30), stranger)
                .await
                .unwrap(),
            ConsumeOutcome::NotLive
        );
    }
    // Past the window (with room for a Redis clock a second ahead).
    let after = t + REPLAY_WINDOW_SECS + 5;
    assert_eq!(
        store
            .consume_view(&id, &view(after), Some(&key))
            .await
            .unwrap(),
        ConsumeOutcome::NotLive
    );
    assert!(
        store
            .purge_expired(after + SWEPT_WITHIN)
            .await
            .unwrap()
            .is_empty(),
        "deleting a kept payload is no expiry"
    );
    let swept = store.load(&id).await.unwrap().unwrap();
    assert_eq!(swept.state, SecretState::Revealed);
    assert!(swept.sealed_secret.is_none(), "the payload is gone");
    assert!(swept.replays.is_empty());
    assert_eq!(
        store
            .consume_view(&id, &view(after), Some(&key))
            .await
            .unwrap(),
        ConsumeOutcome::NotLive
    );
}

async fn revoking_a_revealed_secret_deletes_the_payload_kept_for_a_replay(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("gone", 1, None), &client())
        .await
        .unwrap();
    reveal_with(&service, &created, Some("k")).await.unwrap();
    service
        .delete(
            &created.id,
            &Deleter::Sender(created.manage_token.clone()),
            &client(),
        )
        .await
        .unwrap();
    let record = service.store().load(&created.id).await.unwrap().unwrap();
    assert!(record.sealed_secret.is_none() && record.replays.is_empty());
    assert!(already_revealed(
        &reveal_with(&service, &created, Some("k")).await
    ));
}

async fn a_retrieved_answer_kept_for_a_replay_is_deleted_after_the_window(fixture: Fixture) {
    let store = fixture.store;
    let id = SecretId::generate();
    store
        .insert_request(&id, &request_record(now() + 3600))
        .await
        .unwrap();
    let t = now();
    let mut retrieved = request_record(now() + 3600);
    retrieved.state = RequestState::Retrieved;
    retrieved.ended_at = Some(t);
    retrieved.answer = Some(AnswerRecord {
        answered_at: t,
        sealed_secret: Some(vec![4, 5, 6]),
        expires_on: None,
        secret_id: None,
        hint: "abc".into(),
        verification: VerificationRecord {
            verified: true,
            code: "verified".into(),
            message: "Verified".into(),
            aadsts: None,
        },
    });
    retrieved.replay = Some(Replay {
        key_hash: vec![9; 32],
        until: t + REPLAY_WINDOW_SECS,
        views_remaining: 0,
    });
    assert!(store.replace_request(&id, 1, &retrieved).await.unwrap());
    let kept = store.load_request(&id).await.unwrap().unwrap();
    assert_eq!(
        kept.value.replayable_answer(&[9; 32], t + 30),
        Some(&[4, 5, 6][..])
    );
    assert_eq!(kept.value.replayable_answer(&[1; 32], t + 30), None);
    assert!(store.purge_expired(t + 30).await.unwrap().is_empty());
    assert!(
        store
            .load_request(&id)
            .await
            .unwrap()
            .unwrap()
            .value
            .answer
            .unwrap()
            .sealed_secret
            .is_some(),
        "kept within the window"
    );

    assert!(
        store
            .purge_expired(t + REPLAY_WINDOW_SECS + 1 + SWEPT_WITHIN)
            .await
            .unwrap()
            .is_empty()
    );
    let swept = store.load_request(&id).await.unwrap().unwrap();
    assert!(swept.version > kept.version, "a change like any other");
    assert_eq!(swept.value.state, RequestState::Retrieved);
    assert!(swept.value.replay.is_none());
    assert!(swept.value.answer.unwrap().sealed_secret.is_none());
}

fn event(kind: Kind, tenant: Option<&str>, subject: &SecretId, at: i64) -> AuditEvent {
    let mut event = AuditEvent::new(kind, &Actor::System).subject(subject);
    event.at = at;
    if let Some(tenant) = tenant {
        event = event.tenant(tenant);
    }
    event
}

async fn audit_events_are_found_by_time_tenant_and_subject_newest_first(fixture: Fixture) {
    let store = fixture.store;
    let (a, b) = (SecretId::generate(), SecretId::generate());
    let t = now();
    let events = vec![
        event(Kind::RequestCreated, Some("contoso"), &a, t - 300),
        event(Kind::RequestAnswered, Some("contoso"), &a, t - 200),
        event(Kind::RequestCreated, Some("northwind"), &b, t - 100),
        event(Kind::SecretCreated, None, &b, t - 100),
    ];
    store.append_audit(&events).await.unwrap();
    let query =
        |tenant: Option<&str>, subject: Option<&SecretId>, since: i64, limit: usize| AuditQuery {
            since,
            until: t,
            tenant: tenant.map(str::to_owned),
            subject: subject.map(ToString::to_string),
            kind: None,
            limit,
        };
    let contoso = store
        .query_audit(&query(Some("contoso"), None, t - 1000, 10))
        .await
        .unwrap();
    assert_eq!(
        contoso,
        vec![events[1].clone(), events[0].clone()],
        "newest first"
    );
    let of_b = store
        .query_audit(&query(None, Some(&b), t - 1000, 10))
        .await
        .unwrap();
    assert_eq!(of_b.len(), 2);
    let recent = store
        .query_audit(&query(None, None, t - 150, 10))
        .await
        .unwrap();
    assert_eq!(recent.len(), 2, "two identical-time events both kept");
    let limited = store
        .query_audit(&query(None, None, t - 1000, 3))
        .await
        .unwrap();
    assert_eq!(limited.len(), 3);

    assert_eq!(store.purge_audit(t - 250).await.unwrap(), 1);
    let left = store
        .query_audit(&query(None, None, t - 1000, 10))
        .await
        .unwrap();
    assert_eq!(left.len(), 3);
}

/// A one-view secret that expires at `expires_at`, created a moment
/// before (or now), with a made-up payload.
pub(crate) fn one_view_record(expires_at: i64) -> Record {
    Record::new(
        SecretMeta {
            created_at: now().min(expires_at - 1),
            expires_at,
            views_allowed: 1,
            key_check: vec![0; 16],
            manage_token_hash: vec![0; 32],
            passphrase_salt: None,
            sealed_note: None,
            sealed_label: None,
            key_fingerprint: None,
        },
        vec![1, 2, 3],
    )
}

/// A one-view secret that falls due a second from now.
pub(crate) fn short_lived_record() -> Record {
    one_view_record(now() + 1)
}

pub(crate) fn request_record(expires_at: i64) -> RequestRecord {
    RequestRecord {
        tenant: "contoso".into(),
        note: None,
        created_by: "alice".into(),
        created_at: now(),
        expires_at,
        submit_check: vec![1; 16],
        retrieve_check: vec![2; 16],
        retrieve_public_key: vec![3; 32],
        state: RequestState::Open,
        tries: 0,
        answer: None,
        ended_at: None,
        auto_apply: false,
        claim: None,
        replay: None,
        activating_since: None,
        certificate: None,
    }
}

async fn request_updates_are_compare_and_swap(fixture: Fixture) {
    let store = fixture.store;
    let id = SecretId::generate();
    store
        .insert_request(&id, &request_record(now() + 3600))
        .await
        .unwrap();
    let read = store.load_request(&id).await.unwrap().unwrap();
    let writers = (0..16).map(|tries| {
        let (store, mut record) = (Arc::clone(&store), read.value.clone());
        record.tries = tries;
        tokio::spawn(async move {
            store
                .replace_request(&id, read.version, &record)
                .await
                .unwrap()
        })
    });
    let wins = join_all(writers)
        .await
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1, "exactly one writer of a version wins");
    let after = store.load_request(&id).await.unwrap().unwrap();
    assert_eq!(after.version, read.version + 1);
    let listed = store.list_requests().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, id);
}

async fn expired_requests_are_gone(fixture: Fixture) {
    let store = fixture.store;
    let id = SecretId::generate();
    store
        .insert_request(&id, &request_record(now() + 1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(store.load_request(&id).await.unwrap().is_none());
    assert!(store.list_requests().await.unwrap().is_empty());
    let expired = store.purge_expired(now() + SWEPT_WITHIN).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (
            expired[0].kind,
            expired[0].tenant.as_deref(),
            expired[0].unused
        ),
        (ExpiredKind::Request, Some("contoso"), true),
        "reported once, as never answered"
    );
    assert!(store.purge_expired(now()).await.unwrap().is_empty());
}

fn claim(id: &str, until: i64) -> Claim {
    Claim {
        id: id.to_owned(),
        until,
    }
}

async fn one_of_many_concurrent_claims_wins_and_blocks_reveals(fixture: Fixture) {
    let service = Arc::new(Service::new(fixture.store, ServerKey::generate()));
    let created = service
        .create(new_secret("x", 2, None), &client())
        .await
        .unwrap();
    let store = Arc::clone(service.store());
    let claims = (0..16).map(|n| {
        let (store, id) = (Arc::clone(&store), created.id);
        tokio::spawn(async move {
            store
                .claim(&id, &claim(&format!("apply-{n}"), now() + 60), now())
                .await
                .unwrap()
        })
    });
    let outcomes: Vec<ClaimOutcome> = join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, ClaimOutcome::Claimed(r) if r.sealed_secret.is_some()))
        .count();
    let busy = outcomes
        .iter()
        .filter(|o| matches!(o, ClaimOutcome::Busy { .. }))
        .count();
    assert_eq!((won, busy), (1, 15));

    let reveal = service
        .reveal(&created.id, &created.key, None, &client())
        .await;
    assert!(
        matches!(reveal, Err(ServiceError::BeingApplied)),
        "a claimed secret is not revealed"
    );
}

async fn a_released_or_lapsed_claim_gives_the_secret_back(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("back", 2, None), &client())
        .await
        .unwrap();
    let store = service.store();
    assert!(matches!(
        store
            .claim(&created.id, &claim("a", now() + 60), now())
            .await
            .unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    store.release_claim(&created.id, "a").await.unwrap();
    let revealed = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "back");

    // A server that dies mid-apply never releases; the lease lapses.
    assert!(matches!(
        store
            .claim(&created.id, &claim("b", now() + 1), now())
            .await
            .unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let revealed = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "back");
}

async fn a_committed_claim_ends_the_secret_as_applied(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("done", 1, None), &client())
        .await
        .unwrap();
    let store = service.store();
    assert!(matches!(
        store
            .claim(&created.id, &claim("a", now() + 60), now())
            .await
            .unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    assert!(
        !store
            .commit_claim(&created.id, "not-a", now())
            .await
            .unwrap(),
        "only the holder commits"
    );
    assert!(store.commit_claim(&created.id, "a", now()).await.unwrap());
    let record = store.load(&created.id).await.unwrap().unwrap();
    assert_eq!(record.state, SecretState::Applied);
    assert!(record.sealed_secret.is_none());
    assert!(matches!(
        store
            .claim(&created.id, &claim("c", now() + 60), now())
            .await
            .unwrap(),
        ClaimOutcome::NotLive
    ));
}

/// The trail of one secret, as its status page and the audit search read
/// it.
async fn trail_of(store: &SharedStore, id: &SecretId) -> Vec<String> {
    let query = AuditQuery {
        since: now() - 60,
        until: now() + 60,
        tenant: None,
        subject: Some(id.to_string()),
        kind: None,
        limit: 100,
    };
    let mut kinds: Vec<String> = store
        .query_audit(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect();
    kinds.sort();
    // The service records the creation too, when its audit writer runs.
    kinds.dedup();
    kinds
}

async fn an_apply_keeps_the_secret_s_own_events(fixture: Fixture) {
    let service = Service::new(fixture.store, ServerKey::generate());
    let created = service
        .create(new_secret("kept", 1, None), &client())
        .await
        .unwrap();
    let store = service.store();
    let before = [
        event(Kind::SecretCreated, None, &created.id, now()),
        event(Kind::SecretViewed, None, &created.id, now()),
    ];
    store.append_audit(&before).await.unwrap();
    assert!(matches!(
        store
            .claim(&created.id, &claim("a", now() + 60), now())
            .await
            .unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    assert_eq!(
        trail_of(store, &created.id).await,
        ["secret.created", "secret.viewed"],
        "a claim keeps what came before it"
    );
    assert!(store.commit_claim(&created.id, "a", now()).await.unwrap());
    store
        .append_audit(&[event(Kind::SecretApplied, None, &created.id, now())])
        .await
        .unwrap();
    assert_eq!(
        trail_of(store, &created.id).await,
        ["secret.applied", "secret.created", "secret.viewed"]
    );
}

fn tenant_record(hint: &str) -> TenantRecord {
    TenantRecord {
        applied_at: now(),
        applied_by: "staff:alice".into(),
        expires_on: Some("2027-11-22".into()),
        hint: hint.into(),
        secret_id: None,
        verification: VerificationRecord {
            verified: true,
            code: "verified".into(),
            message: "Verified".into(),
            aadsts: None,
        },
        sink: "vault".into(),
        reminded: Vec::new(),
        auto_request: None,
    }
}

async fn tenant_records_are_compare_and_swap(fixture: Fixture) {
    let store = fixture.store;
    assert!(store.load_tenant_record("contoso").await.unwrap().is_none());
    assert!(
        store
            .replace_tenant_record("contoso", 0, &tenant_record("abc"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_tenant_record("contoso", 0, &tenant_record("xyz"))
            .await
            .unwrap(),
        "0 means new"
    );
    let current = store.load_tenant_record("contoso").await.unwrap().unwrap();
    assert_eq!((current.version, current.value.hint.as_str()), (1, "abc"));
    let writers = (0..8).map(|n| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .replace_tenant_record("contoso", 1, &tenant_record(&format!("w{n}")))
                .await
                .unwrap()
        })
    });
    let wins = join_all(writers)
        .await
        .into_iter()
        .filter(|w| *w.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);
    let listed = store.list_tenant_records().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, "contoso");
}

// --- The webhook outbox ---

fn outbox_item(n: usize, due_ms: i64) -> OutboxItem {
    OutboxItem {
        id: format!("msg_{n:04}_{}", SecretId::generate()),
        target: "events".into(),
        event_type: "request.answered".into(),
        payload: format!("{{\"type\":\"request.answered\",\"data\":{{\"n\":{n}}}}}"),
        due_ms,
        attempts: 0,
        created_at: now(),
    }
}

const OUTBOX_ROOM: usize = 1000;

async fn outbox_items_due_are_claimed_once_under_concurrent_claims(fixture: Fixture) {
    let store = fixture.store;
    let mut enqueued = Vec::new();
    for n in 0..20 {
        let item = outbox_item(n, 1_000);
        assert!(store.enqueue_outbox(&item, OUTBOX_ROOM).await.unwrap());
        enqueued.push(item);
    }
    let later = outbox_item(99, 5_000);
    assert!(store.enqueue_outbox(&later, OUTBOX_ROOM).await.unwrap());

    let claims = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.claim_outbox(2_000, 3_000, 50).await.unwrap() })
    });
    let mut claimed: Vec<OutboxItem> = join_all(claims)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();

    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(claimed.len(), 20, "each due item once, the later one not");
    for (got, sent) in claimed.iter().zip(&enqueued) {
        assert_eq!(got.due_ms, 3_000, "claimed until the lease's end");
        assert_eq!(
            OutboxItem {
                due_ms: sent.due_ms,
                ..got.clone()
            },
            *sent
        );
    }
    assert!(
        store
            .claim_outbox(2_999, 4_000, 50)
            .await
            .unwrap()
            .is_empty(),
        "nothing is claimed again while its lease holds"
    );
}

async fn a_lapsed_lease_moves_an_item_to_the_next_claimer_and_only_it_may_reschedule(
    fixture: Fixture,
) {
    let store = fixture.store;
    let item = outbox_item(1, 1_000);
    store.enqueue_outbox(&item, OUTBOX_ROOM).await.unwrap();
    let first = store.claim_outbox(1_000, 2_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    // The first holder stalls past its lease; someone else claims.
    let second = store.claim_outbox(2_000, 3_000, 10).await.unwrap();
    assert_eq!(second.len(), 1);

    let next = OutboxItem {
        due_ms: 5_000,
        attempts: 1,
        ..item.clone()
    };
    assert!(
        !store.reschedule_outbox(&next, 2_000).await.unwrap(),
        "the lapsed lease no longer counts"
    );
    assert!(store.reschedule_outbox(&next, 3_000).await.unwrap());
    assert!(
        store
            .claim_outbox(4_999, 6_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_outbox(5_000, 6_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].id, item.id);
}

async fn a_removed_outbox_item_is_gone(fixture: Fixture) {
    let store = fixture.store;
    let item = outbox_item(1, 1_000);
    store.enqueue_outbox(&item, OUTBOX_ROOM).await.unwrap();
    let claimed = store.claim_outbox(1_000, 2_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    assert!(store.remove_outbox(&item.id).await.unwrap());
    assert!(!store.remove_outbox(&item.id).await.unwrap());
    assert!(!store.reschedule_outbox(&claimed[0], 2_000).await.unwrap());
    assert!(
        store
            .claim_outbox(10_000, 11_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_outbox_refuses_new_items_beyond_its_capacity(fixture: Fixture) {
    let store = fixture.store;
    let capacity = 16;
    let mut accepted = Vec::new();
    for n in 0..64 {
        let item = outbox_item(n, 1_000);
        if store.enqueue_outbox(&item, capacity).await.unwrap() {
            accepted.push(item);
        }
    }
    // Redis counts per bucket: within a bucket's share of the capacity.
    assert!(
        (capacity / 2..capacity + 8).contains(&accepted.len()),
        "{} accepted",
        accepted.len()
    );
    let replaced = OutboxItem {
        due_ms: 1_500,
        ..accepted[0].clone()
    };
    assert!(
        store.enqueue_outbox(&replaced, capacity).await.unwrap(),
        "an item already there can be replaced when the outbox is full"
    );
    let claimed = store.claim_outbox(2_000, 3_000, 100).await.unwrap();
    assert_eq!(claimed.len(), accepted.len(), "replacing added nothing");
}

macro_rules! conformance {
    ($($store:ident => $factory:ident),*) => {
        $(
            mod $store {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn one_view_secret_is_revealed_once_under_64_concurrent_reveals() {
                    super::one_view_secret_is_revealed_once_under_64_concurrent_reveals(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn three_view_secret_is_revealed_three_times_under_64_concurrent_reveals() {
                    super::three_view_secret_is_revealed_three_times_under_64_concurrent_reveals(super::$factory().await).await;
                }

                #[tokio::test]
                async fn reveal_returns_the_secret_and_metadata_consumes_nothing() {
                    super::reveal_returns_the_secret_and_metadata_consumes_nothing(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn wrong_passphrases_are_counted_atomically_and_destroy_at_five() {
                    super::wrong_passphrases_are_counted_atomically_and_destroy_at_five(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_correct_passphrase_with_another_server_key_never_counts_or_destroys() {
                    super::a_correct_passphrase_with_another_server_key_never_counts_or_destroys(super::$factory().await).await;
                }

                #[tokio::test]
                async fn the_first_key_fingerprint_is_kept_and_handed_to_later_ones() {
                    super::the_first_key_fingerprint_is_kept_and_handed_to_later_ones(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_store_with_records_but_no_fingerprint_adopts_the_first() {
                    super::a_store_with_records_but_no_fingerprint_adopts_the_first(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn one_of_many_instances_starting_at_once_records_its_fingerprint() {
                    super::one_of_many_instances_starting_at_once_records_its_fingerprint(super::$factory().await).await;
                }

                #[tokio::test]
                async fn revoked_secret_cannot_be_revealed() {
                    super::revoked_secret_cannot_be_revealed(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn request_updates_are_compare_and_swap() {
                    super::request_updates_are_compare_and_swap(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_revealed_secret_does_not_expire_unused() {
                    super::a_revealed_secret_does_not_expire_unused(super::$factory().await).await;
                }

                #[tokio::test]
                async fn audit_events_are_found_by_time_tenant_and_subject_newest_first() {
                    super::audit_events_are_found_by_time_tenant_and_subject_newest_first(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn one_of_many_concurrent_claims_wins_and_blocks_reveals() {
                    super::one_of_many_concurrent_claims_wins_and_blocks_reveals(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_released_or_lapsed_claim_gives_the_secret_back() {
                    super::a_released_or_lapsed_claim_gives_the_secret_back(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_committed_claim_ends_the_secret_as_applied() {
                    super::a_committed_claim_ends_the_secret_as_applied(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn tenant_records_are_compare_and_swap() {
                    super::tenant_records_are_compare_and_swap(super::$factory().await).await;
                }

                #[tokio::test]
                async fn expired_requests_are_gone() {
                    super::expired_requests_are_gone(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn outbox_items_due_are_claimed_once_under_concurrent_claims() {
                    super::outbox_items_due_are_claimed_once_under_concurrent_claims(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_lapsed_lease_moves_an_item_to_the_next_claimer_and_only_it_may_reschedule() {
                    super::a_lapsed_lease_moves_an_item_to_the_next_claimer_and_only_it_may_reschedule(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_removed_outbox_item_is_gone() {
                    super::a_removed_outbox_item_is_gone(super::$factory().await).await;
                }

                #[tokio::test]
                async fn the_outbox_refuses_new_items_beyond_its_capacity() {
                    super::the_outbox_refuses_new_items_beyond_its_capacity(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_reveal_repeated_with_its_idempotency_key_gets_the_same_secret_and_takes_no_view() {
                    super::a_reveal_repeated_with_its_idempotency_key_gets_the_same_secret_and_takes_no_view(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_repeated_reveal_of_a_two_view_secret_counts_once() {
                    super::a_repeated_reveal_of_a_two_view_secret_counts_once(super::$factory().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn concurrent_reveals_and_their_retries_deliver_a_one_view_secret_to_one_key() {
                    super::concurrent_reveals_and_their_retries_deliver_a_one_view_secret_to_one_key(super::$factory().await).await;
                }

                #[tokio::test]
                async fn after_the_replay_window_a_retry_finds_it_revealed_and_the_payload_is_gone() {
                    super::after_the_replay_window_a_retry_finds_it_revealed_and_the_payload_is_gone(super::$factory().await).await;
                }

                #[tokio::test]
                async fn revoking_a_revealed_secret_deletes_the_payload_kept_for_a_replay() {
                    super::revoking_a_revealed_secret_deletes_the_payload_kept_for_a_replay(super::$factory().await).await;
                }

                #[tokio::test]
                async fn a_retrieved_answer_kept_for_a_replay_is_deleted_after_the_window() {
                    super::a_retrieved_answer_kept_for_a_replay_is_deleted_after_the_window(super::$factory().await).await;
                }

                #[tokio::test]
                async fn an_apply_keeps_the_secret_s_own_events() {
                    super::an_apply_keeps_the_secret_s_own_events(super::$factory().await).await;
                }

                #[tokio::test]
                async fn expired_records_are_gone_and_physically_deleted() {
                    super::expired_records_are_gone_and_physically_deleted(super::$factory().await).await;
                }
            }
        )*
    };
}

conformance!(
    memory => memory_store,
    embedded => embedded_store,
    redis => redis_store,
    redis_cluster => cluster_store
);

#[tokio::test]
async fn embedded_store_keeps_unrevealed_secrets_across_a_restart() {
    let folder = tempfile::tempdir().unwrap();
    let server_key = ServerKey::generate();
    let created = {
        let store: SharedStore = Arc::new(EmbeddedStore::open(folder.path()).unwrap());
        Service::new(store, server_key.clone())
            .create(new_secret("survives", 1, None), &client())
            .await
            .unwrap()
    };
    let reopened: SharedStore = Arc::new(EmbeddedStore::open(folder.path()).unwrap());
    let service = Service::new(reopened, server_key);
    let revealed = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "survives");
}

#[tokio::test]
async fn embedded_store_keeps_its_outbox_across_a_restart() {
    let folder = tempfile::tempdir().unwrap();
    let item = outbox_item(1, 1_000);
    {
        let store = EmbeddedStore::open(folder.path()).unwrap();
        assert!(store.enqueue_outbox(&item, OUTBOX_ROOM).await.unwrap());
    }
    let reopened = EmbeddedStore::open(folder.path()).unwrap();
    let claimed = reopened.claim_outbox(1_000, 2_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload, item.payload);
}

#[tokio::test]
async fn embedded_store_deletes_expired_records_from_the_file() {
    let folder = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(folder.path()).unwrap();
    let id = SecretId::generate();
    store
        .insert(&id, &one_view_record(now() - 1))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(now()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn redis_expires_a_secret_by_itself_shortly_after_its_expiry() {
    let server = RedisServer::start();
    let service = redis_service(&server, ServerKey::generate()).await;
    let created = service
        .create(new_secret("x", 2, None), &client())
        .await
        .unwrap();
    service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();

    let mut redis = raw_redis(&server).await;
    let key = the_one_key_of(&mut redis, &created.id).await;
    let ttl: i64 = ::redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    // The hour's expiry, plus the five minutes a sweeper has to report it.
    assert!(
        (3600..=3900).contains(&ttl),
        "the record expires with the secret (ttl {ttl})"
    );
}

#[tokio::test]
async fn one_sweep_clears_a_backlog_bigger_than_one_batch() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), RETENTION).await.unwrap();
    for _ in 0..1200 {
        store
            .insert(&SecretId::generate(), &short_lived_record())
            .await
            .unwrap();
    }
    let later = now() + SWEPT_WITHIN;
    let expired = store.purge_expired(later).await.unwrap();
    assert_eq!(expired.len(), 1200);
    assert!(expired.iter().all(|e| e.unused));
    assert!(store.purge_expired(later).await.unwrap().is_empty());
}

/// Changes the last byte of a secret's sealed payload in Redis by `by`, as
/// a damaged disk or a stray write would (its own events kept).
async fn shift_payload(redis: &mut ::redis::aio::MultiplexedConnection, key: &str, by: i64) {
    let shifted: i64 = ::redis::cmd("EVAL")
        .arg(
            r"
local raw = redis.call('GET', KEYS[1])
local after, r = cmsgpack.unpack_one(raw)
local events = ''
if after ~= -1 then events = string.sub(raw, after + 1) end
local last = string.byte(r.p, #r.p)
r.p = string.sub(r.p, 1, #r.p - 1) .. string.char((last + tonumber(ARGV[1])) % 256)
redis.call('SET', KEYS[1], cmsgpack.pack(r) .. events, 'KEEPTTL')
return 1",
        )
        .arg(1)
        .arg(key)
        .arg(by)
        .query_async(redis)
        .await
        .unwrap();
    assert_eq!(shifted, 1);
}

#[tokio::test]
async fn a_payload_damaged_in_redis_is_not_revealed_and_its_view_is_given_back() {
    let server = RedisServer::start();
    let service = redis_service(&server, ServerKey::generate()).await;
    let created = service
        .create(new_secret("intact", 1, None), &client())
        .await
        .unwrap();
    let mut redis = raw_redis(&server).await;
    let key = the_one_key_of(&mut redis, &created.id).await;

    shift_payload(&mut redis, &key, 1).await;
    for _ in 0..3 {
        let outcome = service
            .reveal(&created.id, &created.key, None, &client())
            .await;
        assert!(
            matches!(outcome, Err(ServiceError::Undecryptable)),
            "{outcome:?}"
        );
    }
    let status = service
        .status(&created.id, &created.manage_token)
        .await
        .unwrap();
    assert_eq!(
        (status.state, status.views_remaining, status.views.len()),
        (SecretState::Live, 1, 0),
        "no view used up by a reveal that delivered nothing"
    );

    shift_payload(&mut redis, &key, -1).await;
    let revealed = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(
        (revealed.secret.expose(), revealed.views_remaining),
        ("intact", 0)
    );
}

#[tokio::test]
async fn redis_takes_a_guarded_view_as_it_reads_it_and_gives_it_back_unless_changed() {
    let server = RedisServer::start();
    let store = Arc::new(RedisStore::connect(&server.url(), RETENTION).await.unwrap());
    let service = Service::new(store.clone(), ServerKey::generate());
    let created = service
        .create(new_secret("two views", 2, None), &client())
        .await
        .unwrap();
    let record = store.load(&created.id).await.unwrap().unwrap();
    let guard = RevealGuard::of(&record.meta).expect("a record without a passphrase has one");
    let view = |at| ViewEvent {
        at,
        ip: "192.0.2.7".into(),
        user_agent: "test".into(),
    };

    let stranger = RevealGuard::new(&[0; 16], record.meta.key_fingerprint.as_ref().unwrap());
    match store
        .take_guarded_view(&created.id, &stranger, &view(now()))
        .await
        .unwrap()
    {
        GuardedView::CheckFirst(Some(read)) => assert_eq!(*read, record),
        other => panic!("another guard takes nothing: {other:?}"),
    }

    let GuardedView::Taken {
        before,
        views_remaining,
        undo,
    } = store
        .take_guarded_view(&created.id, &guard, &view(now()))
        .await
        .unwrap()
    else {
        panic!("the record's own guard takes a view")
    };
    assert_eq!((*before, views_remaining), (record.clone(), 1));
    assert_eq!(
        store.load(&created.id).await.unwrap().unwrap().views.len(),
        1
    );
    let undo = undo.expect("a first take can be given back");
    assert!(store.give_back_view(&created.id, &undo).await.unwrap());
    assert_eq!(store.load(&created.id).await.unwrap().unwrap(), record);

    // Given back only while nothing else changed it.
    let GuardedView::Taken { undo, .. } = store
        .take_guarded_view(&created.id, &guard, &view(now()))
        .await
        .unwrap()
    else {
        panic!("taken again")
    };
    let GuardedView::Taken {
        views_remaining: 0, ..
    } = store
        .take_guarded_view(&created.id, &guard, &view(now()))
        .await
        .unwrap()
    else {
        panic!("the last view taken")
    };
    assert!(
        !store
            .give_back_view(&created.id, &undo.unwrap())
            .await
            .unwrap()
    );
    let ended = store.load(&created.id).await.unwrap().unwrap();
    assert_eq!(
        (ended.state, ended.views_remaining, ended.sealed_secret),
        (SecretState::Revealed, 0, None)
    );
    match store
        .take_guarded_view(&created.id, &guard, &view(now()))
        .await
        .unwrap()
    {
        GuardedView::CheckFirst(Some(read)) => assert_eq!(read.state, SecretState::Revealed),
        other => panic!("an ended secret gives no view: {other:?}"),
    }

    let guarded = service
        .create(new_secret("guarded", 1, Some("pass")), &client())
        .await
        .unwrap();
    let record = store.load(&guarded.id).await.unwrap().unwrap();
    assert!(
        RevealGuard::of(&record.meta).is_none(),
        "a passphrase is checked before any view is taken"
    );
}

/// The service on the test's Redis, sealing with `key`.
async fn redis_service(server: &RedisServer, key: ServerKey) -> Service {
    let store = RedisStore::connect(&server.url(), RETENTION).await.unwrap();
    Service::new(Arc::new(store), key)
}

/// A plain connection to the test's Redis, to look at the keys.
async fn raw_redis(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Every key of one secret (all tagged with its id).
async fn keys_of(redis: &mut ::redis::aio::MultiplexedConnection, id: &SecretId) -> Vec<String> {
    ::redis::cmd("KEYS")
        .arg(format!("handoff:{{{id}}}*"))
        .query_async(redis)
        .await
        .unwrap()
}

/// The one key a secret has now: its record.
async fn the_one_key_of(redis: &mut ::redis::aio::MultiplexedConnection, id: &SecretId) -> String {
    let keys = keys_of(redis, id).await;
    assert_eq!(keys, [format!("handoff:{{{id}}}")], "one key per secret");
    keys[0].clone()
}

async fn type_of(redis: &mut ::redis::aio::MultiplexedConnection, key: &str) -> String {
    ::redis::cmd("TYPE")
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}

/// Writes `record` to Redis as the release before one-string records kept
/// it: a hash of short fields, the payload, a live marker, the views and
/// the own events in keys beside it, and an entry in the sorted-set index.
async fn write_as_earlier_release(
    redis: &mut ::redis::aio::MultiplexedConnection,
    id: &SecretId,
    record: &Record,
    own_events: &str,
) {
    let meta = &record.meta;
    let base = format!("handoff:{{{id}}}");
    let mut fields: Vec<(&str, Vec<u8>)> = vec![
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
        ("state", b"live".to_vec()),
        ("remaining", record.views_remaining.to_string().into_bytes()),
        ("failed", b"0".to_vec()),
    ];
    if let Some(note) = &meta.sealed_note {
        fields.push(("sn", note.clone()));
    }
    if let Some(fingerprint) = &meta.key_fingerprint {
        fields.push(("kf", fingerprint.clone()));
    }
    ::redis::pipe()
        .hset_multiple(&base, &fields)
        .expire_at(&base, meta.expires_at)
        .set(format!("{base}:p"), record.sealed_secret.clone().unwrap())
        .expire_at(format!("{base}:p"), meta.expires_at)
        .set(format!("{base}:live"), 1)
        .expire_at(format!("{base}:live"), meta.expires_at + 120)
        .set(format!("{base}:audit"), own_events)
        .expire_at(format!("{base}:audit"), meta.expires_at + 120)
        .query_async::<()>(redis)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_upgrades_a_secret_written_by_the_earlier_layout_and_reveals_it() {
    let server = RedisServer::start();
    let key = ServerKey::generate();
    // Sealed as handoff seals it, then written in the earlier layout.
    let memory = Arc::new(MemoryStore::new());
    let sealer = Service::new(memory.clone(), key.clone());
    let created = sealer
        .create(new_secret("the-old-value", 2, None), &client())
        .await
        .unwrap();
    let record = memory.load(&created.id).await.unwrap().unwrap();
    let mut redis = raw_redis(&server).await;
    let line = format!(
        "0193a1b2c3d4000000017abcdefgh\t{}\tsecret.created\tanonymous\t203.0.113.7\t\t\t\t\t",
        record.meta.created_at
    );
    write_as_earlier_release(&mut redis, &created.id, &record, &line).await;

    let service = redis_service(&server, key).await;
    // An event for it upgrades it first.
    let opened = event(Kind::SecretViewed, None, &created.id, now());
    service.store().append_audit(&[opened]).await.unwrap();
    let record = format!("handoff:{{{}}}", created.id);
    assert_eq!(
        type_of(&mut redis, &record).await,
        "string",
        "upgraded by the event"
    );
    let revealed = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "the-old-value");
    assert_eq!(revealed.views_remaining, 1);

    let key = the_one_key_of(&mut redis, &created.id).await;
    assert_eq!(type_of(&mut redis, &key).await, "string");
    // Its earlier own events moved with it.
    let status = service
        .status(&created.id, &created.manage_token)
        .await
        .unwrap();
    assert!(
        status
            .events
            .iter()
            .any(|e| e.kind == "secret.created" && e.ip.as_deref() == Some("203.0.113.7")),
        "{:?}",
        status.events
    );
    assert!(status.events.iter().any(|e| e.kind == "secret.viewed"));
    assert_eq!(status.views.len(), 1);
    let again = service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
    assert_eq!(again.views_remaining, 0);
}

#[tokio::test]
async fn redis_still_reports_an_earlier_layout_s_secret_that_expired_unused() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), RETENTION).await.unwrap();
    let mut redis = raw_redis(&server).await;
    let id = SecretId::generate();
    let record = short_lived_record();
    write_as_earlier_release(&mut redis, &id, &record, "").await;
    let bucket = {
        // The earlier release's index: 16 buckets by FNV-1a of the id.
        let hash = id
            .to_string()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        hash % 16
    };
    let () = ::redis::cmd("ZADD")
        .arg(format!("handoff:{{exp:{bucket}}}"))
        .arg(record.meta.expires_at)
        .arg(format!("s:{id}"))
        .query_async(&mut redis)
        .await
        .unwrap();

    let expired = store.purge_expired(now() + 5).await.unwrap();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].id, id);
    assert!(expired[0].unused);
    let left = keys_of(&mut redis, &id).await;
    assert!(
        left.is_empty() || left == [format!("handoff:{{{id}}}:audit")],
        "{left:?}"
    );
}

#[tokio::test]
async fn redis_keeps_a_secret_s_first_and_newest_own_events_within_a_bound() {
    let server = RedisServer::start();
    let service = redis_service(&server, ServerKey::generate()).await;
    let created = service
        .create(new_secret("x", 1, None), &client())
        .await
        .unwrap();
    let store = service.store();
    let t = now();
    // Its creation is its first own event (the service's, or this one).
    store
        .append_audit(&[event(Kind::SecretCreated, None, &created.id, t)])
        .await
        .unwrap();
    // A link opened over and over: page opens, with a browser's agent each.
    for round in 0..20 {
        let opens: Vec<AuditEvent> = (0..50)
            .map(|n| {
                event(Kind::SecretViewed, None, &created.id, t).from_client(
                    "203.0.113.9",
                    &format!("Mozilla/5.0 (X11; Linux x86_64) {round}-{n}"),
                )
            })
            .collect();
        store.append_audit(&opens).await.unwrap();
    }

    let mut redis = raw_redis(&server).await;
    let size: usize = ::redis::cmd("STRLEN")
        .arg(format!("handoff:{{{}}}", created.id))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(size < 20 * 1024, "the record stays bounded: {size} bytes");
    let own = store
        .query_audit(&AuditQuery {
            since: t - 10,
            until: t + 10,
            tenant: None,
            subject: Some(created.id.to_string()),
            kind: None,
            limit: 5000,
        })
        .await
        .unwrap();
    assert!(own.len() > 50 && own.len() < 1001, "{} kept", own.len());
    assert!(
        own.iter().any(|e| e.kind == "secret.created"),
        "the first is kept"
    );
    assert!(
        own.iter()
            .any(|e| e.user_agent.as_deref() == Some("Mozilla/5.0 (X11; Linux x86_64) 19-49")),
        "the newest is kept"
    );
    // The secret still reveals.
    service
        .reveal(&created.id, &created.key, None, &client())
        .await
        .unwrap();
}
