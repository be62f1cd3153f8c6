//! Fail-open telemetry for packforge generation runs.

pub mod drop_counter;
pub mod drop_reason;
pub mod event;

pub use drop_reason::{DropCounts, DropReason};
pub use event::TelemetryEvent;
