//! The web pages in real headless Chromium, driven through chromedriver:
//! create → open link → nothing revealed yet → Reveal → secret → reopen →
//! gone, with no Content-Security-Policy violation or script error.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{TestApp, free_port};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port, killed on drop.
struct ChromeDriver {
    port: u16,
    child: Child,
}

impl ChromeDriver {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver ({e}): install it with `apt-get install chromium chromium-driver`")
            });
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's browser-console log (`goog:loggingPrefs`), which is where
/// Chromium reports CSP violations and uncaught script errors.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

async fn browser(driver: &ChromeDriver, profile: &std::path::Path) -> Client {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it with `apt-get install chromium chromium-driver`"
    );
    let capabilities = json!({
        "browserName": "chrome",
        "goog:loggingPrefs": { "browser": "ALL" },
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1200,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromedriver session")
}

async fn visible(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("{css}:not([hidden])")))
        .await
        .unwrap_or_else(|e| panic!("{css} never became visible: {e}"))
}

async fn console_problems(browser: &Client) -> Vec<String> {
    let entries = browser
        .issue_cmd(BrowserLog)
        .await
        .expect("the browser log");
    entries
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        // Chromium logs every 4xx fetch as SEVERE; the gone link's 404 is
        // the expected answer, not a page error.
        .filter(|entry| {
            !(entry["source"] == "network"
                && entry["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("status of 404")))
        })
        .filter(|entry| {
            entry["level"] == "SEVERE"
                || entry["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Content Security Policy"))
        })
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_goes_from_the_create_page_to_one_reveal_and_is_then_gone() {
    let app = TestApp::spawn().await;
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = browser(&driver, profile.path()).await;
    let secret = "abc8Q~BrowserSecret_0123456789abcdefghij";

    // Create.
    browser.goto(&app.url("/")).await.unwrap();
    browser
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .send_keys(secret)
        .await
        .unwrap();
    browser
        .find(Locator::Id("note"))
        .await
        .unwrap()
        .send_keys("for the browser test")
        .await
        .unwrap();
    browser
        .find(Locator::Id("create"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let link = visible(&browser, "#link")
        .await
        .prop("value")
        .await
        .unwrap()
        .expect("the link");
    assert!(
        link.starts_with(&app.url("/s/")) && link.contains('#'),
        "{link}"
    );
    let manage_link = browser
        .find(Locator::Id("manage-link"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();

    // Open the link: details, no secret, nothing consumed.
    browser.goto(&link).await.unwrap();
    visible(&browser, "#ready").await;
    let note = browser
        .find(Locator::Id("note"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(note.contains("for the browser test"), "{note}");
    assert!(
        !browser.source().await.unwrap().contains(secret),
        "the page holds no secret before Reveal"
    );
    browser.refresh().await.unwrap();
    visible(&browser, "#ready").await;

    // Reveal.
    browser
        .find(Locator::Id("reveal"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let output = visible(&browser, "#revealed").await;
    drop(output);
    let shown = browser
        .find(Locator::Id("secret-output"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown, secret);
    let address = browser.current_url().await.unwrap();
    assert!(
        address.fragment().is_none(),
        "the key is dropped from the address bar"
    );

    // Reopen the same link: gone, and it says when.
    browser.goto(&link).await.unwrap();
    let gone = visible(&browser, "#gone").await.text().await.unwrap();
    assert!(gone.contains("already revealed"), "{gone}");
    assert!(!browser.source().await.unwrap().contains(secret));

    // The sender's page shows the reveal.
    browser.goto(&manage_link).await.unwrap();
    let state = visible(&browser, "#status").await.text().await.unwrap();
    assert!(state.to_lowercase().contains("revealed"), "{state}");

    let problems = console_problems(&browser).await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

const GOOD_SECRET: &str = "abc8Q~abcdefghijklmnopqrstuvwxyz0123456.";

/// A vendor with one tenant whose authority is a local stand-in for
/// Microsoft that accepts any secret, as the token endpoint documents.
async fn vendor_with_microsoft() -> (TestApp, String, wiremock::MockServer, tempfile::TempDir) {
    vendor_with_tenant_lines("").await
}

/// As [`vendor_with_microsoft`], with `extra` appended to the tenant's
/// table (and whatever tables follow).
async fn vendor_with_tenant_lines(
    extra: &str,
) -> (TestApp, String, wiremock::MockServer, tempfile::TempDir) {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let microsoft = MockServer::start().await;
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json!({ "tid": "8d7a3c2e-1f4b-4e6a-9c5d-2b1a0f9e8d7c", "appid": common::CONTOSO_APP })
            .to_string(),
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig"),
        })))
        .mount(&microsoft)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (token, staff) = handoff::directory::new_staff_token("alice");
    let config = dir.path().join("handoff.toml");
    std::fs::write(
        &config,
        format!(
            "vendor_name = \"Fabrikam\"\n{staff}\n\n[tenants.contoso]\nname = \"Contoso Ltd\"\n\
             entra_tenant = \"{}\"\nclient_id = \"{}\"\nauthority = \"{}\"\n{extra}",
            common::CONTOSO_TENANT,
            common::CONTOSO_APP,
            microsoft.uri()
        ),
    )
    .unwrap();
    let mut args = common::args();
    args.config = Some(config);
    (
        TestApp::spawn_with(args).await,
        token.to_string(),
        microsoft,
        dir,
    )
}

/// Signs staff in through the sign-in page, landing on `next`.
async fn sign_in(browser: &Client, app: &TestApp, token: &str, next: &str) {
    browser
        .goto(&app.url(&format!("/staff/sign-in?next={next}")))
        .await
        .unwrap();
    browser
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    browser
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn value_of(browser: &Client, id: &str) -> String {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_ask_the_customer_is_guided_and_verified_and_staff_retrieve_it() {
    let (app, token, _microsoft, _config) = vendor_with_microsoft().await;
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = browser(&driver, profile.path()).await;

    // Staff sign in and create a request link.
    sign_in(&browser, &app, &token, "/staff/requests").await;
    visible(&browser, "#create-request").await;
    browser
        .find(Locator::Id("request-note"))
        .await
        .unwrap()
        .send_keys("Q4 rotation")
        .await
        .unwrap();
    browser
        .find(Locator::Id("create-request"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    visible(&browser, "#submit-url").await;
    let submit_url = value_of(&browser, "submit-url").await;
    let retrieve_url = value_of(&browser, "retrieve-url").await;
    assert!(
        submit_url.starts_with(&app.url("/r/")) && submit_url.contains('#'),
        "{submit_url}"
    );

    // The customer sees who asks, pastes the Secret ID first and is told.
    browser.goto(&submit_url).await.unwrap();
    visible(&browser, "#open").await;
    let tenant = browser
        .find(Locator::Id("tenant-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(tenant.contains("Contoso Ltd"), "{tenant}");
    let secret = browser.find(Locator::Id("secret")).await.unwrap();
    secret
        .send_keys("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        .await
        .unwrap();
    let check = visible(&browser, "#secret-check")
        .await
        .text()
        .await
        .unwrap();
    assert!(check.contains("Secret ID"), "{check}");

    // Then the Value: Microsoft accepts it while the customer watches.
    secret.clear().await.unwrap();
    secret.send_keys(GOOD_SECRET).await.unwrap();
    browser
        .find(Locator::Id("submit-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let accepted = visible(&browser, "#accepted").await.text().await.unwrap();
    assert!(accepted.contains("Verified"), "{accepted}");
    assert!(
        !browser.source().await.unwrap().contains(GOOD_SECRET),
        "the page keeps no copy"
    );

    // Staff retrieve it, once.
    browser.goto(&retrieve_url).await.unwrap();
    visible(&browser, "#retrieve").await.click().await.unwrap();
    visible(&browser, "#retrieved").await;
    assert_eq!(value_of(&browser, "retrieved-secret").await, GOOD_SECRET);

    let problems = console_problems(&browser).await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // the README's walk-through, step by step
async fn a_customers_answer_goes_straight_into_openbao_and_its_expiry_is_tracked() {
    let bao = common::Bao::start().await;
    let sink = format!(
        "sink = \"vault\"\nsink_path = \"tenants/contoso/entra\"\n\n[sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\n",
        bao.address, bao.root
    );
    let (app, token, _microsoft, _config) = vendor_with_tenant_lines(&sink).await;
    let http = common::client();
    let created: Value = http
        .post(app.url("/api/v1/requests"))
        .bearer_auth(&token)
        .json(&json!({ "tenant": "contoso", "note": "Q4 rotation" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request_id = created["id"].as_str().unwrap().to_owned();

    // The customer answers in the browser and hears it was delivered.
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = browser(&driver, profile.path()).await;
    browser
        .goto(created["submit_url"].as_str().unwrap())
        .await
        .unwrap();
    visible(&browser, "#open").await;
    browser
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .send_keys(GOOD_SECRET)
        .await
        .unwrap();
    browser
        .find(Locator::Css("#expiry-choice option[value='90']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Id("submit-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let accepted = visible(&browser, "#accepted").await.text().await.unwrap();
    assert!(
        accepted.contains("Verified and delivered to Fabrikam"),
        "{accepted}"
    );

    // The secret is in OpenBao at the tenant's path, and gone from handoff.
    let stored = bao.kv("tenants/contoso/entra").await;
    assert_eq!(stored["data"]["client_secret"], GOOD_SECRET);
    let expires_on = stored["data"]["expires_on"].as_str().unwrap().to_owned();
    let details: Value = http
        .get(app.url(&format!("/api/v1/requests/{request_id}/details")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details["state"], "applied");

    // Staff see the expiry on the tenants page and in /metrics.
    sign_in(&browser, &app, &token, "/staff").await;
    let row = visible(&browser, "#tenants").await.text().await.unwrap();
    assert!(row.contains(&expires_on) && row.contains("OK"), "{row}");
    let metrics = http
        .get(app.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("handoff_tenant_secret_expiry_timestamp_seconds{tenant=\"contoso\"}"),
        "{metrics}"
    );

    // And every step is in the audit trail.
    let mut kinds = Vec::new();
    for _ in 0..50 {
        let audit: Value = http
            .get(app.url("/api/v1/audit?tenant=contoso"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        kinds = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        if kinds.iter().any(|k| k == "secret.applied") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for kind in [
        "request.created",
        "verification.passed",
        "request.answered",
        "secret.applied",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    let problems = console_problems(&browser).await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_apply_a_pushed_secret_from_its_page_without_seeing_it() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = format!(
        "sink = \"files\"\nsink_path = \"contoso\"\n\n[sinks.files]\nkind = \"file\"\ndir = \"{}\"\n",
        sink_dir.path().display()
    );
    let (app, token, _microsoft, _config) = vendor_with_tenant_lines(&sink).await;
    let pushed = app.push(json!({ "secret": GOOD_SECRET })).await;
    let link = pushed.body["url"].as_str().unwrap().to_owned();

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = browser(&driver, profile.path()).await;
    sign_in(&browser, &app, &token, "/staff").await;
    visible(&browser, "#tenants").await;

    browser.goto(&link).await.unwrap();
    visible(&browser, "#apply-form").await;
    browser
        .find(Locator::Id("apply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let applied = visible(&browser, "#applied").await.text().await.unwrap();
    assert!(applied.contains("Contoso Ltd"), "{applied}");
    assert!(
        !browser.source().await.unwrap().contains(GOOD_SECRET),
        "staff never see it"
    );

    let written = std::fs::read_to_string(sink_dir.path().join("contoso.env")).unwrap();
    assert!(written.contains(GOOD_SECRET));
    let gone = app.reveal_with_key(&pushed).await;
    assert_eq!(
        gone.status(),
        reqwest::StatusCode::NOT_FOUND,
        "applied, so gone here"
    );

    let problems = console_problems(&browser).await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}
