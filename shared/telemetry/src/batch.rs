//! Encoding events and cutting them into SendMessageBatch-sized batches.
//!
//! An event is encoded once, when the shipper takes it from the buffer. One that cannot be
//! encoded is dropped as `serialize_failed`, one larger than the message limit as `oversized`:
//! neither can ever be delivered, so neither is attempted. Batches hold at most ten entries and
//! stay within the batch byte limit.

use std::collections::VecDeque;

use crate::{DropReason, TelemetryEvent};

/// SQS's maximum number of entries in one SendMessageBatch.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// An event ready to send.
#[derive(Debug, Clone)]
pub struct EncodedEvent {
    /// The event's JSON body.
    pub body: String,
}

/// Encodes `event`, or says why it can never be sent.
pub fn encode(
    event: &TelemetryEvent,
    max_message_bytes: usize,
) -> Result<EncodedEvent, DropReason> {
    let body = event.to_json().map_err(|_| DropReason::SerializeFailed)?;
    if body.len() > max_message_bytes {
        return Err(DropReason::Oversized);
    }
    Ok(EncodedEvent { body })
}

/// Takes the next batch from the front of `pending`: up to ten events whose bodies add up to
/// at most `max_batch_bytes`. Always takes at least one event when `pending` is not empty,
/// since every encoded event fits on its own.
pub fn next_batch(
    pending: &mut VecDeque<EncodedEvent>,
    max_batch_bytes: usize,
) -> Vec<EncodedEvent> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    while let Some(next) = pending.front() {
        let fits = bytes + next.body.len() <= max_batch_bytes;
        if batch.len() == MAX_BATCH_ENTRIES || (!batch.is_empty() && !fits) {
            break;
        }
        bytes += next.body.len();
        batch.extend(pending.pop_front());
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(len: usize) -> EncodedEvent {
        EncodedEvent {
            body: "x".repeat(len),
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries() {
        let mut pending: VecDeque<_> = (0..23).map(|_| encoded(10)).collect();
        let sizes: Vec<_> = std::iter::from_fn(|| {
            let batch = next_batch(&mut pending, 1 << 20);
            (!batch.is_empty()).then_some(batch.len())
        })
        .collect();
        assert_eq!(sizes, vec![10, 10, 3]);
    }

    #[test]
    fn batches_respect_the_byte_limit() {
        let mut pending: VecDeque<_> = [400, 400, 400, 900, 50].map(encoded).into();
        let first = next_batch(&mut pending, 1000);
        let second = next_batch(&mut pending, 1000);
        let third = next_batch(&mut pending, 1000);

        assert_eq!(first.len(), 2);
        assert_eq!(second.len(), 1);
        assert_eq!(
            third.iter().map(|e| e.body.len()).collect::<Vec<_>>(),
            vec![900, 50]
        );
        assert!(pending.is_empty());
    }
}
