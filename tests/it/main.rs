//! The integration tests, one binary (linking the whole stack once, not
//! once per file): one module per concern. RELIABILITY.md maps each fault
//! to its test here. The PostgreSQL and browser tests are binaries of their
//! own, run by `scripts/with-postgres` and `scripts/browser-tests`.

mod common;

mod auth;
mod auth_templates;
mod authentic_json;
mod bad_input;
mod cli;
mod codegen;
mod diff;
mod drift;
mod drift_proposals;
mod fetched_keys;
mod handshakes;
mod harness;
mod https;
mod infer;
mod jwt;
mod kept_secrets;
mod kill;
mod metrics;
mod observe;
mod one_pass;
mod operate;
mod power_cut;
mod public_keys;
mod readme;
mod receiver;
mod receiving_modes;
mod reliability;
mod samples;
mod sdk_vectors;
mod secrets_in_messages;
mod simulate;
mod traces;
mod ui;
mod vendor_dir;
