//! Shared setup of the telemetry writer tests: a queue with a dead-letter queue, a drop-counter
//! table and a MongoDB database, all under unique names, and a writer whose MongoDB traffic
//! goes through a fault proxy.
//!
//! Each test file uses part of this module.
#![allow(dead_code)]

use std::{collections::BTreeMap, time::Duration};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{
    Message, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use packforge_ops::redrive::RedriveRequest;
use packforge_telemetry::{
    TelemetryEvent,
    event::{
        ArtifactRecorded, EventBody, Extra, GuardrailEvaluated, Pipeline, RunCompleted, RunStarted,
        RunStatus, Source, Verdict,
    },
};
use packforge_testkit::{
    fault_proxy::FaultProxy,
    resources::create_drop_table,
    sqs_trigger::{SqsTrigger, approximate_messages},
    stack::{LocalStack, sdk_config, unique_name},
};
use serde_json::json;
use telemetry_writer::{
    COMPONENT, Writer, WriterError, document::EVENTS_COLLECTION, encryption::EncryptionKey,
    poison::DeadLetterQueue, run_summary::RUNS_COLLECTION, store::EventStore,
};
use time::OffsetDateTime;
use tokio::time::Instant;

/// Budget the emulated trigger gives each invocation (the function timeout).
pub const INVOCATION_BUDGET: Duration = Duration::from_secs(10);
/// The writer's MongoDB operation timeout in these tests: short, so faults show up fast.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);
/// Longest a test waits for a queue to drain.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything one writer test owns.
pub struct WriterFixture {
    pub stack: LocalStack,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub table: String,
    pub database: String,
    pub mongodb_proxy: FaultProxy,
    /// Direct to SecantusDB, never through the proxy: what the tests check against.
    pub mongodb: mongodb::Client,
    pub key: EncryptionKey,
    pub writer: Writer,
    pub trigger: SqsTrigger,
}

impl WriterFixture {
    /// Creates the queues (visibility timeout 1 s, redrive after `max_receive_count`
    /// receives), the table, the proxy and the writer.
    pub async fn start(max_receive_count: u32) -> anyhow::Result<Self> {
        let stack = LocalStack::from_env()?;
        let aws = sdk_config(&stack.moto_url());
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);

        let dlq_url = create_queue(&sqs, &unique_name("writer-dlq"), None).await?;
        let dlq_arn = queue_arn(&sqs, &dlq_url).await?;
        let policy = json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receive_count,
        });
        let queue_url =
            create_queue(&sqs, &unique_name("writer-queue"), Some(policy.to_string())).await?;
        let table = create_drop_table(&dynamodb, "writer-drops").await?;

        let database = unique_name("writer").replace('-', "_");
        let mongodb_proxy = FaultProxy::start(stack.mongodb_addr()).await?;
        let mongodb =
            mongodb::Client::with_uri_str(LocalStack::mongodb_uri_via(stack.mongodb_addr(), 2000))
                .await?;
        let key = EncryptionKey::from_bytes(&rand_key(), None)?;
        let writer = build_writer(
            &mongodb_proxy,
            &database,
            sqs.clone(),
            &dlq_url,
            dynamodb.clone(),
            &table,
            key.clone(),
        )
        .await?;
        let trigger = SqsTrigger::new(sqs.clone(), &queue_url).await?;

        Ok(Self {
            stack,
            sqs,
            dynamodb,
            queue_url,
            dlq_url,
            table,
            database,
            mongodb_proxy,
            mongodb,
            key,
            writer,
            trigger,
        })
    }

    /// Sends each event as one message.
    pub async fn send(&self, events: &[TelemetryEvent]) -> anyhow::Result<()> {
        let bodies: Vec<String> = events
            .iter()
            .map(TelemetryEvent::to_json)
            .collect::<Result<_, _>>()?;
        self.send_bodies(&bodies).await
    }

    /// Sends raw bodies, ten per batch.
    pub async fn send_bodies(&self, bodies: &[String]) -> anyhow::Result<()> {
        for chunk in bodies.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .sqs
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await?;
            anyhow::ensure!(
                output.failed().is_empty(),
                "send failed: {:?}",
                output.failed()
            );
        }
        Ok(())
    }

    /// Invokes the writer like Lambda would, once.
    pub async fn invoke_once(&self) -> anyhow::Result<packforge_testkit::sqs_trigger::Invocation> {
        self.trigger.invoke_once(|event| self.handle(event)).await
    }

    /// Invokes the writer until the queue is empty.
    pub async fn drain(&self) -> anyhow::Result<packforge_testkit::sqs_trigger::DrainReport> {
        self.trigger
            .drain(|event| self.handle(event), DRAIN_TIMEOUT)
            .await
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, WriterError> {
        self.writer
            .handle(event, Instant::now() + INVOCATION_BUDGET)
            .await
    }

    pub fn database(&self) -> mongodb::Database {
        self.mongodb.database(&self.database)
    }

    /// Every stored event document, by `_id`.
    pub async fn stored_events(&self) -> anyhow::Result<BTreeMap<String, Document>> {
        stored(&self.database(), EVENTS_COLLECTION).await
    }

    /// Every run summary, by `_id`.
    pub async fn run_summaries(&self) -> anyhow::Result<BTreeMap<String, Document>> {
        stored(&self.database(), RUNS_COLLECTION).await
    }

    /// Messages in the dead-letter queue, visible or not.
    pub async fn dlq_size(&self) -> anyhow::Result<u64> {
        approximate_messages(&self.sqs, &self.dlq_url).await
    }

    /// Receives every message of the dead-letter queue, with its attributes.
    pub async fn receive_dlq(&self, expected: usize) -> anyhow::Result<Vec<Message>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut messages = Vec::new();
        while messages.len() < expected && Instant::now() < deadline {
            messages.extend(self.receive_dlq_batch().await?);
        }
        Ok(messages)
    }

    /// Receives the dead-letter queue's messages, with their attributes, until a receive
    /// finds none visible.
    pub async fn drain_dlq(&self) -> anyhow::Result<Vec<Message>> {
        let mut messages = Vec::new();
        loop {
            let batch = self.receive_dlq_batch().await?;
            if batch.is_empty() {
                return Ok(messages);
            }
            messages.extend(batch);
        }
    }

    /// One receive of up to ten messages, hidden for 30 s so none is received twice.
    async fn receive_dlq_batch(&self) -> anyhow::Result<Vec<Message>> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.dlq_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        Ok(output.messages.unwrap_or_default())
    }

    /// A redrive of the whole dead-letter queue back to the queue, poison left in place.
    pub fn redrive_request(&self) -> RedriveRequest {
        RedriveRequest {
            from: self.dlq_url.clone(),
            to: self.queue_url.clone(),
            dry_run: false,
            max: None,
            include_poison: false,
        }
    }

    /// Deletes everything the fixture created.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        for url in [&self.queue_url, &self.dlq_url] {
            self.sqs.delete_queue().queue_url(url).send().await?;
        }
        self.dynamodb
            .delete_table()
            .table_name(&self.table)
            .send()
            .await?;
        self.database().drop().await?;
        Ok(())
    }
}

/// A writer for `database` whose MongoDB traffic goes through `proxy`.
pub async fn build_writer(
    proxy: &FaultProxy,
    database: &str,
    sqs: aws_sdk_sqs::Client,
    dlq_url: &str,
    dynamodb: aws_sdk_dynamodb::Client,
    table: &str,
    key: EncryptionKey,
) -> anyhow::Result<Writer> {
    let store = EventStore::connect(
        &LocalStack::mongodb_uri_via(proxy.addr(), 1000),
        database,
        Duration::from_secs(1),
        OPERATION_TIMEOUT,
        Duration::from_secs(30 * 86_400),
    )
    .await?;
    let drop_counter =
        packforge_telemetry::drop_counter::DropCounterTable::new(dynamodb, table, COMPONENT);
    let quiet: packforge_telemetry::drop_counter::EmfSink = std::sync::Arc::new(|_| {});
    Ok(
        Writer::new(store, DeadLetterQueue::new(sqs, dlq_url), drop_counter, key)
            .with_emf_sink(quiet),
    )
}

async fn stored(
    database: &mongodb::Database,
    collection: &str,
) -> anyhow::Result<BTreeMap<String, Document>> {
    let documents: Vec<Document> = database
        .collection::<Document>(collection)
        .find(doc! {})
        .await?
        .try_collect()
        .await?;
    Ok(documents
        .into_iter()
        .map(|document| {
            (
                document.get_str("_id").unwrap_or_default().to_string(),
                document,
            )
        })
        .collect())
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive_policy: Option<String>,
) -> anyhow::Result<String> {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "1");
    if let Some(policy) = redrive_policy {
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    let output = request.send().await?;
    output
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("queue `{name}` has no url"))
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    output
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("queue `{url}` has no arn"))
}

fn rand_key() -> [u8; 32] {
    rand::random()
}

fn source() -> Source {
    Source {
        function_name: "generate".into(),
        function_version: "$LATEST".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        trace_id: None,
        extra: Extra::new(),
    }
}

/// The four events of one generation run, a second apart, as the generate function emits
/// them: started, a learning pack artifact with a sensitive title, a guardrail verdict, and a
/// successful completion.
pub fn run_events(run_id: &str) -> Vec<TelemetryEvent> {
    let document_id = format!("doc-{run_id}");
    let start = OffsetDateTime::now_utc();
    let bodies = vec![
        EventBody::RunStarted(RunStarted {
            bucket: "uploads".into(),
            key: format!("uploads/{run_id}/notes.pdf"),
            etag: Some("9b2cf535f27731c974343645a3985328".into()),
            size_bytes: 48_213,
            extra: Extra::new(),
        }),
        EventBody::ArtifactRecorded(ArtifactRecorded {
            artifact: "learning_pack".into(),
            key: format!("packs/{run_id}/learning-pack.json"),
            bytes: 5_120,
            item_count: 12,
            sensitive: Some(
                json!({"title": "Photosynthesis in C4 plants"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            extra: Extra::new(),
        }),
        EventBody::GuardrailEvaluated(GuardrailEvaluated {
            guardrail: "answer_in_options".into(),
            verdict: Verdict::Repaired,
            items_checked: 10,
            items_repaired: 1,
            items_removed: 0,
            detail: None,
            sensitive: None,
            extra: Extra::new(),
        }),
        EventBody::RunCompleted(RunCompleted {
            status: RunStatus::Succeeded,
            duration_ms: 2_400,
            artifact_count: 3,
            error: None,
            extra: Extra::new(),
        }),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            let mut event =
                TelemetryEvent::new(run_id, &document_id, Pipeline::LearningPack, source(), body);
            event.occurred_at = start + time::Duration::seconds(index as i64);
            event
        })
        .collect()
}

/// An SQS event holding `bodies`, shaped like Lambda's, for calling the handler directly.
pub fn sqs_event(bodies: &[String]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .map(|body| {
            let mut message = SqsMessage::default();
            message.message_id = Some(uuid::Uuid::new_v4().to_string());
            message.body = Some(body.clone());
            message.event_source = Some("aws:sqs".into());
            message.aws_region = Some("us-east-1".into());
            message
        })
        .collect();
    event
}
