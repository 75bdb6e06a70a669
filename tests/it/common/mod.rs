//! What the tests share: the real server on port 0, clients, the vendor's
//! configuration, the stand-in for Microsoft, child-process servers and the
//! browser harness, each defined once.

pub mod browser;
pub mod microsoft;
mod servers;
mod smtp;
mod vendor;

use std::net::TcpListener;

use handoff::config::{ServeArgs, Settings};
use handoff::startup::Application;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub use microsoft::Microsoft;
pub use servers::{
    Bao, RedisCluster, RedisOptions, RedisServer, ServerProcess, TestCertificates, send_signal,
};
pub use smtp::SmtpServer;
pub use vendor::{Request, Vendor, VendorConfig};

/// The vendor's customer, as configured in every vendor's `handoff.toml`.
pub const CONTOSO_TENANT: &str = "contoso.onmicrosoft.com";
/// Contoso's directory id, which Microsoft's tokens carry as `tid`.
pub const CONTOSO_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// Contoso's app registration, whose client secret is handed over.
pub const CONTOSO_APP: &str = "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11";
/// A client secret Value in the shape Entra ID issues (not a Secret ID).
pub const GOOD_SECRET: &str = "abc8Q~abcdefghijklmnopqrstuvwxyz0123456.";
/// The secret that replaces [`GOOD_SECRET`] at the next rotation.
pub const NEW_SECRET: &str = "xyz8Q~Ab1_c.d-e~F9g8H7i6J5k4L3m2N1o0PpQq";
/// The Standard Webhooks reference libraries' test key (24 bytes).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The server in this process, on port 0; shut down on drop.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub fn args() -> ServeArgs {
    ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        store: Some("memory".into()),
        ..ServeArgs::default()
    }
}

/// Settings shortcuts for tests.
pub trait ServeArgsExt {
    /// No failed-attempt limit, for tests that fail on purpose many times.
    fn no_limit(self) -> Self;
}

impl ServeArgsExt for ServeArgs {
    fn no_limit(mut self) -> Self {
        self.failed_reveals_per_minute = Some("0".into());
        self
    }
}

/// A secret that is the Created response plus the key split off its URL.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub id: String,
    pub key: String,
    pub manage_token: String,
    pub body: Value,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(args()).await
    }

    pub async fn spawn_with(args: ServeArgs) -> Self {
        let settings = Settings::load(&args).expect("valid test settings");
        let app = Application::build(settings).await.expect("the app builds");
        let address = app.address();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(app.run(async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{address}"),
            http: client(),
            shutdown: Some(tx),
        }
    }

    /// The typed helpers against a server that runs elsewhere (a
    /// [`ServerProcess`]); dropping this stops nothing.
    pub fn at(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: client(),
            shutdown: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn create(&self, body: Value) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/secrets"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn push(&self, body: Value) -> Pushed {
        let response = self.create(body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        pushed(response.json().await.unwrap())
    }

    pub async fn metadata(&self, id: &str, key: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/api/v1/secrets/{id}")))
            .header("x-handoff-key", key)
            .send()
            .await
            .unwrap()
    }

    pub async fn reveal(&self, id: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/secrets/{id}/reveal")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn reveal_with_key(&self, pushed: &Pushed) -> reqwest::Response {
        self.reveal(&pushed.id, json!({ "key": pushed.key })).await
    }

    /// A reveal sent with `Idempotency-Key: <idempotency>`.
    pub async fn reveal_idempotent(&self, pushed: &Pushed, idempotency: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/secrets/{}/reveal", pushed.id)))
            .header("idempotency-key", idempotency)
            .json(&json!({ "key": pushed.key }))
            .send()
            .await
            .unwrap()
    }

    pub async fn status(&self, id: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/api/v1/secrets/{id}/status")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// A client that shows redirects instead of following them.
pub fn client_without_redirects() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent("handoff-tests/1.0")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// reqwest uses rustls without a built-in provider; the server installs
/// ring at start-up, and test clients made before any server need it too.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent("handoff-tests/1.0")
        .build()
        .unwrap()
}

pub fn pushed(body: Value) -> Pushed {
    let url = body["url"].as_str().unwrap();
    let (_, key) = url
        .split_once('#')
        .expect("the link carries its key after #");
    let manage = body["manage_url"].as_str().unwrap();
    let (_, manage_token) = manage.split_once('#').unwrap();
    Pushed {
        id: body["id"].as_str().unwrap().to_owned(),
        key: key.to_owned(),
        manage_token: manage_token.to_owned(),
        body,
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status and JSON body of an answer (errors included: every one has a
/// JSON body on the API).
pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}
