//! The telemetry writer: a Lambda fed by the telemetry queue's event source mapping.
//!
//! Each SQS message holds one telemetry event (schema v1). The writer decodes and validates it
//! ([`decode`]), encrypts `payload.sensitive` ([`encryption`]), stores it in
//! `generation_events` under its event id ([`document`], [`store`]) and folds it into its run's
//! summary in `generation_runs` ([`run_summary`]). Poison messages go straight to the
//! dead-letter queue and are counted ([`poison`]). The handler ([`handler`]) reports failures
//! per message, so only those are redelivered; every write is idempotent, so redelivery and
//! reordering never change what is stored.

pub mod config;
pub mod decode;
pub mod document;
pub mod encryption;
pub mod error;
pub mod handler;
pub mod poison;
pub mod run_summary;
pub mod store;

pub use config::{EnvConfig, WriterConfig};
pub use error::WriterError;
pub use handler::{COMPONENT, Writer};
