//! Write throughput of the telemetry writer, side by side with a raw bulk insert.
//!
//! For batches of 10, 100 and 1000 messages, prints the events per second the handler writes
//! (decode, encrypt, one unordered insert, one run summary update) and the events per second of
//! a bare unordered `insert_many` of the same stored documents into a collection with the same
//! indexes, on the same server, in the same run. The two paths are interleaved batch by batch
//! so server drift hits both alike. The last column is the time the run summary update alone
//! takes per batch (one upsert statement per run, in one command): that is where the handler's
//! time goes beyond the insert. Also prints the cost of preparing one event (decode, encrypt,
//! build the document, averaged over the events of one run) and of the encryption alone.
//!
//! Needs a MongoDB at `PACKFORGE_MONGODB_ADDR` (`scripts/stack.sh start && source .stack/env`).
//! Run with `cargo bench -p telemetry-writer --bench write_throughput`.

use std::{
    collections::BTreeMap,
    hint::black_box,
    time::{Duration, Instant},
};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use mongodb::bson::Document;
use packforge_telemetry::{
    TelemetryEvent,
    drop_counter::{DropCounterTable, EmfSink},
    event::{
        ArtifactRecorded, EventBody, Extra, GuardrailEvaluated, Pipeline, RunCompleted, RunStarted,
        RunStatus, Source, Verdict,
    },
};
use serde_json::{Value, json};
use telemetry_writer::{
    COMPONENT, Writer,
    decode::decode,
    document::{EVENTS_COLLECTION, stored_document},
    encryption::EncryptionKey,
    poison::DeadLetterQueue,
    run_summary::{RunUpdate, run_update},
    store::EventStore,
};
use time::OffsetDateTime;

const BATCH_SIZES: [usize; 3] = [10, 100, 1000];
/// Events measured per batch size and path; batches repeat until this many are written.
const EVENTS_PER_SIZE: usize = 3000;
/// Events per generation run, as the generate function emits them for a successful run:
/// `run_started`, eight guardrail verdicts and one artifact per stage, `run_completed`.
const EVENTS_PER_RUN: usize = 20;
/// The guardrails the generate function reports for each stage.
const GUARDRAILS: [&str; 8] = [
    "personal_data",
    "length_limits",
    "grounded_in_source",
    "answer_in_options",
    "unique_options",
    "unique_items",
    "schema_valid",
    "item_counts",
];
const ENCRYPTION_SAMPLES: usize = 20_000;

fn main() {
    let Ok(address) = std::env::var("PACKFORGE_MONGODB_ADDR") else {
        eprintln!(
            "write_throughput: PACKFORGE_MONGODB_ADDR is not set, so there is no MongoDB to \
             write to; start one with `scripts/stack.sh start && source .stack/env`"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(run(&address));
}

async fn run(address: &str) {
    let uri = format!("mongodb://{address}/?directConnection=true&serverSelectionTimeoutMS=2000");
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let writer_database = format!("bench_writer_{suffix}");
    let raw_database = format!("bench_raw_{suffix}");
    let key = EncryptionKey::from_bytes(&rand::random::<[u8; 32]>(), None).expect("key");

    let writer = writer(&uri, &writer_database, key.clone()).await;
    let client = mongodb::Client::with_uri_str(&uri)
        .await
        .expect("mongodb client");
    // Summary updates measured alone go to a third database, so they create fresh runs as the
    // handler's do.
    let summary_database = format!("bench_summary_{suffix}");
    let summaries = EventStore::new(
        &client,
        &summary_database,
        Duration::from_secs(30),
        Duration::from_secs(86_400),
    );
    // The raw collection gets the writer's indexes, so both paths pay the same index upkeep.
    EventStore::new(
        &client,
        &raw_database,
        Duration::from_secs(30),
        Duration::from_secs(86_400),
    )
    .ensure_indexes(far_deadline())
    .await
    .expect("raw indexes");
    let raw = client
        .database(&raw_database)
        .collection::<Document>(EVENTS_COLLECTION);

    println!("telemetry-writer write throughput against mongodb at {address}");
    println!("{EVENTS_PER_SIZE} events per batch size and path, {EVENTS_PER_RUN} events per run");
    println!();
    println!(
        "{:>6}  {:>14}  {:>15}  {:>6}  {:>19}",
        "batch", "handler ev/s", "raw insert ev/s", "ratio", "summary ms/batch"
    );

    // Warm-up: connection pools, indexes, collection creation.
    let warm = batch(10, &key);
    let _ = writer.handle(warm.event, far_deadline()).await;
    let _ = raw.insert_many(&warm.documents).ordered(false).await;

    for size in BATCH_SIZES {
        let mut handler_time = Duration::ZERO;
        let mut raw_time = Duration::ZERO;
        let mut summary_time = Duration::ZERO;
        let mut written = 0;
        let mut batches = 0;
        while written < EVENTS_PER_SIZE {
            let work = batch(size, &key);
            let updates = summary_updates(&work.event);

            let started = Instant::now();
            let response = writer
                .handle(work.event, far_deadline())
                .await
                .expect("handler");
            handler_time += started.elapsed();
            assert!(
                response.batch_item_failures.is_empty(),
                "handler reported failures"
            );

            let started = Instant::now();
            raw.insert_many(&work.documents)
                .ordered(false)
                .await
                .expect("raw insert");
            raw_time += started.elapsed();

            let started = Instant::now();
            let outcomes = summaries.update_runs(&updates, far_deadline()).await;
            summary_time += started.elapsed();
            assert!(outcomes.iter().all(Result::is_ok), "summary update failed");
            written += size;
            batches += 1;
        }
        let handler_rate = written as f64 / handler_time.as_secs_f64();
        let raw_rate = written as f64 / raw_time.as_secs_f64();
        let summary_ms = summary_time.as_secs_f64() * 1e3 / f64::from(batches);
        println!(
            "{size:>6}  {handler_rate:>14.0}  {raw_rate:>15.0}  {:>6.2}  {summary_ms:>19.1}",
            handler_rate / raw_rate
        );
    }

    println!();
    let (prepare, encrypt) = per_event_costs(&key);
    println!("per event, on one core:");
    println!("  decode + encrypt + build document: {prepare:>7.2} us");
    println!("  encryption of payload.sensitive:   {encrypt:>7.2} us");

    let _ = client.database(&writer_database).drop().await;
    let _ = client.database(&raw_database).drop().await;
    let _ = client.database(&summary_database).drop().await;
}

async fn writer(uri: &str, database: &str, key: EncryptionKey) -> Writer {
    let store = EventStore::connect(
        uri,
        database,
        Duration::from_secs(2),
        Duration::from_secs(30),
        Duration::from_secs(86_400),
    )
    .await
    .expect("event store");
    // The bench sends no poison and drops nothing, so these clients are never called.
    let aws = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let dead_letters = DeadLetterQueue::new(aws_sdk_sqs::Client::new(&aws), "unused");
    let drops = DropCounterTable::new(aws_sdk_dynamodb::Client::new(&aws), "unused", COMPONENT);
    let quiet: EmfSink = std::sync::Arc::new(|_| {});
    Writer::new(store, dead_letters, drops, key).with_emf_sink(quiet)
}

fn far_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(60)
}

/// One batch: the SQS event for the handler and the stored documents of the same events for
/// the raw insert (fresh ids, so neither path meets duplicates).
struct Batch {
    event: SqsEvent,
    documents: Vec<Document>,
}

fn batch(size: usize, key: &EncryptionKey) -> Batch {
    let events: Vec<TelemetryEvent> = (0..size.div_ceil(EVENTS_PER_RUN))
        .flat_map(|_| run_events())
        .take(size)
        .collect();
    let now = OffsetDateTime::now_utc();
    let raw_events: Vec<TelemetryEvent> = events
        .iter()
        .map(|event| {
            let mut copy = event.clone();
            copy.event_id = uuid::Uuid::now_v7();
            copy
        })
        .collect();
    let documents = raw_events
        .iter()
        .map(|event| stored_document(event, key, now).expect("document"))
        .collect();
    let mut sqs_event = SqsEvent::default();
    sqs_event.records = events
        .iter()
        .map(|event| {
            let mut message = SqsMessage::default();
            message.message_id = Some(uuid::Uuid::new_v4().to_string());
            message.body = Some(event.to_json().expect("json"));
            message
        })
        .collect();
    Batch {
        event: sqs_event,
        documents,
    }
}

/// The run summary updates the handler makes for `event`, built for fresh run ids.
fn summary_updates(event: &SqsEvent) -> Vec<RunUpdate> {
    let mut by_run: BTreeMap<String, Vec<TelemetryEvent>> = BTreeMap::new();
    for record in &event.records {
        let body = record.body.as_deref().unwrap_or_default();
        let mut decoded = decode(body).expect("decode");
        decoded.run_id = format!("summary-{}", decoded.run_id);
        by_run
            .entry(decoded.run_id.clone())
            .or_default()
            .push(decoded);
    }
    by_run
        .iter()
        .map(|(run_id, events)| run_update(run_id, &events.iter().collect::<Vec<_>>()))
        .collect()
}

fn run_events() -> Vec<TelemetryEvent> {
    let run_id = uuid::Uuid::now_v7().to_string();
    let document_id = format!("doc-{run_id}");
    let source = Source {
        function_name: "generate".into(),
        function_version: "7".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793".into()),
        extra: Extra::new(),
    };
    let sensitive = json!({
        "title": "Photosynthesis in C4 plants",
        "excerpt": "Bundle-sheath cells concentrate CO2 around RuBisCO, which limits \
                    photorespiration in hot, dry climates.",
    });
    let guardrail = |name: &str| {
        EventBody::GuardrailEvaluated(GuardrailEvaluated {
            guardrail: name.into(),
            verdict: Verdict::Repaired,
            items_checked: 10,
            items_repaired: 1,
            items_removed: 0,
            detail: Some("one item rewritten".into()),
            sensitive: sensitive.as_object().cloned(),
            extra: Extra::new(),
        })
    };
    let artifact = |name: &str| {
        EventBody::ArtifactRecorded(ArtifactRecorded {
            artifact: name.into(),
            key: format!("packs/{run_id}/{name}.json"),
            bytes: 5_120,
            item_count: 12,
            sensitive: sensitive.as_object().cloned(),
            extra: Extra::new(),
        })
    };
    let mut bodies = vec![EventBody::RunStarted(RunStarted {
        bucket: "uploads".into(),
        key: format!("uploads/{run_id}/notes.pdf"),
        etag: Some("9b2cf535f27731c974343645a3985328".into()),
        size_bytes: 48_213,
        extra: Extra::new(),
    })];
    for stage in ["learning_pack", "games"] {
        bodies.extend(GUARDRAILS.iter().map(|name| guardrail(name)));
        bodies.push(artifact(stage));
    }
    bodies.push(EventBody::RunCompleted(RunCompleted {
        status: RunStatus::Succeeded,
        duration_ms: 2_400,
        artifact_count: 2,
        error: None,
        extra: Extra::new(),
    }));
    debug_assert_eq!(bodies.len(), EVENTS_PER_RUN);
    bodies
        .into_iter()
        .map(|body| {
            TelemetryEvent::new(
                &run_id,
                &document_id,
                Pipeline::LearningPack,
                source.clone(),
                body,
            )
        })
        .collect()
}

/// Microseconds per event to prepare a message, and to encrypt its sensitive payload alone.
fn per_event_costs(key: &EncryptionKey) -> (f64, f64) {
    let events = run_events();
    let bodies: Vec<String> = events
        .iter()
        .map(|event| event.to_json().expect("json"))
        .collect();
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    for index in 0..ENCRYPTION_SAMPLES {
        let event = decode(&bodies[index % bodies.len()]).expect("decode");
        black_box(stored_document(&event, key, now).expect("document"));
    }
    let prepare = started.elapsed().as_secs_f64() * 1e6 / ENCRYPTION_SAMPLES as f64;

    let sensitive: Value = serde_json::to_value(&events[1])
        .expect("json")
        .pointer("/payload/sensitive")
        .cloned()
        .unwrap_or(Value::Null);
    let started = Instant::now();
    for _ in 0..ENCRYPTION_SAMPLES {
        black_box(
            key.encrypt_json(&sensitive, b"0193a4c2-event-id")
                .expect("encrypt"),
        );
    }
    let encrypt = started.elapsed().as_secs_f64() * 1e6 / ENCRYPTION_SAMPLES as f64;
    (prepare, encrypt)
}
