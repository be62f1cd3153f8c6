//! The generate function's handler against moto (S3, SQS, DynamoDB), each service behind its
//! own fault proxy: documents of every type, bad documents, duplicate and stale deliveries,
//! S3 outages, and telemetry outages that must never cost a pack.

#[path = "../../shared/learning/tests/support/fixtures.rs"]
mod fixtures;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use generate::{
    config::GenerateConfig,
    error::InvocationError,
    handler::{InvocationSummary, handle},
    run::Invocation,
    storage::{S3Store, StorageTimeouts, s3_client_with},
};
use lambda_runtime::Diagnostic;
use packforge_telemetry::{
    DropCounterTable, SqsTransport, TelemetryClient, TelemetryConfig, TelemetryEvent,
    event::{EventBody, RunCompleted, RunStatus, Source},
};
use packforge_testkit::{
    fault_proxy::{Fault, FaultProxy},
    resources::{create_bucket, create_drop_table, create_queue, drain_bodies, s3_client},
    stack::{LocalStack, sdk_config},
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

const SAMPLE: &str = include_str!("../../shared/learning/samples/photosynthesis.md");

/// Characters S3 leaves unencoded in notification keys; everything else is percent-encoded.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b' ');

struct World {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    s3_proxy: FaultProxy,
    sqs_proxy: FaultProxy,
    dynamodb_proxy: FaultProxy,
    bucket: String,
    queue_url: String,
    table: String,
    store: S3Store,
    telemetry: TelemetryClient,
    config: GenerateConfig,
    telemetry_config: TelemetryConfig,
    emf_lines: Arc<Mutex<Vec<String>>>,
}

impl World {
    async fn new() -> Self {
        Self::with_config(GenerateConfig::default()).await
    }

    async fn with_config(config: GenerateConfig) -> Self {
        let stack = LocalStack::from_env().expect("local stack");
        let direct = sdk_config(&stack.moto_url());
        let s3 = s3_client(&stack.moto_url());
        let sqs = aws_sdk_sqs::Client::new(&direct);
        let dynamodb = aws_sdk_dynamodb::Client::new(&direct);
        let bucket = create_bucket(&s3, "uploads").await.unwrap();
        let queue_url = create_queue(&sqs, "telemetry").await.unwrap();
        let table = create_drop_table(&dynamodb, "drops").await.unwrap();
        let s3_proxy = FaultProxy::start(stack.moto_addr()).await.unwrap();
        let sqs_proxy = FaultProxy::start(stack.moto_addr()).await.unwrap();
        let dynamodb_proxy = FaultProxy::start(stack.moto_addr()).await.unwrap();

        let telemetry_config = TelemetryConfig {
            attempt_timeout: Duration::from_millis(300),
            connect_timeout: Duration::from_millis(100),
            ..TelemetryConfig::default()
        };
        let transport = SqsTransport::new(
            &sdk_config(&sqs_proxy.url()),
            &queue_url,
            telemetry_config.connect_timeout,
            telemetry_config.attempt_timeout,
        );
        let drop_table = DropCounterTable::new(
            aws_sdk_dynamodb::Client::new(&sdk_config(&dynamodb_proxy.url())),
            &table,
            "generate",
        );
        let emf_lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = Arc::clone(&emf_lines);
        let telemetry = TelemetryClient::builder(telemetry_config.clone())
            .drop_table(drop_table)
            .emf_sink(Arc::new(move |line: &str| {
                sink_lines.lock().unwrap().push(line.to_string());
            }))
            .start(transport);
        let store = s3_store(&s3_proxy, &StorageTimeouts::default());
        Self {
            s3,
            sqs,
            s3_proxy,
            sqs_proxy,
            dynamodb_proxy,
            bucket,
            queue_url,
            table,
            store,
            telemetry,
            config,
            telemetry_config,
            emf_lines,
        }
    }

    /// Uploads `bytes` to `key` and returns what moto's PutObject answered.
    async fn upload(&self, key: &str, bytes: Vec<u8>) -> Uploaded {
        let output = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .expect("upload");
        Uploaded {
            etag: output.e_tag().expect("etag").trim_matches('"').to_string(),
            version_id: output.version_id().map(str::to_string),
        }
    }

    /// An S3 notification for `keys` without ETags, as EventBridge replays send them; see
    /// [`Self::notification_of`].
    fn notification(&self, keys: &[&str]) -> Value {
        let uploads: Vec<(&str, Option<&Uploaded>)> = keys.iter().map(|key| (*key, None)).collect();
        self.notification_of(&uploads)
    }

    /// An S3 notification in moto's shape (no identity fields, keys form-encoded with `/` as
    /// `%2F`), built from `events/s3-put-moto.json`, naming each upload's ETag and version
    /// when given.
    fn notification_of(&self, uploads: &[(&str, Option<&Uploaded>)]) -> Value {
        let mut event = fixture("s3-put-moto.json");
        let template = event["Records"][0].clone();
        let records: Vec<Value> = uploads
            .iter()
            .map(|(key, uploaded)| {
                let mut record = template.clone();
                record["s3"]["bucket"]["name"] = json!(self.bucket);
                record["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{}", self.bucket));
                let encoded = utf8_percent_encode(key, KEY_ENCODE)
                    .to_string()
                    .replace(' ', "+");
                record["s3"]["object"]["key"] = json!(encoded);
                record["s3"]["object"]["eTag"] = json!(uploaded.map(|u| &u.etag));
                if let Some(version_id) = uploaded.and_then(|u| u.version_id.as_ref()) {
                    record["s3"]["object"]["versionId"] = json!(version_id);
                }
                record
            })
            .collect();
        event["Records"] = json!(records);
        event
    }

    async fn invoke(&self, payload: &Value) -> Result<InvocationSummary, InvocationError> {
        let invocation = Invocation {
            source: Source {
                function_name: "generate".into(),
                function_version: "$LATEST".into(),
                request_id: uuid::Uuid::now_v7().to_string(),
                trace_id: None,
                extra: Default::default(),
            },
            deadline: Some(tokio::time::Instant::now() + Duration::from_secs(60)),
        };
        handle(
            &self.store,
            &self.config,
            &self.telemetry,
            &invocation,
            payload,
        )
        .await
    }

    async fn object(&self, key: &str) -> Option<Value> {
        let output = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = output.body.collect().await.ok()?.into_bytes();
        Some(serde_json::from_slice(&bytes).expect("output is JSON"))
    }

    async fn manifest(&self, upload_key: &str) -> Value {
        let key = format!(
            "packs/{}/manifest.json",
            upload_key.trim_start_matches("uploads/")
        );
        self.object(&key)
            .await
            .unwrap_or_else(|| panic!("no manifest at {key}"))
    }

    /// The `run_completed` events among `events`, with their run ids.
    fn completions(events: &[TelemetryEvent]) -> Vec<(String, RunCompleted)> {
        events
            .iter()
            .filter_map(|event| match &event.body {
                EventBody::RunCompleted(completed) => {
                    Some((event.run_id.clone(), completed.clone()))
                }
                _ => None,
            })
            .collect()
    }

    async fn queued_events(&self) -> Vec<TelemetryEvent> {
        drain_bodies(&self.sqs, &self.queue_url)
            .await
            .unwrap()
            .iter()
            .map(|body| TelemetryEvent::from_json(body).expect("queued event decodes"))
            .collect()
    }

    async fn cleanup(self) {
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
        let direct = sdk_config(&LocalStack::from_env().unwrap().moto_url());
        let dynamodb = aws_sdk_dynamodb::Client::new(&direct);
        let _ = dynamodb.delete_table().table_name(&self.table).send().await;
    }
}

/// What PutObject answered: the identity a notification for that upload carries.
struct Uploaded {
    etag: String,
    version_id: Option<String>,
}

/// A store on the proxied S3 through the function's own client construction, so the
/// function's timeouts are the ones under test.
fn s3_store(proxy: &FaultProxy, timeouts: &StorageTimeouts) -> S3Store {
    S3Store::new(s3_client_with(&sdk_config(&proxy.url()), true, timeouts))
        .with_body_timeout(timeouts.body)
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

fn pages(text: &str, lines_per_page: usize) -> Vec<Vec<String>> {
    let lines: Vec<String> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.trim_start_matches('#').trim().to_string())
        .collect();
    lines
        .chunks(lines_per_page)
        .map(<[String]>::to_vec)
        .collect()
}

fn docx_of(text: &str) -> Vec<u8> {
    let paragraphs: Vec<fixtures::Paragraph<'_>> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match line.strip_prefix("## ") {
            Some(heading) => fixtures::Paragraph {
                style: Some("Heading1"),
                text: heading,
            },
            None => fixtures::Paragraph {
                style: None,
                text: line.trim_start_matches("# "),
            },
        })
        .collect();
    fixtures::docx(&paragraphs)
}

/// Checks a succeeded run: manifest, both artifacts, and a balanced telemetry report.
async fn assert_succeeded(world: &World, upload_key: &str) -> Value {
    let manifest = world.manifest(upload_key).await;
    assert_eq!(manifest["status"], "succeeded", "{manifest:#}");
    for artifact in ["learning_pack", "games"] {
        let key = manifest["artifacts"][artifact]
            .as_str()
            .expect("artifact key");
        assert!(
            world.object(key).await.is_some(),
            "{artifact} missing at {key}"
        );
    }
    let telemetry = &manifest["telemetry"];
    let dropped = telemetry["dropped_total"].as_u64().unwrap();
    assert_eq!(
        telemetry["emitted"].as_u64().unwrap(),
        telemetry["sent"].as_u64().unwrap() + dropped,
        "{telemetry:#}"
    );
    let by_reason: u64 = telemetry["dropped"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, dropped);
    manifest
}

#[tokio::test]
async fn every_document_type_gets_pack_games_and_manifest() {
    let world = World::new().await;
    let documents = [
        (
            "uploads/notes/photosynthesis.md",
            SAMPLE.as_bytes().to_vec(),
        ),
        (
            "uploads/notes/photosynthesis.txt",
            SAMPLE.replace('#', "").into_bytes(),
        ),
        (
            "uploads/papers/photosynthesis.pdf",
            fixtures::pdf(&pages(SAMPLE, 12), Some("Photosynthesis")),
        ),
        ("uploads/papers/photosynthesis.docx", docx_of(SAMPLE)),
    ];
    for (key, bytes) in &documents {
        world.upload(key, bytes.clone()).await;
    }
    let keys: Vec<&str> = documents.iter().map(|(key, _)| *key).collect();
    let summary = world
        .invoke(&world.notification(&keys))
        .await
        .expect("invocation succeeds");

    assert!(
        summary
            .records
            .iter()
            .all(|record| record.outcome == "succeeded"),
        "{summary:?}"
    );
    let events = world.queued_events().await;
    for (key, _) in &documents {
        let manifest = assert_succeeded(&world, key).await;
        let run_id = manifest["run_id"].as_str().unwrap();
        let run_events: Vec<_> = events
            .iter()
            .filter(|event| event.run_id == run_id)
            .collect();
        assert_eq!(
            run_events.len() as u64,
            manifest["telemetry"]["sent"].as_u64().unwrap()
        );
        assert_eq!(manifest["telemetry"]["dropped_total"], 0, "{key}");
        let kinds: Vec<&str> = run_events
            .iter()
            .map(|event| event.event_type().as_str())
            .collect();
        assert_eq!(kinds.first(), Some(&"run_started"), "{key}");
        assert_eq!(kinds.last(), Some(&"run_completed"), "{key}");
        assert!(kinds.contains(&"guardrail_evaluated") && kinds.contains(&"artifact_recorded"));
    }
    let kinds: Vec<&str> = [".md", ".txt", ".pdf", ".docx"].to_vec();
    for (kind, (key, _)) in ["markdown", "plain_text", "pdf", "docx"]
        .iter()
        .zip(&documents)
    {
        assert_eq!(
            world.manifest(key).await["document"]["kind"],
            *kind,
            "{key} {kinds:?}"
        );
    }
    world.cleanup().await;
}

#[tokio::test]
async fn bad_documents_end_as_failed_manifests_without_failing_the_invocation() {
    let world = World::with_config(GenerateConfig {
        max_document_bytes: 500_000,
        ..GenerateConfig::default()
    })
    .await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let cases = [
        ("uploads/bad/empty.txt", Vec::new(), "empty_document"),
        ("uploads/bad/photo.png", png, "unsupported_type"),
        (
            "uploads/bad/scan.pdf",
            fixtures::image_only_pdf(2),
            "empty_document",
        ),
        (
            "uploads/bad/locked.pdf",
            fixtures::encrypted_pdf(&pages(SAMPLE, 12), "secret"),
            "encrypted_pdf",
        ),
        (
            "uploads/bad/corrupt.pdf",
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog".to_vec(),
            "corrupt_document",
        ),
        // 8 MiB of one letter deflates about a thousandfold: far past the ratio limit, at a
        // fraction of the memory a bomb past the size limit would take to build.
        (
            "uploads/bad/bomb.docx",
            fixtures::docx_bomb(8 * 1024 * 1024),
            "unsafe_archive",
        ),
        (
            "uploads/bad/huge.txt",
            SAMPLE.repeat(100).into_bytes(),
            "too_large",
        ),
    ];
    for (key, bytes, _) in &cases {
        world.upload(key, bytes.clone()).await;
    }
    world
        .upload("uploads/good.md", SAMPLE.as_bytes().to_vec())
        .await;
    let mut keys: Vec<&str> = cases.iter().map(|(key, _, _)| *key).collect();
    keys.push("uploads/good.md");

    let summary = world
        .invoke(&world.notification(&keys))
        .await
        .expect("invocation succeeds");

    let completions = World::completions(&world.queued_events().await);
    for (key, _, kind) in &cases {
        let manifest = world.manifest(key).await;
        assert_eq!(manifest["status"], "failed", "{key}");
        assert_eq!(manifest["error"]["kind"], *kind, "{key}: {manifest:#}");
        assert!(
            manifest["artifacts"].as_object().unwrap().is_empty(),
            "{key}"
        );
        let telemetry = &manifest["telemetry"];
        assert_eq!(telemetry["emitted"], telemetry["sent"], "{key}");
        let run_id = manifest["run_id"].as_str().unwrap();
        let completed: Vec<_> = completions
            .iter()
            .filter(|(id, _)| id == run_id)
            .map(|(_, completed)| completed)
            .collect();
        assert_eq!(completed.len(), 1, "{key}");
        assert_eq!(completed[0].status, RunStatus::Failed, "{key}");
        let error = completed[0]
            .error
            .as_ref()
            .expect("failed run has an error");
        assert_eq!(error.kind, *kind, "{key}");
    }
    let good = assert_succeeded(&world, "uploads/good.md").await;
    assert_eq!(
        summary
            .records
            .iter()
            .filter(|r| r.outcome == "failed")
            .count(),
        cases.len()
    );
    assert_eq!(completions.len(), cases.len() + 1);
    let good_run = good["run_id"].as_str().unwrap();
    assert!(
        completions
            .iter()
            .any(|(id, completed)| id == good_run && completed.status == RunStatus::Succeeded)
    );
    world.cleanup().await;
}

/// What a faulted run's telemetry report must show.
struct ExpectedDrops {
    /// Whether at least one event must be dropped (a slow SQS may still take everything).
    some: bool,
    /// The reasons drops may have.
    reasons: &'static [&'static str],
    /// Whether the drop-counter table is reachable, so no EMF line may stand in for it.
    table_up: bool,
}

/// Generates the sample with healthy telemetry, then again under `faults`, and checks the
/// faulted run still writes everything, costs at most the flush budget more, and accounts
/// for what the faults cost it.
async fn generation_survives(sqs_fault: Fault, dynamodb_fault: Fault, expected: ExpectedDrops) {
    let world = World::new().await;
    world
        .upload("uploads/baseline.md", SAMPLE.as_bytes().to_vec())
        .await;
    world
        .upload("uploads/faulted.md", SAMPLE.as_bytes().to_vec())
        .await;
    let started = Instant::now();
    world
        .invoke(&world.notification(&["uploads/baseline.md"]))
        .await
        .unwrap();
    let baseline = started.elapsed();

    world.sqs_proxy.switch(sqs_fault).await;
    world.dynamodb_proxy.switch(dynamodb_fault).await;
    let started = Instant::now();
    let summary = world
        .invoke(&world.notification(&["uploads/faulted.md"]))
        .await;
    let faulted = started.elapsed();

    assert!(summary.is_ok(), "{summary:?}");
    let manifest = assert_succeeded(&world, "uploads/faulted.md").await;
    // A bound, not a speed goal: slack covers scheduling on a busy two-core machine.
    let bound = baseline + world.telemetry_config.flush_budget + Duration::from_millis(400);
    assert!(
        faulted <= bound,
        "faulted run took {faulted:?}, baseline {baseline:?}"
    );
    let telemetry = &manifest["telemetry"];
    let dropped_total = telemetry["dropped_total"].as_u64().unwrap();
    assert!(!expected.some || dropped_total > 0, "{telemetry:#}");
    for (reason, count) in telemetry["dropped"].as_object().unwrap() {
        assert!(
            count == 0 || expected.reasons.contains(&reason.as_str()),
            "unexpected drops for `{reason}`: {telemetry:#}"
        );
    }
    let run_id = manifest["run_id"].as_str().unwrap();
    let emf: Vec<Value> = world
        .emf_lines
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).expect("EMF line is JSON"))
        .filter(|line: &Value| line["run_id"] == run_id)
        .collect();
    if expected.table_up || dropped_total == 0 {
        // With the table up the write must not fail; on a loaded machine its answer may still
        // miss the flush's reserve, which the line marks as uncertain rather than failed.
        let late = emf
            .iter()
            .all(|line| line["DropCounterWriteUncertain"] == true);
        if telemetry["drops_recorded"] != true {
            assert!(
                dropped_total > 0 && !emf.is_empty() && late,
                "{telemetry:#} {emf:?}"
            );
        }
        assert!(
            emf.iter()
                .all(|line| line["DropCounterWritten"] == true || late),
            "{emf:?}"
        );
    } else {
        assert_eq!(telemetry["drops_recorded"], false, "{telemetry:#}");
        assert_eq!(emf.len(), 1, "one EMF line per flush: {emf:?}");
        assert_eq!(emf[0]["DropCounterWritten"], false);
        let carried: u64 = emf[0]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with("Dropped_"))
            .map(|(_, count)| count.as_u64().unwrap())
            .sum();
        assert_eq!(carried, dropped_total, "{:#}", emf[0]);
    }

    world.sqs_proxy.set(Fault::Pass);
    world.dynamodb_proxy.set(Fault::Pass);
    // Every event SQS acknowledged is there; events given up while unanswered may be too.
    let queued = world
        .queued_events()
        .await
        .into_iter()
        .filter(|event| event.run_id == run_id)
        .count() as u64;
    let sent = telemetry["sent"].as_u64().unwrap();
    let unconfirmed = telemetry["dropped"]["unconfirmed"].as_u64().unwrap();
    assert!(
        sent <= queued && queued <= sent + unconfirmed,
        "queued {queued}: {manifest:#}"
    );
    world.cleanup().await;
}

#[tokio::test]
async fn generation_succeeds_when_sqs_refuses_connections() {
    let expected = ExpectedDrops {
        some: true,
        reasons: &["send_failed", "circuit_open", "flush_timeout"],
        table_up: true,
    };
    generation_survives(Fault::Refuse, Fault::Pass, expected).await;
}

#[tokio::test]
async fn generation_succeeds_when_sqs_is_blackholed() {
    let expected = ExpectedDrops {
        some: true,
        reasons: &["unconfirmed", "circuit_open", "flush_timeout"],
        table_up: true,
    };
    generation_survives(Fault::Blackhole, Fault::Pass, expected).await;
}

#[tokio::test]
async fn generation_succeeds_when_sqs_is_slow() {
    let expected = ExpectedDrops {
        some: false,
        reasons: &["unconfirmed", "flush_timeout"],
        table_up: true,
    };
    generation_survives(
        Fault::Delay(Duration::from_millis(150)),
        Fault::Pass,
        expected,
    )
    .await;
}

#[tokio::test]
async fn generation_succeeds_when_sqs_and_dynamodb_are_both_down() {
    let expected = ExpectedDrops {
        some: true,
        reasons: &["unconfirmed", "circuit_open", "flush_timeout"],
        table_up: false,
    };
    generation_survives(Fault::Blackhole, Fault::Refuse, expected).await;
}

#[tokio::test]
async fn a_duplicate_delivery_is_recognised_by_its_etag_and_not_regenerated() {
    let world = World::new().await;
    let first_upload = world
        .upload("uploads/once.md", SAMPLE.as_bytes().to_vec())
        .await;
    let event = world.notification_of(&[("uploads/once.md", Some(&first_upload))]);
    world.invoke(&event).await.unwrap();
    let first = world.manifest("uploads/once.md").await;
    assert_eq!(first["source"]["etag"], first_upload.etag.as_str());
    assert!(!world.queued_events().await.is_empty());

    let again = world.invoke(&event).await.unwrap();

    assert_eq!(again.records[0].outcome, "duplicate");
    assert_eq!(
        world.manifest("uploads/once.md").await["run_id"],
        first["run_id"]
    );
    assert!(
        world.queued_events().await.is_empty(),
        "a duplicate starts no run"
    );
    let second_upload = world
        .upload(
            "uploads/once.md",
            format!("{SAMPLE}\n\nA new paragraph.").into_bytes(),
        )
        .await;
    assert_ne!(second_upload.etag, first_upload.etag);
    let changed = world
        .invoke(&world.notification_of(&[("uploads/once.md", Some(&second_upload))]))
        .await
        .unwrap();
    assert_eq!(
        changed.records[0].outcome, "succeeded",
        "a new version is generated"
    );
    let manifest = world.manifest("uploads/once.md").await;
    assert_eq!(manifest["source"]["etag"], second_upload.etag.as_str());
    world.cleanup().await;
}

/// Uploads two versions of one key, generates the newer, then delivers the older one's
/// notification late: it must be skipped and leave the newer outputs alone. In a versioned
/// bucket the newer version has the same content, so only the version id tells them apart.
async fn stale_notification_is_skipped(versioned: bool) {
    let world = World::new().await;
    if versioned {
        let enabled = aws_sdk_s3::types::VersioningConfiguration::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
            .build();
        world
            .s3
            .put_bucket_versioning()
            .bucket(&world.bucket)
            .versioning_configuration(enabled)
            .send()
            .await
            .expect("versioning enabled");
    }
    let key = "uploads/revised.md";
    let older = world.upload(key, SAMPLE.as_bytes().to_vec()).await;
    let revised = if versioned {
        SAMPLE.to_string()
    } else {
        format!("{SAMPLE}\n\nA revised ending.")
    };
    let newer = world.upload(key, revised.into_bytes()).await;
    assert_eq!(versioned, newer.version_id.is_some());
    assert_eq!(versioned, newer.etag == older.etag);
    world
        .invoke(&world.notification_of(&[(key, Some(&newer))]))
        .await
        .unwrap();
    let current = world.manifest(key).await;
    let pack_key = current["artifacts"]["learning_pack"].as_str().unwrap();
    let pack = world.object(pack_key).await;
    world.queued_events().await;

    let summary = world
        .invoke(&world.notification_of(&[(key, Some(&older))]))
        .await
        .expect("a stale notification does not fail the invocation");

    assert_eq!(summary.records[0].outcome, "superseded", "{summary:?}");
    assert_eq!(world.manifest(key).await, current);
    assert_eq!(world.object(pack_key).await, pack);
    let completions = World::completions(&world.queued_events().await);
    assert_eq!(completions.len(), 1, "{completions:?}");
    let (_, completed) = &completions[0];
    assert_eq!(completed.status, RunStatus::Failed);
    assert_eq!(completed.error.as_ref().unwrap().kind, "superseded");
    world.cleanup().await;
}

#[tokio::test]
async fn a_stale_notification_is_skipped_and_keeps_the_newer_outputs() {
    stale_notification_is_skipped(false).await;
}

#[tokio::test]
async fn a_stale_version_in_a_versioned_bucket_is_skipped() {
    stale_notification_is_skipped(true).await;
}

#[tokio::test]
async fn an_s3_outage_fails_the_invocation_as_retryable() {
    let world = World::new().await;
    world
        .upload("uploads/later.md", SAMPLE.as_bytes().to_vec())
        .await;
    world.s3_proxy.switch(Fault::Refuse).await;

    let error = world
        .invoke(&world.notification(&["uploads/later.md"]))
        .await
        .unwrap_err();

    assert!(error.retryable, "{error}");
    assert_eq!(Diagnostic::from(error).error_type, "Retryable");
    world.s3_proxy.set(Fault::Pass);
    let retried = world
        .invoke(&world.notification(&["uploads/later.md"]))
        .await
        .unwrap();
    assert_eq!(retried.records[0].outcome, "succeeded");
    world.cleanup().await;
}

#[tokio::test]
async fn a_blackholed_s3_fails_the_invocation_as_retryable_within_the_timeouts() {
    let mut world = World::new().await;
    let timeouts = StorageTimeouts {
        connect: Duration::from_millis(200),
        attempt: Duration::from_millis(500),
        operation: Duration::from_millis(1500),
        body: Duration::from_secs(1),
    };
    world.store = s3_store(&world.s3_proxy, &timeouts);
    world
        .upload("uploads/stuck.md", SAMPLE.as_bytes().to_vec())
        .await;
    world.s3_proxy.switch(Fault::Blackhole).await;

    let event = world.notification(&["uploads/stuck.md"]);
    let started = Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(10), world.invoke(&event))
        .await
        .expect("the invocation ends on its own, not by being killed")
        .unwrap_err();

    assert!(error.retryable, "{error}");
    assert_eq!(Diagnostic::from(error).error_type, "Retryable");
    assert!(
        started.elapsed() < timeouts.operation + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    world.s3_proxy.set(Fault::Pass);
    world.cleanup().await;
}

#[tokio::test]
async fn a_permanent_s3_fault_fails_the_invocation_as_non_retryable_after_every_record() {
    let world = World::new().await;
    world
        .upload("uploads/fine.md", SAMPLE.as_bytes().to_vec())
        .await;
    let mut event = world.notification(&["uploads/lost.md", "uploads/fine.md"]);
    event["Records"][0]["s3"]["bucket"]["name"] = json!(format!("{}-gone", world.bucket));

    let error = world.invoke(&event).await.unwrap_err();

    assert!(!error.retryable, "{error}");
    assert_eq!(Diagnostic::from(error).error_type, "NonRetryable");
    assert_succeeded(&world, "uploads/fine.md").await;
    world.cleanup().await;
}

#[tokio::test]
async fn aws_and_eventbridge_shapes_with_encoded_keys_are_processed() {
    let world = World::new().await;
    let key = "uploads/biology/photosynthesis notes été.md";
    world.upload(key, SAMPLE.as_bytes().to_vec()).await;

    let mut aws = fixture("s3-put.json");
    aws["Records"][0]["s3"]["bucket"]["name"] = json!(world.bucket);
    aws["Records"][0]["s3"]["object"]["eTag"] = Value::Null;
    let summary = world.invoke(&aws).await.unwrap();
    assert_eq!(summary.records[0].key.as_deref(), Some(key));
    assert_eq!(summary.records[0].outcome, "succeeded");
    assert_succeeded(&world, key).await;

    let other = "uploads/biology/second copy.md";
    world.upload(other, SAMPLE.as_bytes().to_vec()).await;
    let mut bridge = fixture("eventbridge-object-created.json");
    bridge["detail"]["bucket"]["name"] = json!(world.bucket);
    bridge["detail"]["object"]["key"] = json!(other);
    bridge["detail"]["object"]["etag"] = Value::Null;
    bridge["detail"]["object"]["version-id"] = Value::Null;
    let summary = world.invoke(&bridge).await.unwrap();
    assert_eq!(summary.records[0].outcome, "succeeded", "{summary:?}");
    world.cleanup().await;
}

#[tokio::test]
async fn test_events_and_keys_outside_the_upload_prefix_are_ignored() {
    let world = World::new().await;
    let summary = world.invoke(&fixture("s3-test-event.json")).await.unwrap();
    assert!(summary.records.is_empty());

    world
        .upload("packs/x.md/manifest.json", b"{}".to_vec())
        .await;
    let summary = world
        .invoke(&world.notification(&["packs/x.md/manifest.json"]))
        .await
        .unwrap();
    assert_eq!(summary.records[0].outcome, "ignored");
    assert!(
        world.queued_events().await.is_empty(),
        "an ignored key starts no run"
    );
    world.cleanup().await;
}
