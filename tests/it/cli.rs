//! The `handoff` command line as a rotation script runs it: the real
//! binary, the secret on stdin, the link in an argument, against a server
//! on port 0. Each run is checked for what it must never print: the secret
//! on stderr.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{GOOD_SECRET, TestApp, Vendor, free_port};

const SECRET: &str = "s3cret value with spaces ";

/// One run of `handoff args…` with only `env` set, `stdin` piped in
/// (nothing otherwise), off the test's runtime so the server keeps serving.
async fn handoff(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let stdin = stdin.map(<[u8]>::to_vec);
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the handoff binary runs");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(&input).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains(SECRET.trim()) && !stderr.contains(GOOD_SECRET),
            "a secret on stderr: {stderr}"
        );
        output
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `handoff push` against `app`: the link, and the manage link (on stderr).
async fn push(app: &TestApp, args: &[&str], secret: &str) -> (String, String) {
    let output = handoff(
        &[&["push"], args].concat(),
        Some(secret.as_bytes()),
        &[("HANDOFF_URL", &app.base)],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let link = stdout(&output).trim().to_owned();
    let manage = stderr(&output)
        .split_whitespace()
        .find(|word| word.contains("/m/"))
        .expect("the manage link on stderr")
        .to_owned();
    (link, manage)
}

#[tokio::test]
async fn a_pushed_secret_is_printed_byte_for_byte_once_then_the_link_is_gone() {
    let app = TestApp::spawn().await;
    let (link, _) = push(&app, &["--ttl", "1h"], &format!("{SECRET}\n")).await;
    assert!(link.starts_with(&format!("{}/s/", app.base)), "{link}");

    let first = handoff(&["get", &link], None, &[]).await;
    let second = handoff(&["get", &link], None, &[]).await;

    assert_eq!(first.status.code(), Some(0), "{first:?}");
    // Only the final line break that the pipe added is gone.
    assert_eq!(stdout(&first), SECRET);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    assert!(stdout(&second).is_empty());
    assert!(stderr(&second).contains("already revealed"), "{second:?}");
}

#[tokio::test]
async fn a_passphrase_file_guards_the_secret() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "correct horse\n").unwrap();
    let passphrase = passphrase.to_str().unwrap();
    let (link, _) = push(&app, &["--passphrase-file", passphrase], SECRET).await;

    let without = handoff(&["get", &link], None, &[]).await;
    let with = handoff(&["get", &link, "--passphrase-file", passphrase], None, &[]).await;

    assert_eq!(without.status.code(), Some(1), "{without:?}");
    assert!(stderr(&without).to_lowercase().contains("passphrase"));
    assert_eq!(with.status.code(), Some(0), "{with:?}");
    assert_eq!(stdout(&with), SECRET);
}

#[tokio::test]
async fn peek_shows_the_note_and_consumes_nothing() {
    let app = TestApp::spawn().await;
    let (link, _) = push(&app, &["--views", "2", "--note", "Contoso prod"], SECRET).await;

    let peek = handoff(&["get", "--peek", &link], None, &[]).await;
    let json = handoff(&["get", "--peek", "--json", &link], None, &[]).await;

    assert_eq!(peek.status.code(), Some(0), "{peek:?}");
    assert!(stdout(&peek).contains("Contoso prod"));
    assert!(stdout(&peek).contains("views left: 2 of 2"), "{peek:?}");
    assert!(!stdout(&peek).contains(SECRET.trim()));
    let meta: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(meta["views_remaining"], 2);
    // `-`: the link on stdin, out of sight of `ps`.
    let revealed = handoff(&["get", "-"], Some(format!("{link}\n").as_bytes()), &[]).await;
    assert_eq!(stdout(&revealed), SECRET);
}

#[tokio::test]
async fn the_sender_sees_the_status_and_deletes_by_the_manage_link() {
    let app = TestApp::spawn().await;
    let (link, manage) = push(&app, &[], SECRET).await;

    let live = handoff(&["status", &manage], None, &[]).await;
    let deleted = handoff(&["delete", &manage], None, &[]).await;
    let ended = handoff(&["status", "--json", &manage], None, &[]).await;
    let gone = handoff(&["get", &link], None, &[]).await;

    assert!(stdout(&live).contains("state:      live"), "{live:?}");
    assert_eq!(deleted.status.code(), Some(0), "{deleted:?}");
    let status: Value = serde_json::from_slice(&ended.stdout).unwrap();
    assert_eq!(status["state"], "revoked");
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("deleted"), "{gone:?}");
}

#[tokio::test]
async fn the_recipient_deletes_by_the_link_itself() {
    let app = TestApp::spawn().await;
    let (link, _) = push(&app, &[], SECRET).await;

    let deleted = handoff(&["delete", &link], None, &[]).await;
    let gone = handoff(&["get", "--peek", &link], None, &[]).await;

    assert_eq!(deleted.status.code(), Some(0), "{deleted:?}");
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
}

#[tokio::test]
async fn push_json_prints_the_servers_answer() {
    let app = TestApp::spawn().await;

    let output = handoff(
        &["push", "--json"],
        Some(SECRET.as_bytes()),
        &[("HANDOFF_URL", &app.base)],
    )
    .await;

    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(created["url"].as_str().unwrap().contains("/s/"));
    assert!(created["manage_url"].as_str().unwrap().contains("/m/"));
}

#[tokio::test]
async fn staff_ask_a_customer_whose_script_answers_and_staff_retrieve_it_once() {
    let vendor = Vendor::start("", "verify = \"required\"").await;
    vendor.microsoft.accepts().await;
    let staff = [
        ("HANDOFF_URL", vendor.app.base.as_str()),
        ("HANDOFF_TOKEN", vendor.token.as_str()),
    ];

    let created = handoff(
        &[
            "request", "new", "--tenant", "contoso", "--note", "Q4", "--ttl", "7d",
        ],
        None,
        &staff,
    )
    .await;
    assert_eq!(created.status.code(), Some(0), "{created:?}");
    let links: Vec<String> = stdout(&created)
        .split_whitespace()
        .filter(|w| w.starts_with("http"))
        .map(str::to_owned)
        .collect();
    let (submit, retrieve) = (&links[0], &links[1]);
    assert!(submit.contains("/r/") && retrieve.contains("/staff/requests/"));

    // The customer's script: `az … -o tsv | handoff answer "$LINK" --expires-on …`.
    let answered = handoff(
        &["answer", submit, "--expires-on", "2028-11-22"],
        Some(format!("{GOOD_SECRET}\n").as_bytes()),
        &[],
    )
    .await;
    assert_eq!(answered.status.code(), Some(0), "{answered:?}");
    assert!(
        stdout(&answered).starts_with("Accepted and verified"),
        "{answered:?}"
    );

    let list = handoff(&["request", "list"], None, &staff).await;
    assert!(stdout(&list).contains("answered"), "{list:?}");

    let token = [("HANDOFF_TOKEN", vendor.token.as_str())];
    let first = handoff(&["get", retrieve], None, &token).await;
    let second = handoff(&["get", retrieve], None, &token).await;
    assert_eq!(stdout(&first), GOOD_SECRET);
    assert_eq!(second.status.code(), Some(1), "{second:?}");

    vendor
        .audit_events("tenant=contoso", &["request.answered", "request.retrieved"])
        .await;
    let audit = handoff(&["audit", "--tenant", "contoso", "--json"], None, &staff).await;
    let trail: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let kinds: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"request.retrieved"), "{kinds:?}");
    let trail_text = handoff(&["audit", "--since", "2020-01-01"], None, &staff).await;
    assert!(
        stdout(&trail_text).contains("request.created"),
        "{trail_text:?}"
    );
}

#[tokio::test]
async fn a_refused_answer_exits_1_with_the_servers_sentence() {
    let vendor = Vendor::start("", "verify = \"required\"").await;
    let request = vendor.request().await;
    let submit = format!(
        "{}/r/{}#{}",
        vendor.app.base, request.id, request.submit_key
    );

    let output = handoff(
        &["answer", &submit],
        Some(b"3f2504e0-4f89-11d3-9a0c-0305e82c3301\n"),
        &[],
    )
    .await;

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr(&output).contains("Secret ID"), "{output:?}");
    assert!(stderr(&output).contains("tries left"), "{output:?}");
}

#[tokio::test]
async fn staff_commands_without_a_token_are_a_usage_error() {
    let app = TestApp::spawn().await;

    let output = handoff(&["request", "list"], None, &[("HANDOFF_URL", &app.base)]).await;
    let wrong = handoff(
        &["request", "list"],
        None,
        &[("HANDOFF_URL", &app.base), ("HANDOFF_TOKEN", "not-a-token")],
    )
    .await;

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(stderr(&output).contains("HANDOFF_TOKEN"));
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
}

#[tokio::test]
async fn usage_errors_exit_2_and_name_what_is_missing() {
    let no_server = handoff(&["push"], Some(SECRET.as_bytes()), &[]).await;
    let no_key = handoff(&["get", "http://127.0.0.1:1/s/abc"], None, &[]).await;
    let no_input = handoff(&["push"], None, &[("HANDOFF_URL", "http://127.0.0.1:1")]).await;
    let wrong_kind = handoff(&["status", "http://127.0.0.1:1/s/abc#key"], None, &[]).await;
    let unknown_flag = handoff(&["get", "--nope"], None, &[]).await;

    for output in [&no_server, &no_key, &no_input, &wrong_kind, &unknown_flag] {
        assert_eq!(output.status.code(), Some(2), "{output:?}");
    }
    assert!(stderr(&no_server).contains("HANDOFF_URL"));
    assert!(stderr(&no_key).contains("after '#'"));
    assert!(stderr(&wrong_kind).contains("manage link"));
}

#[tokio::test]
async fn an_unreachable_server_exits_3() {
    let closed = format!("http://127.0.0.1:{}", free_port());

    let get = handoff(&["get", &format!("{closed}/s/abc#key")], None, &[]).await;
    let push = handoff(
        &["push"],
        Some(SECRET.as_bytes()),
        &[("HANDOFF_URL", &closed)],
    )
    .await;

    assert_eq!(get.status.code(), Some(3), "{get:?}");
    assert_eq!(push.status.code(), Some(3), "{push:?}");
    assert!(stderr(&push).contains("could not connect"), "{push:?}");
}

#[tokio::test]
async fn an_unclear_reveal_is_retried_with_the_same_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/reveal$"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "0")
                .set_body_json(serde_json::json!({
                    "error": "outcome_unknown",
                    "message": "The store did not confirm the reveal."
                })),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/reveal$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "secret": SECRET, "views_remaining": 0 })),
        )
        .mount(&server)
        .await;

    let output = handoff(&["get", &format!("{}/s/abc#key", server.uri())], None, &[]).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), SECRET);
    let keys: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn completions_and_the_man_page_come_from_the_command_definition() {
    let bash = handoff(&["completions", "bash"], None, &[]).await;
    let man = handoff(&["man"], None, &[]).await;

    assert!(stdout(&bash).contains("push"), "{bash:?}");
    assert!(stdout(&man).contains(".TH handoff"), "{man:?}");
    assert!(stdout(&man).contains("answer"));
}

#[tokio::test]
async fn the_server_side_commands_still_work_beside_the_client() {
    let key = handoff(&["server-key"], None, &[]).await;

    assert_eq!(key.status.code(), Some(0));
    assert_eq!(stdout(&key).trim().len(), 44, "{key:?}");
}

/// Kills the server started by a test when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_a_subcommand_the_binary_still_serves() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_handoff"))
            .env_clear()
            .env("HANDOFF_LISTEN", format!("127.0.0.1:{port}"))
            .env("HANDOFF_STORE", "memory")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(server.0.try_wait().unwrap().is_none(), "the server exited");
        assert!(std::time::Instant::now() < deadline, "no server listening");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn answer_waits_with_a_progress_line_while_microsoft_activates_a_new_secret() {
    let vendor = Vendor::start("new_secret_window = \"30s\"", "verify = \"required\"").await;
    let request = vendor.request().await;
    let submit = format!(
        "{}/r/{}#{}",
        vendor.app.base, request.id, request.submit_key
    );
    // Created "now": Microsoft takes it in a few seconds.
    vendor
        .microsoft
        .accepts_after(std::time::Duration::from_secs(4))
        .await;

    let output = handoff(
        &["answer", &submit],
        Some(format!("{GOOD_SECRET}\n").as_bytes()),
        &[],
    )
    .await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        stderr(&output).contains("Microsoft is still activating this new secret"),
        "{output:?}"
    );
    assert!(
        stdout(&output).starts_with("Accepted and verified"),
        "{output:?}"
    );
}
