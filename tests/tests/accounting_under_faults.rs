//! The accounting the project exists for, checked end to end under random faults.
//!
//! Many generation runs emit telemetry through one long-lived client while SQS, DynamoDB and
//! MongoDB fail in turns (refused, blackholed, slow, answers cut), switched between runs and
//! sometimes in the middle of one. The writer consumes the queue all along through the emulated
//! trigger, so MongoDB faults cause real redelivery and real dead-lettering. After recovery the
//! dead-letter queue is redriven with the operations library and everything is drained.
//!
//! Then every emitted event must be accounted for exactly: stored once in MongoDB, still in
//! the dead-letter queue, or counted in its run's flush report, with the `unconfirmed` drops
//! (SQS may or may not have them) as the only, explicit, slack. The drop counts must be in the
//! DynamoDB table for the flushes that say so and in the EMF lines for the others.
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

use aws_sdk_dynamodb::types::AttributeValue;
use packforge_ops::redrive::{RedriveOutcome, redrive};
use packforge_telemetry::{
    DropCounterTable, DropCounts, DropReason, FlushOptions, FlushReport, SqsTransport,
    TelemetryClient, TelemetryConfig, TelemetryEvent,
    drop_counter::{DropContext, EmfSink},
    event::{EventBody, Extra, Pipeline, RunStarted, Source},
};
use packforge_testkit::{
    fault_proxy::{Fault, FaultProxy},
    resources::drain_bodies,
    stack::{sdk_config, unique_name},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::Value;
use writer_support::WriterFixture;

/// Generation runs per test.
const RUNS: usize = 30;
/// The client's message limit here: small, so an oversized event is cheap to build.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Receives before SQS moves a message to the dead-letter queue.
const MAX_RECEIVE_COUNT: u32 = 2;

/// What one run emitted and what its flush reported.
struct RunRecord {
    run_id: String,
    event_ids: BTreeSet<String>,
    report: FlushReport,
}

/// What the stores hold for one run at the end.
#[derive(Default)]
struct Found {
    stored: u64,
    dead_lettered: u64,
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

/// Drains the queue, redrives the dead-letter queue and drains again until both are empty.
async fn recover(fixture: &WriterFixture) -> anyhow::Result<usize> {
    let mut redriven = 0;
    for _ in 0..5 {
        fixture.drain().await?;
        if fixture.dlq_size().await? == 0 {
            return Ok(redriven);
        }
        let outcome = redrive(&fixture.sqs, &fixture.redrive_request()).await?;
        let RedriveOutcome::Moved(moved) = outcome else {
            anyhow::bail!("moto has no move task, expected a client-side move: {outcome:?}");
        };
        redriven += moved.moved;
    }
    anyhow::bail!("dead-letter queue still not empty after five redrives")
}

/// Sum of each drop reason over every item of `component` in the drop-counter table.
async fn table_counts(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    component: &str,
) -> anyhow::Result<DropCounts> {
    let output = dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :component")
        .expression_attribute_values(":component", AttributeValue::S(component.into()))
        .consistent_read(true)
        .send()
        .await?;
    let mut counts = DropCounts::default();
    for item in output.items() {
        for reason in DropReason::ALL {
            if let Some(AttributeValue::N(n)) = item.get(reason.as_str()) {
                counts.add(reason, n.parse()?);
            }
        }
    }
    Ok(counts)
}

fn emf_count(line: &Value, reason: DropReason) -> u64 {
    line[format!("Dropped_{}", reason.as_str())]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emitted_event_is_stored_dead_lettered_or_counted() -> anyhow::Result<()> {
    let seed = std::env::var("PACKFORGE_ACCOUNTING_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("accounting seed: {seed} (replay with PACKFORGE_ACCOUNTING_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);

    let fixture = Arc::new(WriterFixture::start(MAX_RECEIVE_COUNT).await?);
    let sqs_proxy = FaultProxy::start(fixture.stack.moto_addr()).await?;
    let dynamodb_proxy = FaultProxy::start(fixture.stack.moto_addr()).await?;
    let emf_lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let client = {
        let config = client_config();
        let transport = SqsTransport::new(
            &sdk_config(&sqs_proxy.url()),
            &fixture.queue_url,
            config.connect_timeout,
            config.attempt_timeout,
        );
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&dynamodb_proxy.url()));
        let lines = emf_lines.clone();
        let sink: EmfSink = Arc::new(move |line| lines.lock().unwrap().push(line.to_string()));
        TelemetryClient::builder(config)
            .drop_table(DropCounterTable::new(dynamodb, &fixture.table, "generate"))
            .emf_sink(sink)
            .start(transport)
    };

    // Faults and runs, with the writer consuming all along.
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = spawn_consumer(fixture.clone(), stop.clone());
    let prefix = unique_name("acct");
    let mut runs = Vec::with_capacity(RUNS);
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

        let faults = format!(
            "sqs {:?}, dynamodb {:?}, mongodb {:?}",
            sqs_proxy.fault(),
            dynamodb_proxy.fault(),
            fixture.mongodb_proxy.fault()
        );
        let run_id = format!("{prefix}-{index:02}");
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
        assert!(
            report.balances(),
            "{run_id}: report does not balance: {report:?}"
        );
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

    // What the stores hold.
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let stored = fixture.stored_events().await?;
    for (event_id, document) in &stored {
        let run_id = document.get_str("run_id")?;
        let Some(run) = runs.iter().find(|run| run.run_id == run_id) else {
            panic!("stored event {event_id} belongs to no run of this test ({run_id})");
        };
        assert!(
            run.event_ids.contains(event_id),
            "{run_id}: stored event {event_id} was never emitted"
        );
        found.entry(run_id.to_string()).or_default().stored += 1;
    }
    // Events are valid, so none may stay dead-lettered once MongoDB is back; whatever would
    // still be there is counted per run, apart from what is stored.
    let mut dead_lettered = BTreeSet::new();
    for body in drain_bodies(&fixture.sqs, &fixture.dlq_url).await? {
        let event = TelemetryEvent::from_json(&body)?;
        let event_id = event.event_id.to_string();
        if !stored.contains_key(&event_id) && dead_lettered.insert(event_id) {
            found.entry(event.run_id).or_default().dead_lettered += 1;
        }
    }
    let summaries = fixture.run_summaries().await?;

    // Per run: exact accounting, with the unconfirmed slack made explicit.
    let mut unconfirmed_arrived = 0;
    for run in &runs {
        let report = &run.report;
        let found = found.remove(&run.run_id).unwrap_or_default();
        let arrived = found.stored + found.dead_lettered;
        let unconfirmed = report.dropped.get(DropReason::Unconfirmed);
        let certain_drops = report.dropped_total - unconfirmed;
        assert!(
            report.sent <= arrived && arrived <= report.sent + unconfirmed,
            "{}: sent {} <= stored {} + dead-lettered {} <= sent + unconfirmed {}: {report:?}",
            run.run_id,
            report.sent,
            found.stored,
            found.dead_lettered,
            unconfirmed,
        );
        let arrived_unconfirmed = arrived - report.sent;
        assert_eq!(
            arrived + certain_drops + (unconfirmed - arrived_unconfirmed),
            report.emitted,
            "{}: {report:?}",
            run.run_id
        );
        unconfirmed_arrived += arrived_unconfirmed;

        // The summary counts distinct event ids; a duplicate write would not show in
        // `generation_events` (same `_id`) but a lost one would show here.
        match summaries.get(&run.run_id) {
            Some(summary) => assert_eq!(
                summary.get_i32("event_count")? as u64,
                found.stored,
                "{}: run summary disagrees with stored events",
                run.run_id
            ),
            None => assert_eq!(found.stored, 0, "{}: stored but no summary", run.run_id),
        }
    }
    for run_id in summaries.keys() {
        assert!(
            runs.iter().any(|run| &run.run_id == run_id),
            "summary of unknown run {run_id}"
        );
    }
    assert!(
        found.is_empty(),
        "events of unknown runs: {:?}",
        found.keys()
    );

    // Drop counts: in the table for the flushes that wrote them, in EMF lines for all.
    let emf: Vec<Value> = emf_lines
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line))
        .collect::<Result<_, _>>()?;
    let mut in_table = DropCounts::default();
    let mut emf_only = DropCounts::default();
    let mut dropped = DropCounts::default();
    for run in &runs {
        let report = &run.report;
        dropped.merge(&report.dropped);
        let lines: Vec<&Value> = emf
            .iter()
            .filter(|line| line["run_id"] == run.run_id.as_str())
            .collect();
        if report.dropped_total == 0 {
            assert!(lines.is_empty(), "{}: EMF line without drops", run.run_id);
            continue;
        }
        assert_eq!(lines.len(), 1, "{}: one EMF line per flush", run.run_id);
        let line = lines[0];
        assert_eq!(line["DropCounterWritten"], report.drops_recorded);
        assert_eq!(line["TelemetryDropped"], report.dropped_total);
        for reason in DropReason::ALL {
            assert_eq!(
                emf_count(line, reason),
                report.dropped.get(reason),
                "{}: {reason}",
                run.run_id
            );
        }
        if report.drops_recorded {
            in_table.merge(&report.dropped);
        } else {
            emf_only.merge(&report.dropped);
        }
    }
    assert_eq!(
        emf.len(),
        runs.iter()
            .filter(|run| run.report.dropped_total > 0)
            .count()
    );
    let table = table_counts(&fixture.dynamodb, &fixture.table, "generate").await?;
    let mut from_emf = DropCounts::default();
    let mut uncertain = DropCounts::default();
    for line in emf
        .iter()
        .filter(|line| line["DropCounterWritten"] == false)
    {
        for reason in DropReason::ALL {
            from_emf.add(reason, emf_count(line, reason));
            if line["DropCounterWriteUncertain"] == true {
                uncertain.add(reason, emf_count(line, reason));
            }
        }
    }
    // A write whose answer was lost (moto slower than the flush deadline) may have landed:
    // its line says so, and only those counts may be in the table on top of the recorded ones.
    for reason in DropReason::ALL {
        let table = table.get(reason);
        let recorded = in_table.get(reason);
        assert!(
            recorded <= table && table <= recorded + uncertain.get(reason),
            "table: {reason}: {table} outside {recorded}..={}",
            recorded + uncertain.get(reason)
        );
        assert_eq!(from_emf.get(reason), emf_only.get(reason), "emf: {reason}");
    }

    // Totals.
    let emitted: u64 = runs.iter().map(|run| run.report.emitted).sum();
    let sent: u64 = runs.iter().map(|run| run.report.sent).sum();
    println!("accounting totals (seed {seed})");
    println!("  {:<28}{:>6}", "runs", runs.len());
    println!("  {:<28}{emitted:>6}", "emitted");
    println!("  {:<28}{sent:>6}", "sent (acknowledged)");
    println!("  {:<28}{:>6}", "stored in mongodb", stored.len());
    println!("  {:<28}{:>6}", "left dead-lettered", dead_lettered.len());
    println!("  {:<28}{redriven:>6}", "redriven from the dlq");
    for reason in DropReason::ALL {
        let label = format!("dropped: {reason}");
        println!("  {label:<28}{:>6}", dropped.get(reason));
    }
    println!(
        "  {:<28}{unconfirmed_arrived:>6}",
        "unconfirmed that arrived"
    );
    println!("  {:<28}{:>6}", "drops counted in dynamodb", table.total());
    println!("  {:<28}{:>6}", "drops only in emf lines", from_emf.total());
    println!("  {:<28}{:>6}", "writer invocations", consumer.invocations);
    println!(
        "  {:<28}{:>6}",
        "messages given to the writer", consumer.received
    );
    println!(
        "  {:<28}{:>6}",
        "messages failed by the writer", consumer.failed
    );
    assert_eq!(
        stored.len() as u64 + dead_lettered.len() as u64 + dropped.total() - unconfirmed_arrived,
        emitted
    );

    drop(client);
    let fixture = Arc::into_inner(fixture)
        .ok_or_else(|| anyhow::anyhow!("the consumer still holds the fixture"))?;
    fixture.cleanup().await
}
