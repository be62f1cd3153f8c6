//! The accounting the project exists for, checked end to end under random faults.
//!
//! Many generation runs emit telemetry through one long-lived client while SQS, DynamoDB and
//! MongoDB fail in turns (refused, blackholed, slow, answers cut), switched between runs and
//! sometimes in the middle of one. The writer consumes the queue all along through the emulated
//! trigger, with its own SQS and DynamoDB clients behind the same faults, so MongoDB faults cause
//! real redelivery and dead-lettering, and poison forwarding and counting fail now and then too.
//! A few poison bodies go in among the events. After recovery the dead-letter queue is redriven
//! with the operations library and everything is drained.
//!
//! Each run is then checked against sources its flush report does not feed: the event ids the
//! test emitted, the ids found in MongoDB and in the dead-letter queue (never both), and the drop
//! counts as an operator reads them (the drop-counter table, plus the EMF lines of counter writes
//! that failed). The events missing from both stores must be the report's certain drops, plus at
//! most its `unconfirmed` ones (SQS may or may not have those); the operator's totals must equal
//! the reports' drops, plus at most the counts of writes whose answer was lost. Poison lives in
//! the dead-letter queue with its reason and is counted once, under the writer; it is not a
//! telemetry drop.
//!
//! The seed is printed; `PACKFORGE_ACCOUNTING_SEED=<n>` replays a schedule of faults (timing on
//! a shared machine still varies, the assertions do not depend on it).

mod writer_support;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use aws_sdk_sqs::types::Message;
use packforge_ops::{
    drops::read_drops,
    redrive::{RedriveOutcome, redrive},
};
use packforge_telemetry::{
    DropCounterTable, DropReason, FlushOptions, FlushReport, SqsTransport, TelemetryClient,
    TelemetryConfig, TelemetryEvent,
    drop_counter::{DropContext, EmfSink},
    event::{EventBody, Extra, Pipeline, RunStarted, Source},
};
use packforge_testkit::{
    fault_proxy::{Fault, FaultProxy},
    stack::{sdk_config, unique_name},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use telemetry_writer::{COMPONENT as WRITER, poison::REASON_ATTRIBUTE};
use writer_support::{WriterFixture, build_writer};

/// Generation runs per test.
const RUNS: usize = 30;
/// The client's message limit here: small, so an oversized event is cheap to build.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Receives before SQS moves a message to the dead-letter queue.
const MAX_RECEIVE_COUNT: u32 = 2;
/// Component of the generate function's drop counters.
const GENERATE: &str = "generate";
/// A poison body goes in before every seventh run, starting with this one.
const FIRST_POISON_RUN: usize = 3;

/// Counts by drop reason.
type Counts = BTreeMap<String, u64>;

/// What one run emitted and what its flush reported.
struct RunRecord {
    run_id: String,
    event_ids: BTreeSet<String>,
    report: FlushReport,
}

/// A poison body the test sent, and the reason the writer must give it.
struct PoisonSent {
    body: String,
    reason: &'static str,
}

/// The event ids of one run found in each store at the end.
#[derive(Default)]
struct Found {
    stored: BTreeSet<String>,
    dead_lettered: BTreeSet<String>,
}

/// Drops of one component as an operator sees them.
#[derive(Debug, Default)]
struct OperatorView {
    /// Rows of the drop-counter table.
    table: Counts,
    /// EMF lines whose counter write failed: these counts are not in the table.
    emf_only: Counts,
    /// The part of `emf_only` whose write lost its answer, so may be in the table as well.
    uncertain: Counts,
}

impl OperatorView {
    async fn read(fixture: &WriterFixture, component: &str, emf: &[Value]) -> anyhow::Result<Self> {
        let mut view = Self::default();
        let now = time::OffsetDateTime::now_utc();
        // Two days, in case the test runs across midnight UTC.
        let components = [component.to_string()];
        let rows = read_drops(&fixture.dynamodb, &fixture.table, &components, 2, now).await?;
        for row in rows {
            *view.table.entry(row.reason).or_default() += row.count;
        }
        for line in emf.iter().filter(|line| line["Component"] == component) {
            if line["DropCounterWritten"] == true {
                continue;
            }
            let uncertain = line["DropCounterWriteUncertain"] == true;
            for (reason, n) in emf_counts(line) {
                *view.emf_only.entry(reason.clone()).or_default() += n;
                if uncertain {
                    *view.uncertain.entry(reason).or_default() += n;
                }
            }
        }
        Ok(view)
    }

    /// Table plus EMF-only counts, by reason.
    fn visible(&self) -> Counts {
        let mut visible = self.table.clone();
        for (reason, n) in &self.emf_only {
            *visible.entry(reason.clone()).or_default() += n;
        }
        visible
    }

    /// Asserts, reason by reason, `expected <= visible <= expected + uncertain`.
    fn assert_shows(&self, expected: &Counts, component: &str) {
        let visible = self.visible();
        let reasons: BTreeSet<&String> = visible.keys().chain(expected.keys()).collect();
        for reason in reasons {
            let shown = visible.get(reason).copied().unwrap_or(0);
            let low = expected.get(reason).copied().unwrap_or(0);
            let high = low + self.uncertain.get(reason).copied().unwrap_or(0);
            assert!(
                (low..=high).contains(&shown),
                "{component}: {reason}: operators see {shown}, expected {low}..={high}: {self:?}"
            );
        }
    }
}

/// The `Dropped_<reason>` counts of an EMF line, zeros left out.
fn emf_counts(line: &Value) -> Counts {
    let Some(fields) = line.as_object() else {
        return Counts::new();
    };
    fields
        .iter()
        .filter_map(|(name, value)| {
            let reason = name.strip_prefix("Dropped_")?;
            let n = value.as_u64().filter(|&n| n > 0)?;
            Some((reason.to_string(), n))
        })
        .collect()
}

/// Captures EMF lines instead of printing them.
#[derive(Clone, Default)]
struct EmfCapture(Arc<Mutex<Vec<String>>>);

impl EmfCapture {
    fn sink(&self) -> EmfSink {
        let lines = self.0.clone();
        Arc::new(move |line| lines.lock().unwrap().push(line.to_string()))
    }

    fn lines(&self) -> anyhow::Result<Vec<Value>> {
        let lines = self.0.lock().unwrap();
        Ok(lines
            .iter()
            .map(|line| serde_json::from_str(line))
            .collect::<Result<_, _>>()?)
    }
}

/// The `kind`-th poison body (one kind per reason), made unique by `marker`.
fn poison(kind: usize, marker: &str) -> PoisonSent {
    let (body, reason) = match kind % 4 {
        0 => (format!("not json {marker}"), "not_json"),
        1 => (
            json!({"schema_version": 2, "marker": marker}).to_string(),
            "unsupported_schema_version",
        ),
        2 => (
            json!({"marker": marker}).to_string(),
            "missing_schema_version",
        ),
        _ => (
            json!({"schema_version": 1, "type": "run_started", "marker": marker}).to_string(),
            "invalid_event",
        ),
    };
    PoisonSent { body, reason }
}

/// SDK settings of the writer's own clients here: each call bounded to a second, so a
/// blackholed proxy costs an invocation that long rather than its whole budget.
fn writer_sdk_config(endpoint_url: &str) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(200))
        .operation_timeout(Duration::from_secs(1))
        .build();
    sdk_config(endpoint_url)
        .into_builder()
        .timeout_config(timeouts)
        .build()
}

fn client_config() -> TelemetryConfig {
    TelemetryConfig {
        buffer_events: 8,
        flush_budget: Duration::from_millis(250),
        max_message_bytes: MAX_MESSAGE_BYTES,
        max_batch_bytes: 64 * 1024,
        attempt_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(100),
        max_attempts: 3,
        retry_budget: Duration::from_millis(800),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(200),
        ..TelemetryConfig::default()
    }
}

fn sqs_fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..20) {
        0..=8 => Fault::Pass,
        9..=11 => Fault::Refuse,
        12..=14 => Fault::Blackhole,
        15..=16 => Fault::Delay(Duration::from_millis(30)),
        // Longer than an attempt may take: SQS keeps the batch, the client never hears so.
        _ => Fault::Delay(Duration::from_millis(rng.random_range(250..400))),
    }
}

fn dynamodb_fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..10) {
        0..=6 => Fault::Pass,
        7..=8 => Fault::Refuse,
        _ => Fault::Blackhole,
    }
}

fn mongodb_fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..10) {
        0..=2 => Fault::Pass,
        3..=4 => Fault::Refuse,
        5..=6 => Fault::Blackhole,
        // The insert may be applied with its answer lost: redelivery must not duplicate it.
        _ => Fault::CutResponse {
            after_bytes: rng.random_range(0..2000),
        },
    }
}

fn event(run_id: &str, n: usize, padding: usize) -> TelemetryEvent {
    let mut event = TelemetryEvent::new(
        run_id,
        format!("doc-{run_id}"),
        Pipeline::LearningPack,
        Source {
            function_name: "generate".into(),
            function_version: "$LATEST".into(),
            request_id: format!("request-{run_id}"),
            trace_id: None,
            extra: Extra::new(),
        },
        EventBody::RunStarted(RunStarted {
            bucket: "uploads".into(),
            key: format!("uploads/{run_id}/{n}.md"),
            etag: None,
            size_bytes: n as u64,
            extra: Extra::new(),
        }),
    );
    if padding > 0 {
        event
            .extra
            .insert("padding".into(), Value::String("x".repeat(padding)));
    }
    event
}

/// What the writer did while faults were injected.
#[derive(Debug, Default)]
struct ConsumerTotals {
    /// Invocations with at least one message.
    invocations: usize,
    /// Messages handed to the writer, redeliveries included.
    received: usize,
    /// Messages the writer reported failed (left for redelivery).
    failed: usize,
}

/// The writer, invoked by the emulated trigger until told to stop.
fn spawn_consumer(
    fixture: Arc<WriterFixture>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<ConsumerTotals>> {
    tokio::spawn(async move {
        let mut totals = ConsumerTotals::default();
        while !stop.load(Ordering::Relaxed) {
            let invocation = fixture.invoke_once().await?;
            if !invocation.received.is_empty() {
                totals.invocations += 1;
                totals.received += invocation.received.len();
                totals.failed += invocation.failed.len();
            }
        }
        Ok(totals)
    })
}

/// Drains the queue and redrives the dead-letter queue until a redrive finds nothing to move
/// (poison stays behind, as it should).
async fn recover(fixture: &WriterFixture) -> anyhow::Result<usize> {
    let mut redriven = 0;
    for _ in 0..5 {
        fixture.drain().await?;
        let outcome = redrive(&fixture.sqs, &fixture.redrive_request()).await?;
        let RedriveOutcome::Moved(moved) = outcome else {
            anyhow::bail!("skipping poison needs a client-side move: {outcome:?}");
        };
        if moved.moved == 0 && moved.failed == 0 {
            return Ok(redriven);
        }
        redriven += moved.moved;
    }
    anyhow::bail!("the dead-letter queue still had events to move after five redrives")
}

/// The reason attribute of a message the writer dead-lettered as poison.
fn poison_reason(message: &Message) -> Option<&str> {
    message
        .message_attributes()?
        .get(REASON_ATTRIBUTE)?
        .string_value()
}

fn sum(counts: &Counts) -> u64 {
    counts.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emitted_event_is_stored_dead_lettered_or_counted() -> anyhow::Result<()> {
    let seed = std::env::var("PACKFORGE_ACCOUNTING_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("accounting seed: {seed} (replay with PACKFORGE_ACCOUNTING_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);

    let mut fixture = WriterFixture::start(MAX_RECEIVE_COUNT).await?;
    let sqs_proxy = FaultProxy::start(fixture.stack.moto_addr()).await?;
    let dynamodb_proxy = FaultProxy::start(fixture.stack.moto_addr()).await?;
    let generate_emf = EmfCapture::default();
    let writer_emf = EmfCapture::default();
    let client = {
        let config = client_config();
        let transport = SqsTransport::new(
            &sdk_config(&sqs_proxy.url()),
            &fixture.queue_url,
            config.connect_timeout,
            config.attempt_timeout,
        );
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&dynamodb_proxy.url()));
        TelemetryClient::builder(config)
            .drop_table(DropCounterTable::new(dynamodb, &fixture.table, GENERATE))
            .emf_sink(generate_emf.sink())
            .start(transport)
    };
    // The writer's dead-letter sends and drop counters meet the same faults as the client.
    fixture.writer = build_writer(
        &fixture.mongodb_proxy,
        &fixture.database,
        aws_sdk_sqs::Client::new(&writer_sdk_config(&sqs_proxy.url())),
        &fixture.dlq_url,
        aws_sdk_dynamodb::Client::new(&writer_sdk_config(&dynamodb_proxy.url())),
        &fixture.table,
        fixture.key.clone(),
    )
    .await?
    .with_emf_sink(writer_emf.sink());
    let fixture = Arc::new(fixture);

    // Faults and runs, with the writer consuming all along.
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = spawn_consumer(fixture.clone(), stop.clone());
    let prefix = unique_name("acct");
    let mut runs = Vec::with_capacity(RUNS);
    let mut poison_sent = Vec::new();
    let mut mongodb_phase_ends = 0;
    for index in 0..RUNS {
        sqs_proxy.switch(sqs_fault(&mut rng)).await;
        dynamodb_proxy.switch(dynamodb_fault(&mut rng)).await;
        // MongoDB faults last several runs: long enough for failed batches to come back
        // `MAX_RECEIVE_COUNT` times and move to the dead-letter queue.
        if index == mongodb_phase_ends {
            fixture.mongodb_proxy.switch(mongodb_fault(&mut rng)).await;
            mongodb_phase_ends += rng.random_range(4..=8);
        }
        let run_id = format!("{prefix}-{index:02}");
        if index % 7 == FIRST_POISON_RUN {
            let sent = poison(index / 7, &run_id);
            fixture
                .send_bodies(std::slice::from_ref(&sent.body))
                .await?;
            poison_sent.push(sent);
        }

        let faults = format!(
            "sqs {:?}, dynamodb {:?}, mongodb {:?}",
            sqs_proxy.fault(),
            dynamodb_proxy.fault(),
            fixture.mongodb_proxy.fault()
        );
        let count = rng.random_range(5..=15);
        let switch_at = rng.random_bool(0.3).then(|| rng.random_range(1..count));
        let mut switched = String::new();
        let mut event_ids = BTreeSet::new();
        for n in 0..count {
            if Some(n) == switch_at {
                let (sqs, mongodb) = (sqs_fault(&mut rng), mongodb_fault(&mut rng));
                sqs_proxy.set(sqs);
                fixture.mongodb_proxy.set(mongodb);
                switched = format!(", then at event {n} sqs {sqs:?}, mongodb {mongodb:?}");
            }
            let padding = if rng.random_ratio(1, 30) {
                MAX_MESSAGE_BYTES
            } else {
                0
            };
            let event = event(&run_id, n, padding);
            event_ids.insert(event.event_id.to_string());
            client.emit(event);
            // Mostly bursts (which can fill the small buffer), sometimes a pause.
            if rng.random_ratio(1, 4) {
                tokio::time::sleep(Duration::from_millis(rng.random_range(5..40))).await;
            }
        }
        let report = client
            .flush(FlushOptions {
                lambda_deadline: None,
                context: DropContext {
                    run_id: Some(run_id.clone()),
                    document_id: Some(format!("doc-{run_id}")),
                },
            })
            .await;
        assert!(report.balances(), "{run_id}: unbalanced: {report:?}");
        assert_eq!(report.emitted, count as u64, "{run_id}: {report:?}");
        println!(
            "run {index:02}: {faults}{switched}: emitted {}, sent {}, dropped {:?}",
            report.emitted,
            report.sent,
            report.dropped.nonzero().collect::<Vec<_>>()
        );
        runs.push(RunRecord {
            run_id,
            event_ids,
            report,
        });
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..250))).await;
    }

    // Recovery: every fault lifted, the dead-letter queue redriven, everything written.
    for proxy in [&sqs_proxy, &dynamodb_proxy, &fixture.mongodb_proxy] {
        proxy.switch(Fault::Pass).await;
    }
    stop.store(true, Ordering::Relaxed);
    let consumer = consumer.await??;
    let redriven = recover(&fixture).await?;
    assert_eq!(fixture.trigger.approximate_messages().await?, 0);

    // What the stores hold, by run: MongoDB's event ids, and the dead-letter queue's, where
    // anything that is not an event must be poison the writer labelled.
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let stored = fixture.stored_events().await?;
    for (event_id, document) in &stored {
        let run_id = document.get_str("run_id")?.to_string();
        found
            .entry(run_id)
            .or_default()
            .stored
            .insert(event_id.clone());
    }
    let mut poison_copies: BTreeMap<&str, u64> = BTreeMap::new();
    let dead = fixture.drain_dlq().await?;
    for message in &dead {
        let body = message.body().unwrap_or_default();
        if let Some(reason) = poison_reason(message) {
            let sent = poison_sent.iter().find(|sent| sent.body == body);
            let sent = sent.unwrap_or_else(|| panic!("dead-lettered as {reason}: {body}"));
            assert_eq!(reason, sent.reason, "{body}");
            *poison_copies.entry(sent.reason).or_default() += 1;
            continue;
        }
        let event = TelemetryEvent::from_json(body)?;
        let found = found.entry(event.run_id).or_default();
        found.dead_lettered.insert(event.event_id.to_string());
    }
    let summaries = fixture.run_summaries().await?;

    // Per run: what is missing from both stores is what the report dropped, with its
    // `unconfirmed` drops as the only, explicit, slack.
    let mut missing_total = 0;
    for run in &runs {
        let (run_id, report) = (&run.run_id, &run.report);
        let found = found.remove(run_id).unwrap_or_default();
        for (store, ids) in [("mongodb", &found.stored), ("dlq", &found.dead_lettered)] {
            let unknown: Vec<_> = ids.difference(&run.event_ids).collect();
            assert!(
                unknown.is_empty(),
                "{run_id}: {store} has unemitted {unknown:?}"
            );
        }
        let both: Vec<_> = found.stored.intersection(&found.dead_lettered).collect();
        assert!(
            both.is_empty(),
            "{run_id}: stored and dead-lettered: {both:?}"
        );

        let arrived = found.stored.len() + found.dead_lettered.len();
        let missing = (run.event_ids.len() - arrived) as u64;
        let unconfirmed = report.dropped.get(DropReason::Unconfirmed);
        let certain = report.dropped_total - unconfirmed;
        assert!(
            certain <= missing && missing <= certain + unconfirmed,
            "{run_id}: emitted {} - stored {} - dead-lettered {} = {missing} missing, \
             not certain drops {certain} plus at most {unconfirmed} unconfirmed: {report:?}",
            run.event_ids.len(),
            found.stored.len(),
            found.dead_lettered.len(),
        );
        missing_total += missing;

        // The summary counts distinct event ids; a duplicate write would not show in
        // `generation_events` (same `_id`) but a lost or doubled summary update would here.
        let summarised = match summaries.get(run_id) {
            Some(summary) => summary.get_i32("event_count")? as usize,
            None => 0,
        };
        assert_eq!(
            summarised,
            found.stored.len(),
            "{run_id}: summary disagrees"
        );
    }
    assert!(
        found.is_empty(),
        "events of unknown runs: {:?}",
        found.keys()
    );
    let unknown: Vec<_> = summaries
        .keys()
        .filter(|run_id| !runs.iter().any(|run| &run.run_id == *run_id))
        .collect();
    assert!(unknown.is_empty(), "summaries of unknown runs: {unknown:?}");

    // Each flush with drops wrote one EMF line carrying its counts, and no other flush did.
    let generate_lines = generate_emf.lines()?;
    let mut dropped = Counts::new();
    for run in &runs {
        let expected: Counts = run
            .report
            .dropped
            .nonzero()
            .map(|(reason, n)| (reason.to_string(), n))
            .collect();
        let lines: Vec<&Value> = generate_lines
            .iter()
            .filter(|line| line["run_id"] == run.run_id.as_str())
            .collect();
        let counts: Vec<Counts> = lines.iter().map(|line| emf_counts(line)).collect();
        if expected.is_empty() {
            assert!(counts.is_empty(), "{}: EMF line without drops", run.run_id);
            continue;
        }
        assert_eq!(
            counts,
            std::slice::from_ref(&expected),
            "{}: one line per flush",
            run.run_id
        );
        assert_eq!(lines[0]["DropCounterWritten"], run.report.drops_recorded);
        for (reason, n) in expected {
            *dropped.entry(reason).or_default() += n;
        }
    }

    // What operators see, the table plus the EMF lines of failed writes, is the reports'
    // drops, plus at most what writes that lost their answer may have added to the table.
    let generate_view = OperatorView::read(&fixture, GENERATE, &generate_lines).await?;
    generate_view.assert_shows(&dropped, GENERATE);

    // Poison: in the dead-letter queue with its reason (a forward whose answer was lost can
    // leave a second copy), counted once per message under the writer, in no drop sum above.
    let mut expected_poison = Counts::new();
    for sent in &poison_sent {
        assert!(
            poison_copies.contains_key(sent.reason),
            "poison {} is not in the dead-letter queue",
            sent.reason
        );
        *expected_poison
            .entry(format!("poison_{}", sent.reason))
            .or_default() += 1;
    }
    let writer_view = OperatorView::read(&fixture, WRITER, &writer_emf.lines()?).await?;
    writer_view.assert_shows(&expected_poison, WRITER);

    // Totals.
    let emitted: usize = runs.iter().map(|run| run.event_ids.len()).sum();
    let sent: u64 = runs.iter().map(|run| run.report.sent).sum();
    let poison_in_dlq: u64 = poison_copies.values().sum();
    let events_in_dlq = dead.len() as u64 - poison_in_dlq;
    println!("accounting totals (seed {seed})");
    let mut rows = vec![
        ("runs".to_string(), runs.len() as u64),
        ("emitted".into(), emitted as u64),
        ("sent (acknowledged)".into(), sent),
        ("stored in mongodb".into(), stored.len() as u64),
        ("events left dead-lettered".into(), events_in_dlq),
        ("missing from both".into(), missing_total),
        ("redriven from the dlq".into(), redriven as u64),
    ];
    for reason in DropReason::ALL {
        let n = dropped.get(reason.as_str()).copied().unwrap_or(0);
        rows.push((format!("dropped: {reason}"), n));
    }
    rows.extend([
        (
            "unconfirmed that arrived".into(),
            sum(&dropped) - missing_total,
        ),
        (
            "drops in the dynamodb table".into(),
            sum(&generate_view.table),
        ),
        (
            "drops only in emf lines".into(),
            sum(&generate_view.emf_only),
        ),
        (
            "  of which maybe in the table".into(),
            sum(&generate_view.uncertain),
        ),
        ("poison sent".into(), poison_sent.len() as u64),
        ("poison copies in the dlq".into(), poison_in_dlq),
        ("poison counted".into(), sum(&writer_view.visible())),
        ("writer invocations".into(), consumer.invocations as u64),
        (
            "messages given to the writer".into(),
            consumer.received as u64,
        ),
        (
            "messages failed by the writer".into(),
            consumer.failed as u64,
        ),
    ]);
    for (label, value) in rows {
        println!("  {label:<32}{value:>6}");
    }

    drop(client);
    let fixture = Arc::into_inner(fixture)
        .ok_or_else(|| anyhow::anyhow!("the consumer still holds the fixture"))?;
    fixture.cleanup().await
}
