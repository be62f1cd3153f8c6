//! Fail-open telemetry for packforge generation runs.
//!
//! Generation code calls [`TelemetryClient::emit`], which never blocks and never fails, and
//! [`TelemetryClient::flush`] at the end of every invocation, which is bounded in time and
//! returns a [`FlushReport`]. In between, a background task ships events to SQS in batches.
//! Whatever cannot be delivered is dropped and counted by [`DropReason`], so that for every
//! window `emitted = sent + dropped` holds exactly and the counts reach DynamoDB (or, failing
//! that, a CloudWatch EMF line).
//!
//! Files follow an event's path: [`event`] (schema), [`client`] (emit, flush), [`shipper`]
//! (buffer to batches), [`batch`] (encoding, size limits), [`transport`] (SQS), [`retry`] and
//! [`breaker`] (failure handling), [`drop_reason`] and [`drop_counter`] (accounting),
//! [`report`] (the result of a flush). [`logging`] is the functions' shared log format.

pub mod batch;
pub mod breaker;
pub mod client;
pub mod config;
pub mod drop_counter;
pub mod drop_reason;
pub mod error;
pub mod event;
pub mod logging;
pub mod report;
pub mod retry;
mod shipper;
pub mod transport;

pub use client::{
    FlushOptions, TelemetryClient, TelemetryClientBuilder, deadline_from_epoch_millis,
};
pub use config::{TelemetryConfig, TelemetryTargets};
pub use drop_counter::{DropContext, DropCounterTable};
pub use drop_reason::{DropCounts, DropReason};
pub use error::{ConfigError, error_chain};
pub use event::TelemetryEvent;
pub use report::FlushReport;
pub use transport::{SqsTransport, Transport};
