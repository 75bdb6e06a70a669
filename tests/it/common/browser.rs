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

impl Browser {
    pub async fn start() -> Self {
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
                    "--disable-component-update", "--disable-sync", "--window-size=1200,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
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
