//! Password Pusher compatibility: the real `pwpush` CLI (0.16.7 from the
//! Python package index, installed by `./test.sh`) pushes, expires, audits
//! and lists against the running server, and curl-style calls retrieve a
//! push by its URL exactly once.

use std::process::Command;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::common::{TestApp, VendorConfig, args, client_without_redirects, json_of};

/// The CLI with its config in a temporary home: `click.get_app_dir` puts
/// `config.ini` under `$XDG_CONFIG_HOME/pwpush`, so the real home is never
/// read or written.
struct Pwpush {
    home: tempfile::TempDir,
}

struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Pwpush {
    async fn configured(url: &str, token: Option<&str>) -> Self {
        let cli = Self {
            home: tempfile::tempdir().unwrap(),
        };
        cli.ok(&["config", "set", "--key", "url", "--value", url])
            .await;
        if let Some(token) = token {
            cli.ok(&["config", "set", "--key", "token", "--value", token])
                .await;
            // audit and list refuse to run without one; the server ignores it.
            cli.ok(&[
                "config",
                "set",
                "--key",
                "email",
                "--value",
                "alice@example.com",
            ])
            .await;
        }
        cli
    }

    async fn run(&self, args: &[&str]) -> Ran {
        let home = self.home.path().to_owned();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("pwpush")
                .args(&args)
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env_remove("PWPUSH_URL")
                .env_remove("PWPUSH_TOKEN")
                .env_remove("PWPUSH_EMAIL")
                .output()
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run pwpush ({e}): install the Password Pusher CLI with \
                 `python3 -m pip install pwpush==0.16.7` (./test.sh does this), so that PATH finds pwpush"
            )
        });
        Ran {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args).await;
        assert!(
            ran.ok,
            "pwpush {args:?} failed:\n{}\n{}",
            ran.stdout, ran.stderr
        );
        ran.stdout
    }

    /// `pwpush push …`: the printed URL and the `url_token` in it.
    async fn push(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all).await;
        let url = stdout
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("http"))
            .unwrap_or_else(|| panic!("no URL in {stdout:?}"))
            .to_owned();
        (url.clone(), token_of(&url))
    }
}

/// What scripts do: the segment after `/p/`.
fn token_of(url: &str) -> String {
    let after = url.split("/p/").nth(1).expect("a /p/ URL");
    after.split('/').next().unwrap().to_owned()
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    json_of(app.http.get(app.url(path)).send().await.unwrap()).await
}

#[tokio::test]
async fn pwpush_pushes_expires_audits_and_lists_with_a_staff_token() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let cli = Pwpush::configured(&app.base, Some(&config.token)).await;

    // --days 3 travels as expire_after_duration 8; the passphrase guards it.
    let (url, token) = cli
        .push(&[
            "--secret",
            "s3cr3t value",
            "--days",
            "3",
            "--views",
            "2",
            "--passphrase",
            "p & q=r",
        ])
        .await;
    assert!(url.ends_with(&format!("/p/{token}/r")), "{url}");
    assert!(!token.starts_with('-'));

    let (status, refused) = get_json(&app, &format!("/api/v2/pushes/{token}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused["error"], "That passphrase is incorrect.");

    let (status, shown) = get_json(
        &app,
        &format!("/api/v2/pushes/{token}?passphrase=p%20%26%20q%3Dr"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["payload"], "s3cr3t value");
    assert_eq!(shown["expire_after_days"], 3);
    assert_eq!(shown["expire_after_views"], 2);
    assert_eq!(shown["views_remaining"], 1);
    assert_eq!(shown["passphrase"], Value::Null, "never echoed");

    // A default from config.ini arrives as the string "3".
    cli.ok(&[
        "config",
        "set",
        "--key",
        "expire_after_views",
        "--value",
        "3",
    ])
    .await;
    let (_, second) = cli.push(&["--secret", "another"]).await;
    let (_, listed) = get_json(&app, &format!("/api/v2/pushes/{second}/preview")).await;
    assert!(listed["url"].as_str().unwrap().contains(&second));

    // The audit writer is asynchronous: wait (boundedly) for the creations.
    let mut list = String::new();
    for _ in 0..50 {
        list = cli.ok(&["--json", "list"]).await;
        if serde_json::from_str::<Value>(&list)
            .is_ok_and(|v| v.as_array().is_some_and(|a| a.len() == 2))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let pushes: Value = serde_json::from_str(&list).unwrap_or_else(|_| panic!("{list}"));
    assert_eq!(pushes.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(
        pushes[0]["expire_after_views"], 3,
        "newest first, views from config"
    );
    cli.ok(&["list"]).await;
    let audit = cli.ok(&["--json", "audit", &token]).await;
    assert!(
        audit.contains("creation") && audit.contains("view"),
        "{audit}"
    );
    let table = cli.ok(&["audit", &token]).await;
    assert!(table.contains("Creation"), "{table}");

    assert_eq!(cli.ok(&["expire", &token]).await.trim(), "");
    let (status, gone) = get_json(&app, &format!("/api/v2/pushes/{token}?passphrase=x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(gone["expired"], true);
    assert_eq!(gone["payload"], Value::Null);
    let expired = cli.ok(&["--json", "list", "--expired"]).await;
    assert!(
        expired.contains("\"expired\": true") || expired.contains("\"expired\":true"),
        "{expired}"
    );

    let unknown = cli
        .run(&["expire", "hAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
        .await;
    assert!(
        !unknown.ok && unknown.stdout.contains("404"),
        "{}",
        unknown.stdout
    );
}

#[tokio::test]
async fn an_anonymous_push_is_retrieved_exactly_once_by_its_url_and_opening_it_consumes_nothing() {
    let app = TestApp::spawn().await;
    let cli = Pwpush::configured(&app.base, None).await;
    let (url, token) = cli.push(&["--secret", "only once"]).await;

    // The shared link, opened by a person or a preview bot, only redirects
    // to the recipient page, with the key in the fragment.
    for path in [format!("/p/{token}"), format!("/p/{token}/r")] {
        let opened = client_without_redirects()
            .get(app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), StatusCode::SEE_OTHER);
        let location = opened.headers()[LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/s/") && location.contains('#'),
            "{location}"
        );
    }
    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    let (status, first) = get_json(&app, &format!("/p/{token}.json")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["payload"], "only once");
    assert_eq!(
        first["expired"], false,
        "the last view still says expired: false"
    );
    assert_eq!(first["views_remaining"], 0);

    for path in [
        format!("/p/{token}.json"),
        format!("/api/v2/pushes/{token}"),
    ] {
        let (status, again) = get_json(&app, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["expired"], true, "{again}");
        assert_eq!(again["payload"], Value::Null);
    }
}

#[tokio::test]
async fn a_printed_url_for_a_30_character_host_fits_80_columns() {
    let host = format!("{}.example", "s".repeat(22));
    assert_eq!(host.len(), 30);
    let app = TestApp::spawn_with(handoff::config::ServeArgs {
        public_url: Some(format!("https://{host}")),
        ..args()
    })
    .await;
    let created = app
        .http
        .post(app.url("/api/v2/pushes"))
        .json(&json!({ "push": { "payload": "x", "expire_after_views": "1" } }))
        .send()
        .await
        .unwrap();
    let (status, created) = json_of(created).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["url_token"].as_str().unwrap();
    let (_, preview) = get_json(&app, &format!("/api/v2/pushes/{token}/preview")).await;
    let url = preview["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("https://{host}/p/{token}")));
    assert!(url.len() <= 80, "{url} is {} characters", url.len());
}

#[tokio::test]
async fn bad_requests_get_password_pushers_answers() {
    let config = VendorConfig::new("max_ttl = \"7d\"", "");
    let app = TestApp::spawn_with(config.args()).await;
    let post = |body: Value| app.http.post(app.url("/api/v2/pushes")).json(&body).send();

    let (status, body) = json_of(post(json!({ "nothing": {} })).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "param is missing or the value is empty or invalid: push"
    );
    let (status, body) = json_of(post(json!({ "push": { "payload": "  " } })).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, json!({ "payload": ["Payload is required."] }));
    let (status, body) = json_of(
        post(json!({ "push": { "payload": "x", "expire_after_days": 30 } }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["expire_after_days"][0]
            .as_str()
            .unwrap()
            .contains("HANDOFF_MAX_TTL")
    );

    let bad_token = app
        .http
        .post(app.url("/api/v2/pushes"))
        .bearer_auth("not-a-token")
        .json(&json!({ "push": { "payload": "x" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bad_token.text().await.unwrap(), "");
    let version = app
        .http
        .get(app.url("/api/v2/version"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        version.status(),
        StatusCode::OK,
        "the version probe is public"
    );

    let unknown = "hAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (status, body) = get_json(&app, &format!("/api/v2/pushes/{unknown}")).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "error": "not-found" }))
    );
    let anonymous_audit = app
        .http
        .get(app.url(&format!("/api/v2/pushes/{unknown}/audit")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_audit.status(), StatusCode::UNAUTHORIZED);

    // The legacy API, and the X-User-Email/X-User-Token form of a token.
    let created = app
        .http
        .post(app.url("/p.json"))
        .header("X-User-Email", "anyone@example.com")
        .header("X-User-Token", &config.token)
        .json(&json!({ "password": { "payload": "legacy", "expire_after_days": "2" } }))
        .send()
        .await
        .unwrap();
    let (status, created) = json_of(created).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["url_token"].as_str().unwrap();
    let anonymous_push = json_of(post(json!({ "push": { "payload": "y" } })).await.unwrap())
        .await
        .1;
    let others = anonymous_push["url_token"].as_str().unwrap();
    let audit = |t: String| app.http.get(app.url(&t)).bearer_auth(&config.token).send();
    let (status, _) = json_of(audit(format!("/p/{others}/audit.json")).await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an anonymous push belongs to nobody"
    );
    let (_, preview) = get_json(&app, &format!("/p/{token}/preview.json")).await;
    assert!(preview["url"].as_str().unwrap().contains(token));
    let (_, shown) = get_json(&app, &format!("/p/{token}.json")).await;
    assert_eq!(shown["payload"], "legacy");
    assert_eq!(shown["expire_after_days"], 2);
}
