//! Why a telemetry event was dropped, and per-reason counts.
//!
//! Every event that is emitted but not acknowledged by SQS is counted under exactly one
//! [`DropReason`]; the counts are what make "how much telemetry was lost, and why" answerable.

use std::fmt;

use serde::{Serialize, Serializer, ser::SerializeMap};

/// The reason an event was dropped by the telemetry client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The in-memory buffer was full when the event was emitted.
    BufferFull,
    /// The encoded event exceeds the SQS message size limit.
    Oversized,
    /// The event could not be encoded as JSON.
    SerializeFailed,
    /// SQS rejected the event, or every retry within the budget failed.
    SendFailed,
    /// The circuit breaker was open, so the event was not attempted.
    CircuitOpen,
    /// The invocation's flush deadline passed before the event left the buffer.
    FlushTimeout,
    /// The event was given up while its delivery was uncertain (an attempt timed out, was cut
    /// by the flush deadline, or lost its answer): SQS may have it. Counted apart from the
    /// certain losses so that `sent <= delivered <= sent + unconfirmed` holds.
    Unconfirmed,
}

impl DropReason {
    /// All reasons, in report order.
    pub const ALL: [DropReason; 7] = [
        Self::BufferFull,
        Self::Oversized,
        Self::SerializeFailed,
        Self::SendFailed,
        Self::CircuitOpen,
        Self::FlushTimeout,
        Self::Unconfirmed,
    ];

    /// The stable snake_case name used in reports, logs, metrics and the drop-counter table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BufferFull => "buffer_full",
            Self::Oversized => "oversized",
            Self::SerializeFailed => "serialize_failed",
            Self::SendFailed => "send_failed",
            Self::CircuitOpen => "circuit_open",
            Self::FlushTimeout => "flush_timeout",
            Self::Unconfirmed => "unconfirmed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Dropped-event counts by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    counts: [u64; DropReason::ALL.len()],
}

impl DropCounts {
    /// Adds `n` drops for `reason`.
    pub fn add(&mut self, reason: DropReason, n: u64) {
        self.counts[reason.index()] += n;
    }

    /// Drops counted for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()]
    }

    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &DropCounts) {
        for reason in DropReason::ALL {
            self.add(reason, other.get(reason));
        }
    }

    /// The reasons with a non-zero count, by name, in report order.
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .into_iter()
            .map(|reason| (reason.as_str(), self.get(reason)))
            .filter(|(_, n)| *n > 0)
    }
}

/// Serialized as a map from every reason name to its count, zeros included, so a report
/// always shows the full set of reasons.
impl Serialize for DropCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(DropReason::ALL.len()))?;
        for reason in DropReason::ALL {
            map.serialize_entry(reason.as_str(), &self.get(reason))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_merge_and_total() {
        let mut a = DropCounts::default();
        a.add(DropReason::BufferFull, 2);
        let mut b = DropCounts::default();
        b.add(DropReason::FlushTimeout, 3);
        b.add(DropReason::BufferFull, 1);
        a.merge(&b);

        assert_eq!(a.get(DropReason::BufferFull), 3);
        assert_eq!(a.total(), 6);
        let nonzero: Vec<_> = a.nonzero().collect();
        assert_eq!(nonzero, vec![("buffer_full", 3), ("flush_timeout", 3)]);
    }

    #[test]
    fn serializes_every_reason_including_zeros() {
        let mut counts = DropCounts::default();
        counts.add(DropReason::CircuitOpen, 4);
        let value = serde_json::to_value(counts).unwrap();
        let object = value.as_object().unwrap();

        assert_eq!(object.len(), 7);
        assert_eq!(value["circuit_open"], 4);
        assert_eq!(value["oversized"], 0);
    }
}
