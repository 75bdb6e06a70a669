//! The API's description (`OpenAPI` 3.1): it names every route
//! the router has under `/api/v1`, its page renders, and the live server
//! keeps to it under schemathesis's generated requests.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{TestApp, Vendor};

/// The schemathesis release CI installs (test.sh); its CLI flags are these.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

async fn served_document(app: &TestApp) -> Value {
    let response = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().await.expect("the description is JSON")
}

/// Each `.route("…", get(…).post(…))` of the `api` router in
/// `src/web/mod.rs`, as `METHOD /api/v1/…`.
fn routes_in_the_router() -> BTreeSet<String> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/mod.rs"))
        .expect("src/web/mod.rs");
    let start = source
        .find("let api = Router::new()")
        .expect("the api router in src/web/mod.rs");
    let block = &source[start..];
    let block = &block[..block.find(';').expect("the api router ends")];
    let mut routes = BTreeSet::new();
    for (at, _) in block.match_indices(".route(") {
        let call = &block[at + ".route(".len()..];
        // The call's own arguments, up to its closing parenthesis.
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a closed .route(");
        let call = &call[..end];
        let path = call.split('"').nth(1).expect("a route path");
        let handlers = &call[call.find(',').expect("a handler")..];
        for method in ["get", "post", "put", "patch", "delete"] {
            let named = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0
                    || !handlers[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if named {
                routes.insert(format!("{} /api/v1{path}", method.to_uppercase()));
            }
        }
    }
    routes
}

fn routes_in_the_description(document: &Value) -> BTreeSet<String> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect()
}

#[tokio::test]
async fn the_description_is_openapi_3_1_and_names_every_api_route() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    let version = document["openapi"].as_str().expect("openapi: version");
    assert!(version.starts_with("3.1."), "openapi {version}");

    let router = routes_in_the_router();
    assert!(
        router.len() >= 16,
        "the route list read from src/web/mod.rs looks wrong: {router:?}"
    );
    let described = routes_in_the_description(&document);
    let missing: Vec<&String> = router.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "routes with no description (add #[utoipa::path] and list them in src/web/openapi.rs): {missing:?}"
    );
    let stale: Vec<&String> = described
        .iter()
        .filter(|r| r.contains("/api/v1/") && !router.contains(*r))
        .collect();
    assert!(stale.is_empty(), "described but not routed: {stale:?}");

    // Every error answer is the one error shape, with the codes it may carry.
    let reveal = &document["paths"]["/api/v1/secrets/{id}/reveal"]["post"];
    let not_found = &reveal["responses"]["404"]["content"]["application/json"]["schema"];
    assert_eq!(
        not_found["allOf"][0]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    for scheme in ["staff_token", "link_key", "manage_token"] {
        assert!(
            document["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
}

#[tokio::test]
async fn the_api_page_lists_every_operation_with_no_script_and_no_external_asset() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    let response = app.http.get(app.url("/api")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    let page = response.text().await.unwrap();
    for route in routes_in_the_description(&document) {
        let (method, path) = route.split_once(' ').unwrap();
        let shown = format!(
            "{method} {}",
            path.replace('{', "&#123;").replace('}', "&#125;")
        );
        assert!(
            page.contains(&format!("{method} {path}")) || page.contains(&shown),
            "{route} is not on the page"
        );
    }
    assert!(page.contains("not_found") && page.contains("ErrorBody"));
    assert!(!page.contains("<style") && !page.contains("style=\""));
    assert!(!page.contains("http://") && !page.contains("https://"));
}

/// schemathesis generates requests from the description (valid and
/// invalid ones) and checks that every answer is documented: no 5xx, and
/// status, content type and body all as described.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_server_keeps_to_its_description_under_schemathesis() {
    let vendor = Vendor::start("", "").await;
    let workdir = tempfile::tempdir().unwrap();
    let mut command = Command::new("schemathesis");
    command
        .current_dir(workdir.path())
        .args(["run", &vendor.app.url("/api/v1/openapi.json")])
        .args(["--url", &vendor.app.base])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--header", &format!("Authorization: Bearer {}", vendor.token)])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "15", "--seed", "1", "--workers", "2"])
        .args(["--request-timeout", "10", "--continue-on-failure"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = match command.spawn() {
        Ok(child) => child,
        Err(error) => panic!(
            "could not run schemathesis ({error}): install it from PyPI with `python3 -m pip install {SCHEMATHESIS}` (./test.sh does)"
        ),
    };
    // Off the runtime's threads, which keep serving schemathesis's requests.
    let (success, printed) =
        tokio::task::spawn_blocking(move || finish(child, Duration::from_secs(240)))
            .await
            .unwrap();
    // Its summary, in the test's output (shown with --no-capture or on failure).
    eprintln!("{printed}");
    assert!(
        success,
        "schemathesis found answers outside the description:\n{printed}"
    );
}

/// Waits for the child, killing it past `limit`; its success and output.
fn finish(mut child: std::process::Child, limit: Duration) -> (bool, String) {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let printed = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    match status {
        Some(status) => (status.success(), printed),
        None => (
            false,
            format!("schemathesis did not finish within {limit:?}:\n{printed}"),
        ),
    }
}
