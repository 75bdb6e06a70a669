//! The JSON API's `OpenAPI` 3.1 description, made from the handlers' own
//! types and `#[utoipa::path]` attributes so that it cannot drift from
//! them; served at `/api/v1/openapi.json`, and as a readable page at `/api`
//! rendered from the same document.
//!
//! Each operation names the error codes it can answer with
//! (`x-error-codes`); their statuses come from the one mapping of errors in
//! `error`, and each becomes a response whose body is the error shape with
//! `error` limited to those codes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, catalogue};
use super::render::{Chrome, render};
use super::{api, apply, audit, requests};

/// The extension that lists the error codes of an operation.
const ERROR_CODES: &str = "x-error-codes";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "handoff",
        description = "One-time secret handoff: push and reveal secrets, ask a customer for a client secret with a request link, and apply secrets to a tenant's configuration. Every error is JSON: `{\"error\": code, \"message\": sentence, …}`; each operation lists the codes it can answer with."
    ),
    paths(
        api::create_secret,
        api::secret_metadata,
        api::reveal_secret,
        api::delete_secret,
        api::secret_status,
        apply::apply_secret,
        apply::apply_request,
        apply::tenants,
        requests::create_request,
        requests::list_requests,
        requests::request_view,
        requests::cancel_request,
        requests::answer_request,
        requests::check_certificate,
        requests::request_details,
        requests::retrieve_answer,
        audit::audit_api,
        openapi_json,
        api::healthz,
        api::readyz,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "secrets", description = "Push, reveal, delete: one-time secrets"),
        (name = "requests", description = "Request links: the customer answers, staff retrieve"),
        (name = "apply", description = "Deliver a secret to a tenant's configuration"),
        (name = "audit", description = "The audit trail"),
        (name = "meta", description = "This description"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff member's token from the directory (handoff.toml).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "manage_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A secret's manage token: the part of the manage link after `#`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "link_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Handoff-Key",
                "A link's key: the part of the link after `#`.",
            ))),
        );
    }
}

/// The description as served: utoipa's document with each operation's
/// error codes turned into its error responses.
#[must_use]
pub fn document() -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the description serializes");
    let statuses = catalogue();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths {
            for (method, operation) in item.as_object_mut().into_iter().flatten() {
                add_error_responses(&format!("{method} {path}"), operation, &statuses);
            }
        }
    }
    document
}

fn add_error_responses(name: &str, operation: &mut Value, statuses: &[(StatusCode, &str)]) {
    let codes: Vec<String> = operation
        .get(ERROR_CODES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|code| code.as_str().map(str::to_owned))
        .collect();
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for code in &codes {
        let mut known = false;
        for (status, _) in statuses.iter().filter(|(_, c)| c == code) {
            by_status.entry(status.as_u16()).or_default().push(code);
            known = true;
        }
        assert!(
            known,
            "{name} lists the error code {code}, which no error has"
        );
    }
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, codes) in by_status {
        let mut response = json!({
            "description": format!("Error: {}", codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")),
            "content": { "application/json": { "schema": {
                "allOf": [{ "$ref": "#/components/schemas/ErrorBody" }],
                "properties": { "error": { "type": "string", "enum": codes } },
            } } },
        });
        let header = match status {
            401 => Some((
                "WWW-Authenticate",
                "`Bearer`, when staff sign-in is missing",
            )),
            429 | 503 => Some(("Retry-After", "Seconds to wait before trying again")),
            _ => None,
        };
        if let Some((header, description)) = header {
            response["headers"] =
                json!({ header: { "description": description, "schema": { "type": "string" } } });
        }
        responses.insert(status.to_string(), response);
    }
}

static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    summary = "This description (OpenAPI 3.1)",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
)]
pub async fn openapi_json() -> Response {
    Json(&*DOCUMENT).into_response()
}

struct Operation {
    method: String,
    path: String,
    anchor: String,
    summary: String,
    description: String,
    security: Vec<String>,
    params: Vec<Param>,
    bodies: Vec<Body>,
    responses: Vec<Answer>,
}

struct Param {
    name: String,
    location: String,
    required: bool,
    kind: String,
    description: String,
}

struct Body {
    content_type: String,
    kind: String,
    schema: Option<String>,
}

struct Answer {
    status: String,
    description: String,
    content_type: String,
    kind: String,
    schema: Option<String>,
    codes: Vec<String>,
}

struct Schema {
    name: String,
    description: String,
    kind: String,
    fields: Vec<Field>,
}

struct Field {
    name: String,
    kind: String,
    required: bool,
    description: String,
}

#[derive(Template)]
#[template(path = "api.html")]
struct ApiPage {
    page: Chrome,
    title: String,
    description: String,
    security: Vec<(String, String)>,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn ref_name(schema: &Value) -> Option<String> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_owned)
}

/// A schema in a few words: `string`, `integer | null`, `array of Event`.
fn kind(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            return parts.iter().map(kind).collect::<Vec<_>>().join(" | ");
        }
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["any".to_owned()],
    };
    types
        .into_iter()
        .map(|t| match (t.as_str(), schema.get("items")) {
            ("array", Some(items)) => format!("array of {}", kind(items)),
            _ => t,
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// One response of an operation; an error response by its codes.
fn answer(status: &str, response: &Value) -> Answer {
    let (content_type, schema) = response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next())
        .map(|(t, c)| (t.clone(), c.get("schema").cloned().unwrap_or_default()))
        .unwrap_or_default();
    let codes: Vec<String> = schema
        .pointer("/properties/error/enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    let error_ref = schema.pointer("/allOf/0").cloned().unwrap_or_default();
    Answer {
        status: status.to_owned(),
        description: if codes.is_empty() {
            text(response, "description")
        } else {
            String::new()
        },
        content_type,
        kind: if codes.is_empty() {
            if schema.is_null() {
                String::new()
            } else {
                kind(&schema)
            }
        } else {
            kind(&error_ref)
        },
        schema: ref_name(&schema).or_else(|| ref_name(&error_ref)),
        codes,
    }
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let empty = Map::new();
    let paths = document
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            let security = op
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|requirement| {
                    let names: Vec<&String> = requirement
                        .as_object()
                        .map(|r| r.keys().collect())
                        .unwrap_or_default();
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names
                            .iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(" + ")
                    }
                })
                .collect();
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| Param {
                    name: text(p, "name"),
                    location: text(p, "in"),
                    required: p.get("required").and_then(Value::as_bool) == Some(true),
                    kind: p.get("schema").map(kind).unwrap_or_default(),
                    description: text(p, "description"),
                })
                .collect();
            let bodies = op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(content_type, content)| {
                    let schema = content.get("schema").unwrap_or(&Value::Null);
                    Body {
                        content_type: content_type.clone(),
                        kind: kind(schema),
                        schema: ref_name(schema),
                    }
                })
                .collect();
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(status, response)| answer(status, response))
                .collect();
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                anchor: format!(
                    "op-{method}-{}",
                    path.trim_matches('/')
                        .replace(['/', '.'], "-")
                        .replace(['{', '}'], "")
                ),
                summary: text(op, "summary"),
                description: text(op, "description"),
                security,
                params,
                bodies,
                responses,
            });
        }
    }
    out
}

fn schemas(document: &Value) -> Vec<Schema> {
    let empty = Map::new();
    document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or(&empty)
        .iter()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(field, property)| Field {
                    name: field.clone(),
                    kind: kind(property),
                    required: required.contains(&field.as_str()),
                    description: text(property, "description"),
                })
                .collect();
            Schema {
                name: name.clone(),
                description: text(schema, "description"),
                kind: kind(schema),
                fields,
            }
        })
        .collect()
}

/// `GET /api`: the description as a page, with no script and no asset
/// but the site's own stylesheet.
pub async fn api_page() -> Response {
    let document = &*DOCUMENT;
    let security = document
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, scheme)| {
            let how = match (text(scheme, "type").as_str(), text(scheme, "name")) {
                ("http", _) => "Authorization: Bearer <token>".to_owned(),
                ("apiKey", header) => format!("{header}: <key>"),
                (other, _) => other.to_owned(),
            };
            (
                name.clone(),
                format!("{how}. {}", text(scheme, "description")),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &ApiPage {
            page: Chrome::plain(),
            title: document
                .pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            description: document
                .pointer("/info/description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            security,
            operations: operations(document),
            schemas: schemas(document),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_error_code_becomes_a_response_with_its_status() {
        let document = document();
        let reveal = &document["paths"]["/api/v1/secrets/{id}/reveal"]["post"]["responses"];
        let not_found =
            reveal["404"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
                .as_array()
                .unwrap();
        assert!(not_found.contains(&json!("not_found")));
        assert!(not_found.contains(&json!("already_revealed")));
        assert!(reveal["410"].is_object() && reveal["429"]["headers"]["Retry-After"].is_object());
    }

    #[test]
    fn the_page_lists_every_operation() {
        let document = document();
        let operations = operations(&document);
        assert!(
            operations
                .iter()
                .any(|o| o.method == "POST" && o.path == "/api/v1/secrets")
        );
        assert!(schemas(&document).iter().any(|s| s.name == "ErrorBody"));
    }
}
