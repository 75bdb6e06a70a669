//! Headless Chromium driven through chromedriver, for the web pages.

use std::ops::Deref;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::{Vendor, free_port};

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
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
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

/// A browser session with its own chromedriver and a fresh profile; used
/// as the fantoccini [`Client`] it derefs to.
pub struct Browser {
    client: Client,
    _profile: tempfile::TempDir,
    _driver: ChromeDriver,
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// How the browser presents itself: its language, window and colour scheme.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// What it sends as `Accept-Language`.
    pub accept_language: &'static str,
    pub width: u32,
    pub height: u32,
    pub dark: bool,
}

impl Look {
    pub const DESKTOP_EN: Self = Self {
        accept_language: "en-US,en",
        width: 1200,
        height: 900,
        dark: false,
    };
    /// A 390 px phone in English, light.
    pub const PHONE_EN: Self = Self {
        accept_language: "en-US,en",
        width: 390,
        height: 844,
        dark: false,
    };
    /// A 390 px phone (iPhone 14 and the like).
    pub const PHONE_DE_DARK: Self = Self {
        accept_language: "de-DE,de",
        width: 390,
        height: 844,
        dark: true,
    };
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_as(Look::DESKTOP_EN).await
    }

    pub async fn start_as(look: Look) -> Self {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install it with `apt-get install chromium chromium-driver`"
        );
        let driver = ChromeDriver::start();
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--window-size={},{}", look.width, look.height),
                    format!("--lang={}", look.accept_language.split(',').next().unwrap_or("en")),
                    if look.dark { "--force-dark-mode" } else { "--no-default-browser-check" }.to_owned(),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": { "intl.accept_languages": look.accept_language },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a chromedriver session");
        Self {
            client,
            _profile: profile,
            _driver: driver,
        }
    }

    /// Ends the session; chromedriver and the profile go with it.
    pub async fn close(self) -> Result<(), fantoccini::error::CmdError> {
        self.client.close().await
    }

    /// The element matching `css` once it is shown, within 10 s.
    pub async fn visible(&self, css: &str) -> Element {
        self.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&format!("{css}:not([hidden])")))
            .await
            .unwrap_or_else(|e| panic!("{css} never became visible: {e}"))
    }

    /// The `value` of the element with this id (empty if it has none).
    pub async fn value_of(&self, id: &str) -> String {
        self.find(Locator::Id(id))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Signs the vendor's staff member in through the sign-in page,
    /// landing on `next`.
    pub async fn sign_in(&self, vendor: &Vendor, next: &str) {
        self.goto(&vendor.app.url(&format!("/staff/sign-in?next={next}")))
            .await
            .unwrap();
        self.find(Locator::Id("token"))
            .await
            .unwrap()
            .send_keys(&vendor.token)
            .await
            .unwrap();
        self.find(Locator::Id("sign-in"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Runs axe-core (from npm, see scripts/tools.sh) on the page as it is
    /// now and returns each violation as "rule: nodes". The script is
    /// injected by the driver, so the page's own policy stays as it is.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_default();
            format!("{home}/.cache/handoff-tools/node_modules/axe-core/axe.min.js")
        });
        let axe = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("axe-core is missing at {path} ({e}): run ./test.sh, which installs it (npm install axe-core)")
        });
        self.execute(&axe, Vec::new())
            .await
            .expect("axe-core loads");
        let result = self
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((r) => done(r.violations.map((v) =>
                     v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '))))
                   .catch((e) => done(['axe failed: ' + e]));",
                Vec::new(),
            )
            .await
            .expect("axe-core runs");
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails the test if axe-core finds anything on the page as it is now.
    pub async fn assert_accessible(&self, state: &str) {
        let violations = self.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "axe-core on {state}: {violations:#?}"
        );
    }

    /// Whether the page is wider than the window (something overflows).
    pub async fn overflows_sideways(&self) -> bool {
        self.execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            Vec::new(),
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
    }

    /// The visible controls lower than 44 px (the smallest comfortable tap
    /// target), as "tag#id: height".
    pub async fn small_tap_targets(&self) -> Vec<String> {
        let found = self
            .eval(
                "[...document.querySelectorAll('button, select, input, textarea, .actions a')]
                   .filter((e) => e.offsetParent !== null)
                   .map((e) => [e.tagName.toLowerCase() + '#' + e.id, e.getBoundingClientRect().height])
                   .filter(([, h]) => h < 44)
                   .map(([name, h]) => name + ': ' + h)",
            )
            .await;
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The value of a JavaScript expression on the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.execute(&format!("return ({expression});"), Vec::new())
            .await
            .unwrap()
    }

    /// Script errors and CSP violations from the console log so far.
    pub async fn console_problems(&self) -> Vec<String> {
        let entries = self.issue_cmd(BrowserLog).await.expect("the browser log");
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
}
