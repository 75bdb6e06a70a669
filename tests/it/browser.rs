//! The web pages in real headless Chromium, driven through chromedriver:
//! create → open link → nothing revealed yet → Reveal → secret → reopen →
//! gone, with no Content-Security-Policy violation or script error.

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::common::browser::{Browser, Look};
use crate::common::{Bao, GOOD_SECRET, TestApp, Vendor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one person's whole walk through the pages, in order
async fn a_secret_goes_from_the_create_page_to_one_reveal_and_is_then_gone() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    let secret = "abc8Q~BrowserSecret_0123456789abcdefghij";

    // Create.
    browser.goto(&app.url("/")).await.unwrap();
    browser.assert_accessible("the create page").await;
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
    type_into(&browser, "label", "ops: staging DB").await;
    browser
        .find(Locator::Id("create"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let link = browser
        .visible("#link")
        .await
        .prop("value")
        .await
        .unwrap()
        .expect("the link");
    assert!(
        link.starts_with(&app.url("/s/")) && link.contains('#'),
        "{link}"
    );
    browser.assert_accessible("the result page").await;
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
    browser.visible("#ready").await;
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
    assert!(
        !browser.source().await.unwrap().contains("ops: staging DB"),
        "the private label is the sender's alone"
    );
    browser.assert_accessible("the recipient's page").await;
    browser.refresh().await.unwrap();
    browser.visible("#ready").await;

    // Reveal.
    browser
        .find(Locator::Id("reveal"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let output = browser.visible("#revealed").await;
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
    browser.assert_accessible("the revealed secret").await;
    let address = browser.current_url().await.unwrap();
    assert!(
        address.fragment().is_none(),
        "the key is dropped from the address bar"
    );

    // Reopen the same link: gone, and it says when.
    browser.goto(&link).await.unwrap();
    let gone = browser.visible("#gone").await.text().await.unwrap();
    assert!(gone.contains("You revealed this at"), "{gone}");
    assert!(!browser.source().await.unwrap().contains(secret));
    browser.assert_accessible("a link already revealed").await;

    // The sender's page shows the reveal.
    browser.goto(&manage_link).await.unwrap();
    let state = browser.visible("#status").await.text().await.unwrap();
    assert!(state.to_lowercase().contains("revealed"), "{state}");
    assert!(state.contains("Chrome on Linux"), "{state}");
    text_with(&browser, "#label-row", "Your label").await;
    text_with(&browser, "#label", "ops: staging DB").await;
    browser.assert_accessible("the manage page").await;

    let problems = browser.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reveal_whose_answer_was_lost_is_repeated_by_clicking_reveal_again() {
    let app = TestApp::spawn().await;
    let secret = "abc8Q~LostOnTheWay_0123456789abcdefghij";
    let pushed = app.push(json!({ "secret": secret })).await;
    let browser = Browser::start().await;
    browser
        .goto(&app.url(&format!("/s/{}#{}", pushed.id, pushed.key)))
        .await
        .unwrap();
    browser.visible("#ready").await;

    // The first reveal reaches the server and takes the only view, but its
    // answer never reaches the page.
    browser
        .execute(
            r#"
            const real = window.fetch;
            let lose = true;
            window.sentKeys = [];
            window.fetch = async (url, options = {}) => {
              if (!String(url).endsWith("/reveal")) {
                return real(url, options);
              }
              window.sentKeys.push(options.headers["Idempotency-Key"]);
              const response = await real(url, options);
              if (lose) {
                lose = false;
                throw new TypeError("Failed to fetch");
              }
              return response;
            };
            "#,
            vec![],
        )
        .await
        .unwrap();
    let reveal = browser.find(Locator::Id("reveal")).await.unwrap();
    reveal.click().await.unwrap();
    let error = browser.visible("#error").await.text().await.unwrap();
    assert!(error.contains("Could not reach the server"), "{error}");

    reveal.click().await.unwrap();
    browser.visible("#revealed").await;
    assert_eq!(browser.value_of("secret-output").await, secret);
    let sent = browser
        .execute("return window.sentKeys;", vec![])
        .await
        .unwrap();
    let sent: Vec<String> = serde_json::from_value(sent).unwrap();
    assert_eq!(sent.len(), 2);
    assert!(!sent[0].is_empty() && sent[0] == sent[1], "{sent:?}");

    let problems = browser.console_problems().await;
    assert!(problems.is_empty(), "{problems:#?}");
    browser.close().await.unwrap();
}

/// A vendor whose Microsoft accepts any secret, with `contoso` lines
/// appended to the tenant's table (and whatever tables follow).
async fn vendor(contoso: &str) -> Vendor {
    let vendor = Vendor::start("", contoso).await;
    vendor.microsoft.accepts().await;
    vendor
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_ask_the_customer_is_guided_and_verified_and_staff_retrieve_it() {
    let vendor = vendor("").await;
    let browser = Browser::start().await;

    // Staff sign in and create a request link.
    browser.sign_in(&vendor, "/staff/requests").await;
    browser.visible("#create-request").await;
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
    browser.visible("#submit-url").await;
    let submit_url = browser.value_of("submit-url").await;
    let retrieve_url = browser.value_of("retrieve-url").await;
    assert!(
        submit_url.starts_with(&vendor.app.url("/r/")) && submit_url.contains('#'),
        "{submit_url}"
    );
    // Leaving the page that shows the retrieve link once needs a tick
    // saying it was saved.
    click(&browser, "#saved-done").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/staff/requests")
            && browser.find(Locator::Id("retrieve-url")).await.is_ok(),
        "still on the page: the box is not ticked"
    );
    assert_eq!(
        browser
            .eval("document.getElementById('saved').validity.valid")
            .await,
        false
    );
    browser
        .assert_accessible("the page with the retrieve link")
        .await;
    click(&browser, "#saved").await;
    click(&browser, "#saved-done").await;
    browser.visible("#create-request").await;

    // The customer sees who asks, pastes the Secret ID first and is told.
    browser.goto(&submit_url).await.unwrap();
    browser.visible("#open").await;
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
    let check = browser.visible("#secret-check").await.text().await.unwrap();
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
    let accepted = browser.visible("#accepted").await.text().await.unwrap();
    assert!(accepted.contains("Verified"), "{accepted}");
    assert!(
        !browser.source().await.unwrap().contains(GOOD_SECRET),
        "the page keeps no copy"
    );

    // Staff retrieve it, once.
    browser.goto(&retrieve_url).await.unwrap();
    browser.visible("#retrieve").await.click().await.unwrap();
    browser.visible("#retrieved").await;
    assert_eq!(browser.value_of("retrieved-secret").await, GOOD_SECRET);

    let problems = browser.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // the README's walk-through, step by step
async fn a_customers_answer_goes_straight_into_openbao_and_its_expiry_is_tracked() {
    let bao = Bao::start().await;
    let sink = format!(
        "sink = \"vault\"\nsink_path = \"tenants/contoso/entra\"\n\n[sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\n",
        bao.address, bao.root
    );
    let vendor = vendor(&sink).await;
    let created: Value = vendor
        .create_request(json!({ "tenant": "contoso", "note": "Q4 rotation" }))
        .await
        .json()
        .await
        .unwrap();
    let request_id = created["id"].as_str().unwrap().to_owned();

    // The customer answers in the browser and hears it was delivered.
    let browser = Browser::start().await;
    browser
        .goto(created["submit_url"].as_str().unwrap())
        .await
        .unwrap();
    browser.visible("#open").await;
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
    let accepted = browser.visible("#accepted").await.text().await.unwrap();
    assert!(
        accepted.contains("Verified and delivered to Fabrikam"),
        "{accepted}"
    );

    // The secret is in OpenBao at the tenant's path, and gone from handoff.
    let stored = bao.kv("tenants/contoso/entra").await;
    assert_eq!(stored["data"]["client_secret"], GOOD_SECRET);
    let expires_on = stored["data"]["expires_on"].as_str().unwrap().to_owned();
    let details = vendor
        .staff_get(&format!("/api/v1/requests/{request_id}/details"))
        .await;
    assert_eq!(details["state"], "applied");

    // Staff see the expiry on the tenants page and in /metrics.
    browser.sign_in(&vendor, "/staff").await;
    let row = browser.visible("#tenants").await.text().await.unwrap();
    assert!(row.contains(&expires_on) && row.contains("OK"), "{row}");
    let metrics = vendor
        .app
        .http
        .get(vendor.app.url("/metrics"))
        .bearer_auth(&vendor.token)
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
    let kinds: Vec<String> = vendor
        .audit_events("tenant=contoso", &["secret.applied"])
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
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
    let problems = browser.console_problems().await;
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
    let vendor = vendor(&sink).await;
    let pushed = vendor.app.push(json!({ "secret": GOOD_SECRET })).await;
    let link = pushed.body["url"].as_str().unwrap().to_owned();

    let browser = Browser::start().await;
    browser.sign_in(&vendor, "/staff").await;
    browser.visible("#tenants").await;

    browser.goto(&link).await.unwrap();
    browser.visible("#apply-form").await;
    browser
        .find(Locator::Id("apply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let applied = browser.visible("#applied").await.text().await.unwrap();
    assert!(applied.contains("Contoso Ltd"), "{applied}");
    assert!(
        !browser.source().await.unwrap().contains(GOOD_SECRET),
        "staff never see it"
    );

    let written = std::fs::read_to_string(sink_dir.path().join("contoso.env")).unwrap();
    assert!(written.contains(GOOD_SECRET));
    let gone = vendor.app.reveal_with_key(&pushed).await;
    assert_eq!(
        gone.status(),
        reqwest::StatusCode::NOT_FOUND,
        "applied, so gone here"
    );

    let problems = browser.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

/// Waits until the element's text contains `wanted`, and returns it.
async fn text_with(browser: &Browser, css: &str, wanted: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = browser.visible(css).await.text().await.unwrap_or_default();
        if text.contains(wanted) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never said {wanted:?}; it says {text:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn click(browser: &Browser, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn type_into(browser: &Browser, id: &str, text: &str) {
    let field = browser.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one person's whole walk through the pages, in order
async fn a_german_phone_in_dark_mode_gets_the_push_flow_in_german_under_the_vendors_name() {
    let folder = tempfile::tempdir().unwrap();
    let logo = folder.path().join("logo.svg");
    std::fs::write(
        &logo,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32"><rect width="120" height="32" fill="#0b5cad"/></svg>"##,
    )
    .unwrap();
    let vendor = Vendor::start(
        &format!(
            "accent_color = \"#0b5cad\"\nsupport_contact = \"help@fabrikam.example\"\nlogo_file = \"{}\"",
            logo.display()
        ),
        "",
    )
    .await;
    let app = &vendor.app;
    let browser = Browser::start_as(Look::PHONE_DE_DARK).await;
    let secret = "abc8Q~GermanPhone_0123456789abcdefghij";
    let note = "Für die Buchhaltungs-App";

    // The create page: German, Fabrikam's name, logo, colour and contact.
    browser.goto(&app.url("/")).await.unwrap();
    assert_eq!(browser.eval("document.documentElement.lang").await, "de");
    assert_eq!(
        browser
            .eval("matchMedia('(prefers-color-scheme: dark)').matches")
            .await,
        true,
        "the browser is in dark mode"
    );
    assert!(browser.title().await.unwrap().contains("Fabrikam"));
    assert_eq!(
        browser.visible("h1").await.text().await.unwrap(),
        "Ein Geheimnis einmalig teilen"
    );
    assert_eq!(
        browser
            .eval("document.querySelector('img.logo').naturalWidth > 0 && document.querySelector('img.logo').alt")
            .await,
        "Fabrikam",
        "the logo loads from the server itself"
    );
    assert_eq!(
        browser
            .eval("getComputedStyle(document.querySelector('.site-header')).borderTopColor")
            .await,
        "rgb(11, 92, 173)",
        "the accent colour marks the header"
    );
    let support = browser.visible(".support").await.text().await.unwrap();
    assert!(support.contains("help@fabrikam.example"), "{support}");
    assert!(!browser.overflows_sideways().await);
    browser
        .assert_accessible("the German create page on a phone")
        .await;
    let small = browser.small_tap_targets().await;
    assert!(
        small.is_empty(),
        "tap targets under 44 px on a phone: {small:?}"
    );

    // A field the server refuses says why beside it and keeps what was typed.
    type_into(&browser, "secret", secret).await;
    type_into(&browser, "note", note).await;
    type_into(&browser, "label", "Buchhaltung, für Jana").await;
    browser
        .execute(
            "document.querySelector('form').noValidate = true; document.getElementById('views').value = '99';",
            Vec::new(),
        )
        .await
        .unwrap();
    click(&browser, "#create").await;
    let refused = text_with(&browser, "#views-error", "1 bis 10").await;
    assert!(refused.contains("ganze Zahl"), "{refused}");
    assert_eq!(browser.value_of("note").await, note);
    assert_eq!(browser.value_of("label").await, "Buchhaltung, für Jana");
    assert_eq!(browser.value_of("views").await, "99");
    assert_eq!(
        browser.value_of("secret").await,
        "",
        "the secret is never sent back"
    );
    browser.assert_accessible("a refused field").await;
    // The log is read (and emptied) here: the 422 is the expected answer.
    let logged = browser.console_problems().await;
    assert!(
        logged.iter().all(|m| m.contains("status of 422")),
        "{logged:#?}"
    );

    // Corrected: two views.
    type_into(&browser, "secret", secret).await;
    type_into(&browser, "views", "2").await;
    click(&browser, "#create").await;
    let link = browser
        .visible("#link")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let manage_link = browser.value_of("manage-link").await;
    let hint = browser.visible("#link-hint").await.text().await.unwrap();
    assert!(hint.contains("2-mal"), "{hint}");
    let expires = text_with(&browser, "#expires", "(in ").await;
    assert!(!expires.contains("UTC"), "in the reader's zone: {expires}");
    assert_eq!(
        browser
            .eval("document.querySelectorAll('.qr-code svg').length")
            .await,
        1,
        "a QR code of the link, drawn by the server"
    );
    assert!(
        !browser.overflows_sideways().await,
        "the link wraps on a phone"
    );
    browser
        .assert_accessible("the German result page on a phone")
        .await;
    let small = browser.small_tap_targets().await;
    assert!(
        small.is_empty(),
        "tap targets under 44 px on a phone: {small:?}"
    );

    // The recipient's page in German; the switch goes to English and keeps the key.
    browser.goto(&link).await.unwrap();
    text_with(&browser, "#ready-heading", "Jemand hat ein Geheimnis").await;
    browser
        .assert_accessible("the German recipient's page")
        .await;
    assert!(
        !browser
            .source()
            .await
            .unwrap()
            .contains("Buchhaltung, für Jana"),
        "the private label is the sender's alone"
    );
    click(&browser, "button[data-lang='en']").await;
    text_with(&browser, "#ready-heading", "Someone shared a secret").await;
    assert_eq!(browser.eval("document.documentElement.lang").await, "en");
    assert!(
        browser.current_url().await.unwrap().fragment().is_some(),
        "the switch keeps the key"
    );
    click(&browser, "button[data-lang='de']").await;
    text_with(&browser, "#ready-heading", "Jemand hat ein Geheimnis").await;

    // Reveal: the note stays, Copy leads, the remaining view can be deleted.
    click(&browser, "#reveal").await;
    browser.visible("#revealed").await;
    assert_eq!(browser.value_of("secret-output").await, secret);
    let kept = browser
        .visible("#revealed-note")
        .await
        .text()
        .await
        .unwrap();
    assert!(kept.contains(note), "{kept}");
    assert_eq!(
        browser
            .eval("document.querySelector('#revealed button.copy').classList.contains('primary')")
            .await,
        true
    );
    browser
        .assert_accessible("the German revealed secret")
        .await;
    click(&browser, "#delete-remaining").await;
    browser.accept_alert().await.unwrap();
    text_with(&browser, "#after-reveal", "Gelöscht").await;
    let (_, key) = link.split_once('#').unwrap();
    let id = link.rsplit('/').next().unwrap().split('#').next().unwrap();
    assert_eq!(
        app.metadata(id, key).await.status(),
        404,
        "the last view is gone"
    );

    // Reloading says when you revealed it, not that the link is broken.
    browser.refresh().await.unwrap();
    let gone = text_with(&browser, "#gone", "Sie haben dies um").await;
    assert!(!gone.contains("unvollständig"), "{gone}");
    browser.assert_accessible("a reload after the reveal").await;

    // The sender's page: German, "Chrome unter Linux", "Sie", cards on a phone.
    browser.goto(&manage_link).await.unwrap();
    let status = browser.visible("#status").await.text().await.unwrap();
    assert!(status.contains("Chrome unter Linux"), "{status}");
    text_with(&browser, "#label-row", "Ihre Bezeichnung").await;
    text_with(&browser, "#label", "Buchhaltung, für Jana").await;
    assert!(status.contains("Sie"), "{status}");
    assert!(!browser.overflows_sideways().await);
    browser
        .assert_accessible("the German manage page on a phone")
        .await;

    let problems = browser.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

/// The pastes both classifiers are held to (the server's unit test reads
/// the same file).
fn paste_cases() -> Value {
    serde_json::from_str(include_str!("../paste-cases.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_cleans_and_refuses_every_shared_paste_exactly_as_the_server_does() {
    let vendor = vendor("").await;
    let created: Value = vendor
        .create_request(json!({ "tenant": "contoso" }))
        .await
        .json()
        .await
        .unwrap();
    let browser = Browser::start().await;
    browser
        .goto(created["submit_url"].as_str().unwrap())
        .await
        .unwrap();
    browser.visible("#open").await;

    // The page's own classifier module, as the page loaded it.
    let shared = paste_cases();
    let known = json!({ "clientId": shared["client_id"], "entraTenant": shared["tenant_id"] });
    let results = browser
        .execute_async(
            r#"const [cases, known, done] = arguments;
               const page = document.querySelector('script[src$="/request.js"]').src;
               import(new URL("paste.js", page).href).then(
                 (m) => done(cases.map((c) => m.classify(c.input, known))),
                 (e) => done(String(e)));"#,
            vec![shared["cases"].clone(), known],
        )
        .await
        .unwrap();
    let results = results.as_array().expect("one result per case");
    let cases = shared["cases"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    let mut wrong = Vec::new();
    for (case, got) in cases.iter().zip(results) {
        let refused = got["refused"].as_str().unwrap();
        let (value, cleaned, refusal) = if refused.is_empty() {
            (got["value"].clone(), got["cleaned"].clone(), Value::Null)
        } else {
            (Value::Null, json!([]), json!(refused))
        };
        let expected = (
            case["value"].clone(),
            case.get("cleaned").cloned().unwrap_or(json!([])),
            case["refused"].clone(),
        );
        if (value.clone(), cleaned.clone(), refusal.clone()) != expected {
            wrong.push(format!(
                "{}: got {:?}, expected {expected:?}",
                case["name"],
                (value, cleaned, refusal)
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // As the customer types: told what will be removed, then the server
    // removes it and says so.
    let secret = browser.find(Locator::Id("secret")).await.unwrap();
    secret
        .send_keys(&format!("Value: \u{201C}{GOOD_SECRET}\u{201D}"))
        .await
        .unwrap();
    let check = browser.visible("#secret-check").await.text().await.unwrap();
    assert!(
        check.contains("The label in front of the value will be removed.")
            && check.contains("The quotes around the value will be removed."),
        "{check}"
    );
    browser
        .find(Locator::Id("submit-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let accepted = browser.visible("#accepted").await.text().await.unwrap();
    assert!(
        accepted.contains("Verified")
            && accepted.contains("Removed the label in front of the value."),
        "{accepted}"
    );
    let problems = browser.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_value_is_refused_on_the_page_before_anything_is_sent() {
    let vendor = vendor("").await;
    let created: Value = vendor
        .create_request(json!({ "tenant": "contoso" }))
        .await
        .json()
        .await
        .unwrap();
    let browser = Browser::start().await;
    browser
        .goto(created["submit_url"].as_str().unwrap())
        .await
        .unwrap();
    browser.visible("#open").await;

    // The IDs the customer needs have copy buttons that copy exactly them.
    for (target, expected) in [
        ("entra-tenant", crate::common::CONTOSO_TENANT),
        ("client-id", crate::common::CONTOSO_APP),
    ] {
        let button = browser
            .find(Locator::Css(&format!(
                "button.copy[data-copy-target='{target}']"
            )))
            .await
            .unwrap();
        assert!(
            button.is_displayed().await.unwrap(),
            "a copy button for {target}"
        );
        let copied = browser
            .find(Locator::Id(target))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(copied, expected);
    }

    browser
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .send_keys("abc*******************")
        .await
        .unwrap();
    let check = browser.visible("#secret-check").await.text().await.unwrap();
    assert!(check.contains("shown only once"), "{check}");
    browser
        .find(Locator::Id("submit-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = browser.visible("#error").await.text().await.unwrap();
    assert!(error.contains("New client secret"), "{error}");
    assert!(
        vendor.microsoft.received().await.is_empty(),
        "nothing was sent to Microsoft"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brand_new_secret_shows_microsoft_still_activating_it_then_ends_accepted_by_itself() {
    let vendor = Vendor::start("new_secret_window = \"30s\"", "").await;
    let created: Value = vendor
        .create_request(json!({ "tenant": "contoso" }))
        .await
        .json()
        .await
        .unwrap();
    let browser = Browser::start().await;
    browser
        .goto(created["submit_url"].as_str().unwrap())
        .await
        .unwrap();
    browser.visible("#open").await;
    browser
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .send_keys(GOOD_SECRET)
        .await
        .unwrap();
    // Created "now": Microsoft takes it in a few seconds.
    vendor
        .microsoft
        .accepts_after(std::time::Duration::from_secs(5))
        .await;
    browser
        .find(Locator::Id("submit-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let activating = browser.visible("#activating").await.text().await.unwrap();
    assert!(
        activating.starts_with("Microsoft is still activating this new secret"),
        "{activating}"
    );
    // Nothing more from the customer: the page asks again until accepted.
    let accepted = browser.visible("#accepted").await.text().await.unwrap();
    assert!(accepted.contains("Verified"), "{accepted}");
    assert!(
        !browser.source().await.unwrap().contains(GOOD_SECRET),
        "the page keeps no copy"
    );
    let problems = browser.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_customer_reads_the_request_page_in_german_under_the_vendors_name() {
    let vendor = vendor("").await;
    let request = vendor.request().await;
    let browser = Browser::start_as(Look::PHONE_DE_DARK).await;

    browser
        .goto(
            &vendor
                .app
                .url(&format!("/r/{}#{}", request.id, request.submit_key)),
        )
        .await
        .unwrap();
    browser.visible("#open").await;
    assert_eq!(browser.eval("document.documentElement.lang").await, "de");
    text_with(
        &browser,
        "#open-heading",
        "Fabrikam bittet um einen neuen geheimen Clientschlüssel",
    )
    .await;
    let note = browser.visible("#note-box").await.text().await.unwrap();
    assert!(
        note.contains("Hinweis von Fabrikam") && note.contains("Q4 rotation"),
        "{note}"
    );
    let steps = browser.visible("#secret-steps").await.text().await.unwrap();
    assert!(steps.contains("Spalte „Wert“"), "{steps}");
    assert!(browser.title().await.unwrap().contains("Fabrikam"));
    assert!(!browser.overflows_sideways().await);
    browser
        .assert_accessible("the German request page on a phone")
        .await;

    // The Secret ID pasted as the Value is refused in German, before
    // anything is sent.
    type_into(&browser, "secret", "3f2504e0-4f89-11d3-9a0c-0305e82c3301").await;
    text_with(
        &browser,
        "#secret-check",
        "Das ist die Geheime ID, nicht der Wert",
    )
    .await;
    // A value with a label and quotes copied along: told in German what
    // will be taken off.
    type_into(
        &browser,
        "secret",
        &format!("Value: \u{201C}{GOOD_SECRET}\u{201D}"),
    )
    .await;
    let check = text_with(
        &browser,
        "#secret-check",
        "Die Beschriftung vor dem Wert wird entfernt.",
    )
    .await;
    assert!(
        check.contains("Die Anführungszeichen um den Wert werden entfernt."),
        "{check}"
    );
    browser
        .assert_accessible("the German paste check on a phone")
        .await;
    // A Secret ID that is no GUID is named in German.
    type_into(&browser, "secret-id", "not-a-guid").await;
    click(&browser, "#submit-answer").await;
    text_with(&browser, "#error", "Die Geheime ID ist eine GUID").await;
    type_into(&browser, "secret-id", "").await;

    // Microsoft's answer, worded from its code: the secret has expired.
    vendor.microsoft.reset().await;
    vendor.microsoft.says_the_secret_expired().await;
    click(&browser, "#submit-answer").await;
    let refused = text_with(&browser, "#error", "bereits abgelaufen").await;
    assert!(!refused.contains("expired"), "{refused}");
    text_with(&browser, "#tries", "Versuche").await;
    // The log is read (and emptied) here: the 422 is the expected answer.
    let logged = browser.console_problems().await;
    assert!(
        logged.iter().all(|m| m.contains("status of 422")),
        "{logged:#?}"
    );

    // Then Microsoft takes it: the answer and what was cleaned, in German.
    vendor.microsoft.reset().await;
    vendor.microsoft.accepts().await;
    click(&browser, "#submit-answer").await;
    let accepted = text_with(
        &browser,
        "#accepted",
        "Geprüft: Microsoft hat den Schlüssel angenommen.",
    )
    .await;
    assert!(
        accepted.contains("Die Beschriftung vor dem Wert wurde entfernt.")
            && accepted.contains("Sie können diese Seite schließen.")
            && !accepted.contains("Removed"),
        "{accepted}"
    );
    browser
        .assert_accessible("the German accepted answer on a phone")
        .await;

    let problems = browser.console_problems().await;
    assert!(problems.is_empty(), "{problems:#?}");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_names_events_in_words_and_fits_a_phone_as_cards() {
    let vendor = vendor("").await;
    let http = reqwest::Client::new();
    // One failed sign-in, so that the trail holds a staff.sign_in_failed.
    let refused = http
        .post(vendor.app.url("/staff/sign-in"))
        .form(&[
            ("token", "not-the-token-at-all-0123456789"),
            ("next", "/staff"),
        ])
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error());
    let browser = Browser::start_as(Look::PHONE_EN).await;
    browser.sign_in(&vendor, "/staff/audit").await;

    let events = text_with(&browser, "#events", "Sign-in failed").await;
    assert!(
        events.contains("staff.sign_in_failed"),
        "the code stays beside the words"
    );
    assert!(
        !browser.overflows_sideways().await,
        "cards, not a wide table"
    );
    assert_eq!(
        browser
            .eval("getComputedStyle(document.querySelector('#events tbody tr')).display")
            .await,
        "block"
    );
    browser
        .assert_accessible("the audit trail on a phone")
        .await;

    let problems = browser.console_problems().await;
    assert!(problems.is_empty(), "{problems:#?}");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // staff, customer and Microsoft, step by step
async fn a_certificate_asked_for_in_the_browser_is_uploaded_checked_and_lands_in_openbao() {
    use base64::Engine as _;
    let bao = Bao::start().await;
    let sink = format!(
        "sink = \"vault\"\nsink_path = \"tenants/contoso/entra\"\n\n[sinks.vault]\nkind = \"vault-kv2\"\naddress = \"{}\"\ntoken = \"{}\"\n",
        bao.address, bao.root
    );
    let vendor = Vendor::start("", &sink).await;
    vendor.microsoft.checks_client_assertions().await;
    let browser = Browser::start().await;

    // Staff ask for a certificate on the request form.
    browser.sign_in(&vendor, "/staff/requests").await;
    browser.visible("#create-request").await;
    browser
        .find(Locator::Css("#request-kind option[value='certificate']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Id("create-request"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.visible("#submit-url").await;
    let submit_url = browser.value_of("submit-url").await;

    // The customer is told to upload a certificate, offered as files.
    browser.goto(&submit_url).await.unwrap();
    browser.visible("#certificate-part").await;
    let thumbprint = browser
        .find(Locator::Id("cert-thumbprint"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(thumbprint.len(), 40, "{thumbprint}");
    for id in ["download-cer", "download-pem"] {
        let href = browser
            .find(Locator::Id(id))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(href.starts_with("blob:"), "{id}: {href}");
    }
    assert!(
        !browser
            .find(Locator::Id("secret"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "no secret is asked for"
    );

    // Check before the upload: Microsoft does not know it yet.
    browser
        .visible("#check-certificate")
        .await
        .click()
        .await
        .unwrap();
    let refused = browser.visible("#cert-error").await.text().await.unwrap();
    assert!(
        refused.contains("has not been uploaded to this app yet"),
        "{refused}"
    );

    // The admin uploads the certificate the page offers, then checks again.
    let (id, key) = submit_url
        .rsplit_once('/')
        .unwrap()
        .1
        .split_once('#')
        .unwrap();
    let view: Value = vendor
        .app
        .http
        .get(vendor.app.url(&format!("/api/v1/requests/{id}")))
        .header("x-handoff-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["certificate"]["thumbprint"], thumbprint.as_str());
    let der = base64::engine::general_purpose::STANDARD
        .decode(view["certificate"]["der_base64"].as_str().unwrap())
        .unwrap();
    vendor.microsoft.upload_certificate(der);
    browser
        .visible("#check-certificate")
        .await
        .click()
        .await
        .unwrap();
    let accepted = browser.visible("#accepted").await.text().await.unwrap();
    assert!(accepted.contains("delivered to Fabrikam"), "{accepted}");

    // The private key is in OpenBao, never on the page; staff see the expiry.
    let stored = bao.kv("tenants/contoso/entra").await;
    let private_key = stored["data"]["private_key"].as_str().unwrap().to_owned();
    assert!(private_key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(!browser.source().await.unwrap().contains("PRIVATE KEY"));
    let expires_on = stored["data"]["expires_on"].as_str().unwrap().to_owned();
    browser.sign_in(&vendor, "/staff").await;
    let row = browser.visible("#tenants").await.text().await.unwrap();
    assert!(row.contains(&expires_on), "{row}");

    // The early Check's refusal is an answer the page shows, not a fault.
    let problems: Vec<String> = browser
        .console_problems()
        .await
        .into_iter()
        .filter(|p| {
            !p.contains(
                "/check - Failed to load resource: the server responded with a status of 422",
            )
        })
        .collect();
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_customer_asked_for_a_certificate_reads_the_steps_and_the_refusal_in_german() {
    let vendor = Vendor::start("", "").await;
    vendor.microsoft.checks_client_assertions().await;
    let response = vendor
        .create_request(json!({ "tenant": "contoso", "kind": "certificate" }))
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let submit_url = body["submit_url"].as_str().unwrap().to_owned();
    let browser = Browser::start_as(Look::PHONE_DE_DARK).await;

    browser.goto(&submit_url).await.unwrap();
    browser.visible("#certificate-part").await;
    assert_eq!(browser.eval("document.documentElement.lang").await, "de");
    text_with(
        &browser,
        "#open-heading",
        "Fabrikam bittet Sie, ein Zertifikat hochzuladen",
    )
    .await;
    text_with(&browser, "#certificate-heading", "So gehen Sie vor").await;
    let part = browser
        .visible("#certificate-part")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        part.contains("Zertifikat hochladen") && part.contains("Fingerabdruck"),
        "{part}"
    );
    text_with(&browser, "#check-certificate", "Prüfen").await;
    assert!(!browser.overflows_sideways().await);
    browser
        .assert_accessible("the German certificate request on a phone")
        .await;

    // Checked before the upload: Microsoft's refusal, worded in German.
    browser
        .visible("#check-certificate")
        .await
        .click()
        .await
        .unwrap();
    text_with(
        &browser,
        "#cert-error",
        "noch nicht in diese App hochgeladen",
    )
    .await;
    text_with(&browser, "#check-certificate", "Prüfen").await;
    browser
        .assert_accessible("the German certificate refusal on a phone")
        .await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_each_requests_note_and_state_and_answer_a_lost_retrieve_link_in_one_click() {
    let vendor = vendor("").await;
    let lost = vendor.request().await;
    let browser = Browser::start().await;
    browser.sign_in(&vendor, "/staff/requests").await;

    // The row shows the note and the state, and opens to its details.
    let row = browser
        .visible("#requests tbody tr")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("Q4 rotation") && row.contains("Waiting"),
        "{row}"
    );
    click(&browser, &format!("#details-{} summary", lost.id)).await;
    let details = text_with(
        &browser,
        &format!("#details-{}", lost.id),
        "Cancel and ask again",
    )
    .await;
    assert!(details.contains(&lost.id), "{details}");
    browser
        .assert_accessible("a request's details in the staff list")
        .await;

    // One click: the lost request is cancelled and a new one shows its links once.
    click(
        &browser,
        &format!("#details-{} button[name='again']", lost.id),
    )
    .await;
    browser.visible("#submit-url").await;
    let submit_url = browser.value_of("submit-url").await;
    let retrieve_url = browser.value_of("retrieve-url").await;
    assert!(!submit_url.contains(&lost.id) && submit_url.contains('#'));
    assert!(retrieve_url.contains('#'), "{retrieve_url}");
    click(&browser, "#saved").await;
    click(&browser, "#saved-done").await;
    browser.visible("#create-request").await;
    let rows = browser.visible("#requests").await.text().await.unwrap();
    assert!(rows.contains("Cancelled"), "{rows}");
    assert_eq!(rows.matches("Q4 rotation").count(), 2, "{rows}");
    // A cancelled request can be cancelled no more.
    assert!(
        browser
            .find(Locator::Css(&format!("#details-{} form", lost.id)))
            .await
            .is_err()
    );

    // The old link no longer works for the customer; the new one does.
    browser
        .goto(
            &vendor
                .app
                .url(&format!("/r/{}#{}", lost.id, lost.submit_key)),
        )
        .await
        .unwrap();
    text_with(&browser, "#closed-heading", "This link does not work").await;
    let answer = vendor
        .app
        .http
        .post(
            vendor
                .app
                .url(&format!("/api/v1/requests/{}/answer", lost.id)),
        )
        .json(&json!({ "key": lost.submit_key, "secret": GOOD_SECRET }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    browser.goto(&submit_url).await.unwrap();
    text_with(&browser, "#note-box", "Q4 rotation").await;

    // The audit trail names who cancelled it.
    browser.goto(&vendor.app.url("/staff/audit")).await.unwrap();
    text_with(&browser, "main", "Request cancelled").await;

    let problems = browser.console_problems().await;
    assert!(problems.is_empty(), "{problems:#?}");
    browser.close().await.unwrap();

    // On a dark phone the list is cards and the details fit.
    let phone = Browser::start_as(Look::PHONE_DE_DARK).await;
    phone.sign_in(&vendor, "/staff/requests").await;
    phone.visible("#requests tbody tr details summary").await;
    click(&phone, "#requests tbody tr details summary").await;
    text_with(&phone, "#requests tbody tr details", "Cancel and ask again").await;
    assert!(!phone.overflows_sideways().await);
    phone
        .assert_accessible("a request's details in the staff list on a dark phone")
        .await;
    let problems = phone.console_problems().await;
    assert!(problems.is_empty(), "{problems:#?}");
    phone.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_pages_back_in_time_and_filters_by_kind() {
    let vendor = vendor("").await;
    // More requests than one page holds, and one failed sign-in among them.
    let mut created = std::collections::BTreeSet::new();
    for _ in 0..110 {
        let body: Value = vendor
            .create_request(json!({ "tenant": "contoso" }))
            .await
            .json()
            .await
            .unwrap();
        created.insert(
            body["submit_url"]
                .as_str()
                .unwrap()
                .split(['/', '#'])
                .nth(4)
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(created.len(), 110);
    vendor
        .app
        .http
        .post(vendor.app.url("/staff/sign-in"))
        .form(&[
            ("token", "not-the-token-at-all-0123456789"),
            ("next", "/staff"),
        ])
        .send()
        .await
        .unwrap();
    let browser = Browser::start().await;
    browser.sign_in(&vendor, "/staff/audit").await;
    text_with(&browser, "#events", "Sign-in failed").await;

    // The filter: a select of kinds in words; the choice is in the address.
    browser
        .find(Locator::Css("#audit-kind option[value='request.created']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&browser, "#audit-filter button[type='submit']").await;
    browser.visible("#older").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or_default()
            .contains("kind=request.created")
    );
    browser
        .assert_accessible("the audit trail filtered, with an older page")
        .await;

    // Page by page, back in time: every request exactly once, nothing else.
    let subjects = "Array.from(document.querySelectorAll('#events tbody tr')).map((r) => [r.cells[1].textContent, r.cells[5].textContent])";
    let mut seen = Vec::new();
    for page in 0.. {
        assert!(page < 3, "more pages than events");
        let rows = browser.eval(subjects).await;
        for row in rows.as_array().unwrap() {
            assert!(
                row[0].as_str().unwrap().contains("request.created"),
                "{row}"
            );
            seen.push(row[1].as_str().unwrap().trim().to_owned());
        }
        if browser.find(Locator::Id("older")).await.is_err() {
            break;
        }
        click(&browser, "#older").await;
        browser.visible("#events").await;
    }
    let unique: std::collections::BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len(), "no event twice");
    assert_eq!(unique, created);

    let problems = browser.console_problems().await;
    assert!(problems.is_empty(), "{problems:#?}");
    browser.close().await.unwrap();
}
