//! Prints what telemetry costs a generation run, against moto through the fault proxy.
//!
//! Run: `scripts/stack.sh start && source .stack/env &&
//!       cargo bench -p packforge-telemetry --bench telemetry_overhead`
//!
//! Figures: the median cost of one `emit`; the median SQS round trip, the floor of a flush
//! that confirms delivery; the median latency of a simulated generation run
//! (100 ms of CPU work with 30 events emitted along the way, then a flush) with telemetry
//! against healthy SQS (also for a 1 s run), blackholed SQS and an already-open breaker, each
//! as a ratio to the same run with telemetry off; and the naive design that awaits each SQS
//! send inline, side by side.

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use packforge_telemetry::{
    FlushOptions, SqsTransport, TelemetryClient, TelemetryConfig, TelemetryEvent,
    breaker::BreakerState,
    drop_counter::EmfSink,
    event::{EventBody, Extra, Pipeline, RunStarted, Source},
    transport::{BatchResult, OutgoingEntry, Transport, TransportError},
};
use packforge_testkit::{
    fault_proxy::{Fault, FaultProxy},
    stack::{LocalStack, sdk_config, unique_name},
};

const EVENTS_PER_RUN: usize = 30;
const RUNS: usize = 15;

/// Accepts every batch at once: isolates the cost of `emit` from any network.
#[derive(Clone)]
struct AcceptAll;

impl Transport for AcceptAll {
    async fn send_batch(&self, _: Vec<OutgoingEntry>) -> Result<BatchResult, TransportError> {
        Ok(BatchResult::default())
    }
}

fn event(n: usize) -> TelemetryEvent {
    TelemetryEvent::new(
        "run-bench",
        "doc-bench",
        Pipeline::LearningPack,
        Source {
            function_name: "generate".into(),
            function_version: "$LATEST".into(),
            request_id: "bench".into(),
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

/// One step of a short run: ten of them make a 100 ms run.
const SHORT_STEP: Duration = Duration::from_millis(10);
/// One step of a long run: ten of them make a 1 s run, closer to a real one with its S3 reads
/// and writes.
const LONG_STEP: Duration = Duration::from_millis(100);

/// `step` of CPU work, standing in for one step of extraction or generation; a simulated run
/// does ten of them.
fn work_step(step: Duration) -> u64 {
    let started = Instant::now();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut i = 0_u64;
    while started.elapsed() < step {
        for _ in 0..1000 {
            x = black_box(x.rotate_left(5) ^ i.wrapping_mul(0x100_0000_01b3));
            i += 1;
        }
    }
    x
}

fn silent() -> EmfSink {
    Arc::new(|_| {})
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn run_with(client: Option<&TelemetryClient>, step: Duration) -> Duration {
    let started = Instant::now();
    for n in 0..EVENTS_PER_RUN {
        if n % 3 == 0 {
            work_step(step);
        }
        let event = event(n);
        if let Some(client) = client {
            client.emit(event);
        } else {
            black_box(event);
        }
        tokio::task::yield_now().await;
    }
    if let Some(client) = client {
        let report = client.flush(FlushOptions::default()).await;
        assert!(report.balances());
    }
    started.elapsed()
}

async fn naive_run(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Duration {
    let started = Instant::now();
    for n in 0..EVENTS_PER_RUN {
        if n % 3 == 0 {
            work_step(SHORT_STEP);
        }
        let body = event(n).to_json().expect("encode");
        let _ = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await;
    }
    started.elapsed()
}

/// The median of [`RUNS`] runs; the queue is emptied between runs (untimed) because moto's
/// sends slow down as a queue grows, which would bill the emulator to the client.
async fn median_run(
    client: Option<&TelemetryClient>,
    queue: Option<(&aws_sdk_sqs::Client, &str)>,
    step: Duration,
) -> Duration {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        samples.push(run_with(client, step).await);
        if let Some((sqs, queue_url)) = queue {
            purge(sqs, queue_url).await;
        }
    }
    median(samples)
}

fn emit_cost() -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = TelemetryConfig {
            buffer_events: 1 << 16,
            ..TelemetryConfig::default()
        };
        let client = TelemetryClient::builder(config)
            .emf_sink(silent())
            .start(AcceptAll);
        let mut samples = Vec::new();
        for _ in 0..50 {
            let events: Vec<_> = (0..1000).map(event).collect();
            let started = Instant::now();
            for event in events {
                client.emit(event);
            }
            samples.push(started.elapsed() / 1000);
            let _ = client.flush(FlushOptions::default()).await;
        }
        median(samples)
    })
}

fn main() {
    println!("# telemetry overhead");
    println!("# command: cargo bench -p packforge-telemetry --bench telemetry_overhead");
    println!(
        "emit, median per call: {} ns (target < 1000 ns)",
        emit_cost().as_nanos()
    );

    let Ok(stack) = LocalStack::from_env() else {
        println!(
            "local stack not running (scripts/stack.sh start && source .stack/env): \
                  skipping the SQS scenarios"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let direct = aws_sdk_sqs::Client::new(&sdk_config(&stack.moto_url()));
        let proxy = FaultProxy::start(stack.moto_addr()).await.unwrap();
        let queue_url = direct
            .create_queue()
            .queue_name(unique_name("bench"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let config = TelemetryConfig::default();
        // Healthy runs talk to moto directly, as a function talks to SQS; the proxy (which
        // shares this runtime's workers) is only in the path where a fault needs it.
        let client = |config: TelemetryConfig, endpoint: &str| {
            let transport = SqsTransport::new(
                &sdk_config(endpoint),
                &queue_url,
                config.connect_timeout,
                config.attempt_timeout,
            );
            TelemetryClient::builder(config)
                .emf_sink(silent())
                .start(transport)
        };

        let round_trip = sqs_round_trip(&direct, &queue_url).await;
        println!(
            "sqs SendMessageBatch of 3 events, median round trip: {:.2} ms \
             (a flush waits at least one for the run's last events)",
            ms(round_trip)
        );

        let off = median_run(None, None, SHORT_STEP).await;
        println!("run with telemetry off, median: {:.2} ms", ms(off));

        let healthy = client(config.clone(), &stack.moto_url());
        let healthy_run = median_run(Some(&healthy), Some((&direct, &queue_url)), SHORT_STEP).await;
        report("healthy sqs", healthy_run, off, "target ratio <= 1.02");
        println!("  difference: {:.2} ms", ms(healthy_run) - ms(off));
        let off_long = median_run(None, None, LONG_STEP).await;
        let healthy_long = median_run(Some(&healthy), Some((&direct, &queue_url)), LONG_STEP).await;
        report(
            "healthy sqs, 1 s run",
            healthy_long,
            off_long,
            "target ratio <= 1.02",
        );
        println!("  difference: {:.2} ms", ms(healthy_long) - ms(off_long));
        purge(&direct, &queue_url).await;

        proxy.set(Fault::Blackhole);
        let blackholed = client(
            TelemetryConfig {
                breaker_threshold: u32::MAX,
                ..config.clone()
            },
            &proxy.url(),
        );
        let blackholed_run = median_run(Some(&blackholed), None, SHORT_STEP).await;
        report(
            "blackholed sqs (breaker never opens)",
            blackholed_run,
            off,
            &format!(
                "target: within off + flush budget ({} ms)",
                config.flush_budget.as_millis()
            ),
        );

        let open = client(
            TelemetryConfig {
                breaker_threshold: 1,
                breaker_cooldown: Duration::from_secs(3600),
                ..config.clone()
            },
            &proxy.url(),
        );
        open.emit(event(0));
        let _ = open.flush(FlushOptions::default()).await;
        let _ = open.flush(FlushOptions::default()).await;
        assert_eq!(
            open.breaker_state(),
            BreakerState::Open,
            "breaker should be open"
        );
        let open_run = median_run(Some(&open), None, SHORT_STEP).await;
        report(
            "breaker open (sqs blackholed)",
            open_run,
            off,
            "target: within 5 ms of off",
        );
        println!("  difference: {:.2} ms", ms(open_run) - ms(off));

        proxy.set(Fault::Pass);
        let naive_sqs = aws_sdk_sqs::Client::new(&sdk_config(&stack.moto_url()));
        let mut naive = Vec::new();
        for _ in 0..RUNS {
            naive.push(naive_run(&naive_sqs, &queue_url).await);
            purge(&direct, &queue_url).await;
        }
        report(
            "naive inline awaits, healthy sqs",
            median(naive),
            off,
            "for comparison",
        );
        purge(&direct, &queue_url).await;

        proxy.set(Fault::Blackhole);
        // Without a timeout the naive design would wait forever; give it a generous one.
        let naive_blackholed_sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sdk_config(&proxy.url()))
                .timeout_config(
                    aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                        .operation_timeout(Duration::from_secs(1))
                        .build(),
                )
                .build(),
        );
        let naive_blackholed = naive_run(&naive_blackholed_sqs, &queue_url).await;
        report(
            "naive inline awaits, blackholed sqs (one run)",
            naive_blackholed,
            off,
            "for comparison",
        );
        let _ = direct.delete_queue().queue_url(&queue_url).send().await;
    });
}

/// The median time of one SendMessageBatch of three events, on an emptied queue.
async fn sqs_round_trip(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Duration {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut request = sqs.send_message_batch().queue_url(queue_url);
        for n in 0..3 {
            let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .message_body(event(n).to_json().expect("encode"))
                .build()
                .expect("id and body are set");
            request = request.entries(entry);
        }
        let started = Instant::now();
        let _ = request.send().await;
        samples.push(started.elapsed());
        purge(sqs, queue_url).await;
    }
    median(samples)
}

/// Receives and deletes every message. Not `PurgeQueue`: SQS (and moto) allow one purge per
/// queue every 60 s, so purging between runs would let the queue grow after the first.
async fn purge(sqs: &aws_sdk_sqs::Client, queue_url: &str) {
    loop {
        let Ok(received) = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
        else {
            return;
        };
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return;
        }
        let mut delete = sqs.delete_message_batch().queue_url(queue_url);
        for (index, message) in messages.iter().enumerate() {
            let Some(receipt) = message.receipt_handle() else {
                continue;
            };
            let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .receipt_handle(receipt)
                .build()
                .expect("id and receipt handle are set");
            delete = delete.entries(entry);
        }
        if delete.send().await.is_err() {
            return;
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn report(name: &str, run: Duration, off: Duration, target: &str) {
    println!(
        "{name}: median {:.2} ms, ratio {:.3} to telemetry off ({target})",
        ms(run),
        run.as_secs_f64() / off.as_secs_f64()
    );
}
