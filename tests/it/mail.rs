//! Mail against a real SMTP server (aiosmtpd): the request link reaches the
//! tenant's contacts and works, the staff retrieve link never does, a
//! refusing or stopped server gets the mail once it takes it again, an
//! automatic request goes out once across instances and a restart, and
//! `handoff mail test` says what went wrong.

use std::process::Command;
use std::time::Duration;

use handoff::crypto::ServerKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    GOOD_SECRET, Microsoft, RedisServer, Request, ServeArgsExt as _, SmtpServer, TestApp,
    TestCertificates, Vendor, VendorConfig, json_of,
};

const CONTACT: &str = "it-admin@contoso.example";

/// `[mail]` through `smtp` without TLS (it runs on this machine), retrying
/// every second.
fn mail_settings(smtp: &SmtpServer) -> String {
    format!(
        "[mail]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
         from = \"handoff@fabrikam.example\"\nretries = \"1s,1s,1s,1s,1s,1s,1s,1s\"\n",
        smtp.port
    )
}

/// A vendor whose contoso tenant has contacts and reads German, and whose
/// `nocontacts` tenant has none; Microsoft accepts any secret.
async fn vendor(smtp: &SmtpServer) -> Vendor {
    let contoso = format!(
        "contacts = [\"{CONTACT}\", \"second@contoso.example\"]\nlanguage = \"de\"\n\n\
         [tenants.nocontacts]\nname = \"No Contacts\"\nentra_tenant = \"nocontacts.onmicrosoft.com\"\n\
         client_id = \"{}\"\n\n{}",
        crate::common::CONTOSO_APP,
        mail_settings(smtp)
    );
    let vendor = Vendor::start("", &contoso).await;
    vendor.microsoft.accepts().await;
    vendor
}

fn request_of(body: &Value) -> Request {
    let key_of = |url: &str| {
        body[url]
            .as_str()
            .unwrap()
            .split_once('#')
            .unwrap()
            .1
            .to_owned()
    };
    Request {
        id: body["id"].as_str().unwrap().to_owned(),
        submit_key: key_of("submit_url"),
        retrieve_key: key_of("retrieve_url"),
    }
}

/// A staff page's HTML.
async fn staff_page(app: &TestApp, token: &str, path: &str) -> String {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The `/r/<id>#<key>` link in a mail's plain text.
fn link_in(text: &str) -> (String, String) {
    let start = text.find("/r/").expect("the mail holds a request link");
    let link: String = text[start + 3..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (id, key) = link.split_once('#').expect("the link carries its key");
    (id.to_owned(), key.to_owned())
}

#[tokio::test]
async fn a_request_with_notify_is_mailed_to_the_contacts_and_its_link_works() {
    let smtp = SmtpServer::start();
    let vendor = vendor(&smtp).await;

    let (status, body) = json_of(
        vendor
            .create_request(json!({ "tenant": "contoso", "note": "Rotation <Q4>", "notify": true }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let request = request_of(&body);

    let received = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "one message");
    let mail = &received[0];
    let headers = &mail["headers"];
    let mut to: Vec<&str> = mail["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    to.sort_unstable();
    assert_eq!(to, ["it-admin@contoso.example", "second@contoso.example"]);
    assert_eq!(headers["from"], "Fabrikam <handoff@fabrikam.example>");
    assert!(
        headers["to"].as_str().unwrap().contains(CONTACT),
        "{headers}"
    );
    let subject = headers["subject"].as_str().unwrap();
    assert!(
        subject.contains("Fabrikam") && subject.contains("Contoso Ltd"),
        "{subject}"
    );
    assert!(headers["date"].is_string(), "{headers}");
    let message_id = headers["message-id"].as_str().unwrap();
    assert!(message_id.ends_with("@fabrikam.example>"), "{message_id}");
    assert_eq!(headers["auto-submitted"], "auto-generated");
    // contoso reads German.
    assert_eq!(headers["content-language"], "de");
    assert!(subject.contains("geheimen Clientschlüssel"), "{subject}");

    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    for step in [
        "Zertifikate & Geheimnisse",
        "„Wert“",
        "Nicht die „Geheime ID“",
        "Hinweis von Fabrikam: Rotation <Q4>",
        crate::common::CONTOSO_APP,
    ] {
        assert!(text.contains(step), "the steps of the request page: {step}");
    }
    assert!(
        text.contains("Rotation <Q4>"),
        "the note, as written, in the plain text"
    );
    assert!(
        html.contains("Rotation &#60;Q4&#62;"),
        "the note, escaped, in the HTML"
    );
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "no images, no scripts"
    );
    let raw = mail["raw"].as_str().unwrap();
    assert!(
        !raw.contains(&request.retrieve_key),
        "the staff retrieve key is never mailed"
    );

    let (id, key) = link_in(text);
    assert_eq!(id, request.id);
    assert_eq!(key, request.submit_key);
    assert!(html.contains(&format!("/r/{id}#{key}")));
    let opened = vendor
        .view(&Request {
            id,
            submit_key: key.clone(),
            retrieve_key: String::new(),
        })
        .await;
    assert_eq!(
        opened.status(),
        StatusCode::OK,
        "the mailed link opens the request"
    );

    let events = vendor
        .audit_events(
            &format!("subject={}", request.id),
            &["mail.queued", "mail.sent"],
        )
        .await;
    let logged = serde_json::to_string(&events).unwrap();
    assert!(!logged.contains(&key), "no link key in the audit trail");
    let sent = events.iter().find(|e| e["kind"] == "mail.sent").unwrap();
    assert!(sent["detail"].as_str().unwrap().contains("250"), "{sent}");

    let page = staff_page(&vendor.app, &vendor.token, "/staff/requests").await;
    assert!(
        page.contains("data-mail=\"sent\""),
        "the requests page shows it was mailed"
    );
}

#[tokio::test]
async fn notify_without_contacts_or_without_mail_settings_is_refused_and_creates_nothing() {
    let smtp = SmtpServer::start();
    let vendor = vendor(&smtp).await;
    let (status, body) = json_of(
        vendor
            .create_request(json!({ "tenant": "nocontacts", "notify": true }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "no_contacts", "{body}");

    let without_mail = Vendor::start("", &format!("contacts = [\"{CONTACT}\"]")).await;
    let (status, body) = json_of(
        without_mail
            .create_request(json!({ "tenant": "contoso", "notify": true }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "mail_not_configured", "{body}");

    for vendor in [&vendor, &without_mail] {
        let list = vendor.staff_get("/api/v1/requests").await;
        assert_eq!(list["requests"].as_array().unwrap().len(), 0, "{list}");
    }
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_request_without_notify_sends_no_mail() {
    let smtp = SmtpServer::start();
    let vendor = vendor(&smtp).await;
    let _request = vendor.request().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_tenants_daily_cap_refuses_the_next_mail_with_429() {
    let smtp = SmtpServer::start();
    let contoso = format!(
        "contacts = [\"{CONTACT}\"]\n\n{}daily_cap = 2\n",
        mail_settings(&smtp)
    );
    let vendor = Vendor::start("", &contoso).await;
    for _ in 0..2 {
        let response = vendor
            .create_request(json!({ "tenant": "contoso", "notify": true }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    vendor
        .audit_events("tenant=contoso", &["mail.queued"])
        .await;
    // The cap counts from the audit trail, written in the background.
    let mut refused = None;
    for _ in 0..40 {
        let (status, body) = json_of(
            vendor
                .create_request(json!({ "tenant": "contoso", "notify": true }))
                .await,
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("the third mail of the day is refused");
    assert_eq!(refused["error"], "mail_cap_reached", "{refused}");
}

#[tokio::test]
async fn a_refusing_then_stopped_server_gets_the_mail_once_when_it_takes_it_again() {
    let mut smtp = SmtpServer::start();
    smtp.refuse("550 5.7.1 not today");
    let vendor = vendor(&smtp).await;
    let response = vendor
        .create_request(json!({ "tenant": "contoso", "notify": true }))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request = request_of(&response.json().await.unwrap());

    // Refused, then down: nothing arrives, the mail waits in the outbox.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    smtp.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(smtp.received().is_empty());

    smtp.accept();
    smtp.start_again();
    let received = smtp.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1);
    let (id, _) = link_in(received[0]["text"].as_str().unwrap());
    assert_eq!(id, request.id);
    let events = vendor
        .audit_events(&format!("subject={}", request.id), &["mail.sent"])
        .await;
    let sent = events.iter().find(|e| e["kind"] == "mail.sent").unwrap();
    let detail = sent["detail"].as_str().unwrap();
    assert!(!detail.contains("attempt 1)"), "sent on a retry: {detail}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.received().len(), 1, "delivered once");
}

#[tokio::test]
async fn a_mail_the_server_keeps_refusing_is_given_up_and_shown_to_staff() {
    let smtp = SmtpServer::start();
    smtp.refuse("550 5.7.1 relaying denied");
    let contoso = format!(
        "contacts = [\"{CONTACT}\"]\n\n[mail]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
         from = \"handoff@fabrikam.example\"\nretries = \"1s\"\n",
        smtp.port
    );
    let vendor = Vendor::start("", &contoso).await;
    let response = vendor
        .create_request(json!({ "tenant": "contoso", "notify": true }))
        .await;
    let request = request_of(&response.json().await.unwrap());
    let events = vendor
        .audit_events(&format!("subject={}", request.id), &["mail.failed"])
        .await;
    let failed = events.iter().find(|e| e["kind"] == "mail.failed").unwrap();
    let detail = failed["detail"].as_str().unwrap();
    assert!(
        detail.contains("550") && detail.contains("relaying denied"),
        "{detail}"
    );
    assert!(!detail.contains(&request.submit_key));

    let home = staff_page(&vendor.app, &vendor.token, "/staff").await;
    assert!(
        home.contains("data-mail=\"failed\""),
        "the tenants page shows the failure"
    );
    assert!(home.contains("relaying denied"));
}

/// contoso applies to a file sink, verifies with Microsoft, has a contact,
/// and asks for the next secret 200 days before expiry (the apply below
/// records 2027-05-22).
fn rotating_contoso(smtp: &SmtpServer, microsoft: &Microsoft, sinks: &std::path::Path) -> String {
    format!(
        "authority = \"{}\"\nverify = \"required\"\nsink = \"files\"\nsink_path = \"contoso\"\n\
         contacts = [\"{CONTACT}\"]\nauto_request_days_before = 200\n\n\
         [sinks.files]\nkind = \"file\"\ndir = \"{}\"\n\n{}",
        microsoft.authority,
        sinks.display(),
        mail_settings(smtp)
    )
}

#[tokio::test]
async fn an_automatic_request_goes_out_once_across_two_instances_and_a_restart_and_closes_the_loop()
{
    let smtp = SmtpServer::start();
    let redis = RedisServer::start();
    let microsoft = Microsoft::start().await;
    microsoft.accepts().await;
    let sinks = tempfile::tempdir().unwrap();
    let config = VendorConfig::new("", &rotating_contoso(&smtp, &microsoft, sinks.path()));
    let key = ServerKey::generate().encode().to_string();
    let args = || {
        let mut args = config.args().no_limit();
        args.store = Some(redis.url().into());
        args.server_key = Some(key.clone().into());
        args
    };

    // Staff apply the current secret: handoff now tracks its expiry.
    let first = TestApp::spawn_with(args()).await;
    let pushed = first.push(json!({ "secret": GOOD_SECRET })).await;
    let applied = first
        .http
        .post(first.url(&format!("/api/v1/secrets/{}/apply", pushed.id)))
        .bearer_auth(&config.token)
        .json(&json!({ "key": pushed.key, "tenant": "contoso", "expires_on": "2027-05-22" }))
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);

    // Two instances start at once; each sweeps at start.
    let (a, b) = tokio::join!(TestApp::spawn_with(args()), TestApp::spawn_with(args()));
    let received = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    drop(b);
    let _b = TestApp::spawn_with(args()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        smtp.received().len(),
        1,
        "one automatic request, not one per instance"
    );
    let mail = &smtp.received()[0];
    assert!(
        mail["text"].as_str().unwrap().contains("2027-05-22"),
        "it says when the current secret expires"
    );

    let home = staff_page(&a, &config.token, "/staff").await;
    assert!(home.contains("Request sent automatically on"), "{home}");

    // The customer answers through the mailed link: verified and applied
    // with nobody at the vendor involved.
    let (id, submit_key) = link_in(mail["text"].as_str().unwrap());
    let answered = a
        .http
        .post(a.url(&format!("/api/v1/requests/{id}/answer")))
        .json(&json!({ "key": submit_key, "secret": crate::common::NEW_SECRET, "expires_on": "2028-11-22" }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(answered).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["delivered"], true, "{body}");
    let file = std::fs::read_to_string(sinks.path().join("contoso.env")).unwrap();
    assert!(
        file.contains(crate::common::NEW_SECRET),
        "applied to the sink"
    );
    let tenants: Value = a
        .http
        .get(a.url("/api/v1/tenants"))
        .bearer_auth(&config.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        tenants.to_string().contains("2028-11-22"),
        "the new expiry is tracked: {tenants}"
    );
}

fn mail_test(env: &[(&str, &str)], to: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["mail", "test", to])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn mail_test_sends_over_starttls_and_names_what_failed() {
    let certificates = TestCertificates::new();
    let smtp = SmtpServer::start_starttls(&certificates);
    let port = smtp.port.to_string();
    let ca = certificates.path("ca.pem");
    let settings = [
        ("HANDOFF_MAIL_HOST", "localhost"),
        ("HANDOFF_MAIL_PORT", port.as_str()),
        ("HANDOFF_MAIL_SECURITY", "starttls"),
        ("HANDOFF_MAIL_FROM", "handoff@fabrikam.example"),
        ("HANDOFF_STORE", "memory"),
    ];

    let (sent, output) = mail_test(
        &[&settings[..], &[("SSL_CERT_FILE", ca.as_str())]].concat(),
        CONTACT,
    );
    assert!(sent, "{output}");
    assert!(output.contains("250"), "{output}");
    let received = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["tls"], true, "sent after STARTTLS");
    assert_eq!(received[0]["rcpt_tos"], json!([CONTACT]));

    let (sent, output) = mail_test(&settings, CONTACT);
    assert!(!sent);
    assert!(output.contains("TLS"), "an untrusted certificate: {output}");

    let (sent, output) = mail_test(
        &[&settings[..], &[("SSL_CERT_FILE", ca.as_str())]].concat(),
        "nobody@contoso.example",
    );
    assert!(!sent);
    assert!(
        output.contains("550") && output.contains("no such user"),
        "{output}"
    );

    let closed = crate::common::free_port().to_string();
    let (sent, output) = mail_test(
        &[
            ("HANDOFF_MAIL_HOST", "127.0.0.1"),
            ("HANDOFF_MAIL_PORT", closed.as_str()),
            ("HANDOFF_MAIL_SECURITY", "none"),
            ("HANDOFF_MAIL_FROM", "handoff@fabrikam.example"),
            ("HANDOFF_STORE", "memory"),
        ],
        CONTACT,
    );
    assert!(!sent);
    assert!(output.contains("could not connect"), "{output}");
}

#[test]
fn no_tls_to_a_server_elsewhere_stops_start_up_naming_the_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["mail", "test", CONTACT])
        .env_clear()
        .envs([
            ("HANDOFF_MAIL_HOST", "smtp.fabrikam.example"),
            ("HANDOFF_MAIL_SECURITY", "none"),
            ("HANDOFF_MAIL_FROM", "handoff@fabrikam.example"),
            ("HANDOFF_STORE", "memory"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HANDOFF_MAIL_SECURITY"), "{stderr}");
}

#[tokio::test]
async fn an_automatic_request_whose_answer_the_sink_refuses_opens_again_for_the_customer() {
    let smtp = SmtpServer::start();
    let redis = RedisServer::start();
    let microsoft = Microsoft::start().await;
    microsoft.accepts().await;
    let sinks = tempfile::tempdir().unwrap();
    let sink_dir = sinks.path().join("configs");
    std::fs::create_dir(&sink_dir).unwrap();
    let config = VendorConfig::new("", &rotating_contoso(&smtp, &microsoft, &sink_dir));
    let key = ServerKey::generate().encode().to_string();
    let args = || {
        let mut args = config.args().no_limit();
        args.store = Some(redis.url().into());
        args.server_key = Some(key.clone().into());
        args
    };
    let first = TestApp::spawn_with(args()).await;
    let pushed = first.push(json!({ "secret": GOOD_SECRET })).await;
    let applied = first
        .http
        .post(first.url(&format!("/api/v1/secrets/{}/apply", pushed.id)))
        .bearer_auth(&config.token)
        .json(&json!({ "key": pushed.key, "tenant": "contoso", "expires_on": "2027-05-22" }))
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);
    let app = TestApp::spawn_with(args()).await;
    let received = smtp.wait_for(1, Duration::from_secs(10)).await;
    let (id, submit_key) = link_in(received[0]["text"].as_str().unwrap());

    // The sink's folder is gone (a file in its place): the write fails.
    std::fs::remove_dir_all(&sink_dir).unwrap();
    std::fs::write(&sink_dir, "not a folder").unwrap();
    let answer = || {
        app.http
            .post(app.url(&format!("/api/v1/requests/{id}/answer")))
            .json(&json!({ "key": submit_key, "secret": crate::common::NEW_SECRET, "expires_on": "2028-11-22" }))
            .send()
    };
    let (status, body) = json_of(answer().await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "not_delivered", "{body}");

    // Back, and the same link takes the answer again.
    std::fs::remove_file(&sink_dir).unwrap();
    std::fs::create_dir(&sink_dir).unwrap();
    let (status, body) = json_of(answer().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["delivered"], true, "{body}");
    let file = std::fs::read_to_string(sink_dir.join("contoso.env")).unwrap();
    assert!(file.contains(crate::common::NEW_SECRET));
}

#[tokio::test]
async fn staff_mail_a_request_from_the_command_line() {
    let smtp = SmtpServer::start();
    let vendor = vendor(&smtp).await;
    let base = vendor.app.base.clone();
    let token = vendor.token.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(["request", "new", "--tenant", "contoso", "--notify"])
            .env_clear()
            .envs([
                ("HANDOFF_URL", base.as_str()),
                ("HANDOFF_TOKEN", token.as_str()),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let received = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    let printed = String::from_utf8_lossy(&output.stdout);
    let (id, key) = link_in(received[0]["text"].as_str().unwrap());
    assert!(printed.contains(&format!("/r/{id}#{key}")), "{printed}");
}

#[tokio::test]
async fn expiry_reminders_also_go_to_the_staff_address() {
    let smtp = SmtpServer::start();
    let redis = RedisServer::start();
    let microsoft = Microsoft::start().await;
    microsoft.accepts().await;
    let sinks = tempfile::tempdir().unwrap();
    let contoso = format!(
        "authority = \"{}\"\nsink = \"files\"\nsink_path = \"contoso\"\n\n\
         [sinks.files]\nkind = \"file\"\ndir = \"{}\"\n\n{}staff = \"it-ops@fabrikam.example\"\n",
        microsoft.authority,
        sinks.path().display(),
        mail_settings(&smtp)
    );
    let config = VendorConfig::new("expiry_reminders = \"200\"", &contoso);
    let key = ServerKey::generate().encode().to_string();
    let args = || {
        let mut args = config.args().no_limit();
        args.store = Some(redis.url().into());
        args.server_key = Some(key.clone().into());
        args
    };
    let first = TestApp::spawn_with(args()).await;
    let pushed = first.push(json!({ "secret": GOOD_SECRET })).await;
    let applied = first
        .http
        .post(first.url(&format!("/api/v1/secrets/{}/apply", pushed.id)))
        .bearer_auth(&config.token)
        .json(&json!({ "key": pushed.key, "tenant": "contoso", "expires_on": "2027-05-22" }))
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);

    // A second instance sweeps at start: the 200-day reminder is due.
    let _second = TestApp::spawn_with(args()).await;
    let received = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["rcpt_tos"], json!(["it-ops@fabrikam.example"]));
    let subject = received[0]["headers"]["subject"].as_str().unwrap();
    assert!(
        subject.contains("Contoso Ltd") && subject.contains("2027-05-22"),
        "{subject}"
    );
    assert!(received[0]["text"].as_str().unwrap().contains("/staff"));
}

/// A mail kind that takes every item, for the outbox test below.
struct TakesAll;

#[async_trait::async_trait]
impl handoff::webhook::OutboxKind for TakesAll {
    fn prefix(&self) -> &'static str {
        "mail:"
    }
    fn schedule(&self) -> &handoff::webhook::RetrySchedule {
        static NONE: std::sync::OnceLock<handoff::webhook::RetrySchedule> =
            std::sync::OnceLock::new();
        NONE.get_or_init(|| handoff::webhook::RetrySchedule::new(Vec::new()))
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
    async fn attempt(
        &self,
        _item: &handoff::store::OutboxItem,
    ) -> Result<String, handoff::webhook::AttemptFailure> {
        Ok("250 taken".to_owned())
    }
    fn finished(&self, _: &handoff::store::OutboxItem, _: u32, _: Result<String, String>) {}
}

#[tokio::test]
async fn a_server_with_mail_but_no_webhook_leaves_webhook_events_in_the_outbox() {
    use handoff::store::{MemoryStore, OutboxItem, OutboxStore};
    let store: std::sync::Arc<dyn OutboxStore> = std::sync::Arc::new(MemoryStore::new());
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let item = |id: &str, target: &str| OutboxItem {
        id: id.to_owned(),
        target: target.to_owned(),
        event_type: "request.answered".to_owned(),
        payload: "{}".to_owned(),
        due_ms: now_ms,
        attempts: 0,
        created_at: 0,
    };
    assert!(
        store
            .enqueue_outbox(&item("msg_left", "events"), 10)
            .await
            .unwrap()
    );
    assert!(
        store
            .enqueue_outbox(&item("mail_left", "mail:contoso"), 10)
            .await
            .unwrap()
    );
    let outbox = handoff::webhook::Webhooks::start_outbox(
        None,
        handoff::webhook::RetrySchedule::new(Vec::new()),
        Duration::from_secs(1),
        std::sync::Arc::downgrade(&store),
        |_| None,
        |report| panic!("no webhook event is reported: {report:?}"),
        Some(std::sync::Arc::new(TakesAll)),
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = store
        .claim_outbox(now_ms + 3_600_000, now_ms + 3_700_000, 10)
        .await
        .unwrap();
    let ids: Vec<(&str, u32)> = later.iter().map(|i| (i.id.as_str(), i.attempts)).collect();
    assert_eq!(
        ids,
        [("msg_left", 0)],
        "the mail went, the webhook event waits untried"
    );
    outbox.stop().await;
}

#[tokio::test]
async fn a_mail_waiting_for_a_retry_survives_a_restart_and_goes_once() {
    let mut smtp = SmtpServer::start();
    smtp.refuse("451 4.3.0 try again later");
    let redis = RedisServer::start();
    let config = VendorConfig::new(
        "",
        &format!("contacts = [\"{CONTACT}\"]\n\n{}", mail_settings(&smtp)),
    );
    let key = ServerKey::generate().encode().to_string();
    let args = || {
        let mut args = config.args().no_limit();
        args.store = Some(redis.url().into());
        args.server_key = Some(key.clone().into());
        args
    };
    let before = TestApp::spawn_with(args()).await;
    let created = before
        .http
        .post(before.url("/api/v1/requests"))
        .bearer_auth(&config.token)
        .json(&json!({ "tenant": "contoso", "notify": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let request = request_of(&created.json().await.unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(before);
    smtp.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;

    smtp.accept();
    smtp.start_again();
    let _after = TestApp::spawn_with(args()).await;
    let received = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        received.len(),
        1,
        "the new server sends what the old one could not"
    );
    let (id, _) = link_in(received[0]["text"].as_str().unwrap());
    assert_eq!(id, request.id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.received().len(), 1, "once");
}
