//! The telemetry client against moto through the fault proxy: every test checks delivery (what
//! is really in the queue) and accounting (the flush report and the drop-counter table)
//! against each other.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use packforge_telemetry::{
    DropCounterTable, DropReason, FlushOptions, FlushReport, SqsTransport, TelemetryClient,
    TelemetryConfig, TelemetryEvent,
    breaker::BreakerState,
    drop_counter::{DropContext, EmfSink, utc_day},
    event::{EventBody, Extra, Pipeline, RunStarted, Source},
};
use packforge_testkit::{
    fault_proxy::{Fault, FaultProxy},
    resources::{create_drop_table, create_queue, drain_bodies, drop_count},
    stack::{LocalStack, sdk_config, unique_name},
};
use serde_json::Value;
use tokio::time::Instant;

/// One test's world: a fresh queue and table in moto, each service behind its own proxy.
struct World {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    sqs_proxy: FaultProxy,
    dynamodb_proxy: FaultProxy,
    queue_url: String,
    table: String,
    run_id: String,
    emf_lines: Arc<Mutex<Vec<String>>>,
    /// Events made since the last flush; every test emits each event it makes, so a report
    /// must account for exactly these.
    made: AtomicU64,
}

impl World {
    async fn new() -> Self {
        let stack = LocalStack::from_env().expect("local stack");
        let direct = sdk_config(&stack.moto_url());
        let sqs = aws_sdk_sqs::Client::new(&direct);
        let dynamodb = aws_sdk_dynamodb::Client::new(&direct);
        let queue_url = create_queue(&sqs, "telemetry").await.expect("create queue");
        let table = create_drop_table(&dynamodb, "drops")
            .await
            .expect("create table");
        Self {
            sqs,
            dynamodb,
            sqs_proxy: FaultProxy::start(stack.moto_addr()).await.unwrap(),
            dynamodb_proxy: FaultProxy::start(stack.moto_addr()).await.unwrap(),
            queue_url,
            table,
            run_id: unique_name("run"),
            emf_lines: Arc::default(),
            made: AtomicU64::new(0),
        }
    }

    fn client(&self, config: TelemetryConfig) -> TelemetryClient {
        let transport = SqsTransport::new(
            &sdk_config(&self.sqs_proxy.url()),
            &self.queue_url,
            config.connect_timeout,
            config.attempt_timeout,
        );
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&self.dynamodb_proxy.url()));
        let lines = self.emf_lines.clone();
        let sink: EmfSink = Arc::new(move |line| lines.lock().unwrap().push(line.to_string()));
        TelemetryClient::builder(config)
            .drop_table(DropCounterTable::new(dynamodb, &self.table, "generate"))
            .emf_sink(sink)
            .start(transport)
    }

    fn event(&self, n: usize) -> TelemetryEvent {
        self.made.fetch_add(1, Ordering::Relaxed);
        TelemetryEvent::new(
            self.run_id.clone(),
            "doc-1",
            Pipeline::LearningPack,
            Source {
                function_name: "generate".into(),
                function_version: "$LATEST".into(),
                request_id: "request-1".into(),
                trace_id: None,
                extra: Extra::new(),
            },
            EventBody::RunStarted(RunStarted {
                bucket: "uploads".into(),
                key: format!("uploads/{n}.md"),
                etag: None,
                size_bytes: n as u64,
                extra: Extra::new(),
            }),
        )
    }

    async fn flush(&self, client: &TelemetryClient) -> FlushReport {
        let report = client
            .flush(FlushOptions {
                lambda_deadline: None,
                context: DropContext {
                    run_id: Some(self.run_id.clone()),
                    document_id: Some("doc-1".into()),
                },
            })
            .await;
        assert!(report.balances(), "report does not balance: {report:?}");
        let made = self.made.swap(0, Ordering::Relaxed);
        assert_eq!(report.emitted, made, "report lost events: {report:?}");
        report
    }

    /// The keys (`payload.key`) of queued events, which encode the emit order.
    async fn queued_keys(&self) -> Vec<String> {
        drain_bodies(&self.sqs, &self.queue_url)
            .await
            .expect("receive")
            .iter()
            .map(|body| TelemetryEvent::from_json(body).expect("queued event decodes"))
            .map(|event| match event.body {
                EventBody::RunStarted(started) => started.key,
                other => panic!("unexpected event {other:?}"),
            })
            .collect()
    }

    /// Today's counter for `reason` in the drop table, read directly from moto.
    async fn counted(&self, reason: DropReason) -> u64 {
        let day = utc_day(time::OffsetDateTime::now_utc());
        drop_count(
            &self.dynamodb,
            &self.table,
            "generate",
            &day,
            reason.as_str(),
        )
        .await
        .expect("read drop counter")
    }

    fn emf(&self) -> Vec<Value> {
        let lines = self.emf_lines.lock().unwrap();
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    async fn cleanup(self) {
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
        let _ = self
            .dynamodb
            .delete_table()
            .table_name(&self.table)
            .send()
            .await;
    }
}

fn fast_config() -> TelemetryConfig {
    TelemetryConfig {
        attempt_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(100),
        ..TelemetryConfig::default()
    }
}

fn keys(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("uploads/{n}.md")).collect()
}

#[tokio::test]
async fn healthy_sqs_receives_every_event_in_order_and_nothing_is_dropped() {
    let world = World::new().await;
    let client = world.client(fast_config());
    for n in 0..25 {
        client.emit(world.event(n));
    }
    let report = world.flush(&client).await;

    assert_eq!(
        (report.emitted, report.sent, report.dropped_total),
        (25, 25, 0)
    );
    assert_eq!(world.queued_keys().await, keys(0..25));
    assert!(world.emf().is_empty(), "nothing dropped, so no drop metric");
    world.cleanup().await;
}

#[tokio::test]
async fn refused_sqs_loses_events_that_are_counted_in_dynamodb() {
    let world = World::new().await;
    let client = world.client(fast_config());
    world.sqs_proxy.switch(Fault::Refuse).await;
    for n in 0..12 {
        client.emit(world.event(n));
    }
    let report = world.flush(&client).await;

    assert_eq!(report.emitted, 12);
    assert_eq!(report.sent, 0);
    assert!(report.drops_recorded);
    world.sqs_proxy.set(Fault::Pass);
    assert!(world.queued_keys().await.is_empty());
    let mut counted = 0;
    for reason in DropReason::ALL {
        assert_eq!(
            world.counted(reason).await,
            report.dropped.get(reason),
            "{reason}"
        );
        counted += world.counted(reason).await;
    }
    assert_eq!(counted, 12);
    assert_eq!(world.emf()[0]["DropCounterWritten"], true);
    assert!(world.emf()[0].get("DropCounterWriteUncertain").is_none());
    world.cleanup().await;
}

#[tokio::test]
async fn blackholed_sqs_flush_returns_within_budget_and_counts_leftovers() {
    let world = World::new().await;
    let config = fast_config();
    let client = world.client(config.clone());
    world.sqs_proxy.set(Fault::Blackhole);
    for n in 0..15 {
        client.emit(world.event(n));
    }
    let started = Instant::now();
    let report = world.flush(&client).await;
    let took = started.elapsed();

    // The deadline is a guarantee, not a speed goal: allow scheduling slack on a busy machine.
    assert!(
        took <= config.flush_budget + Duration::from_millis(150),
        "flush took {took:?}"
    );
    assert_eq!(report.sent, 0);
    // The batch on the wire is unconfirmed (SQS might have it); the rest never left the buffer.
    assert_eq!(report.dropped.get(DropReason::Unconfirmed), 10);
    assert_eq!(report.dropped.get(DropReason::FlushTimeout), 5);
    assert_eq!(world.counted(DropReason::Unconfirmed).await, 10);
    assert_eq!(world.counted(DropReason::FlushTimeout).await, 5);
    world.sqs_proxy.set(Fault::Pass);
    assert!(
        world.queued_keys().await.is_empty(),
        "abandoned events must not arrive"
    );
    world.cleanup().await;
}

#[tokio::test]
async fn slow_sqs_still_delivers_everything_within_the_budget() {
    let world = World::new().await;
    // Slow, but well inside the budget and the attempt timeout even on a loaded machine.
    let delay = Duration::from_millis(40);
    let config = TelemetryConfig {
        attempt_timeout: Duration::from_secs(1),
        flush_budget: Duration::from_secs(2),
        ..fast_config()
    };
    let client = world.client(config.clone());
    world.sqs_proxy.switch(Fault::Delay(delay)).await;
    for n in 0..10 {
        client.emit(world.event(n));
    }
    let started = Instant::now();
    let report = world.flush(&client).await;
    let took = started.elapsed();

    assert_eq!((report.sent, report.dropped_total), (10, 0));
    assert!(
        took >= delay && took <= config.flush_budget,
        "flush took {took:?}"
    );
    world.sqs_proxy.set(Fault::Pass);
    assert_eq!(world.queued_keys().await, keys(0..10));
    world.cleanup().await;
}

#[tokio::test]
async fn oversized_event_is_dropped_and_the_others_delivered() {
    let world = World::new().await;
    let client = world.client(fast_config());
    let mut huge = world.event(1);
    huge.extra
        .insert("padding".into(), Value::String("x".repeat(1024 * 1024)));
    client.emit(world.event(0));
    client.emit(huge);
    client.emit(world.event(2));
    let report = world.flush(&client).await;

    assert_eq!(report.sent, 2);
    assert_eq!(report.dropped.get(DropReason::Oversized), 1);
    assert_eq!(
        world.queued_keys().await,
        vec!["uploads/0.md", "uploads/2.md"]
    );
    assert_eq!(world.counted(DropReason::Oversized).await, 1);
    world.cleanup().await;
}

#[tokio::test]
async fn full_buffer_drops_are_counted_and_the_buffered_events_delivered() {
    let world = World::new().await;
    let config = TelemetryConfig {
        buffer_events: 5,
        ..fast_config()
    };
    let client = world.client(config);
    // A synchronous burst: the shipper has no chance to drain between emits.
    for n in 0..20 {
        client.emit(world.event(n));
    }
    let report = world.flush(&client).await;

    let queued = world.queued_keys().await;
    assert_eq!(report.emitted, 20);
    assert_eq!(report.sent as usize, queued.len());
    assert_eq!(
        report.dropped.get(DropReason::BufferFull) as usize,
        20 - queued.len()
    );
    assert!(
        report.dropped.get(DropReason::BufferFull) >= 10,
        "{report:?}"
    );
    assert_eq!(
        world.counted(DropReason::BufferFull).await,
        report.dropped.get(DropReason::BufferFull)
    );
    world.cleanup().await;
}

#[tokio::test]
async fn dynamodb_down_with_sqs_prints_the_emf_line_and_returns_in_time() {
    let world = World::new().await;
    let config = fast_config();
    let client = world.client(config.clone());
    world.sqs_proxy.set(Fault::Blackhole);
    world.dynamodb_proxy.set(Fault::Blackhole);
    for n in 0..7 {
        client.emit(world.event(n));
    }
    let started = Instant::now();
    let report = world.flush(&client).await;
    let took = started.elapsed();

    assert!(
        took <= config.flush_budget + Duration::from_millis(150),
        "flush took {took:?}"
    );
    assert!(!report.drops_recorded);
    let emf = world.emf();
    assert_eq!(emf.len(), 1);
    assert_eq!(emf[0]["DropCounterWritten"], false);
    // Unanswered, the write may have landed: the line says so.
    assert_eq!(emf[0]["DropCounterWriteUncertain"], true);
    assert_eq!(emf[0]["TelemetryDropped"], 7);
    assert_eq!(emf[0]["Dropped_unconfirmed"], 7);
    assert_eq!(emf[0]["run_id"], world.run_id.as_str());
    world.dynamodb_proxy.set(Fault::Pass);
    assert_eq!(
        world.counted(DropReason::Unconfirmed).await,
        0,
        "table write really failed"
    );
    world.cleanup().await;
}

#[tokio::test]
async fn breaker_opens_under_refusal_and_closes_after_recovery() {
    let world = World::new().await;
    let config = TelemetryConfig {
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(500),
        flush_budget: Duration::from_secs(2),
        ..fast_config()
    };
    let client = world.client(config.clone());
    world.sqs_proxy.switch(Fault::Refuse).await;
    client.emit(world.event(0));
    let failing = world.flush(&client).await;
    assert_eq!(failing.dropped.get(DropReason::SendFailed), 1);
    assert_eq!(client.breaker_state(), BreakerState::Open);

    for n in 1..6 {
        client.emit(world.event(n));
    }
    let open = world.flush(&client).await;
    assert_eq!(open.dropped.get(DropReason::CircuitOpen), 5);

    world.sqs_proxy.set(Fault::Pass);
    tokio::time::sleep(config.breaker_cooldown).await;
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    client.emit(world.event(6));
    let probe = world.flush(&client).await;

    assert_eq!((probe.sent, probe.dropped_total), (1, 0));
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    assert_eq!(world.queued_keys().await, vec!["uploads/6.md"]);
    assert_eq!(world.counted(DropReason::CircuitOpen).await, 5);
    assert_eq!(world.counted(DropReason::SendFailed).await, 1);
    world.cleanup().await;
}
