//! The telemetry client handle: `emit` from generation code, `flush` at the end of every
//! invocation.
//!
//! `emit` never blocks, never awaits and never fails. It checks the circuit breaker (atomics)
//! and tries to put the event in a bounded channel; if the breaker is open the event is dropped
//! as `circuit_open`, if the buffer is full as `buffer_full`. Both are counted, never silent.
//!
//! `flush` waits for the shipper to drain the buffer, at most the flush budget and never past
//! the Lambda deadline minus a margin, keeping a small reserve of that time to record drops.
//! It then writes the drop counts (one DynamoDB `UpdateItem`, EMF line and WARN log), and
//! returns a [`FlushReport`]. It never fails and never overruns its deadline by more than the
//! scheduling slack of the runtime.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use aws_types::SdkConfig;

use crate::{
    ConfigError, DropCounts, DropReason, SqsTransport, TelemetryEvent,
    breaker::BreakerState,
    config::TelemetryConfig,
    drop_counter::{DropContext, DropCounterTable, EmfSink, record_drops, stdout_sink},
    report::FlushReport,
    shipper::{FlushRequest, Shared, Shipper, Window},
    transport::Transport,
};

/// How long past the drain deadline a flush waits for the shipper to hand over its window.
///
/// Well inside the Lambda deadline margin, so waiting for it never overruns the invocation.
const ANSWER_GRACE: Duration = Duration::from_millis(10);

/// A cheap, cloneable handle to the telemetry pipeline of one process.
///
/// Keep one per process (in Lambda: build it at cold start) so the circuit breaker's state
/// carries over between invocations.
#[derive(Clone)]
pub struct TelemetryClient {
    inner: Arc<Inner>,
}

struct Inner {
    events: mpsc::Sender<TelemetryEvent>,
    flushes: mpsc::UnboundedSender<FlushRequest>,
    shared: Arc<Shared>,
    config: TelemetryConfig,
    drop_table: Option<DropCounterTable>,
    emf: EmfSink,
}

impl std::fmt::Debug for TelemetryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryClient")
            .field("component", &self.inner.config.component)
            .field("drop_table", &self.inner.drop_table)
            .finish_non_exhaustive()
    }
}

/// Builds a [`TelemetryClient`].
pub struct TelemetryClientBuilder {
    config: TelemetryConfig,
    drop_table: Option<DropCounterTable>,
    emf: EmfSink,
}

/// What a flush is bounded by and what its drops belong to.
#[derive(Debug, Clone, Default)]
pub struct FlushOptions {
    /// The invocation's deadline; the flush ends a margin before it.
    pub lambda_deadline: Option<Instant>,
    /// Run and document the drops belong to, for logs and metrics.
    pub context: DropContext,
}

impl TelemetryClient {
    /// Starts building a client with `config`.
    pub fn builder(config: TelemetryConfig) -> TelemetryClientBuilder {
        TelemetryClientBuilder {
            config,
            drop_table: None,
            emf: stdout_sink(),
        }
    }

    /// Buffers `event` for delivery. Never blocks and never fails: when the event cannot be
    /// buffered it is counted as dropped (`circuit_open` or `buffer_full`).
    pub fn emit(&self, event: TelemetryEvent) {
        let shared = &self.inner.shared;
        if shared.breaker.state(Instant::now()) == BreakerState::Open {
            shared.count_emit_drop(DropReason::CircuitOpen);
            return;
        }
        match self.inner.events.try_send(event) {
            Ok(()) => shared.count_accepted(),
            Err(mpsc::error::TrySendError::Full(_)) => {
                shared.count_emit_drop(DropReason::BufferFull);
            }
            // Only possible if the shipper task is gone; the event can never be sent.
            Err(mpsc::error::TrySendError::Closed(_)) => {
                shared.count_emit_drop(DropReason::SendFailed);
            }
        }
    }

    /// Drains the buffer within the flush budget and the Lambda deadline, records what was
    /// dropped, and reports the window since the previous flush.
    ///
    /// The report is exact when nothing is emitted while the flush runs, as at the end of an
    /// invocation; an event emitted concurrently may be reported in either window.
    pub async fn flush(&self, options: FlushOptions) -> FlushReport {
        let started = Instant::now();
        let config = &self.inner.config;
        let mut deadline = started + config.flush_budget;
        if let Some(lambda_deadline) = options.lambda_deadline {
            let latest = lambda_deadline
                .checked_sub(config.deadline_margin)
                .unwrap_or(lambda_deadline);
            deadline = deadline.min(latest).max(started);
        }
        let reserve = config.effective_drop_record_reserve();
        let drain_deadline = deadline
            .checked_sub(reserve)
            .unwrap_or(deadline)
            .max(started);

        self.inner
            .shared
            .flush_deadline
            .send_replace(Some(drain_deadline));
        let (reply, answer) = oneshot::channel();
        // The shipper answers as soon as the drain deadline passes, but it still has to be
        // scheduled to do so: without the grace, a deadline already at hand would end the wait
        // before the shipper ran, and the window would be counted as unanswered.
        let answer_deadline = deadline.max(drain_deadline + ANSWER_GRACE);
        let window = match self.inner.flushes.send(FlushRequest { reply }) {
            Ok(()) => tokio::time::timeout_at(answer_deadline, answer)
                .await
                .ok()
                .and_then(Result::ok),
            Err(_) => None,
        };
        let (emitted, sent, dropped) = self.close_window(window);

        let counts: Vec<_> = dropped.nonzero().collect();
        let drops_recorded = record_drops(
            self.inner.drop_table.as_ref(),
            &config.component,
            &counts,
            &options.context,
            deadline,
            &self.inner.emf,
        )
        .await;

        FlushReport {
            emitted,
            sent,
            dropped,
            dropped_total: dropped.total(),
            drops_recorded,
            flush_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// Joins the shipper's window with what `emit` counted: `(emitted, sent, dropped)`.
    ///
    /// Without the shipper's window (it is gone, or did not answer in time) every event that
    /// entered the buffer may or may not have reached SQS, so each is counted `unconfirmed`.
    /// The same holds for any event the shipper's window does not account for, which only
    /// happens when an earlier flush stopped waiting for it.
    fn close_window(&self, window: Option<Window>) -> (u64, u64, DropCounts) {
        let shared = &self.inner.shared;
        let accepted = shared.take_accepted();
        let mut dropped = shared.take_emit_drops();
        let emitted = accepted + dropped.total();
        let Some(window) = window else {
            tracing::error!(unconfirmed = accepted, "telemetry flush unanswered");
            dropped.add(DropReason::Unconfirmed, accepted);
            return (emitted, 0, dropped);
        };

        dropped.merge(&window.dropped);
        let accounted = window.sent + window.dropped.total();
        if accounted < accepted {
            let missing = accepted - accounted;
            tracing::error!(
                unconfirmed = missing,
                "telemetry events missing from window"
            );
            dropped.add(DropReason::Unconfirmed, missing);
        }
        // More accounted than accepted needs an `emit` racing this flush from another task
        // (see `flush`): its event is in this window, its count in the next.
        let emitted = emitted.max(window.sent + dropped.total());
        (emitted, window.sent, dropped)
    }

    /// A client for a Lambda function: settings from the environment (see
    /// [`TelemetryConfig::from_env`]), SQS and DynamoDB clients from `sdk_config`.
    ///
    /// # Errors
    ///
    /// Names the missing or malformed variable.
    ///
    /// # Panics
    ///
    /// Panics when called outside a tokio runtime.
    pub fn from_env(sdk_config: &SdkConfig, component: &str) -> Result<Self, ConfigError> {
        let (config, targets) = TelemetryConfig::from_env(component)?;
        let transport = SqsTransport::new(
            sdk_config,
            targets.queue_url,
            config.connect_timeout,
            config.attempt_timeout,
        );
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk_config);
        let table = DropCounterTable::new(dynamodb, targets.drop_table, component);
        Ok(Self::builder(config).drop_table(table).start(transport))
    }

    /// The circuit breaker's state now.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.shared.breaker.state(Instant::now())
    }

    /// The configuration in force.
    pub fn config(&self) -> &TelemetryConfig {
        &self.inner.config
    }
}

impl TelemetryClientBuilder {
    /// Counts drops in this table; without one, drops go to the EMF line only.
    pub fn drop_table(mut self, table: DropCounterTable) -> Self {
        self.drop_table = Some(table);
        self
    }

    /// Where EMF lines go (stdout by default).
    pub fn emf_sink(mut self, sink: EmfSink) -> Self {
        self.emf = sink;
        self
    }

    /// Spawns the shipper on the current tokio runtime and returns the handle.
    ///
    /// # Panics
    ///
    /// Panics when called outside a tokio runtime.
    pub fn start<T: Transport>(self, transport: T) -> TelemetryClient {
        let (events, events_rx) = mpsc::channel(self.config.buffer_events.max(1));
        let (flushes, flushes_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::new(&self.config));
        let shipper = Shipper::new(
            transport,
            self.config.clone(),
            shared.clone(),
            events_rx,
            flushes_rx,
        );
        let shipper = tokio::spawn(shipper.run());
        tokio::spawn(async move {
            // Without the shipper every later event is counted `send_failed` at `emit`, and
            // what it held is counted `unconfirmed` at the next flush; this says why.
            if let Err(error) = shipper.await
                && error.is_panic()
            {
                tracing::error!(%error, "telemetry shipper panicked; telemetry is now dropped");
            }
        });
        TelemetryClient {
            inner: Arc::new(Inner {
                events,
                flushes,
                shared,
                config: self.config,
                drop_table: self.drop_table,
                emf: self.emf,
            }),
        }
    }
}

/// Converts Lambda's deadline (milliseconds since the Unix epoch) to a monotonic instant.
///
/// Returns `None` when that deadline had already passed as the invocation arrived. No real
/// invocation does that, but some local emulators send a duration instead of a time; trusting
/// it would make every flush give up at once and count all telemetry as dropped. Also `None`
/// for a deadline too far ahead for the clock to represent.
pub fn deadline_from_epoch_millis(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0);
    if deadline_ms <= now_ms {
        return None;
    }
    Instant::now().checked_add(Duration::from_millis(deadline_ms - now_ms))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{
        event::{EventBody, Extra, Pipeline, RunStarted, Source},
        retry::RetryAction,
        transport::{BatchResult, FailedEntry, OutgoingEntry, TransportError},
    };

    /// How the scripted transport answers one call.
    #[derive(Clone)]
    enum Answer {
        Accept,
        FailEntries {
            ids: Vec<&'static str>,
            sender_fault: bool,
        },
        Error(RetryAction),
        Hang,
        Panic,
    }

    /// A transport that answers from a script (last answer repeats) and records what it
    /// delivered, so tests can check delivery and accounting against each other.
    #[derive(Clone, Default)]
    struct ScriptedTransport {
        script: Arc<Mutex<Vec<Answer>>>,
        calls: Arc<Mutex<Vec<Vec<String>>>>,
        delivered: Arc<Mutex<Vec<String>>>,
    }

    impl ScriptedTransport {
        fn answering(answers: Vec<Answer>) -> Self {
            Self {
                script: Arc::new(Mutex::new(answers)),
                ..Self::default()
            }
        }

        fn set(&self, answers: Vec<Answer>) {
            *self.script.lock().unwrap() = answers;
        }

        fn delivered(&self) -> Vec<String> {
            self.delivered.lock().unwrap().clone()
        }

        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Transport for ScriptedTransport {
        async fn send_batch(
            &self,
            entries: Vec<OutgoingEntry>,
        ) -> Result<BatchResult, TransportError> {
            let answer = {
                let mut script = self.script.lock().unwrap();
                if script.len() > 1 {
                    script.remove(0)
                } else {
                    script[0].clone()
                }
            };
            self.calls
                .lock()
                .unwrap()
                .push(entries.iter().map(|entry| entry.id.clone()).collect());
            match answer {
                Answer::Accept => {
                    let mut delivered = self.delivered.lock().unwrap();
                    delivered.extend(entries.into_iter().map(|entry| entry.body));
                    Ok(BatchResult::default())
                }
                Answer::FailEntries { ids, sender_fault } => {
                    let mut delivered = self.delivered.lock().unwrap();
                    let mut failed = Vec::new();
                    for entry in entries {
                        if ids.contains(&entry.id.as_str()) {
                            failed.push(FailedEntry {
                                id: entry.id,
                                sender_fault,
                                code: "InternalError".into(),
                            });
                        } else {
                            delivered.push(entry.body);
                        }
                    }
                    Ok(BatchResult { failed })
                }
                Answer::Error(action) => Err(TransportError::new(
                    action,
                    false,
                    "scripted send",
                    std::io::Error::other("scripted failure"),
                )),
                Answer::Hang => std::future::pending().await,
                Answer::Panic => panic!("scripted panic"),
            }
        }
    }

    fn event(n: usize) -> TelemetryEvent {
        TelemetryEvent::new(
            "run-1",
            "doc-1",
            Pipeline::LearningPack,
            Source {
                function_name: "generate".into(),
                function_version: "$LATEST".into(),
                request_id: "req".into(),
                trace_id: None,
                extra: Extra::new(),
            },
            EventBody::RunStarted(RunStarted {
                bucket: "b".into(),
                key: format!("uploads/{n}.md"),
                etag: None,
                size_bytes: n as u64,
                extra: Extra::new(),
            }),
        )
    }

    fn client(config: TelemetryConfig, transport: ScriptedTransport) -> TelemetryClient {
        let silent: EmfSink = Arc::new(|_| {});
        TelemetryClient::builder(config)
            .emf_sink(silent)
            .start(transport)
    }

    async fn flush(client: &TelemetryClient) -> FlushReport {
        client.flush(FlushOptions::default()).await
    }

    #[tokio::test(start_paused = true)]
    async fn healthy_delivery_sends_everything_in_order() {
        let transport = ScriptedTransport::answering(vec![Answer::Accept]);
        let client = client(TelemetryConfig::default(), transport.clone());
        for n in 0..25 {
            client.emit(event(n));
        }
        let report = flush(&client).await;

        assert_eq!(
            (report.emitted, report.sent, report.dropped_total),
            (25, 25, 0)
        );
        let keys: Vec<String> = transport
            .delivered()
            .iter()
            .map(|body| serde_json::from_str::<serde_json::Value>(body).unwrap())
            .map(|value| value["payload"]["key"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (0..25).map(|n| format!("uploads/{n}.md")).collect();
        assert_eq!(keys, expected);
        assert!(transport.calls().iter().all(|call| call.len() <= 10));
    }

    #[tokio::test(start_paused = true)]
    async fn only_failed_entries_are_retried() {
        let transport = ScriptedTransport::answering(vec![
            Answer::FailEntries {
                ids: vec!["1", "3"],
                sender_fault: false,
            },
            Answer::Accept,
        ]);
        let client = client(TelemetryConfig::default(), transport.clone());
        for n in 0..5 {
            client.emit(event(n));
        }
        let report = flush(&client).await;

        assert_eq!((report.sent, report.dropped_total), (5, 0));
        assert_eq!(transport.calls()[1], vec!["1".to_string(), "3".to_string()]);
        assert_eq!(transport.delivered().len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn sender_fault_entries_are_dropped_without_retry() {
        let transport = ScriptedTransport::answering(vec![
            Answer::FailEntries {
                ids: vec!["0"],
                sender_fault: true,
            },
            Answer::Accept,
        ]);
        let client = client(TelemetryConfig::default(), transport.clone());
        for n in 0..3 {
            client.emit(event(n));
        }
        let report = flush(&client).await;

        assert_eq!(report.sent, 2);
        assert_eq!(report.dropped.get(DropReason::SendFailed), 1);
        assert_eq!(transport.calls().len(), 1);
        assert!(report.balances());
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_errors_drop_the_batch_at_once() {
        let transport = ScriptedTransport::answering(vec![Answer::Error(RetryAction::Drop)]);
        let client = client(TelemetryConfig::default(), transport.clone());
        for n in 0..4 {
            client.emit(event(n));
        }
        let report = flush(&client).await;

        assert_eq!(report.dropped.get(DropReason::SendFailed), 4);
        assert_eq!(transport.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_max_attempts_with_backoff_between() {
        let config = TelemetryConfig {
            breaker_threshold: 100,
            flush_budget: Duration::from_secs(10),
            ..TelemetryConfig::default()
        };
        let transport = ScriptedTransport::answering(vec![Answer::Error(RetryAction::Retry)]);
        let client = client(config.clone(), transport.clone());
        client.emit(event(0));
        let started = Instant::now();
        let report = flush(&client).await;

        assert_eq!(transport.calls().len(), config.max_attempts as usize);
        assert_eq!(report.dropped.get(DropReason::SendFailed), 1);
        let ceiling: Duration = (1..config.max_attempts)
            .map(|retry| {
                crate::retry::Backoff::new(config.backoff_base, config.backoff_cap).ceiling(retry)
            })
            .sum();
        // The clock is paused and the transport answers at once, so all elapsed time is
        // backoff: some (three uniform draws are never all zero) and within the ceilings.
        assert!(
            started.elapsed() > Duration::ZERO && started.elapsed() <= ceiling,
            "waited {:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn blackholed_transport_costs_at_most_the_flush_budget() {
        let transport = ScriptedTransport::answering(vec![Answer::Hang]);
        let config = TelemetryConfig::default();
        let client = client(config.clone(), transport);
        for n in 0..30 {
            client.emit(event(n));
        }
        let started = Instant::now();
        let report = flush(&client).await;

        assert!(
            started.elapsed() <= config.flush_budget,
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(report.emitted, 30);
        assert_eq!(report.sent, 0);
        // The batch in flight may have reached SQS; the rest never left the buffer.
        assert_eq!(report.dropped.get(DropReason::Unconfirmed), 10);
        assert_eq!(report.dropped.get(DropReason::FlushTimeout), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_given_up_after_timeouts_are_unconfirmed_not_lost() {
        let config = TelemetryConfig {
            max_attempts: 2,
            breaker_threshold: 100,
            flush_budget: Duration::from_secs(10),
            ..TelemetryConfig::default()
        };
        let transport = ScriptedTransport::answering(vec![Answer::Hang]);
        let client = client(config, transport.clone());
        client.emit(event(0));
        let report = flush(&client).await;

        assert_eq!(transport.calls().len(), 2);
        assert_eq!(report.dropped.get(DropReason::Unconfirmed), 1);
        assert_eq!(report.dropped.get(DropReason::SendFailed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn lambda_deadline_shortens_the_flush() {
        let transport = ScriptedTransport::answering(vec![Answer::Hang]);
        let client = client(TelemetryConfig::default(), transport);
        client.emit(event(0));
        let started = Instant::now();
        let options = FlushOptions {
            lambda_deadline: Some(started + Duration::from_millis(80)),
            ..FlushOptions::default()
        };
        let report = client.flush(options).await;

        assert!(
            started.elapsed() <= Duration::from_millis(30),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(report.dropped.get(DropReason::FlushTimeout), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lambda_deadline_already_at_hand_still_accounts_for_every_event() {
        let transport = ScriptedTransport::answering(vec![Answer::Accept]);
        let config = TelemetryConfig::default();
        let client = client(config.clone(), transport);
        for n in 0..5 {
            client.emit(event(n));
        }
        let options = FlushOptions {
            lambda_deadline: Some(Instant::now() + config.deadline_margin / 2),
            ..FlushOptions::default()
        };
        let report = client.flush(options).await;

        assert_eq!(report.emitted, 5);
        assert_eq!(
            report.sent + report.dropped.get(DropReason::FlushTimeout),
            5
        );
        assert!(report.balances());
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicked_shipper_leaves_no_event_uncounted() {
        let transport = ScriptedTransport::answering(vec![Answer::Panic]);
        let client = client(TelemetryConfig::default(), transport);
        for n in 0..3 {
            client.emit(event(n));
        }
        let first = flush(&client).await;
        for n in 3..5 {
            client.emit(event(n));
        }
        let second = flush(&client).await;

        assert_eq!((first.emitted, first.sent), (3, 0));
        assert_eq!(first.dropped.get(DropReason::Unconfirmed), 3);
        assert_eq!((second.emitted, second.sent), (2, 0));
        assert_eq!(second.dropped.get(DropReason::SendFailed), 2);
        assert!(first.balances() && second.balances());
    }

    #[tokio::test(start_paused = true)]
    async fn full_buffer_drops_and_counts() {
        let config = TelemetryConfig {
            buffer_events: 4,
            ..TelemetryConfig::default()
        };
        let transport = ScriptedTransport::answering(vec![Answer::Accept]);
        let client = client(config, transport.clone());
        // No await between emits: the shipper cannot run, so the buffer fills.
        for n in 0..10 {
            client.emit(event(n));
        }
        let report = flush(&client).await;

        assert_eq!(report.emitted, 10);
        assert_eq!(report.sent, 4);
        assert_eq!(report.dropped.get(DropReason::BufferFull), 6);
        assert_eq!(transport.delivered().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn oversized_events_are_never_attempted() {
        let config = TelemetryConfig {
            max_message_bytes: 200,
            ..TelemetryConfig::default()
        };
        let transport = ScriptedTransport::answering(vec![Answer::Accept]);
        let client = client(config, transport.clone());
        client.emit(event(0));
        let report = flush(&client).await;

        assert_eq!(report.dropped.get(DropReason::Oversized), 1);
        assert!(transport.calls().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_drops_at_emit_and_closes_after_a_good_probe() {
        let config = TelemetryConfig {
            breaker_threshold: 2,
            max_attempts: 1,
            ..TelemetryConfig::default()
        };
        let transport = ScriptedTransport::answering(vec![Answer::Error(RetryAction::Retry)]);
        let client = client(config.clone(), transport.clone());
        client.emit(event(0));
        client.emit(event(1));
        let _ = flush(&client).await;
        client.emit(event(2));
        let first = flush(&client).await;
        assert_eq!(client.breaker_state(), BreakerState::Open);
        assert_eq!(first.dropped.get(DropReason::SendFailed), 1);

        let calls_before = transport.calls().len();
        for n in 0..5 {
            client.emit(event(n));
        }
        let open = flush(&client).await;
        assert_eq!(open.dropped.get(DropReason::CircuitOpen), 5);
        assert_eq!(
            transport.calls().len(),
            calls_before,
            "open breaker must not send"
        );

        tokio::time::advance(config.breaker_cooldown).await;
        transport.set(vec![Answer::Accept]);
        client.emit(event(9));
        let probe = flush(&client).await;
        assert_eq!(probe.sent, 1);
        assert_eq!(client.breaker_state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_the_breaker() {
        let config = TelemetryConfig {
            breaker_threshold: 1,
            ..TelemetryConfig::default()
        };
        let transport = ScriptedTransport::answering(vec![Answer::Error(RetryAction::Retry)]);
        let client = client(config.clone(), transport.clone());
        client.emit(event(0));
        let _ = flush(&client).await;
        assert_eq!(client.breaker_state(), BreakerState::Open);

        tokio::time::advance(config.breaker_cooldown).await;
        let calls_before = transport.calls().len();
        client.emit(event(1));
        let probe = flush(&client).await;

        assert_eq!(
            transport.calls().len(),
            calls_before + 1,
            "a probe is one attempt"
        );
        assert_eq!(probe.dropped.get(DropReason::SendFailed), 1);
        assert_eq!(client.breaker_state(), BreakerState::Open);
    }

    #[test]
    fn a_deadline_already_past_on_arrival_is_ignored() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(deadline_from_epoch_millis(600_000).is_none());
        assert!(deadline_from_epoch_millis(now_ms - 1).is_none());
        assert!(deadline_from_epoch_millis(u64::MAX).is_none_or(|at| at > Instant::now()));
        let ahead = deadline_from_epoch_millis(now_ms + 60_000).unwrap();
        let remaining = ahead - Instant::now();
        assert!(remaining > Duration::from_secs(55) && remaining <= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn windows_do_not_leak_into_each_other() {
        let transport = ScriptedTransport::answering(vec![Answer::Accept]);
        let client = client(TelemetryConfig::default(), transport);
        for n in 0..3 {
            client.emit(event(n));
        }
        let first = flush(&client).await;
        client.emit(event(3));
        let second = flush(&client).await;

        assert_eq!((first.emitted, first.sent), (3, 3));
        assert_eq!((second.emitted, second.sent), (1, 1));
    }
}
