//! The failed-attempt allowance per client address: wrong guesses beyond it
//! are answered 429, a right key never is, and instances sharing Redis share
//! one allowance.

use handoff::config::ServeArgs;
use handoff::crypto::ServerKey;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::json;

use crate::common::{RedisServer, TestApp, args, client_without_redirects, json_of};

const WRONG_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn limited_to(failures: u32) -> ServeArgs {
    ServeArgs {
        failed_reveals_per_minute: Some(failures.to_string()),
        ..args()
    }
}

/// `n` wrong-key reveals of `id`, each answered the usual 404.
async fn miss(app: &TestApp, id: &str, n: u32) {
    for _ in 0..n {
        let response = app.reveal(id, json!({ "key": WRONG_KEY })).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn wrong_guesses_beyond_the_allowance_get_429_with_retry_after() {
    let app = TestApp::spawn_with(limited_to(3)).await;
    let pushed = app.push(json!({ "secret": "x" })).await;
    miss(&app, &pushed.id, 3).await;

    let refused = app.reveal(&pushed.id, json!({ "key": WRONG_KEY })).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let (_, body) = json_of(refused).await;
    assert_eq!(body["error"], "rate_limited");

    // Unknown ids look the same as wrong keys: no oracle while limited.
    let unknown = app
        .reveal("AAAAAAAAAAAAAAAAAAAAAA", json!({ "key": WRONG_KEY }))
        .await;
    assert_eq!(unknown.status(), StatusCode::TOO_MANY_REQUESTS);
    let metadata = app.metadata(&pushed.id, WRONG_KEY).await;
    assert_eq!(metadata.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_limited_address_still_reveals_with_the_right_key() {
    let app = TestApp::spawn_with(limited_to(3)).await;
    let pushed = app.push(json!({ "secret": "for the recipient" })).await;
    miss(&app, &pushed.id, 3).await;
    let guess = app.reveal(&pushed.id, json!({ "key": WRONG_KEY })).await;
    assert_eq!(guess.status(), StatusCode::TOO_MANY_REQUESTS);

    let metadata = app.metadata(&pushed.id, &pushed.key).await;
    assert_eq!(metadata.status(), StatusCode::OK);
    let (status, body) = json_of(app.reveal_with_key(&pushed).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["secret"], "for the recipient");
    let status = app.status(&pushed.id, &pushed.manage_token).await;
    assert_eq!(status.status(), StatusCode::OK, "the sender's token too");
}

#[tokio::test]
async fn a_limited_holder_of_the_right_key_hears_about_a_wrong_passphrase() {
    let app = TestApp::spawn_with(limited_to(2)).await;
    let pushed = app
        .push(json!({ "secret": "x", "passphrase": "correct horse" }))
        .await;
    miss(&app, &pushed.id, 2).await;

    let (status, body) = json_of(
        app.reveal(
            &pushed.id,
            json!({ "key": pushed.key, "passphrase": "wrong" }),
        )
        .await,
    )
    .await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "wrong_passphrase");
    let right = app
        .reveal(
            &pushed.id,
            json!({ "key": pushed.key, "passphrase": "correct horse" }),
        )
        .await;
    assert_eq!(right.status(), StatusCode::OK);
}

#[tokio::test]
async fn successful_reveals_never_use_up_the_allowance() {
    let app = TestApp::spawn_with(limited_to(2)).await;
    for _ in 0..10 {
        let pushed = app.push(json!({ "secret": "x" })).await;
        assert_eq!(
            app.metadata(&pushed.id, &pushed.key).await.status(),
            StatusCode::OK
        );
        assert_eq!(app.reveal_with_key(&pushed).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_limited_address_still_signs_in_with_the_right_staff_token() {
    let config = crate::common::VendorConfig::new("failed_reveals_per_minute = 2", "");
    let app = TestApp::spawn_with(config.args()).await;
    let http = client_without_redirects();
    let sign_in = |token: String| {
        http.post(app.url("/staff/sign-in"))
            .form(&[("token", token.as_str()), ("next", "/staff")])
            .send()
    };
    for _ in 0..2 {
        let wrong = sign_in("hst_wrong".into()).await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = sign_in("hst_wrong".into()).await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let right = sign_in(config.token.clone()).await.unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn two_instances_sharing_redis_share_one_allowance() {
    let redis = RedisServer::start();
    let key = ServerKey::generate().encode();
    let on_redis = || ServeArgs {
        store: Some(redis.url().into()),
        server_key: Some(key.as_str().to_owned().into()),
        ..limited_to(3)
    };
    let first = TestApp::spawn_with(on_redis()).await;
    let second = TestApp::spawn_with(on_redis()).await;
    let pushed = first.push(json!({ "secret": "shared" })).await;

    miss(&first, &pushed.id, 3).await;
    let refused = second.reveal(&pushed.id, json!({ "key": WRONG_KEY })).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the second instance knows the first used the allowance up"
    );
    assert!(refused.headers().contains_key(RETRY_AFTER));
    let revealed = second.reveal_with_key(&pushed).await;
    assert_eq!(
        revealed.status(),
        StatusCode::OK,
        "the right key still works"
    );
}
