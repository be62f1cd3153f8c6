//! Where batches go: the [`Transport`] seam and its SQS implementation.
//!
//! A transport sends one batch and reports per-entry failures; it never retries. SQS answers
//! SendMessageBatch with 200 even when some entries failed, so those failures are data
//! ([`BatchResult::failed`]), not errors: the shipper retries exactly those entries. Whole-call
//! failures are [`TransportError`]s carrying a [`RetryAction`] decided here, where the SDK error
//! types are known.

use std::{future::Future, time::Duration};

use aws_sdk_sqs::{
    Client,
    config::{http::HttpResponse, retry::RetryConfig, timeout::TimeoutConfig},
    error::{ProvideErrorMetadata, SdkError},
    types::SendMessageBatchRequestEntry,
};

use crate::retry::RetryAction;

/// One message of a batch; `id` is unique within the batch.
#[derive(Debug, Clone)]
pub struct OutgoingEntry {
    /// Batch-local id (SQS allows alphanumerics, `-` and `_`).
    pub id: String,
    /// The encoded event.
    pub body: String,
}

/// An entry the service refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    /// The entry's batch-local id.
    pub id: String,
    /// True when the request itself was wrong for this entry, so retrying cannot help.
    pub sender_fault: bool,
    /// The service's error code.
    pub code: String,
}

/// The answer to a batch that reached the service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResult {
    /// Entries not accepted; every other entry was.
    pub failed: Vec<FailedEntry>,
}

/// A batch call that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct TransportError {
    /// Whether retrying can help.
    pub action: RetryAction,
    /// Whether the request may have been processed although no answer arrived (a timeout, a
    /// connection lost after sending, an unreadable answer).
    pub ambiguous: bool,
    /// What was being done, in a few words.
    pub context: String,
    /// Why it failed.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// A failure while doing `context`, caused by `source`.
    pub fn new(
        action: RetryAction,
        ambiguous: bool,
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            action,
            ambiguous,
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Sends batches of encoded events.
pub trait Transport: Send + Sync + 'static {
    /// Sends `entries` (at most ten) in one call.
    fn send_batch(
        &self,
        entries: Vec<OutgoingEntry>,
    ) -> impl Future<Output = Result<BatchResult, TransportError>> + Send;
}

/// SQS SendMessageBatch to one queue, with the SDK's own retries off and short timeouts.
#[derive(Debug, Clone)]
pub struct SqsTransport {
    client: Client,
    queue_url: String,
}

impl SqsTransport {
    /// A transport for `queue_url` built from shared SDK settings (region, credentials,
    /// `AWS_ENDPOINT_URL_SQS`), with retries disabled because the shipper owns retrying, and
    /// the given timeouts so a dead endpoint costs at most `attempt_timeout`.
    pub fn new(
        sdk_config: &aws_types::SdkConfig,
        queue_url: impl Into<String>,
        connect_timeout: Duration,
        attempt_timeout: Duration,
    ) -> Self {
        let config = aws_sdk_sqs::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(connect_timeout)
                    .operation_attempt_timeout(attempt_timeout)
                    .operation_timeout(attempt_timeout)
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
            queue_url: queue_url.into(),
        }
    }
}

impl Transport for SqsTransport {
    async fn send_batch(&self, entries: Vec<OutgoingEntry>) -> Result<BatchResult, TransportError> {
        let mut request = self.client.send_message_batch().queue_url(&self.queue_url);
        for entry in entries {
            let built = SendMessageBatchRequestEntry::builder()
                .id(entry.id)
                .message_body(entry.body)
                .build()
                .map_err(|error| {
                    TransportError::new(RetryAction::Drop, false, "building a batch entry", error)
                })?;
            request = request.entries(built);
        }

        match request.send().await {
            Ok(output) => Ok(BatchResult {
                failed: output
                    .failed()
                    .iter()
                    .map(|entry| FailedEntry {
                        id: entry.id().to_string(),
                        sender_fault: entry.sender_fault(),
                        code: entry.code().to_string(),
                    })
                    .collect(),
            }),
            Err(error) => Err(TransportError::new(
                classify(&error),
                is_ambiguous(&error),
                "sqs SendMessageBatch",
                error,
            )),
        }
    }
}

/// Whether SQS may have processed a request that failed: only a refused connection, a request
/// that could not be built, or an answer from the service prove it did not.
pub fn is_ambiguous<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: std::error::Error + 'static,
{
    match error {
        SdkError::ConstructionFailure(_) | SdkError::ServiceError(_) => false,
        SdkError::DispatchFailure(_) => !connection_refused(error),
        _ => true,
    }
}

fn connection_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        current = cause.source();
    }
    false
}

/// Decides whether a failed SQS call can succeed on retry.
pub fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> RetryAction {
    match error {
        SdkError::ConstructionFailure(_) => RetryAction::Drop,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            RetryAction::Retry
        }
        SdkError::ServiceError(service) => {
            let throttled = matches!(
                service.err().code(),
                Some("ThrottlingException" | "RequestThrottled" | "KmsThrottled" | "Throttling")
            );
            let status = service.raw().status().as_u16();
            if status >= 500 || throttled {
                RetryAction::Retry
            } else {
                RetryAction::Drop
            }
        }
        _ => RetryAction::Retry,
    }
}
