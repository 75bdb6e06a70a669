//! The vendor: its `handoff.toml` (staff member alice, tenant contoso, and
//! whatever a test adds), the server running on it, Microsoft's stand-in as
//! contoso's authority, and the staff's calls on the API.

use std::path::PathBuf;

use handoff::config::ServeArgs;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{CONTOSO_APP, CONTOSO_TENANT, Microsoft, Pushed, ServeArgsExt as _, TestApp, args};

/// A `handoff.toml` in a temporary folder, with the token of its one staff
/// member, alice.
pub struct VendorConfig {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub token: String,
}

impl VendorConfig {
    /// `settings` are top-level lines (before any table); `contoso` lines
    /// go into the contoso tenant's table, and may go on with more tables.
    pub fn new(settings: &str, contoso: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.toml");
        let (token, staff) = handoff::directory::new_staff_token("alice");
        let config = Self {
            _dir: dir,
            path,
            token: token.to_string(),
        };
        config.write(&format!(
            "vendor_name = \"Fabrikam\"\n{settings}\n{staff}\n\n[tenants.contoso]\n\
             name = \"Contoso Ltd\"\nentra_tenant = \"{CONTOSO_TENANT}\"\nclient_id = \"{CONTOSO_APP}\"\n\
             {contoso}\n"
        ));
        config
    }

    pub fn write(&self, text: &str) {
        std::fs::write(&self.path, text).unwrap();
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    pub fn args(&self) -> ServeArgs {
        ServeArgs {
            config: Some(self.path.clone()),
            ..args()
        }
    }
}

/// The vendor's server, with contoso's authority at [`Microsoft`], which
/// answers nothing until a test says how.
pub struct Vendor {
    pub app: TestApp,
    pub token: String,
    pub microsoft: Microsoft,
    pub config: VendorConfig,
}

/// A created request link: its id and both keys.
pub struct Request {
    pub id: String,
    pub submit_key: String,
    pub retrieve_key: String,
}

impl Vendor {
    /// A vendor on [`VendorConfig::new`]`(settings, contoso)`, with no
    /// failed-attempt limit.
    pub async fn start(settings: &str, contoso: &str) -> Self {
        let microsoft = Microsoft::start().await;
        let contoso = format!("authority = \"{}\"\n{contoso}", microsoft.authority);
        let config = VendorConfig::new(settings, &contoso);
        Self {
            app: TestApp::spawn_with(config.args().no_limit()).await,
            token: config.token.clone(),
            microsoft,
            config,
        }
    }

    /// A new server on the configuration as it is now in the file, with
    /// the same staff token and the same Microsoft.
    pub async fn restart(self) -> Self {
        Self {
            app: TestApp::spawn_with(self.config.args().no_limit()).await,
            ..self
        }
    }

    /// A staff GET on the API, answered with JSON.
    pub async fn staff_get(&self, path: &str) -> Value {
        self.app
            .http
            .get(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Staff apply a pushed secret to `tenant`, expiring 2027-05-22.
    pub async fn apply(&self, pushed: &Pushed, tenant: &str) -> reqwest::Response {
        self.app
            .http
            .post(
                self.app
                    .url(&format!("/api/v1/secrets/{}/apply", pushed.id)),
            )
            .bearer_auth(&self.token)
            .json(&json!({ "key": pushed.key, "tenant": tenant, "expires_on": "2027-05-22" }))
            .send()
            .await
            .unwrap()
    }

    pub async fn create_request(&self, body: Value) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url("/api/v1/requests"))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Staff ask contoso for a secret.
    pub async fn request(&self) -> Request {
        let response = self
            .create_request(json!({ "tenant": "contoso", "note": "Q4 rotation" }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
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

    /// The customer opens the request link.
    pub async fn view(&self, request: &Request) -> reqwest::Response {
        self.app
            .http
            .get(self.app.url(&format!("/api/v1/requests/{}", request.id)))
            .header("x-handoff-key", &request.submit_key)
            .send()
            .await
            .unwrap()
    }

    /// The customer answers with `secret`, expiring 2028-11-22.
    pub async fn answer(&self, request: &Request, secret: &str) -> reqwest::Response {
        self.app
            .http
            .post(
                self.app
                    .url(&format!("/api/v1/requests/{}/answer", request.id)),
            )
            .json(
                &json!({ "key": request.submit_key, "secret": secret, "expires_on": "2028-11-22" }),
            )
            .send()
            .await
            .unwrap()
    }

    /// Staff retrieve the answer with `key`.
    pub async fn retrieve(&self, request: &Request, key: &str) -> reqwest::Response {
        self.app
            .http
            .post(
                self.app
                    .url(&format!("/api/v1/requests/{}/retrieve", request.id)),
            )
            .bearer_auth(&self.token)
            .json(&json!({ "key": key }))
            .send()
            .await
            .unwrap()
    }

    /// A retrieval sent with `Idempotency-Key: <idempotency>`.
    pub async fn retrieve_idempotent(
        &self,
        request: &Request,
        idempotency: &str,
    ) -> reqwest::Response {
        self.app
            .http
            .post(
                self.app
                    .url(&format!("/api/v1/requests/{}/retrieve", request.id)),
            )
            .bearer_auth(&self.token)
            .header("idempotency-key", idempotency)
            .json(&json!({ "key": request.retrieve_key }))
            .send()
            .await
            .unwrap()
    }

    /// Polls the audit API until `kinds` have all been recorded (the store is
    /// written in the background), and returns the events.
    pub async fn audit_events(&self, filter: &str, kinds: &[&str]) -> Vec<Value> {
        for _ in 0..50 {
            let body = self.staff_get(&format!("/api/v1/audit?{filter}")).await;
            let events = body["events"].as_array().unwrap().clone();
            if kinds
                .iter()
                .all(|kind| events.iter().any(|e| e["kind"] == *kind))
            {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the audit trail never showed {kinds:?}");
    }
}
