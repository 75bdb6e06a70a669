//! CSS and JavaScript, compiled into the binary so it ships as one file.
//! URLs carry a hash of the content, so browsers may cache them for a year.
//! All assets share one URL base, so the page scripts' relative imports
//! (`./common.js`) resolve to the same version of the shared module.

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
    ("common.js", JS, include_str!("../../static/common.js")),
    ("copy.js", JS, include_str!("../../static/copy.js")),
    ("reveal.js", JS, include_str!("../../static/reveal.js")),
    ("status.js", JS, include_str!("../../static/status.js")),
    ("paste.js", JS, include_str!("../../static/paste.js")),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const COMMON: &str = "common.js";

    fn scripts() -> impl Iterator<Item = (&'static str, &'static str)> {
        ASSETS
            .iter()
            .filter(|(_, content_type, _)| *content_type == JS)
            .map(|(name, _, body)| (*name, *body))
    }

    fn common() -> &'static str {
        scripts()
            .find(|(name, _)| *name == COMMON)
            .map(|(_, body)| body)
            .expect("common.js is an asset")
    }

    /// What `common.js` declares at its top level: each name, and whether it
    /// is exported.
    fn common_declarations() -> Vec<(&'static str, bool)> {
        common()
            .lines()
            .filter_map(|line| {
                let (exported, line) = match line.strip_prefix("export ") {
                    Some(rest) => (true, rest),
                    None => (false, line),
                };
                let rest = ["async function ", "function ", "const ", "let "]
                    .iter()
                    .find_map(|keyword| line.strip_prefix(keyword))?;
                let name = rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                    .next()
                    .filter(|name| !name.is_empty())?;
                Some((name, exported))
            })
            .collect()
    }

    /// The names a page script imports from `./common.js`.
    fn imported_names(body: &str) -> Vec<&str> {
        let Some(end) = body.find("} from \"./common.js\";") else {
            return Vec::new();
        };
        let start = body[..end].rfind("import {").expect("an import list") + "import {".len();
        body[start..end]
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect()
    }

    #[tokio::test]
    async fn the_shared_module_is_served_as_javascript() {
        let response = serve(Path(("any".to_owned(), COMMON.to_owned()))).await;

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JS);
    }

    #[test]
    fn every_file_in_the_static_folder_is_served() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        for entry in std::fs::read_dir(folder).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                ASSETS.iter().any(|(name, _, _)| *name == file),
                "static/{file} is not in ASSETS"
            );
        }
    }

    #[test]
    fn shared_page_helpers_are_defined_only_in_the_shared_module() {
        let names: BTreeSet<&str> = common_declarations()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for wanted in [
            "readKey",
            "request",
            "showError",
            "clearError",
            "formatUtc",
            "$",
        ] {
            assert!(names.contains(wanted), "common.js declares {wanted}");
        }
        for (script, body) in scripts().filter(|(name, _)| *name != COMMON) {
            for name in &names {
                for declaration in [
                    format!("function {name}("),
                    format!("const {name} ="),
                    format!("let {name} ="),
                    format!("var {name} ="),
                ] {
                    assert!(
                        !body.contains(&declaration),
                        "{script} declares `{declaration}`: common.js has {name}; import it (export it first if need be) instead of keeping a copy"
                    );
                }
            }
        }
    }

    #[test]
    fn page_scripts_import_only_what_the_shared_module_exports() {
        let exported: BTreeSet<&str> = common_declarations()
            .into_iter()
            .filter_map(|(name, exported)| exported.then_some(name))
            .collect();
        for (script, body) in scripts() {
            for name in imported_names(body) {
                assert!(
                    exported.contains(name),
                    "{script} imports {name}, which common.js does not export"
                );
            }
        }
    }
}
