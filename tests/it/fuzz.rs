//! Property tests (proptest) for every parser that takes outside input:
//! ids, keys and tokens, durations, view counts, the paste classifier,
//! expiry dates, Secret IDs, secret text; and arbitrary bodies, content
//! types, queries and ids sent to the create, reveal and answer endpoints
//! of a real server. None may panic, and no request may get a 5xx. (The
//! settings file has its own property beside `Settings::merge`.)
//!
//! A few hundred cases each, so CI stays brief; `PROPTEST_CASES=100000
//! cargo nextest run -E 'test(/fuzz/)'` runs them longer.

use handoff::domain::{
    AzureSecretId, ClientSecretInput, ExpiryDate, LinkKey, ManageToken, Note, Passphrase, SecretId,
    SecretText, Ttl, Views, parse_duration_secs,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::common::{
    CONTOSO_APP, CONTOSO_TENANT, GOOD_SECRET, ServeArgsExt as _, TestApp, VendorConfig, args,
};

/// `default` cases, unless `PROPTEST_CASES` asks for more (or fewer). No
/// regression files: a failure prints its smallest input.
fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text as it arrives from outside: anything at all, and the shapes that
/// get past the first checks (digits with units, base64url, GUIDs, secrets
/// with the Entra markers, padded with white space and line breaks).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "[0-9]{0,22}[smhdw ]{0,2}",
        "[A-Za-z0-9_-]{20,46}",
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[{ ]{0,2}[0-9a-f-]{30,40}[} ]{0,2}",
        "[a-zA-Z0-9]{3}[78]Q~[A-Za-z0-9_.~-]{25,40}",
        "[\\s\u{200b}\u{feff}\"']{0,3}[A-Za-z0-9~._-]{10,45}[\\s\u{200b}\"']{0,3}",
        "[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}",
        "20[2-9][0-9]-[01][0-9]-[0-3][0-9]",
        Just(GOOD_SECRET.to_owned()),
        Just(CONTOSO_APP.to_owned()),
        Just(CONTOSO_TENANT.to_owned()),
    ]
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn fuzz_ids_keys_and_tokens_parse_or_refuse(input in text()) {
        if let Ok(id) = SecretId::parse(&input) {
            prop_assert_eq!(id.to_string(), input.clone());
        }
        if let Ok(key) = LinkKey::parse(&input) {
            prop_assert_eq!(key.encode(), input.trim());
        }
        if let Ok(token) = ManageToken::parse(&input) {
            prop_assert_eq!(token.encode(), input.trim());
        }
    }

    #[test]
    fn fuzz_generated_ids_and_keys_parse_back(_seed in any::<u8>()) {
        let id = SecretId::generate();
        prop_assert!(SecretId::parse(&id.to_string()).unwrap() == id);
        let key = LinkKey::generate();
        let parsed = LinkKey::parse(&key.encode()).unwrap();
        prop_assert_eq!(parsed.as_bytes(), key.as_bytes());
    }

    #[test]
    fn fuzz_durations_stay_within_their_bounds(input in text(), max_days in 1u64..=365) {
        if let Ok(secs) = parse_duration_secs(&input) {
            prop_assert!(secs <= 36_500 * 86_400);
        }
        let max = Ttl::setting(&format!("{max_days}d")).unwrap();
        if let Ok(ttl) = Ttl::parse(&input, max) {
            prop_assert!((60..=max.as_secs()).contains(&ttl.as_secs()));
            prop_assert!(ttl.as_unix_secs() > 0);
        }
        if let Ok(ttl) = Ttl::setting(&input) {
            prop_assert!((60..=365 * 86_400).contains(&ttl.as_secs()));
        }
    }

    #[test]
    fn fuzz_ttl_and_view_numbers_stay_within_their_bounds(secs in any::<u64>(), input in text()) {
        let max = Ttl::setting("7d").unwrap();
        if let Ok(ttl) = Ttl::from_secs(secs, max) {
            prop_assert!((60..=max.as_secs()).contains(&ttl.as_secs()));
        }
        let max_views = Views::setting("10").unwrap();
        if let Ok(views) = Views::from_count(secs, max_views) {
            prop_assert!((1..=10).contains(&views.get()));
        }
        if let Ok(views) = Views::parse(&input, max_views) {
            prop_assert!((1..=10).contains(&views.get()));
        }
        if let Ok(views) = Views::setting(&input) {
            prop_assert!((1..=10_000).contains(&views.get()));
        }
    }

    #[test]
    fn fuzz_the_paste_classifier_keeps_only_a_clean_value(
        raw in text(),
        client_id in prop_oneof![Just(CONTOSO_APP.to_owned()), text()],
        tenant in prop_oneof![Just(CONTOSO_TENANT.to_owned()), text()],
    ) {
        match ClientSecretInput::parse(&raw, &client_id, &tenant) {
            Ok(input) => {
                let value = input.value();
                prop_assert!(!value.is_empty());
                // Cleaning only removes and joins; `~` may come from `%7E`.
                prop_assert!(
                    value.chars().all(|c| raw.contains(c) || (c == '~' && raw.to_ascii_lowercase().contains("%7e"))),
                    "every character of the value was pasted"
                );
                prop_assert!(!value.chars().any(char::is_control));
                prop_assert!(!value.starts_with(char::is_whitespace));
                prop_assert!(!value.ends_with(char::is_whitespace));
                let _ = (input.notices(), input.warnings());
            }
            Err(refusal) => prop_assert!(!refusal.code().is_empty()),
        }
    }

    /// Every value of a generation Entra ID issues is kept exactly as it is,
    /// without a word: `…8Q~…` (40 characters) and `…7Q~…` (37).
    #[test]
    fn a_generated_secret_of_either_generation_is_never_refused_or_altered(
        value in prop_oneof![
            "[A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{34}",
            "[A-Za-z0-9_~.-]{3}7Q~[A-Za-z0-9_~.-]{31}",
        ],
    ) {
        let input = ClientSecretInput::parse(&value, CONTOSO_APP, CONTOSO_TENANT).unwrap();
        prop_assert_eq!(input.value(), value.as_str());
        prop_assert!(input.cleanings().is_empty() && input.notices().is_empty());
        prop_assert!(input.warnings().is_empty());
    }

    /// Older free-form values (16–64 printable characters) are never refused
    /// or altered either; at most a warning says they are not today's format.
    #[test]
    fn an_older_free_form_secret_is_never_refused_or_altered(value in "[!-~]{16,64}") {
        let input = ClientSecretInput::parse(&value, CONTOSO_APP, CONTOSO_TENANT).unwrap();
        prop_assert_eq!(input.value(), value.as_str());
        prop_assert!(input.cleanings().is_empty());
    }

    /// What clipboards add around a generated value is taken off again.
    #[test]
    fn clipboard_debris_around_a_generated_secret_is_removed(
        value in "[A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{34}",
        wrap in select(vec![
            ("Value: ", ""), ("client_secret=", ""), ("\"", "\""), ("\u{201C}", "\u{201D}"),
            ("\u{FEFF}", ""), ("", "\u{00A0}"), ("  ", " \r\n"), ("Secret:  \u{2018}", "\u{2019}\n"),
        ]),
    ) {
        let raw = format!("{}{value}{}", wrap.0, wrap.1);
        let input = ClientSecretInput::parse(&raw, CONTOSO_APP, CONTOSO_TENANT).unwrap();
        prop_assert_eq!(input.value(), value.as_str());
        prop_assert!(!input.notices().is_empty());
    }

    #[test]
    fn fuzz_expiry_dates_and_secret_ids_parse_or_refuse(input in text(), now in any::<i64>()) {
        if let Ok(date) = ExpiryDate::parse(&input, now) {
            prop_assert!(date.unix_time() >= now.saturating_sub(86_400));
            prop_assert!(ExpiryDate::parse(&date.to_string(), now).unwrap() == date);
        }
        let _ = ExpiryDate::parse(&input, handoff::domain::now());
        if let Ok(Some(id)) = AzureSecretId::parse_optional(Some(&input)) {
            prop_assert!(handoff::domain::is_guid(id.as_str()));
        }
    }

    #[test]
    fn fuzz_secret_text_notes_and_passphrases_parse_or_refuse(
        body in vec(any::<u8>(), 0..300),
        input in text(),
        max in 1usize..200,
    ) {
        if let Ok(secret) = SecretText::from_raw_body(&body, max) {
            prop_assert!(secret.expose().len() <= max);
        }
        if let Ok(secret) = SecretText::parse(Zeroizing::new(input.clone()), max) {
            prop_assert!(secret.expose().len() <= max);
        }
        let _ = Note::parse_optional(Some(&input));
        let _ = Passphrase::parse_optional(Some(Zeroizing::new(input)));
    }
}

/// JSON of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Stands for the right key in a generated body or header; the send
/// replaces it (letters only, so that form encoding keeps it whole).
const KEY: &str = "RIGHTKEYPLACEHOLDER";

/// A value for one of an endpoint's fields: mostly text, sometimes the
/// right key, a number or JSON of any shape.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::from),
        2 => Just(Value::from(KEY)),
        1 => any::<u32>().prop_map(Value::from),
        1 => json_value(),
    ]
}

/// The endpoint's own `fields`, each there more often than not, and now
/// and then a field it does not know.
fn fields(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, Value)>> {
    let known: Vec<_> = fields
        .iter()
        .map(|name| {
            prop::option::weighted(0.7, field_value())
                .prop_map(move |v| v.map(|v| ((*name).to_owned(), v)))
        })
        .collect();
    let unknown = prop::option::weighted(0.15, (text(), field_value()));
    (known, unknown)
        .prop_map(|(known, unknown)| known.into_iter().flatten().chain(unknown).collect())
}

fn as_json(fields: Vec<(String, Value)>) -> Vec<u8> {
    Value::Object(fields.into_iter().collect())
        .to_string()
        .into_bytes()
}

fn as_form(fields: Vec<(String, Value)>) -> Vec<u8> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        match value {
            Value::String(text) => form.append_pair(&name, &text),
            other => form.append_pair(&name, &other.to_string()),
        };
    }
    form.finish().into_bytes()
}

/// A content type and a body: mostly the endpoint's fields as JSON or as
/// a form under their own type, raw text as a script sends it, JSON cut
/// short; and arbitrary bytes under any type.
fn typed_body(names: &'static [&'static str]) -> impl Strategy<Value = (String, Vec<u8>)> {
    let json_type = || {
        select(&["application/json", "application/json; charset=utf-8"][..]).prop_map(str::to_owned)
    };
    let raw_type = select(
        &[
            "text/plain",
            "application/octet-stream",
            "text/plain; charset=utf-8",
        ][..],
    )
    .prop_map(str::to_owned);
    let cut_short = (fields(names), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
        let text = as_json(v);
        let at = cut.index(text.len() + 1);
        text[..at].to_vec()
    });
    prop_oneof![
        4 => (json_type(), fields(names).prop_map(as_json)),
        2 => (Just("application/x-www-form-urlencoded".to_owned()), fields(names).prop_map(as_form)),
        2 => (raw_type, text().prop_map(String::into_bytes)),
        1 => (json_type(), json_value().prop_map(|v| v.to_string().into_bytes())),
        1 => (json_type(), cut_short),
        2 => (content_type(), vec(any::<u8>(), 0..400)),
    ]
}

/// An `X-Handoff-Key` header: none, the right key, or a wrong one.
fn key_header() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(KEY.to_owned())),
        "[ -~]{0,60}".prop_map(Some),
    ]
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&[
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "text/plain; charset=iso-8859-1",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
            "image/png",
            "",
        ][..])
        .prop_map(str::to_owned),
        1 => "[!-~]{0,40}",
    ]
}

/// Any bytes, as they would sit in a URL's path or query, and the shapes
/// of real ones.
fn percent_encoded() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => "(ttl|views|expires_on|secret_id)=[0-9a-z{}-]{0,40}(&(ttl|views|expires_on|secret_id)=[0-9a-z-]{0,12}){0,2}",
        1 => vec(any::<u8>(), 0..40).prop_map(|bytes| {
            bytes.iter().fold(String::new(), |mut text, b| {
                use std::fmt::Write as _;
                let _ = write!(text, "%{b:02X}");
                text
            })
        }),
        1 => "[A-Za-z0-9_-]{0,30}",
        1 => "[a-z_]{1,12}=[ -~&&[^#]]{0,30}(&[a-z_]{1,12}=[A-Za-z0-9%]{0,12}){0,3}",
    ]
}

/// The request an endpoint gets; [`KEY`] in its body or key header stands
/// for the right key.
struct Sent {
    path: String,
    content_type: String,
    key_header: Option<String>,
    body: Vec<u8>,
}

/// Sends `sent` and checks the answer: never a 5xx, and an `/api` error is
/// always our JSON error.
async fn send(app: &TestApp, sent: Sent, key: &str) -> Result<(), TestCaseError> {
    let body = String::from_utf8(sent.body.clone())
        .map_or(sent.body, |text| text.replace(KEY, key).into_bytes());
    let mut request = app.http.post(app.url(&sent.path)).body(body);
    if !sent.content_type.is_empty() {
        request = request.header(CONTENT_TYPE, &sent.content_type);
    }
    if let Some(header) = &sent.key_header {
        request = request.header("x-handoff-key", header.replace(KEY, key));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    prop_assert!(
        status.as_u16() < 500,
        "{} {} ({}) answered {status}",
        sent.path,
        sent.content_type,
        key
    );
    if sent.path.starts_with("/api/") && !status.is_success() {
        prop_assert!(
            is_json,
            "{} answered {status} without a JSON body",
            sent.path
        );
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

const CREATE_FIELDS: &[&str] = &["secret", "ttl", "views", "passphrase", "note"];

#[test]
fn fuzz_create_bodies_never_get_a_5xx() {
    let rt = runtime();
    let app = rt.block_on(TestApp::spawn_with(args().no_limit()));
    proptest!(cases(256), |(
        api in any::<bool>(),
        query in percent_encoded(),
        (content_type, body) in typed_body(CREATE_FIELDS),
        form in prop::option::weighted(0.75, fields(CREATE_FIELDS).prop_map(as_form)),
    )| {
        // The page's form mostly gets a form; the API anything.
        let (content_type, body) = match form {
            Some(form) if !api => ("application/x-www-form-urlencoded".to_owned(), form),
            _ => (content_type, body),
        };
        let path = if api { format!("/api/v1/secrets?{query}") } else { format!("/?{query}") };
        rt.block_on(send(&app, Sent { path, content_type, key_header: None, body }, ""))?;
    });
}

const REVEAL_FIELDS: &[&str] = &["key", "passphrase"];

#[test]
fn fuzz_reveal_bodies_and_ids_never_get_a_5xx() {
    let rt = runtime();
    let app = rt.block_on(TestApp::spawn_with(args().no_limit()));
    proptest!(cases(256), |(
        real_id in any::<bool>(),
        id in percent_encoded(),
        key_header in key_header(),
        (content_type, body) in typed_body(REVEAL_FIELDS),
    )| {
        let secret = rt.block_on(app.push(json!({ "secret": "fuzzed", "views": 2 })));
        let id = if real_id { secret.id.clone() } else { id };
        let path = format!("/api/v1/secrets/{id}/reveal");
        rt.block_on(send(&app, Sent { path, content_type, key_header, body }, &secret.key))?;
    });
}

const ANSWER_FIELDS: &[&str] = &["key", "secret", "expires_on", "secret_id"];

#[test]
fn fuzz_answer_bodies_and_queries_never_get_a_5xx() {
    let rt = runtime();
    // verify = "off": the classifier and the rest run, and nothing is sent
    // to Microsoft.
    let config = VendorConfig::new("", "verify = \"off\"");
    let app = rt.block_on(TestApp::spawn_with(config.args().no_limit()));
    proptest!(cases(256), |(
        query in percent_encoded(),
        key_header in key_header(),
        (content_type, body) in typed_body(ANSWER_FIELDS),
    )| {
        let (id, key) = rt.block_on(async {
            let response = app
                .http
                .post(app.url("/api/v1/requests"))
                .bearer_auth(&config.token)
                .json(&json!({ "tenant": "contoso" }))
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            let submit = body["submit_url"].as_str().unwrap();
            let (_, key) = submit.split_once('#').unwrap();
            (body["id"].as_str().unwrap().to_owned(), key.to_owned())
        });
        let path = format!("/api/v1/requests/{id}/answer?{query}");
        rt.block_on(send(&app, Sent { path, content_type, key_header, body }, &key))?;
    });
}
