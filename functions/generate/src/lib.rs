//! The generate function: S3 uploads become learning packs and games.
//!
//! Files follow a run: [`notification`] (what was uploaded), [`keys`] (where outputs go),
//! [`storage`] (S3 or a directory), [`pipeline`] (extraction, generation, guardrails),
//! [`run`] (one object, with telemetry), [`manifest`] (the record of a run), [`handler`] (one
//! invocation), [`error`] (what Lambda retries).

pub mod config;
pub mod error;
pub mod handler;
pub mod keys;
pub mod local;
pub mod manifest;
pub mod notification;
pub mod pipeline;
pub mod run;
pub mod storage;
#[cfg(test)]
mod test_support;
