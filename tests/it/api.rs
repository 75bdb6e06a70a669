//! The JSON API, black-box, against the real server on port 0.

use futures::future::join_all;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use serde_json::{Value, json};

use crate::common::{ServeArgsExt as _, TestApp, args, json_of, pushed};

#[tokio::test]
async fn create_returns_a_link_with_the_key_in_the_fragment() {
    let app = TestApp::spawn().await;
    let response = app
        .create(json!({ "secret": "s3cret", "ttl": "90m", "views": 2 }))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/s/{id}#", app.base)), "{url}");
    assert!(
        body["manage_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/m/{id}#", app.base))
    );
    assert_eq!(body["views"], 2);
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_one_view_secret_is_revealed_exactly_once() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "abc8Q~0123456789" })).await;

    let first = app.reveal_with_key(&pushed).await;
    assert_eq!(first.status(), StatusCode::OK);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["secret"], "abc8Q~0123456789");
    assert_eq!(body["views_remaining"], 0);

    let (status, body) = json_of(app.reveal_with_key(&pushed).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"], "already_revealed",
        "the right key learns when"
    );
    assert!(body["ended_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_reveal_retried_with_its_idempotency_key_gets_the_same_secret_again() {
    let app = TestApp::spawn().await;
    let pushed = app
        .push(json!({ "secret": "answer lost on the way" }))
        .await;

    for _ in 0..2 {
        let (status, body) = json_of(app.reveal_idempotent(&pushed, "9b2f6c1e-retry").await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["secret"], "answer lost on the way");
        assert_eq!(body["views_remaining"], 0);
    }
    let (status, other) = json_of(app.reveal_idempotent(&pushed, "another-click").await).await;
    assert_eq!(
        (status, other["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("already_revealed"))
    );
    let (status, none) = json_of(app.reveal_with_key(&pushed).await).await;
    assert_eq!(
        (status, none["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("already_revealed"))
    );
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_a_400_that_names_the_header_and_consumes_nothing() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "x" })).await;
    for bad in ["", "with space", &"k".repeat(65)] {
        let (status, body) = json_of(app.reveal_idempotent(&pushed, bad).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Idempotency-Key:"),
            "{body}"
        );
    }
    assert_eq!(
        app.reveal_idempotent(&pushed, &"k".repeat(64))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn metadata_consumes_nothing_and_shows_the_note() {
    let app = TestApp::spawn().await;
    let pushed = app
        .push(json!({ "secret": "x", "note": "staging DB", "views": 1 }))
        .await;
    for _ in 0..3 {
        let response = app.metadata(&pushed.id, &pushed.key).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["note"], "staging DB");
        assert_eq!(body["views_remaining"], 1);
        assert_eq!(body["passphrase_required"], false);
    }
    assert_eq!(app.reveal_with_key(&pushed).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_key_and_unknown_id_answer_the_same_404_and_consume_nothing() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "x" })).await;
    let wrong_key = "A".repeat(43);

    let (status, wrong) = json_of(app.reveal(&pushed.id, json!({ "key": wrong_key })).await).await;
    let (_, unknown) = json_of(
        app.reveal(&"B".repeat(22), json!({ "key": pushed.key }))
            .await,
    )
    .await;
    let (_, malformed) = json_of(app.reveal("nope", json!({ "key": "short" })).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, malformed);
    let (_, meta_wrong) = json_of(app.metadata(&pushed.id, &wrong_key).await).await;
    assert_eq!(meta_wrong, unknown);

    assert_eq!(app.reveal_with_key(&pushed).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_three_view_secret_counts_down() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "x", "views": 3 })).await;
    for remaining in [2, 1, 0] {
        let body: Value = app.reveal_with_key(&pushed).await.json().await.unwrap();
        assert_eq!(body["views_remaining"], remaining);
    }
    assert_eq!(
        app.reveal_with_key(&pushed).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn concurrent_reveals_of_a_one_view_secret_give_one_secret() {
    let app = TestApp::spawn_with(args().no_limit()).await;
    let pushed = app.push(json!({ "secret": "only-once" })).await;
    let attempts = (0..64).map(|_| app.reveal_with_key(&pushed));
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NOT_FOUND)
            .count(),
        63
    );
}

#[tokio::test]
async fn passphrase_is_required_counted_and_destroys_after_five_misses() {
    let app = TestApp::spawn().await;
    let pushed = app
        .push(json!({ "secret": "x", "passphrase": "correct horse" }))
        .await;
    let meta: Value = app
        .metadata(&pushed.id, &pushed.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meta["passphrase_required"], true);

    let (status, body) = json_of(app.reveal_with_key(&pushed).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("passphrase_required"))
    );

    for left in [4, 3, 2, 1] {
        let attempt = app
            .reveal(
                &pushed.id,
                json!({ "key": pushed.key, "passphrase": "wrong" }),
            )
            .await;
        let (status, body) = json_of(attempt).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["attempts_remaining"], left);
    }
    let last = app
        .reveal(
            &pushed.id,
            json!({ "key": pushed.key, "passphrase": "wrong" }),
        )
        .await;
    assert_eq!(last.status(), StatusCode::GONE);

    let right = app
        .reveal(
            &pushed.id,
            json!({ "key": pushed.key, "passphrase": "correct horse" }),
        )
        .await;
    let (status, body) = json_of(right).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("destroyed"))
    );
}

#[tokio::test]
async fn the_right_passphrase_reveals_without_using_up_attempts() {
    let app = TestApp::spawn().await;
    let pushed = app
        .push(json!({ "secret": "x", "passphrase": "pw", "views": 2 }))
        .await;
    let wrong = app
        .reveal(
            &pushed.id,
            json!({ "key": pushed.key, "passphrase": "nope" }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = app
        .reveal(&pushed.id, json!({ "key": pushed.key, "passphrase": "pw" }))
        .await;
    let body: Value = right.json().await.unwrap();
    assert_eq!(body["secret"], "x");
    assert_eq!(
        body["views_remaining"], 1,
        "the wrong passphrase consumed no view"
    );
}

#[tokio::test]
async fn plain_text_body_works_like_curl_data_binary() {
    let app = TestApp::spawn().await;
    // What `az … -o tsv | curl --data-binary @- URL` sends.
    let response = app
        .http
        .post(app.url("/api/v1/secrets?ttl=1h&views=2"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("abc8Q~tail+with=chars&more\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let pushed = pushed(response.json().await.unwrap());
    assert_eq!(pushed.body["views"], 2);
    let body: Value = app.reveal_with_key(&pushed).await.json().await.unwrap();
    assert_eq!(
        body["secret"], "abc8Q~tail+with=chars&more",
        "byte for byte, minus the final newline"
    );
}

#[tokio::test]
async fn out_of_range_ttl_and_views_are_422_naming_field_and_range() {
    let app = TestApp::spawn().await;
    let (status, body) = json_of(app.create(json!({ "secret": "x", "ttl": "30d" })).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "ttl");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("between 1m and 7d"),
        "{body}"
    );

    let (status, body) = json_of(app.create(json!({ "secret": "x", "views": 11 })).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "views");
    assert!(body["message"].as_str().unwrap().contains("1 to 10"));

    let raw = app
        .http
        .post(app.url("/api/v1/secrets?views=0"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn empty_secret_is_422() {
    let app = TestApp::spawn().await;
    let (status, body) = json_of(app.create(json!({ "secret": "" })).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "secret");
}

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_content_type_are_400() {
    let app = TestApp::spawn().await;
    let post = |content_type: &'static str, body: &'static str| {
        app.http
            .post(app.url("/api/v1/secrets"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (content_type, body) in [
        ("application/json", "{\"secret\": "),
        ("application/json", "{\"secret\": \"x\", \"view\": 2}"),
        ("application/xml", "<secret/>"),
    ] {
        let (status, error) = json_of(post(content_type, body).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type} {body}");
        assert_eq!(error["error"], "bad_request");
    }
    let reveal = app
        .http
        .post(app.url(&format!("/api/v1/secrets/{}/reveal", "A".repeat(22))))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(reveal.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oversized_secret_and_body_are_413() {
    let mut small = args();
    small.max_secret_bytes = Some("100".into());
    let app = TestApp::spawn_with(small).await;
    let (status, body) = json_of(app.create(json!({ "secret": "x".repeat(101) })).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["field"], "secret");

    let huge = app
        .http
        .post(app.url("/api/v1/secrets"))
        .header("content-type", "text/plain")
        .body("x".repeat(1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_routes_are_json_under_api_and_a_page_elsewhere() {
    let app = TestApp::spawn().await;
    let api = app
        .http
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(api).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_route"))
    );

    let page = app.http.get(app.url("/nothing")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn sender_sees_each_view_and_can_revoke() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "x", "views": 2 })).await;
    assert_eq!(app.reveal_with_key(&pushed).await.status(), StatusCode::OK);

    let status: Value = app
        .status(&pushed.id, &pushed.manage_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "live");
    assert_eq!(status["views_remaining"], 1);
    let view = &status["views"][0];
    assert_eq!(view["ip"], "127.0.0.1");
    assert_eq!(view["user_agent"], "handoff-tests/1.0");

    let revoke = app
        .http
        .delete(app.url(&format!("/api/v1/secrets/{}", pushed.id)))
        .bearer_auth(&pushed.manage_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let status: Value = app
        .status(&pushed.id, &pushed.manage_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "revoked");
    let (code, body) = json_of(app.reveal_with_key(&pushed).await).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("revoked"))
    );
}

#[tokio::test]
async fn the_link_holder_can_delete_and_a_wrong_token_cannot() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "x" })).await;
    let delete = |header: (&'static str, String)| {
        app.http
            .delete(app.url(&format!("/api/v1/secrets/{}", pushed.id)))
            .header(header.0, header.1)
            .send()
    };
    let wrong = delete(("authorization", format!("Bearer {}", "A".repeat(43))))
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let status = app.status(&pushed.id, &"A".repeat(43)).await;
    assert_eq!(status.status(), StatusCode::NOT_FOUND);

    let by_holder = delete(("x-handoff-key", pushed.key.clone())).await.unwrap();
    assert_eq!(by_holder.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.reveal_with_key(&pushed).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/api/v1/nothing",
        "/s/AAAAAAAAAAAAAAAAAAAAAA",
        "/healthz",
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers[CACHE_CONTROL], "no-store", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "http: no HSTS"
        );
    }
    let pushed = app.push(json!({ "secret": "x" })).await;
    let reveal = app.reveal_with_key(&pushed).await;
    assert_eq!(reveal.headers()[CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let mut https = args();
    https.public_url = Some("https://handoff.example.com".into());
    let app = TestApp::spawn_with(https).await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let pushed = app.push(json!({ "secret": "x" })).await;
    assert!(
        pushed.body["url"]
            .as_str()
            .unwrap()
            .starts_with("https://handoff.example.com/s/")
    );
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_sender_sees_the_secrets_own_audit_events() {
    let app = TestApp::spawn().await;
    let pushed = app.push(json!({ "secret": "x", "views": 2 })).await;
    assert_eq!(
        app.metadata(&pushed.id, &pushed.key).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.reveal_with_key(&pushed).await.status(), StatusCode::OK);
    let other = app.push(json!({ "secret": "y" })).await;

    let mut kinds = Vec::new();
    for _ in 0..50 {
        let status: Value = app
            .status(&pushed.id, &pushed.manage_token)
            .await
            .json()
            .await
            .unwrap();
        kinds = status["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        if kinds.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        kinds,
        ["secret.revealed", "secret.viewed", "secret.created"],
        "newest first, this secret only"
    );
    drop(other);
}

#[tokio::test]
async fn an_id_that_is_not_utf8_is_the_json_404_not_a_plain_text_400() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .get(app.url("/api/v1/secrets/%FF%FE"))
        .header("X-Handoff-Key", "x")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn an_oversized_request_answer_is_a_json_413() {
    let mut settings = args();
    settings.max_secret_bytes = Some("100".into());
    let app = TestApp::spawn_with(settings).await;

    let response = app
        .http
        .post(app.url("/api/v1/requests/AAAAAAAAAAAAAAAAAAAAAA/answer"))
        .header("Content-Type", "text/plain")
        .body("x".repeat(200_000))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "too_large");
}

#[tokio::test]
async fn a_malformed_answer_query_is_a_json_400() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .post(app.url("/api/v1/requests/AAAAAAAAAAAAAAAAAAAAAA/answer?expires_on=a&expires_on=b"))
        .header("Content-Type", "text/plain")
        .header("X-Handoff-Key", "x")
        .body("secret")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_request");
}

#[tokio::test]
async fn a_private_label_is_shown_to_the_sender_only() {
    let app = TestApp::spawn().await;
    let label = "staging DB, for Ana";
    let pushed = app
        .push(json!({ "secret": "x", "views": 2, "note": "for you", "label": label }))
        .await;

    let status: Value = app
        .status(&pushed.id, &pushed.manage_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["label"], label, "{status}");

    // The recipient's lookup and reveal never carry it.
    let metadata = app
        .metadata(&pushed.id, &pushed.key)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metadata.contains("for you") && !metadata.contains(label),
        "{metadata}"
    );
    let revealed = app.reveal_with_key(&pushed).await.text().await.unwrap();
    assert!(!revealed.contains(label), "{revealed}");
    // Nor does the audit trail the sender reads.
    let status = app
        .status(&pushed.id, &pushed.manage_token)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(status.matches(label).count(), 1, "{status}");

    // Bounded, and optional.
    let long = app
        .http
        .post(app.url("/api/v1/secrets"))
        .json(&json!({ "secret": "x", "label": "l".repeat(101) }))
        .send()
        .await
        .unwrap();
    let (code, body) = json_of(long).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("label"))
    );
    let plain = app.push(json!({ "secret": "x" })).await;
    let status: Value = app
        .status(&plain.id, &plain.manage_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["label"], Value::Null);
}
