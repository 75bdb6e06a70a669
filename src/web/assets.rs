//! CSS and JavaScript, compiled into the binary so it ships as one file.
//! URLs carry a hash of the content, so browsers may cache them for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", CSS, include_str!("../../static/app.css")),
    ("copy.js", JS, include_str!("../../static/copy.js")),
    ("reveal.js", JS, include_str!("../../static/reveal.js")),
    ("status.js", JS, include_str!("../../static/status.js")),
    ("request.js", JS, include_str!("../../static/request.js")),
    ("retrieve.js", JS, include_str!("../../static/retrieve.js")),
];

/// `/static/<hash of all assets>`: changes whenever any asset does.
pub static STATIC_BASE: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (name, _, body) in ASSETS {
        hasher.update(name.as_bytes());
        hasher.update(body.as_bytes());
    }
    let digest = hasher.finalize();
    format!("/static/{}", URL_SAFE_NO_PAD.encode(&digest[..6]))
});

/// Serves an asset whatever the version segment, so a page cached with an
/// older hash still gets working (current) assets.
pub async fn serve(Path((_version, file)): Path<(String, String)>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        *body,
    )
        .into_response()
}
