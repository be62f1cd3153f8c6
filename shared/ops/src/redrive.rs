//! Redrive: move messages from a dead-letter queue back to the queue that feeds the writer.
//!
//! Poison messages (those the writer dead-lettered with [`REASON_ATTRIBUTE`]) stay where they
//! are unless asked for: they would only be poison again. Skipping them needs a client-side
//! move: receive, send to the destination with every message attribute, then delete from the
//! source only what the destination accepted. Skipped poison is made visible again at the end.
//! A crash between send and delete can duplicate a message, never lose one; the writer is
//! idempotent, so a duplicate costs nothing. The move handles at most as many messages as the
//! source held when it started, so messages that come back while it runs (the writer still
//! failing, or forwarding redriven poison again) cannot keep it going round.
//!
//! With poison included and no message limit, the service moves everything itself
//! (`StartMessageMoveTask`), which survives the CLI exiting; endpoints that do not implement
//! that call (moto) get the client-side move. Attributes travel with the messages either way,
//! so the writer recognises redriven poison and does not count it a second time.

use aws_sdk_sqs::{
    Client,
    config::retry::RetryConfig,
    error::ProvideErrorMetadata,
    types::{
        ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
        MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
    },
};
use telemetry_writer::poison::REASON_ATTRIBUTE;

use crate::error::OpsError;

/// Most messages one receive, send or delete batch carries.
const BATCH_LIMIT: usize = 10;
/// How long received messages stay hidden while being moved.
const VISIBILITY_SECONDS: i32 = 60;

/// What to move and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveRequest {
    /// URL of the dead-letter queue to empty.
    pub from: String,
    /// URL of the queue to move the messages to.
    pub to: String,
    /// Only report how many messages would move.
    pub dry_run: bool,
    /// Move at most this many messages (forces the client-side move).
    pub max: Option<usize>,
    /// Move poison messages too; without it they stay in the dead-letter queue.
    pub include_poison: bool,
}

/// What a redrive did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveOutcome {
    /// Nothing moved; the source holds about this many messages.
    DryRun {
        /// Visible messages in the source queue.
        available: u64,
    },
    /// The service accepted a move task and moves the messages in the background.
    MoveTask {
        /// Handle to follow or cancel the task (`ListMessageMoveTasks`).
        task_handle: String,
        /// Visible messages in the source queue when the task started.
        available: u64,
    },
    /// The CLI moved the messages itself.
    Moved(MoveReport),
}

/// Counts of a client-side move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoveReport {
    /// Messages received from the source.
    pub received: usize,
    /// Messages sent to the destination and deleted from the source.
    pub moved: usize,
    /// Messages the destination refused; they return to the source after the visibility
    /// timeout.
    pub failed: usize,
    /// Poison messages left in the source because poison was not included.
    pub skipped_poison: usize,
}

/// Runs a redrive as `request` says.
///
/// # Errors
///
/// Fails if a queue cannot be read or an SQS call fails outright.
pub async fn redrive(
    client: &Client,
    request: &RedriveRequest,
) -> Result<RedriveOutcome, OpsError> {
    let available = visible_messages(client, &request.from).await?;
    if request.dry_run {
        return Ok(RedriveOutcome::DryRun { available });
    }
    // The service task cannot skip poison or stop after N messages.
    if request.include_poison && request.max.is_none() {
        let source_arn = queue_arn(client, &request.from).await?;
        let destination_arn = queue_arn(client, &request.to).await?;
        // No retries: an endpoint that lacks the call answers the same way every time.
        let started = client
            .start_message_move_task()
            .source_arn(&source_arn)
            .destination_arn(&destination_arn)
            .customize()
            .config_override(
                aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await;
        match started {
            Ok(output) => {
                return Ok(RedriveOutcome::MoveTask {
                    task_handle: output.task_handle().unwrap_or_default().to_string(),
                    available,
                });
            }
            Err(error) if is_not_implemented(&error) => {}
            Err(error) => {
                return Err(OpsError::Sqs {
                    operation: "StartMessageMoveTask",
                    queue: source_arn,
                    source: Box::new(error),
                });
            }
        }
    }
    let limit = usize::try_from(available).unwrap_or(usize::MAX);
    let report = move_messages(client, request, limit).await?;
    Ok(RedriveOutcome::Moved(report))
}

/// Whether an error says the endpoint does not implement the call, rather than that the call
/// failed; anything else is returned to the operator.
fn is_not_implemented<E: ProvideErrorMetadata>(
    error: &aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
) -> bool {
    let response = error.raw_response();
    lacks_the_call(
        response.map(|response| response.status().as_u16()),
        error.code(),
        response.and_then(|response| response.headers().get("content-type")),
    )
}

/// The answers that mean "not implemented": HTTP 501, an error code saying so (SQS's
/// query-compatible codes carry an `AWS.SimpleQueueService.` prefix), or moto's answer to an
/// action it lacks, an HTTP 500 HTML page from its web framework with no AWS error code. An
/// AWS 5xx carries a code and a JSON or XML body, and a proxy's 502 to 504 pages are not 500.
fn lacks_the_call(status: Option<u16>, code: Option<&str>, content_type: Option<&str>) -> bool {
    const CODES: [&str; 4] = [
        "NotImplemented",
        "UnsupportedOperation",
        "InvalidAction",
        "UnknownOperationException",
    ];
    let named = code.and_then(|code| code.rsplit('.').next());
    if named.is_some_and(|code| CODES.contains(&code)) {
        return true;
    }
    match status {
        Some(501) => true,
        Some(500) => {
            code.is_none() && content_type.is_some_and(|kind| kind.starts_with("text/html"))
        }
        _ => false,
    }
}

/// Moves messages client-side from `request.from` to `request.to`, with their attributes,
/// until the source has none visible, `limit` have been received or `request.max` have been
/// sent. Poison is skipped unless `request.include_poison`.
///
/// # Errors
///
/// Fails if a receive, send or delete call fails outright.
pub async fn move_messages(
    client: &Client,
    request: &RedriveRequest,
    limit: usize,
) -> Result<MoveReport, OpsError> {
    let mut report = MoveReport::default();
    let mut skipped = Vec::new();
    loop {
        let attempted = report.received - report.skipped_poison;
        let allowed = request
            .max
            .map_or(usize::MAX, |max| max.saturating_sub(attempted));
        let wanted = allowed
            .min(limit.saturating_sub(report.received))
            .min(BATCH_LIMIT);
        if wanted == 0 {
            break;
        }
        let messages = receive(client, &request.from, wanted).await?;
        if messages.is_empty() {
            break;
        }
        report.received += messages.len();

        let (poison, messages): (Vec<Message>, Vec<Message>) = messages
            .into_iter()
            .partition(|message| !request.include_poison && is_poison(message));
        report.skipped_poison += poison.len();
        skipped.extend(poison);
        if messages.is_empty() {
            continue;
        }
        let sent = send(client, &request.to, &messages).await?;
        report.failed += messages.len() - sent.len();
        let accepted: Vec<&Message> = sent.iter().map(|&index| &messages[index]).collect();
        report.moved += delete(client, &request.from, &accepted).await?;
    }
    // Held back until the end so the loop does not receive them again. Failing to release
    // them costs only time: they reappear when their visibility timeout ends.
    let _ = release(client, &request.from, &skipped).await;
    Ok(report)
}

/// Whether the writer dead-lettered `message` as poison.
fn is_poison(message: &Message) -> bool {
    message
        .message_attributes()
        .is_some_and(|attributes| attributes.contains_key(REASON_ATTRIBUTE))
}

async fn receive(client: &Client, queue: &str, count: usize) -> Result<Vec<Message>, OpsError> {
    let output = client
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(count as i32)
        .wait_time_seconds(1)
        .visibility_timeout(VISIBILITY_SECONDS)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(sqs_error("ReceiveMessage", queue))?;
    Ok(output.messages.unwrap_or_default())
}

/// Sends `messages` to `queue`; returns the indexes the queue accepted.
async fn send(client: &Client, queue: &str, messages: &[Message]) -> Result<Vec<usize>, OpsError> {
    let entries = messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(message.body().unwrap_or_default())
                .set_message_attributes(message.message_attributes().cloned())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqs_error("SendMessageBatch", queue))?;
    let output = client
        .send_message_batch()
        .queue_url(queue)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(sqs_error("SendMessageBatch", queue))?;
    Ok(output
        .successful()
        .iter()
        .filter_map(|entry| entry.id().parse().ok())
        .collect())
}

async fn delete(client: &Client, queue: &str, messages: &[&Message]) -> Result<usize, OpsError> {
    if messages.is_empty() {
        return Ok(0);
    }
    let entries = messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqs_error("DeleteMessageBatch", queue))?;
    let output = client
        .delete_message_batch()
        .queue_url(queue)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(sqs_error("DeleteMessageBatch", queue))?;
    Ok(output.successful().len())
}

/// Wraps a failed SQS call, naming the operation and the queue.
fn sqs_error<E>(operation: &'static str, queue: &str) -> impl FnOnce(E) -> OpsError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let queue = queue.to_string();
    move |error| OpsError::Sqs {
        operation,
        queue,
        source: Box::new(error),
    }
}

/// Makes `messages` visible in `queue` again at once.
async fn release(client: &Client, queue: &str, messages: &[Message]) -> Result<(), OpsError> {
    for chunk in messages.chunks(BATCH_LIMIT) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(index, message)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .visibility_timeout(0)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqs_error("ChangeMessageVisibilityBatch", queue))?;
        client
            .change_message_visibility_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sqs_error("ChangeMessageVisibilityBatch", queue))?;
    }
    Ok(())
}

/// The ARN of the queue at `url`.
///
/// # Errors
///
/// Fails if the attribute cannot be read.
pub async fn queue_arn(client: &Client, url: &str) -> Result<String, OpsError> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sqs_error("GetQueueAttributes", url))?;
    output
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| OpsError::MissingQueueArn {
            queue: url.to_string(),
        })
}

async fn visible_messages(client: &Client, url: &str) -> Result<u64, OpsError> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(sqs_error("GetQueueAttributes", url))?;
    Ok(output
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0))
}

impl std::fmt::Display for RedriveOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DryRun { available } => {
                write!(f, "dry run: {available} message(s) would be moved")
            }
            Self::MoveTask {
                task_handle,
                available,
            } => write!(
                f,
                "move task started for about {available} message(s); task handle {task_handle}"
            ),
            Self::Moved(report) => {
                write!(
                    f,
                    "moved {} of {} received message(s); {} refused by the destination",
                    report.moved, report.received, report.failed
                )?;
                if report.skipped_poison > 0 {
                    write!(
                        f,
                        "; {} poison message(s) left in place (`--include-poison` moves them)",
                        report.skipped_poison
                    )?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_meaning_not_implemented_fall_back_to_the_client_side_move() {
        let html = Some("text/html; charset=utf-8");
        let json = Some("application/x-amz-json-1.0");
        let falls_back = [
            (Some(500), None, html),
            (Some(501), None, None),
            (
                Some(400),
                Some("AWS.SimpleQueueService.UnsupportedOperation"),
                json,
            ),
            (Some(400), Some("InvalidAction"), json),
        ];
        for (status, code, content_type) in falls_back {
            assert!(
                lacks_the_call(status, code, content_type),
                "{status:?} {code:?}"
            );
        }
        let returned = [
            (Some(500), None, json),
            (Some(500), Some("InternalError"), html),
            (Some(502), None, html),
            (Some(503), None, None),
            (Some(400), Some("AccessDenied"), json),
            (None, None, None),
        ];
        for (status, code, content_type) in returned {
            assert!(
                !lacks_the_call(status, code, content_type),
                "{status:?} {code:?}"
            );
        }
    }
}
