//! Poison messages: sent to the dead-letter queue at once, with the reason beside the original
//! body, instead of failing `maxReceiveCount` times first.
//!
//! Forwarding is bounded by the batch deadline. If it fails, the caller reports the message as
//! failed, so SQS redelivers it and, after `maxReceiveCount` receives, its redrive policy moves
//! it to the same queue anyway (without the reason attribute). A forwarded message is counted
//! in the drop-counter table by the caller; a message that was not forwarded is not counted,
//! since it will be seen again. A poison message that already carries [`REASON_ATTRIBUTE`] was
//! counted when the writer first forwarded it (an operator redrove it with its attributes): it
//! is forwarded again but not counted again, so each poison message is counted once.

use aws_sdk_sqs::types::MessageAttributeValue;
use tokio::time::Instant;

use crate::error::WriterError;

/// Message attribute naming why a message was sent to the dead-letter queue.
pub const REASON_ATTRIBUTE: &str = "packforge_poison_reason";
/// Message attribute holding the id the message had on the telemetry queue.
pub const ORIGINAL_ID_ATTRIBUTE: &str = "packforge_original_message_id";
/// Body sent in place of a missing one: SQS rejects an empty body, and the reason attribute
/// (`missing_body`) says what happened.
pub const MISSING_BODY_PLACEHOLDER: &str = "(no body)";

/// The dead-letter queue of the telemetry queue.
#[derive(Debug, Clone)]
pub struct DeadLetterQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl DeadLetterQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `body` unchanged, with the reason and, when known, the original message id as
    /// attributes.
    ///
    /// # Errors
    ///
    /// [`WriterError::DeadLetter`] if SQS rejects the message, or [`WriterError::Timeout`] if
    /// it does not answer before `deadline`.
    pub async fn forward(
        &self,
        body: &str,
        reason: &str,
        original_message_id: Option<&str>,
        deadline: Instant,
    ) -> Result<(), WriterError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes(REASON_ATTRIBUTE, string_attribute(reason)?);
        // SQS rejects empty attribute values.
        if let Some(id) = original_message_id.filter(|id| !id.is_empty()) {
            request = request.message_attributes(ORIGINAL_ID_ATTRIBUTE, string_attribute(id)?);
        }
        let send = request.send();
        match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(WriterError::DeadLetter(Box::new(error))),
            Err(_) => Err(WriterError::Timeout {
                operation: "dead-letter send",
            }),
        }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, WriterError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|error| WriterError::DeadLetter(Box::new(error)))
}
