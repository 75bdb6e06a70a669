//! Logging. `HANDOFF_LOG` (or `RUST_LOG`) takes a tracing filter such as
//! `info` or `handoff=debug,tower_http=debug`; `HANDOFF_LOG_FORMAT=json`
//! writes one JSON object per line (audit events have target `audit`), for
//! a SIEM. Nothing logged carries secret material: spans record the route
//! template, never the URI or a body.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("HANDOFF_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("HANDOFF_LOG: '{filter}' is not a valid filter ({e}); using 'info'");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("HANDOFF_LOG_FORMAT").as_deref() {
        Ok("json") => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        Ok("text") | Err(_) => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok(other) => {
            builder.with_ansi(false).init();
            tracing::warn!("HANDOFF_LOG_FORMAT: '{other}' is not text or json; using text");
        }
    }
}
