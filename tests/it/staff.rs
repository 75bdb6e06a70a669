//! Staff access: tokens on the API, sign-in sessions on the web, the SSO
//! proxy header, and reloading staff and tenants on SIGHUP.

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::json;

use crate::common::{
    CONTOSO_APP, ServerProcess, TestApp, VendorConfig, client, client_without_redirects,
};

async fn sign_in(app: &TestApp, token: &str) -> reqwest::Response {
    client_without_redirects()
        .post(app.url("/staff/sign-in"))
        .form(&[("token", token), ("next", "/staff")])
        .send()
        .await
        .unwrap()
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("the page has a CSRF field") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn pushes_can_be_limited_to_staff_with_a_bearer_token() {
    let config = VendorConfig::new("require_staff_to_push = true", "");
    let app = TestApp::spawn_with(config.args()).await;

    let anonymous = app.create(json!({ "secret": "x" })).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()[WWW_AUTHENTICATE], "Bearer");

    let wrong = app
        .http
        .post(app.url("/api/v1/secrets"))
        .bearer_auth("hst_not-a-real-token")
        .json(&json!({ "secret": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let staff = app
        .http
        .post(app.url("/api/v1/secrets"))
        .bearer_auth(&config.token)
        .json(&json!({ "secret": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), StatusCode::CREATED);

    let page = client_without_redirects()
        .get(app.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(
        page.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/staff/sign-in")
    );
}

#[tokio::test]
async fn anonymous_pushes_stay_open_by_default() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    assert_eq!(
        app.create(json!({ "secret": "x" })).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn staff_pages_send_visitors_to_sign_in_and_back() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let page = client_without_redirects()
        .get(app.url("/staff"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/staff/sign-in?next=/staff");
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_sign_in() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let response = sign_in(&app, "hst_wrong").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(response.text().await.unwrap().contains("not valid"));
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_session_that_opens_staff_pages() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let response = sign_in(&app, &config.token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/staff");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http: no Secure flag");
    assert!(
        !set_cookie.contains(&config.token),
        "the cookie is not the token"
    );

    let staff = app
        .http
        .get(app.url("/staff"))
        .header("cookie", session_cookie(&response))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), StatusCode::OK);
    let page = staff.text().await.unwrap();
    assert!(
        page.contains("alice") && page.contains("Contoso Ltd"),
        "{page}"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let config = VendorConfig::new("public_url = \"https://handoff.example.com\"", "");
    let app = TestApp::spawn_with(config.args()).await;
    let response = sign_in(&app, &config.token).await;
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn sign_out_needs_the_forms_csrf_token_and_clears_the_cookie() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let cookie = session_cookie(&sign_in(&app, &config.token).await);
    let page = app
        .http
        .get(app.url("/staff"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let http = client_without_redirects();
    let forged = http
        .post(app.url("/staff/sign-out"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let real = http
        .post(app.url("/staff/sign-out"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), StatusCode::SEE_OTHER);
    assert!(
        real.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn the_sso_header_is_believed_only_from_trusted_proxies() {
    let trusted = VendorConfig::new(
        "trusted_proxies = [\"127.0.0.1\"]\ntrusted_user_header = \"X-Forwarded-User\"",
        "",
    );
    let app = TestApp::spawn_with(trusted.args()).await;
    let page = app
        .http
        .get(app.url("/staff"))
        .header("x-forwarded-user", "bob@fabrikam.example")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("bob@fabrikam.example"));

    let untrusted = VendorConfig::new(
        "trusted_proxies = [\"10.0.0.0/8\"]\ntrusted_user_header = \"X-Forwarded-User\"",
        "",
    );
    let app = TestApp::spawn_with(untrusted.args()).await;
    let page = client_without_redirects()
        .get(app.url("/staff"))
        .header("x-forwarded-user", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sighup_reloads_tenants_and_a_bad_file_keeps_the_old_ones() {
    let config = VendorConfig::new("", "");
    let path = config.path.display().to_string();
    let server = ServerProcess::start(&[("HANDOFF_CONFIG", &path)]);
    let http = client();
    let tenants_page = || {
        http.get(format!("{}/staff", server.base))
            .bearer_auth(&config.token)
            .send()
    };
    assert!(
        !tenants_page()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Northwind")
    );

    let added = format!(
        "{}\n[tenants.northwind]\nname = \"Northwind Traders\"\nentra_tenant = \"northwind.onmicrosoft.com\"\nclient_id = \"{}\"\n",
        config.text(),
        CONTOSO_APP
    );
    config.write(&added);
    server.hang_up();
    let mut seen = false;
    for _ in 0..50 {
        if tenants_page()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Northwind Traders")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the new tenant appears after SIGHUP");

    config.write("[tenants.broken\n");
    server.hang_up();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let page = tenants_page().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the staff token still works");
    assert!(page.text().await.unwrap().contains("Northwind Traders"));
    assert!(server.logs().contains("reload failed"));
}

/// A vendor behind an SSO proxy at 127.0.0.1 that names the user in
/// `X-Forwarded-User`.
async fn behind_sso() -> (VendorConfig, TestApp) {
    let config = VendorConfig::new(
        "trusted_proxies = [\"127.0.0.1\"]\ntrusted_user_header = \"X-Forwarded-User\"",
        "",
    );
    let app = TestApp::spawn_with(config.args()).await;
    (config, app)
}

async fn sso_page(app: &TestApp, path: &str) -> String {
    app.http
        .get(app.url(path))
        .header("x-forwarded-user", "bob@fabrikam.example")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The staff requests form, posted as bob through the SSO proxy.
async fn sso_request_form(
    app: &TestApp,
    csrf: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client_without_redirects()
        .post(app.url("/staff/requests"))
        .header("x-forwarded-user", "bob@fabrikam.example");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .form(&[("csrf", csrf), ("tenant", "contoso"), ("ttl", "")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sso_staff_forms_need_the_csrf_token_their_page_carries() {
    let (_config, app) = behind_sso().await;
    let page = sso_page(&app, "/staff").await;
    let csrf = csrf_of(&page);
    assert!(!csrf.is_empty(), "the page gives SSO staff a token");

    let forged = sso_request_form(&app, "forged", &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let missing = sso_request_form(&app, "", &[]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);

    let real = sso_request_form(&app, &csrf, &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(real.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn sso_staff_requests_from_another_site_are_refused_even_with_the_token() {
    let (_config, app) = behind_sso().await;
    let csrf = csrf_of(&sso_page(&app, "/staff").await);

    let cross_site = sso_request_form(&app, &csrf, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let other_origin = sso_request_form(&app, &csrf, &[("origin", "https://evil.example")]).await;
    assert_eq!(other_origin.status(), StatusCode::FORBIDDEN);
    let own_origin = sso_request_form(&app, &csrf, &[("origin", &app.base)]).await;
    assert_eq!(own_origin.status(), StatusCode::CREATED);

    // The JSON API too: the proxy's cookie rides along on any site's request.
    let api = app
        .http
        .post(app.url("/api/v1/requests"))
        .header("x-forwarded-user", "bob@fabrikam.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "tenant": "contoso" }))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn session_staff_requests_from_another_site_are_refused() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let cookie = session_cookie(&sign_in(&app, &config.token).await);
    let page = app
        .http
        .get(app.url("/staff"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let post = |site: &'static str| {
        client_without_redirects()
            .post(app.url("/staff/requests"))
            .header("cookie", &cookie)
            .header("sec-fetch-site", site)
            .form(&[("csrf", csrf_of(&page).as_str()), ("tenant", "contoso")])
            .send()
    };
    assert_eq!(
        post("cross-site").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post("same-origin").await.unwrap().status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn bearer_token_calls_need_no_csrf_token_or_origin() {
    let config = VendorConfig::new("", "");
    let app = TestApp::spawn_with(config.args()).await;
    let created = app
        .http
        .post(app.url("/api/v1/requests"))
        .bearer_auth(&config.token)
        .header("origin", "https://elsewhere.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "tenant": "contoso" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}
