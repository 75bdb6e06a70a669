//! handoff: a one-time secret handoff server.
//!
//! Data flows one way: `web` (pages and JSON API) parses input into `domain`
//! types and calls `service`, which owns the rules and uses `crypto` to seal
//! and open secrets and a `store` to keep them.

pub mod audit;
pub mod branding;
pub mod certificate;
pub mod cli;
pub mod config;
pub mod config_error;
pub mod connections;
pub mod crypto;
pub mod directory;
pub mod domain;
pub mod locale;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod rate_limit;
pub mod service;
pub mod sinks;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod verify;
pub mod web;
pub mod webhook;
