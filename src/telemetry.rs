//! Logging. `HANDOFF_LOG` (or `RUST_LOG`) takes a tracing filter such as
//! `info` or `handoff=debug,tower_http=debug`. Nothing logged carries secret
//! material: spans record the route template, never the URI or a body.

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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
