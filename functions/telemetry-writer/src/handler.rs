//! The SQS batch handler: decode, encrypt, store, and report per-message failures.
//!
//! A batch goes through three phases. First every record is decoded, validated and encrypted on
//! its own, inside its own span and behind a panic guard, so a panic fails that record only.
//! Then poison records are forwarded to the dead-letter queue while the valid ones are written
//! to MongoDB (one unordered insert, then one summary update for all runs touched). Last, the
//! response lists the message ids of the records that must be retried.
//!
//! A record succeeds when its event is stored (or was already) and its run summary is updated,
//! or when it was poison and the dead-letter queue accepted it. Everything else is reported in
//! `batchItemFailures`, so SQS redelivers it; every write is idempotent, so redelivery never
//! duplicates data.
//!
//! A record without a `messageId` cannot be named in the response (Lambda treats an empty
//! identifier as a failure of the whole batch). Such a record is processed like any other; if
//! it fails, the handler logs an ERROR and returns an error, which makes Lambda retry the whole
//! batch. That duplicates no data, and it is the only way not to lose the record.

use std::{
    collections::BTreeMap,
    panic::{AssertUnwindSafe, catch_unwind},
    time::{Duration, SystemTime},
};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use lambda_runtime::LambdaEvent;
use mongodb::bson::Document;
use packforge_telemetry::{
    TelemetryEvent,
    drop_counter::{DropContext, DropCounterTable, EmfSink, record_drops, stdout_sink},
};
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use crate::{
    config::WriterConfig,
    decode::{ENCRYPTION_FAILED, INVALID_EVENT, MISSING_BODY, Poison, decode},
    document::stored_document,
    encryption::EncryptionKey,
    error::{WriterError, error_chain},
    poison::{DeadLetterQueue, MISSING_BODY_PLACEHOLDER, REASON_ATTRIBUTE},
    run_summary::run_update,
    store::{EventStore, InsertOutcome},
};

/// Component name in the drop-counter table and in logs.
pub const COMPONENT: &str = "telemetry-writer";

/// Time kept back from the Lambda deadline to build and return the response.
pub const RESPONSE_MARGIN: Duration = Duration::from_millis(300);

/// Everything the handler needs, built once per container.
pub struct Writer {
    store: EventStore,
    dead_letters: DeadLetterQueue,
    drop_counter: DropCounterTable,
    key: EncryptionKey,
    emf: EmfSink,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("store", &self.store)
            .field("dead_letters", &self.dead_letters)
            .field("drop_counter", &self.drop_counter)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The counts of one batch, logged at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Records received.
    pub received: usize,
    /// Events stored by this batch.
    pub inserted: usize,
    /// Events already stored by an earlier delivery.
    pub already_written: usize,
    /// Poison messages accepted by the dead-letter queue.
    pub poison: usize,
    /// Records reported as failed.
    pub failed: usize,
}

/// One record on its way through the phases.
struct Record {
    message_id: Option<String>,
    span: Span,
    state: RecordState,
}

enum RecordState {
    Ready {
        event: Box<TelemetryEvent>,
        document: Document,
    },
    Poison {
        poison: Poison,
        body: String,
        /// The message carries the reason attribute: the writer dead-lettered and counted it
        /// before, and an operator redrove it. Forwarded again, it is not counted again.
        counted_before: bool,
    },
    Stored {
        event: Box<TelemetryEvent>,
        already_written: bool,
    },
    Failed(String),
    Inserted,
    AlreadyWritten,
    Forwarded,
}

impl Record {
    fn fail(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        self.span
            .in_scope(|| tracing::debug!(reason, "record failed"));
        self.state = RecordState::Failed(reason);
    }
}

/// Bounds on each DLQ send and drop-counter write, retries included. Without them a silent
/// endpoint would hold the whole batch until the invocation times out; with them the batch
/// ends in time to report its failures, well inside the function's 30 s.
fn aws_call_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

impl Writer {
    /// Builds the writer from resolved configuration; AWS clients come from `aws`.
    ///
    /// # Errors
    ///
    /// Fails if the MongoDB connection string is invalid.
    pub async fn from_config(
        config: WriterConfig,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, WriterError> {
        let store = EventStore::connect(
            &config.mongodb_uri,
            &config.database,
            config.server_selection_timeout,
            config.operation_timeout,
            config.event_retention,
        )
        .await?;
        let sqs = aws_sdk_sqs::config::Builder::from(aws)
            .timeout_config(aws_call_timeouts())
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(aws)
            .timeout_config(aws_call_timeouts())
            .build();
        let dead_letters =
            DeadLetterQueue::new(aws_sdk_sqs::Client::from_conf(sqs), config.dlq_url);
        let drop_counter = DropCounterTable::new(
            aws_sdk_dynamodb::Client::from_conf(dynamodb),
            config.drop_table,
            COMPONENT,
        );
        Ok(Self::new(
            store,
            dead_letters,
            drop_counter,
            config.encryption_key,
        ))
    }

    /// Assembles a writer from its parts.
    pub fn new(
        store: EventStore,
        dead_letters: DeadLetterQueue,
        drop_counter: DropCounterTable,
        key: EncryptionKey,
    ) -> Self {
        Self {
            store,
            dead_letters,
            drop_counter,
            key,
            emf: stdout_sink(),
        }
    }

    /// Sends drop-counter EMF lines to `emf` instead of stdout.
    pub fn with_emf_sink(mut self, emf: EmfSink) -> Self {
        self.emf = emf;
        self
    }

    /// The MongoDB store.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Processes one SQS batch, finishing before `deadline`.
    ///
    /// # Errors
    ///
    /// Only [`WriterError::UnreportableFailures`]: a record without a message id failed, so
    /// the whole batch must be retried.
    pub async fn handle(
        &self,
        event: SqsEvent,
        deadline: Instant,
    ) -> Result<SqsBatchResponse, WriterError> {
        let now = OffsetDateTime::now_utc();
        let mut records: Vec<Record> = event
            .records
            .into_iter()
            .map(|message| prepare(message, &self.key, now))
            .collect();

        let (mut poison, mut others): (Vec<&mut Record>, Vec<&mut Record>) = records
            .iter_mut()
            .partition(|record| matches!(record.state, RecordState::Poison { .. }));
        let (forwarded, ()) = tokio::join!(
            self.forward_poison(&mut poison, deadline),
            self.store_ready(&mut others, deadline),
        );
        // Extracted before counting so the table write cannot delay the response past the
        // deadline: the counter gets whatever time is left.
        self.count_poison(&forwarded, deadline).await;

        respond(records)
    }

    /// Forwards every poison record; returns the counter names of those forwarded and not
    /// counted before.
    async fn forward_poison(&self, records: &mut [&mut Record], deadline: Instant) -> Vec<String> {
        let deadline = deadline - RESPONSE_MARGIN;
        let sends = records.iter().enumerate().filter_map(|(index, record)| {
            let RecordState::Poison { poison, body, .. } = &record.state else {
                return None;
            };
            let send = self.dead_letters.forward(
                body,
                poison.reason,
                record.message_id.as_deref(),
                deadline,
            );
            Some(async move { (index, send.await) }.instrument(record.span.clone()))
        });
        let results = join_all(sends).await;

        let mut forwarded = Vec::new();
        for (index, result) in results {
            let record = &mut records[index];
            let RecordState::Poison {
                poison,
                counted_before,
                ..
            } = &record.state
            else {
                continue;
            };
            let (reason, detail) = (poison.reason, poison.detail.clone());
            let counter = (!counted_before).then(|| poison.counter_name());
            match result {
                Ok(()) => {
                    record.span.in_scope(|| {
                        tracing::warn!(
                            message_id = record.message_id.as_deref().unwrap_or(""),
                            reason,
                            detail,
                            counted_before = counter.is_none(),
                            "poison message sent to the dead-letter queue"
                        )
                    });
                    record.state = RecordState::Forwarded;
                    forwarded.extend(counter);
                }
                Err(error) => {
                    let error = error_chain(&error);
                    record.span.in_scope(|| {
                        tracing::warn!(
                            message_id = record.message_id.as_deref().unwrap_or(""),
                            reason,
                            error,
                            "poison message not forwarded; reporting it failed for redelivery"
                        )
                    });
                    record.fail(format!("dead-letter send failed: {error}"));
                }
            }
        }
        forwarded
    }

    async fn count_poison(&self, counters: &[String], deadline: Instant) {
        if counters.is_empty() {
            return;
        }
        let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
        for counter in counters {
            *totals.entry(counter).or_default() += 1;
        }
        let counts: Vec<(&str, u64)> = totals.into_iter().collect();
        let deadline = (deadline - RESPONSE_MARGIN).max(Instant::now());
        record_drops(
            Some(&self.drop_counter),
            COMPONENT,
            &counts,
            &DropContext::default(),
            deadline,
            &self.emf,
        )
        .await;
    }

    /// Inserts every ready record and updates the summaries of their runs.
    async fn store_ready(&self, records: &mut [&mut Record], deadline: Instant) {
        let deadline = deadline - RESPONSE_MARGIN;
        if !records.iter().any(|record| record.is_ready()) {
            return;
        }
        if let Err(error) = self.store.ensure_indexes(deadline).await {
            let reason = error_chain(&error);
            tracing::warn!(
                error = reason,
                "indexes not ensured; failing the batch's events"
            );
            for record in records.iter_mut().filter(|record| record.is_ready()) {
                record.fail(reason.clone());
            }
            return;
        }

        let mut inserted = Vec::new();
        let mut documents = Vec::new();
        for (index, record) in records.iter_mut().enumerate() {
            if let Some((event, document)) = record.take_ready() {
                record.state = RecordState::Stored {
                    event,
                    already_written: false,
                };
                documents.push(document);
                inserted.push(index);
            }
        }
        let outcomes = self.store.insert_events(&documents, deadline).await;
        drop(documents);

        let mut by_run: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, outcome) in inserted.into_iter().zip(outcomes) {
            let record = &mut records[index];
            match (outcome, &mut record.state) {
                (InsertOutcome::Failed(reason), _) => record.fail(reason),
                (
                    outcome,
                    RecordState::Stored {
                        event,
                        already_written,
                    },
                ) => {
                    *already_written = outcome == InsertOutcome::AlreadyWritten;
                    by_run.entry(event.run_id.clone()).or_default().push(index);
                }
                _ => {}
            }
        }
        self.update_summaries(records, by_run, deadline).await;
    }

    async fn update_summaries(
        &self,
        records: &mut [&mut Record],
        by_run: BTreeMap<String, Vec<usize>>,
        deadline: Instant,
    ) {
        let updates: Vec<_> = by_run
            .iter()
            .map(|(run_id, indexes)| {
                let events: Vec<&TelemetryEvent> = indexes
                    .iter()
                    .filter_map(|&index| records[index].stored_event())
                    .collect();
                run_update(run_id, &events)
            })
            .collect();
        let outcomes = self.store.update_runs(&updates, deadline).await;

        for ((run_id, indexes), outcome) in by_run.iter().zip(outcomes) {
            for &index in indexes {
                let record = &mut records[index];
                match &outcome {
                    Ok(()) => record.finish(),
                    Err(reason) => {
                        record.fail(format!("run summary `{run_id}` not updated: {reason}"))
                    }
                }
            }
        }
    }
}

impl Record {
    fn is_ready(&self) -> bool {
        matches!(self.state, RecordState::Ready { .. })
    }

    /// Moves the event and document out of a ready record.
    fn take_ready(&mut self) -> Option<(Box<TelemetryEvent>, Document)> {
        if !self.is_ready() {
            return None;
        }
        let placeholder = RecordState::Failed(String::new());
        match std::mem::replace(&mut self.state, placeholder) {
            RecordState::Ready { event, document } => Some((event, document)),
            _ => None,
        }
    }

    fn stored_event(&self) -> Option<&TelemetryEvent> {
        match &self.state {
            RecordState::Stored { event, .. } => Some(event),
            _ => None,
        }
    }

    /// A stored record whose run summary is updated is done.
    fn finish(&mut self) {
        let RecordState::Stored {
            already_written, ..
        } = self.state
        else {
            return;
        };
        self.span
            .in_scope(|| tracing::debug!(already_written, "event stored"));
        self.state = if already_written {
            RecordState::AlreadyWritten
        } else {
            RecordState::Inserted
        };
    }
}

/// Turns one message into a record: decoded, validated and encrypted, or poison, or failed.
fn prepare(message: SqsMessage, key: &EncryptionKey, now: OffsetDateTime) -> Record {
    let counted_before = carries_poison_reason(&message);
    let message_id = message.message_id.filter(|id| !id.is_empty());
    let span = tracing::info_span!(
        "sqs_message",
        message_id = message_id.as_deref().unwrap_or("")
    );
    // SQS refuses to send an empty body, so the record is forwarded with a placeholder; left
    // to fail, it would cycle until the redrive policy moved it, never counted.
    let Some(body) = message.body.filter(|body| !body.is_empty()) else {
        let poison = Poison {
            reason: MISSING_BODY,
            detail: "the record has no body".into(),
        };
        let body = MISSING_BODY_PLACEHOLDER.to_string();
        return Record {
            message_id,
            span,
            state: RecordState::Poison {
                poison,
                body,
                counted_before,
            },
        };
    };
    let state = span.in_scope(|| match guarded(|| prepare_body(&body, key, now)) {
        Ok(state) => state,
        Err(panic) => {
            tracing::error!(panic, "record processing panicked; reporting it failed");
            RecordState::Failed(format!("panicked: {panic}"))
        }
    });
    let state = match state {
        RecordState::Poison { poison, .. } => RecordState::Poison {
            poison,
            body,
            counted_before,
        },
        other => other,
    };
    Record {
        message_id,
        span,
        state,
    }
}

/// Whether the writer dead-lettered this message before: only it sets the reason attribute,
/// and a redrive that keeps attributes brings it back with the message.
fn carries_poison_reason(message: &SqsMessage) -> bool {
    message.message_attributes.contains_key(REASON_ATTRIBUTE)
}

/// Decodes, validates and encrypts one body. Pure apart from the random nonce.
fn prepare_body(body: &str, key: &EncryptionKey, now: OffsetDateTime) -> RecordState {
    let poison = |poison| RecordState::Poison {
        poison,
        body: String::new(),
        counted_before: false,
    };
    let event = match decode(body) {
        Ok(event) => event,
        Err(reason) => return poison(reason),
    };
    match stored_document(&event, key, now) {
        Ok(document) => RecordState::Ready {
            event: Box::new(event),
            document,
        },
        Err(error) => match unstorable(&error) {
            Some(reason) => poison(Poison {
                reason,
                detail: error_chain(&error),
            }),
            None => RecordState::Failed(error_chain(&error)),
        },
    }
}

/// The poison reason of an error that building the stored document will meet on every
/// delivery, or `None` if a retry can help.
fn unstorable(error: &WriterError) -> Option<&'static str> {
    match error {
        WriterError::Document(_) | WriterError::Json(_) => Some(INVALID_EVENT),
        // AES-GCM refuses only plaintext beyond its length limit, which a retry cannot shorten.
        WriterError::Encrypt => Some(ENCRYPTION_FAILED),
        _ => None,
    }
}

/// Runs `work`, turning a panic into `Err` with the panic message.
fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

/// Builds the partial batch response, logging the batch's counts.
fn respond(records: Vec<Record>) -> Result<SqsBatchResponse, WriterError> {
    let mut summary = BatchSummary {
        received: records.len(),
        ..BatchSummary::default()
    };
    let mut response = SqsBatchResponse::default();
    let mut unreportable = 0;
    let mut first_failure = None;
    for record in records {
        match record.state {
            RecordState::Inserted => summary.inserted += 1,
            RecordState::AlreadyWritten => summary.already_written += 1,
            RecordState::Forwarded => summary.poison += 1,
            RecordState::Failed(reason) => {
                summary.failed += 1;
                first_failure.get_or_insert(reason);
                match record.message_id {
                    Some(id) => response.add_failure(id),
                    None => unreportable += 1,
                }
            }
            RecordState::Ready { .. } | RecordState::Stored { .. } | RecordState::Poison { .. } => {
                summary.failed += 1;
                match record.message_id {
                    Some(id) => response.add_failure(id),
                    None => unreportable += 1,
                }
            }
        }
    }
    tracing::info!(
        received = summary.received,
        inserted = summary.inserted,
        already_written = summary.already_written,
        poison = summary.poison,
        failed = summary.failed,
        "batch processed"
    );
    if let Some(reason) = first_failure {
        tracing::warn!(
            failed = summary.failed,
            first_reason = reason,
            "records failed; sqs will redeliver them"
        );
    }
    if unreportable > 0 {
        tracing::error!(
            count = unreportable,
            "failed records have no message id; failing the whole batch"
        );
        return Err(WriterError::UnreportableFailures {
            count: unreportable,
        });
    }
    Ok(response)
}

/// Lambda entry point: converts the invocation deadline and handles the batch.
///
/// # Errors
///
/// As [`Writer::handle`].
pub async fn handle_invocation(
    writer: &Writer,
    invocation: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, WriterError> {
    let deadline = instant_of(invocation.context.deadline());
    writer.handle(invocation.payload, deadline).await
}

/// The monotonic instant matching a wall-clock deadline. A deadline already past on arrival
/// is not real (some local emulators send a duration instead of a time): Lambda's longest
/// timeout stands in, and the per-operation MongoDB timeouts keep every wait bounded.
fn instant_of(deadline: SystemTime) -> Instant {
    match deadline.duration_since(SystemTime::now()) {
        Ok(remaining) if !remaining.is_zero() => Instant::now() + remaining,
        _ => {
            tracing::warn!("invocation deadline already passed on arrival; using 15 minutes");
            Instant::now() + std::time::Duration::from_secs(15 * 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptionKey {
        EncryptionKey::from_bytes(&[1; 32], None).unwrap()
    }

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let result: Result<(), String> = guarded(|| panic!("bad record {}", 7));
        assert_eq!(result.unwrap_err(), "bad record 7");
        assert_eq!(guarded(|| 5).unwrap(), 5);
    }

    #[test]
    fn poison_bodies_are_not_retried() {
        let state = prepare_body("not json", &key(), OffsetDateTime::now_utc());
        assert!(matches!(
            state,
            RecordState::Poison { poison, .. } if poison.reason == "not_json"
        ));
    }

    fn record(id: Option<&str>, state: RecordState) -> Record {
        Record {
            message_id: id.map(str::to_string),
            span: Span::none(),
            state,
        }
    }

    #[test]
    fn errors_every_delivery_would_meet_are_poison_and_the_rest_are_retried() {
        assert_eq!(unstorable(&WriterError::Encrypt), Some("encryption_failed"));
        let json = serde_json::from_str::<u8>("x").unwrap_err();
        assert_eq!(unstorable(&WriterError::Json(json)), Some("invalid_event"));
        let timeout = WriterError::Timeout {
            operation: "event insert",
        };
        assert_eq!(unstorable(&timeout), None);
    }

    #[test]
    fn a_message_without_a_body_is_poison_forwarded_with_a_placeholder() {
        for body in [None, Some(String::new())] {
            let mut message = SqsMessage::default();
            message.message_id = Some("m-1".into());
            message.body = body;
            let record = prepare(message, &key(), OffsetDateTime::now_utc());
            let RecordState::Poison {
                poison,
                body,
                counted_before,
            } = record.state
            else {
                panic!("a missing body must be poison");
            };
            assert_eq!(poison.counter_name(), "poison_missing_body");
            assert_eq!(body, MISSING_BODY_PLACEHOLDER);
            assert!(!counted_before);
        }
    }

    #[test]
    fn only_messages_carrying_the_reason_attribute_count_as_counted_before() {
        let mut message = SqsMessage::default();
        message
            .message_attributes
            .insert("unrelated".into(), Default::default());
        assert!(!carries_poison_reason(&message));

        message
            .message_attributes
            .insert(REASON_ATTRIBUTE.into(), Default::default());
        assert!(carries_poison_reason(&message));
    }

    #[test]
    fn response_names_only_failed_records() {
        let records = vec![
            record(Some("a"), RecordState::Inserted),
            record(Some("b"), RecordState::Failed("x".into())),
            record(Some("c"), RecordState::Forwarded),
            record(Some("d"), RecordState::AlreadyWritten),
        ];
        let response = respond(records).unwrap();
        let value = serde_json::to_value(&response).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "b"}]})
        );
    }

    #[test]
    fn a_failed_record_without_id_fails_the_whole_batch() {
        let records = vec![
            record(Some("a"), RecordState::Failed("x".into())),
            record(None, RecordState::Failed("y".into())),
        ];
        let error = respond(records).unwrap_err();
        assert!(matches!(
            error,
            WriterError::UnreportableFailures { count: 1 }
        ));
    }

    #[test]
    fn a_record_without_id_that_succeeds_needs_no_report() {
        let records = vec![record(None, RecordState::Inserted)];
        assert!(respond(records).unwrap().batch_item_failures.is_empty());
    }

    #[test]
    fn deadlines_already_past_on_arrival_fall_back_to_the_longest_timeout() {
        let past = SystemTime::now() - Duration::from_secs(5);
        let fallback = instant_of(past) - Instant::now();
        assert!(fallback > Duration::from_secs(14 * 60), "{fallback:?}");

        let ahead = instant_of(SystemTime::now() + Duration::from_secs(30)) - Instant::now();
        assert!(ahead <= Duration::from_secs(30) && ahead > Duration::from_secs(25));
    }
}
