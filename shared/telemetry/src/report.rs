//! What one flush accounted for.

use serde::Serialize;

use crate::DropCounts;

/// The accounting of one window (normally one invocation): every event emitted in it was
/// either sent or dropped for a counted reason, so `emitted == sent + dropped.total()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[must_use = "the report is the only record of what this invocation's telemetry lost"]
pub struct FlushReport {
    /// Events passed to `emit`.
    pub emitted: u64,
    /// Events SQS acknowledged.
    pub sent: u64,
    /// Events dropped, by reason.
    pub dropped: DropCounts,
    /// Sum of `dropped`.
    pub dropped_total: u64,
    /// Whether the drops were added to the drop-counter table (true when nothing dropped).
    pub drops_recorded: bool,
    /// Time the flush took, milliseconds.
    pub flush_ms: u64,
}

impl FlushReport {
    /// Whether the accounting adds up; a false here is a bug in the client.
    pub fn balances(&self) -> bool {
        self.emitted == self.sent + self.dropped.total()
    }
}
