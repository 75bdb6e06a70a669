//! Extractors whose refusals are our own errors: a malformed body, query or
//! id gets the same JSON error as everything else on the API (or the
//! not-found page on a page route), never a plain-text rejection.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::render;
use crate::domain::{IdempotencyKey, SecretId};
use crate::locale::Language;
use crate::service::ServiceError;

/// Header that carries the link key where there is no JSON body.
pub const KEY_HEADER: &str = "x-handoff-key";

/// Header that names one attempt at a reveal or retrieval.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// `ttl` and `views` may be sent as numbers or as text (`"24h"`, `"3"`).
/// (`serde(untagged)` is for the API's description only: deserialising is
/// by hand, since an untagged enum buffers the value and builds an error
/// for each variant it tries before the one that fits.)
#[derive(Debug, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for NumberOrText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = NumberOrText;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number or text")
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(NumberOrText::Number(value))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
                u64::try_from(value)
                    .map(NumberOrText::Number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(NumberOrText::Text(value.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Self::Value, E> {
                Ok(NumberOrText::Text(value))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// A JSON body; malformed JSON is a 400, an oversized body a 413.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("The request body is too large.".to_owned())
    } else {
        AppError::BadRequest(rejection.body_text())
    }
}

/// A raw body, within the router's size limit.
pub struct AppBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for AppBytes {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge("The request body is too large.".to_owned())
                } else {
                    AppError::BadRequest(rejection.body_text())
                }
            })
    }
}

/// A query string.
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(query)| Self(query))
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))
    }
}

/// The `{id}` of an API route. An id that cannot exist is the same 404
/// `not_found` as one that does not, so the API is no oracle.
pub struct IdPath(pub SecretId);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        id_from(parts, state)
            .await
            .map(Self)
            .ok_or(AppError::Service(ServiceError::NotFound))
    }
}

/// The `{id}` of a page route; one that cannot exist gets the not-found
/// page.
pub struct PageId(pub SecretId);

impl<S: Send + Sync> FromRequestParts<S> for PageId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        id_from(parts, state)
            .await
            .map(Self)
            .ok_or_else(render::not_found)
    }
}

async fn id_from<S: Send + Sync>(parts: &mut Parts, state: &S) -> Option<SecretId> {
    let Path(text) = Path::<String>::from_request_parts(parts, state)
        .await
        .ok()?;
    SecretId::parse(&text).ok()
}

/// The optional `Idempotency-Key` header of a reveal or retrieval: a
/// retry with the same key gets the same answer. A malformed one (or two of
/// them) is a 400 that names the header.
pub struct Idempotency(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        let refused = |reason: String| AppError::BadRequest(format!("Idempotency-Key: {reason}"));
        if values.next().is_some() {
            return Err(refused("send it once".to_owned()));
        }
        // Not visible ASCII at all: refused like any other bad key.
        IdempotencyKey::parse(value.to_str().unwrap_or_default())
            .map(|key| Self(Some(key)))
            .map_err(|invalid| refused(invalid.reason))
    }
}

#[must_use]
pub fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The link key sent in `X-Handoff-Key`, or the error that says to send it.
pub fn link_key_header(headers: &HeaderMap) -> Result<&str, AppError> {
    header_text(headers, KEY_HEADER).ok_or_else(|| {
        AppError::BadRequest(
            "Send the link key (the part after #) in the X-Handoff-Key header.".into(),
        )
    })
}

/// The token of `Authorization: Bearer <token>`.
#[must_use]
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    header_text(headers, header::AUTHORIZATION.as_str())?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The body's media type, lower-case, without parameters.
#[must_use]
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// What a body of an unsupported type gets.
#[must_use]
pub fn unsupported_media_type(media_type: &str) -> AppError {
    AppError::BadRequest(format!(
        "Content-Type '{media_type}' is not supported: send application/json, or the secret itself as text/plain."
    ))
}

/// The cookie the language switch sets (static/common.js).
pub const LANGUAGE_COOKIE: &str = "lang";

/// The language a page is drawn in: the reader's choice (the `lang` cookie)
/// if it names a supported language, else the browser's `Accept-Language`,
/// else English. Never refuses a request.
pub struct PageLanguage(pub Language);

impl<S: Send + Sync> FromRequestParts<S> for PageLanguage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(language_of(&parts.headers)))
    }
}

#[must_use]
pub fn language_of(headers: &HeaderMap) -> Language {
    let chosen = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == LANGUAGE_COOKIE).then_some(value)
        });
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Language::choose(chosen, accept)
}

#[cfg(test)]
mod tests {
    use super::NumberOrText;

    fn parse(json: &str) -> Result<NumberOrText, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn a_whole_number_is_a_number_and_a_string_is_text() {
        assert!(matches!(parse("3600"), Ok(NumberOrText::Number(3600))));
        assert!(matches!(parse(r#""24h""#), Ok(NumberOrText::Text(t)) if t == "24h"));
        assert!(matches!(parse(r#""3""#), Ok(NumberOrText::Text(t)) if t == "3"));
    }

    #[test]
    fn a_negative_or_fractional_number_or_another_type_is_refused() {
        for json in ["-1", "1.5", "true", "null", "[1]", r#"{"a":1}"#] {
            let error = parse(json).err().map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains("a whole number or text")),
                "{json}: {error:?}"
            );
        }
    }
}
