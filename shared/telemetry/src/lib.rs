//! Fail-open telemetry for packforge generation runs.

pub mod event;
