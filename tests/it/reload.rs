//! `SIGHUP` reloads staff, tenants and sinks by the same path as start-up:
//! every sink keeps working after a reload, a reload that adds a sink makes
//! it usable, and a broken file keeps everything as it was.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    self, Bao, CONTOSO_APP, GOOD_SECRET as SECRET, NEW_SECRET as NEXT_SECRET, ServerProcess,
};

/// A vendor's `handoff.toml` in a temp folder, with a `file` sink and a
/// tenant `contoso` that uses it; the server runs as its own process so
/// that SIGHUP reaches it as it does in production.
struct Vendor {
    config: std::path::PathBuf,
    token: String,
    staff_lines: String,
    sink_dir: tempfile::TempDir,
    server: ServerProcess,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Tenants are not verified here: these tests are about the directory, and
/// the Microsoft stand-in has its own tests.
fn tenant(slug: &str, sink: &str, sink_path: &str) -> String {
    format!(
        "[tenants.{slug}]\nname = \"{slug} Ltd\"\nentra_tenant = \"{slug}.onmicrosoft.com\"\n\
         client_id = \"{CONTOSO_APP}\"\nverify = \"off\"\nsink = \"{sink}\"\nsink_path = \"{sink_path}\"\n"
    )
}

impl Vendor {
    fn start(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sink_dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("handoff.toml");
        let (token, staff_lines) = handoff::directory::new_staff_token("alice");
        let vendor_text = Self::text(&staff_lines, &sink_dir, extra);
        std::fs::write(&config, vendor_text).unwrap();
        let server = ServerProcess::start(&[
            ("HANDOFF_CONFIG", &config.display().to_string()),
            ("HANDOFF_FAILED_REVEALS_PER_MINUTE", "0"),
        ]);
        Self {
            config,
            token: token.to_string(),
            staff_lines,
            sink_dir,
            server,
            http: common::client(),
            _dir: dir,
        }
    }

    fn text(staff_lines: &str, sink_dir: &tempfile::TempDir, extra: &str) -> String {
        format!(
            "vendor_name = \"Fabrikam\"\n{staff_lines}\n\n[sinks.files]\nkind = \"file\"\ndir = \"{}\"\n\n{}\n{extra}",
            sink_dir.path().display(),
            tenant("contoso", "files", "contoso"),
        )
    }

    /// Rewrites the settings file with `extra` appended and sends SIGHUP,
    /// then waits for the line the reload logs.
    async fn reload_with(&self, extra: &str) {
        std::fs::write(
            &self.config,
            Self::text(&self.staff_lines, &self.sink_dir, extra),
        )
        .unwrap();
        self.hang_up_and_wait("reloaded").await;
    }

    async fn hang_up_and_wait(&self, line: &str) {
        let before = self.server.logs().matches(line).count();
        self.server.hang_up();
        for _ in 0..100 {
            if self.server.logs().matches(line).count() > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no '{line}' in the log after SIGHUP:\n{}",
            self.server.logs()
        );
    }

    async fn push(&self, secret: &str) -> (String, String) {
        let created: Value = self
            .http
            .post(format!("{}/api/v1/secrets", self.server.base))
            .json(&json!({ "secret": secret }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = created["url"].as_str().unwrap();
        let (_, key) = url.split_once('#').unwrap();
        (created["id"].as_str().unwrap().to_owned(), key.to_owned())
    }

    /// Pushes `SECRET` and applies it to `tenant`.
    async fn push_and_apply(&self, tenant: &str) -> (StatusCode, Value) {
        self.push_and_apply_secret(tenant, SECRET).await
    }

    async fn push_and_apply_secret(&self, tenant: &str, secret: &str) -> (StatusCode, Value) {
        let (id, key) = self.push(secret).await;
        let response = self
            .http
            .post(format!("{}/api/v1/secrets/{id}/apply", self.server.base))
            .bearer_auth(&self.token)
            .json(&json!({ "key": key, "tenant": tenant, "expires_on": "2027-05-22" }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    fn sink_file(&self, stem: &str) -> Option<String> {
        std::fs::read_to_string(self.sink_dir.path().join(format!("{stem}.env"))).ok()
    }
}

#[tokio::test]
async fn a_file_sink_keeps_working_after_a_reload() {
    let vendor = Vendor::start("");
    let (status, body) = vendor.push_and_apply("contoso").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    vendor.reload_with("").await;
    std::fs::remove_file(vendor.sink_dir.path().join("contoso.env")).unwrap();
    let (status, body) = vendor.push_and_apply("contoso").await;

    assert_eq!(status, StatusCode::OK, "apply after SIGHUP: {body}");
    assert!(vendor.sink_file("contoso").unwrap().contains(SECRET));
}

#[tokio::test]
async fn an_openbao_sink_keeps_working_after_a_reload() {
    let bao = Bao::start().await;
    let vault = format!(
        "[sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\ntimeout = \"3s\"\n\n{}",
        bao.address,
        bao.root,
        tenant("northwind", "vault", "tenants/northwind/entra")
    );
    let vendor = Vendor::start(&vault);
    let (status, body) = vendor.push_and_apply("northwind").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    vendor.reload_with(&vault).await;
    let (status, body) = vendor.push_and_apply_secret("northwind", NEXT_SECRET).await;

    assert_eq!(status, StatusCode::OK, "apply after SIGHUP: {body}");
    let stored = bao.kv("tenants/northwind/entra").await;
    assert_eq!(stored["data"]["client_secret"], NEXT_SECRET);
    assert_eq!(stored["metadata"]["version"], 2, "both applies wrote");
}

#[tokio::test]
async fn a_reload_that_adds_a_sink_makes_it_usable() {
    let vendor = Vendor::start("");
    let (status, _) = vendor.push_and_apply("fabrikam").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no such tenant yet"
    );

    let more_files = tempfile::tempdir().unwrap();
    vendor
        .reload_with(&format!(
            "[sinks.more]\nkind = \"file\"\ndir = \"{}\"\n\n{}",
            more_files.path().display(),
            tenant("fabrikam", "more", "fabrikam")
        ))
        .await;
    let (status, body) = vendor.push_and_apply("fabrikam").await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let written = std::fs::read_to_string(more_files.path().join("fabrikam.env")).unwrap();
    assert!(written.contains(SECRET));
    assert!(
        vendor
            .server
            .logs()
            .contains("staff 1, tenants 1 → 2, sinks 1 → 2"),
        "the reload line says what changed:\n{}",
        vendor.server.logs()
    );
}

#[tokio::test]
async fn a_broken_file_keeps_every_tenant_and_sink_working() {
    let vendor = Vendor::start("");
    std::fs::write(&vendor.config, "[tenants.contoso\n").unwrap();
    vendor.hang_up_and_wait("reload failed").await;

    let (status, body) = vendor.push_and_apply("contoso").await;

    assert_eq!(
        status,
        StatusCode::OK,
        "the previous directory is in force: {body}"
    );
    assert!(vendor.sink_file("contoso").unwrap().contains(SECRET));
    let tenants = vendor
        .http
        .get(format!("{}/api/v1/tenants", vendor.server.base))
        .bearer_auth(&vendor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(tenants.status(), StatusCode::OK, "staff still sign in");
}

#[tokio::test]
async fn a_reload_with_a_bad_sink_setting_keeps_the_old_sinks_and_names_the_setting() {
    let vendor = Vendor::start("");
    let text = Vendor::text(
        &vendor.staff_lines,
        &vendor.sink_dir,
        "[sinks.broken]\nkind = \"vault-kv2\"\naddress = \"not a url\"\ntoken = \"t\"\n",
    );
    std::fs::write(&vendor.config, text).unwrap();
    vendor.hang_up_and_wait("reload failed").await;

    let (status, body) = vendor.push_and_apply("contoso").await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        vendor.server.logs().contains("sinks.broken.address"),
        "{}",
        vendor.server.logs()
    );
}

#[tokio::test]
async fn without_a_settings_file_sighup_says_there_is_nothing_to_reload() {
    let server = ServerProcess::start(&[]);
    assert!(
        server
            .logs()
            .contains("no handoff.toml found; staff and tenants are empty"),
        "{}",
        server.logs()
    );

    server.hang_up();
    let mut said = false;
    for _ in 0..100 {
        if server.logs().contains("nothing to reload") {
            said = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert!(said, "{}", server.logs());
    let health = common::client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "SIGHUP did not end the server"
    );
}
