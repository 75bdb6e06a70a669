//! The black-box tests, one binary: the real server on port 0 (in-process
//! or as the `handoff` binary), real Redis, `OpenBao` and Chromium where
//! they fit on one machine, and wiremock for what does not (Microsoft, Key
//! Vault, webhook receivers). Helpers live once, in `common`.

mod common;

mod api;
mod apply;
mod browser;
mod certificates;
mod cli;
mod cluster;
mod connections;
mod embedded_crash;
mod faults;
mod fuzz;
mod healthcheck;
mod layout;
mod limits;
mod logs;
mod mail;
mod openapi;
mod outbox;
mod pwpush;
mod redis;
mod reload;
mod requests;
mod server_key;
mod sinks;
mod staff;
mod stalled_store;
mod store_conformance;
mod verify;
mod webhook;
