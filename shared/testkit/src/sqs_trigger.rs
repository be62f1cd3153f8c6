//! Emulation of the Lambda SQS event source mapping, for tests against a local SQS.
//!
//! Lambda's trigger receives a batch, invokes the function with an `SqsEvent`, then deletes the
//! messages the function did not report in `batchItemFailures`. Messages it does not delete
//! become visible again when their visibility timeout ends, so the queue's redrive policy moves
//! them to the dead-letter queue after `maxReceiveCount` receives. [`SqsTrigger`] does the same
//! against a real queue (moto locally), so redelivery and redrive happen for real rather than
//! being simulated by the test.
//!
//! Failure semantics follow Lambda's: a handler error fails the whole batch (nothing is
//! deleted), and so does a response naming an empty or unknown message id.

use std::{collections::HashMap, fmt::Display, time::Duration};

use anyhow::{Context, bail};
use aws_lambda_events::{
    encodings::Base64Data,
    sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute},
};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName,
};
use tokio::time::Instant;

/// Most messages one `ReceiveMessage` call returns.
const RECEIVE_LIMIT: usize = 10;

/// Invokes a handler with batches received from one queue, like Lambda's SQS trigger.
#[derive(Debug, Clone)]
pub struct SqsTrigger {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    region: String,
    batch_size: usize,
    wait_time: Duration,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Message ids passed to the handler, in batch order.
    pub received: Vec<String>,
    /// Messages deleted after the handler returned.
    pub deleted: usize,
    /// Message ids left on the queue for redelivery.
    pub failed: Vec<String>,
    /// The handler's error, or why its response was rejected; the whole batch then failed.
    pub batch_error: Option<String>,
}

/// What a [`SqsTrigger::drain`] did in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Invocations with at least one message.
    pub invocations: usize,
    /// Messages passed to the handler, redeliveries included.
    pub received: usize,
    /// Messages deleted.
    pub deleted: usize,
    /// Messages reported failed, counted once per failed delivery.
    pub failed: usize,
}

impl SqsTrigger {
    /// A trigger for the queue at `queue_url`, with batches of up to 10 messages and a 1 s long
    /// poll.
    ///
    /// # Errors
    ///
    /// Fails if the queue's ARN cannot be read.
    pub async fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
    ) -> anyhow::Result<Self> {
        let queue_url = queue_url.into();
        let attributes = client
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .with_context(|| format!("reading the ARN of `{queue_url}`"))?;
        let queue_arn = attributes
            .attributes()
            .and_then(|map| map.get(&QueueAttributeName::QueueArn))
            .cloned()
            .with_context(|| format!("`{queue_url}` has no QueueArn attribute"))?;
        let region = queue_arn
            .split(':')
            .nth(3)
            .unwrap_or("us-east-1")
            .to_string();
        Ok(Self {
            client,
            queue_url,
            queue_arn,
            region,
            batch_size: RECEIVE_LIMIT,
            wait_time: Duration::from_secs(1),
        })
    }

    /// Messages per invocation (Lambda's `BatchSize`); several receives fill a batch above 10.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// How long the first receive of a batch waits for a message (whole seconds, at most 20).
    pub fn with_wait_time(mut self, wait_time: Duration) -> Self {
        self.wait_time = wait_time.min(Duration::from_secs(20));
        self
    }

    /// The queue's ARN, as in each record's `eventSourceARN`.
    pub fn queue_arn(&self) -> &str {
        &self.queue_arn
    }

    /// Receives one batch and, if it is not empty, invokes `handler` and settles the batch.
    ///
    /// # Errors
    ///
    /// Fails only if SQS itself fails; handler errors are reported in the [`Invocation`].
    pub async fn invoke_once<F, Fut, E>(&self, handler: F) -> anyhow::Result<Invocation>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse, E>>,
        E: Display,
    {
        let messages = self.receive_batch().await?;
        if messages.is_empty() {
            return Ok(Invocation::default());
        }
        let event = self.event_of(&messages);
        let received: Vec<String> = messages
            .iter()
            .map(|message| message.message_id().unwrap_or_default().to_string())
            .collect();

        let failed_ids = match handler(event).await {
            Ok(response) => failed_ids(&response, &received),
            Err(error) => Err(format!("handler failed: {error}")),
        };
        let (failed, batch_error) = match failed_ids {
            Ok(failed) => (failed, None),
            Err(reason) => (received.clone(), Some(reason)),
        };

        let to_delete: Vec<&Message> = messages
            .iter()
            .filter(|message| {
                !failed
                    .iter()
                    .any(|id| Some(id.as_str()) == message.message_id())
            })
            .collect();
        let deleted = self.delete(&to_delete).await?;
        Ok(Invocation {
            received,
            deleted,
            failed,
            batch_error,
        })
    }

    /// Invokes `handler` until the queue holds no message, visible or in flight, or `timeout`
    /// passes. Failed messages come back after their visibility timeout and are retried, so a
    /// handler that keeps failing ends when the redrive policy has moved them all away.
    ///
    /// # Errors
    ///
    /// Fails if SQS fails, or if the queue is not empty when `timeout` passes.
    pub async fn drain<F, Fut, E>(
        &self,
        mut handler: F,
        timeout: Duration,
    ) -> anyhow::Result<DrainReport>
    where
        F: FnMut(SqsEvent) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse, E>>,
        E: Display,
    {
        let deadline = Instant::now() + timeout;
        let mut report = DrainReport::default();
        loop {
            let invocation = self.invoke_once(&mut handler).await?;
            if !invocation.received.is_empty() {
                report.invocations += 1;
                report.received += invocation.received.len();
                report.deleted += invocation.deleted;
                report.failed += invocation.failed.len();
                continue;
            }
            if self.approximate_messages().await? == 0 {
                return Ok(report);
            }
            if Instant::now() >= deadline {
                bail!(
                    "queue `{}` still holds messages after {timeout:?}: {report:?}",
                    self.queue_url
                );
            }
        }
    }

    /// Visible plus in-flight plus delayed messages, as SQS approximates them.
    ///
    /// # Errors
    ///
    /// Fails if the attributes cannot be read.
    pub async fn approximate_messages(&self) -> anyhow::Result<u64> {
        approximate_messages(&self.client, &self.queue_url).await
    }

    async fn receive_batch(&self) -> anyhow::Result<Vec<Message>> {
        let mut messages = Vec::new();
        while messages.len() < self.batch_size {
            let wanted = (self.batch_size - messages.len()).min(RECEIVE_LIMIT);
            // Only the first receive waits: a batch is whatever is there once one message is.
            let wait = if messages.is_empty() {
                self.wait_time.as_secs() as i32
            } else {
                0
            };
            let output = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(wanted as i32)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .with_context(|| format!("receiving from `{}`", self.queue_url))?;
            let received = output.messages.unwrap_or_default();
            if received.is_empty() {
                break;
            }
            messages.extend(received);
        }
        Ok(messages)
    }

    /// The event Lambda would build for `messages`.
    fn event_of(&self, messages: &[Message]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|message| self.record_of(message))
            .collect();
        event
    }

    fn record_of(&self, message: &Message) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = message.message_id().map(str::to_string);
        record.receipt_handle = message.receipt_handle().map(str::to_string);
        record.body = message.body().map(str::to_string);
        record.md5_of_body = message.md5_of_body().map(str::to_string);
        record.md5_of_message_attributes = message.md5_of_message_attributes().map(str::to_string);
        record.attributes = message
            .attributes()
            .map(|attributes| {
                attributes
                    .iter()
                    .map(|(name, value)| (name.as_str().to_string(), value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        record.message_attributes = message
            .message_attributes()
            .map(|attributes| {
                attributes
                    .iter()
                    .map(|(name, value)| (name.clone(), lambda_attribute(value)))
                    .collect::<HashMap<_, _>>()
            })
            .unwrap_or_default();
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(self.queue_arn.clone());
        record.aws_region = Some(self.region.clone());
        record
    }

    async fn delete(&self, messages: &[&Message]) -> anyhow::Result<usize> {
        let mut deleted = 0;
        for chunk in messages.chunks(RECEIVE_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, message)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .with_context(|| format!("deleting from `{}`", self.queue_url))?;
            if let Some(failure) = output.failed().first() {
                bail!("deleting from `{}` failed: {failure:?}", self.queue_url);
            }
            deleted += output.successful().len();
        }
        Ok(deleted)
    }
}

/// Visible plus in-flight plus delayed messages in the queue at `queue_url`.
///
/// # Errors
///
/// Fails if the attributes cannot be read.
pub async fn approximate_messages(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> anyhow::Result<u64> {
    let names = [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ];
    let output = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .with_context(|| format!("reading the size of `{queue_url}`"))?;
    let attributes = output.attributes().cloned().unwrap_or_default();
    Ok(names
        .iter()
        .filter_map(|name| attributes.get(name))
        .filter_map(|value| value.parse::<u64>().ok())
        .sum())
}

/// The ids a response reports failed, or why Lambda would reject the response as a whole.
fn failed_ids(response: &SqsBatchResponse, received: &[String]) -> Result<Vec<String>, String> {
    let mut failed = Vec::new();
    for failure in &response.batch_item_failures {
        let id = &failure.item_identifier;
        if id.is_empty() {
            return Err("response names an empty itemIdentifier".into());
        }
        if !received.contains(id) {
            return Err(format!("response names `{id}`, which is not in the batch"));
        }
        if !failed.contains(id) {
            failed.push(id.clone());
        }
    }
    Ok(failed)
}

fn lambda_attribute(value: &MessageAttributeValue) -> SqsMessageAttribute {
    let mut attribute = SqsMessageAttribute::default();
    attribute.data_type = Some(value.data_type().to_string());
    attribute.string_value = value.string_value().map(str::to_string);
    attribute.binary_value = value.binary_value().map(|blob| base64_data(blob.as_ref()));
    attribute.string_list_values = value.string_list_values().to_vec();
    attribute.binary_list_values = value
        .binary_list_values()
        .iter()
        .map(|blob| base64_data(blob.as_ref()))
        .collect();
    attribute
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(ids: &[&str]) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.set_failures(ids.iter().copied());
        response
    }

    #[test]
    fn failures_are_taken_from_the_response() {
        let received = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            failed_ids(&response(&["b", "b"]), &received).unwrap(),
            vec!["b"]
        );
        assert!(failed_ids(&response(&[]), &received).unwrap().is_empty());
    }

    #[test]
    fn empty_or_unknown_ids_fail_the_whole_batch_like_lambda() {
        let received = vec!["a".to_string()];
        assert!(failed_ids(&response(&[""]), &received).is_err());
        assert!(failed_ids(&response(&["zzz"]), &received).is_err());
    }
}
