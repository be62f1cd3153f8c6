//! The background task that moves events from the buffer to the transport.
//!
//! The shipper takes at most one batch from the buffer at a time, so the buffer's capacity is
//! the real bound on memory and `emit` sees `buffer_full` as soon as delivery falls behind.
//! Each batch is attempted with a per-attempt timeout; entries that failed for a transient
//! reason are retried after jittered backoff while attempts and the retry budget last. Every
//! wait is raced against the flush deadline: once it passes, whatever is still undelivered is
//! counted as `flush_timeout` and abandoned, so a frozen container holds no uncounted events.
//!
//! Accounting is split by who can know: `emit` counts what it accepted into the buffer and what
//! it dropped (atomics in [`Shared`], so the client can still account for every event when the
//! shipper is gone), and the shipper counts what it sent and dropped. At each flush the shipper
//! ends its window only after the buffer is empty and nothing is in flight, then hands it to
//! the client and starts a new one. An event therefore belongs to exactly one window, which is
//! what keeps `emitted = sent + dropped` exact.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use rand::{SeedableRng, rngs::SmallRng};
use tokio::{
    sync::{mpsc, oneshot, watch},
    time::Instant,
};

use crate::{
    DropCounts, DropReason, TelemetryEvent,
    batch::{EncodedEvent, MAX_BATCH_ENTRIES, encode, next_batch},
    breaker::{BreakerState, CircuitBreaker},
    config::TelemetryConfig,
    error::error_chain,
    retry::{Backoff, RetryAction},
    transport::{OutgoingEntry, Transport},
};

/// State shared by the client handle and the shipper.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) breaker: CircuitBreaker,
    accepted: AtomicU64,
    emit_drops: [AtomicU64; DropReason::ALL.len()],
    pub(crate) flush_deadline: watch::Sender<Option<Instant>>,
}

impl Shared {
    pub(crate) fn new(config: &TelemetryConfig) -> Self {
        Self {
            breaker: CircuitBreaker::new(config.breaker_threshold, config.breaker_cooldown),
            accepted: AtomicU64::new(0),
            emit_drops: Default::default(),
            flush_deadline: watch::channel(None).0,
        }
    }

    /// Counts an event `emit` dropped; lock-free.
    pub(crate) fn count_emit_drop(&self, reason: DropReason) {
        self.emit_drops[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an event `emit` put into the buffer; lock-free.
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Events accepted into the buffer since the previous call.
    pub(crate) fn take_accepted(&self) -> u64 {
        self.accepted.swap(0, Ordering::AcqRel)
    }

    /// Drops `emit` counted since the previous call.
    pub(crate) fn take_emit_drops(&self) -> DropCounts {
        let mut counts = DropCounts::default();
        for reason in DropReason::ALL {
            counts.add(
                reason,
                self.emit_drops[reason as usize].swap(0, Ordering::AcqRel),
            );
        }
        counts
    }
}

/// The shipper's side of one accounting window: everything between two flushes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) sent: u64,
    /// Drops of the shipper; those of `emit` are counted in [`Shared`].
    pub(crate) dropped: DropCounts,
}

/// Asks the shipper to drain before the deadline published in [`Shared::flush_deadline`].
pub(crate) struct FlushRequest {
    pub(crate) reply: oneshot::Sender<Window>,
}

enum Shipped {
    Done,
    DeadlineReached,
}

enum AttemptOutcome<T> {
    Answered(T),
    TimedOut,
    DeadlineReached,
}

pub(crate) struct Shipper<T> {
    transport: T,
    config: TelemetryConfig,
    shared: Arc<Shared>,
    events: mpsc::Receiver<TelemetryEvent>,
    flushes: mpsc::UnboundedReceiver<FlushRequest>,
    deadline: watch::Receiver<Option<Instant>>,
    pending: VecDeque<EncodedEvent>,
    window: Window,
    backoff: Backoff,
    rng: SmallRng,
}

impl<T: Transport> Shipper<T> {
    pub(crate) fn new(
        transport: T,
        config: TelemetryConfig,
        shared: Arc<Shared>,
        events: mpsc::Receiver<TelemetryEvent>,
        flushes: mpsc::UnboundedReceiver<FlushRequest>,
    ) -> Self {
        let deadline = shared.flush_deadline.subscribe();
        let backoff = Backoff::new(config.backoff_base, config.backoff_cap);
        Self {
            transport,
            config,
            shared,
            events,
            flushes,
            deadline,
            pending: VecDeque::with_capacity(MAX_BATCH_ENTRIES),
            window: Window::default(),
            backoff,
            rng: SmallRng::from_os_rng(),
        }
    }

    /// Runs until every client handle is gone.
    pub(crate) async fn run(mut self) {
        loop {
            if self.pending.is_empty() {
                tokio::select! {
                    biased;
                    request = self.flushes.recv() => match request {
                        Some(request) => self.flush(request).await,
                        None => return,
                    },
                    event = self.events.recv() => match event {
                        Some(event) => self.accept(event),
                        None => return,
                    },
                }
            }
            self.fill();
            if !self.pending.is_empty() {
                self.ship_one_batch().await;
            }
            // A flush must not wait behind a steady stream of new events.
            if let Ok(request) = self.flushes.try_recv() {
                self.flush(request).await;
            }
        }
    }

    fn accept(&mut self, event: TelemetryEvent) {
        match encode(&event, self.config.max_message_bytes) {
            Ok(encoded) => self.pending.push_back(encoded),
            Err(reason) => {
                tracing::debug!(event_id = %event.event_id, %reason, "telemetry event not sendable");
                self.window.dropped.add(reason, 1);
            }
        }
    }

    /// Tops `pending` up to one batch from the buffer, without waiting.
    fn fill(&mut self) {
        while self.pending.len() < MAX_BATCH_ENTRIES {
            match self.events.try_recv() {
                Ok(event) => self.accept(event),
                Err(_) => break,
            }
        }
    }

    async fn flush(&mut self, request: FlushRequest) {
        loop {
            self.fill();
            let deadline = *self.deadline.borrow();
            let expired = deadline.is_none_or(|deadline| Instant::now() >= deadline);
            if self.pending.is_empty() || expired {
                break;
            }
            if let Shipped::DeadlineReached = self.ship_one_batch().await {
                break;
            }
        }

        let mut leftovers = self.pending.len() as u64;
        self.pending.clear();
        while self.events.try_recv().is_ok() {
            leftovers += 1;
        }
        self.window.dropped.add(DropReason::FlushTimeout, leftovers);

        let window = std::mem::take(&mut self.window);
        self.shared.flush_deadline.send_replace(None);
        // A client that stopped waiting has already counted this window's events as
        // unconfirmed, so an answer nobody reads loses nothing.
        let _ = request.reply.send(window);
    }

    async fn ship_one_batch(&mut self) -> Shipped {
        let batch = next_batch(&mut self.pending, self.config.max_batch_bytes);
        let breaker_state = self.shared.breaker.state(Instant::now());
        if breaker_state == BreakerState::Open {
            self.window
                .dropped
                .add(DropReason::CircuitOpen, batch.len() as u64);
            return Shipped::Done;
        }
        // A half-open breaker allows one probe attempt, not a full retry sequence.
        let max_attempts = match breaker_state {
            BreakerState::HalfOpen => 1,
            _ => self.config.max_attempts.max(1),
        };

        let mut entries: Vec<OutgoingEntry> = batch
            .into_iter()
            .enumerate()
            .map(|(index, event)| OutgoingEntry {
                id: index.to_string(),
                body: event.body,
            })
            .collect();
        let started = Instant::now();
        let mut attempt = 0;
        // Once an attempt may have reached SQS unanswered, giving up on these entries is no
        // longer a certain loss.
        let mut ambiguous = false;
        loop {
            attempt += 1;
            let outcome = {
                let send = tokio::time::timeout(
                    self.config.attempt_timeout,
                    self.transport.send_batch(entries.clone()),
                );
                tokio::select! {
                    answered = send => match answered {
                        Ok(result) => AttemptOutcome::Answered(result),
                        Err(_) => AttemptOutcome::TimedOut,
                    },
                    () = deadline_passed(&mut self.deadline) => AttemptOutcome::DeadlineReached,
                }
            };

            let retry_action = match outcome {
                AttemptOutcome::DeadlineReached => {
                    // An attempt still unanswered when the flush must end is evidence of an
                    // outage too: without counting it, a blackholed queue would never open the
                    // breaker (flushes end before attempts time out) and every invocation
                    // would pay the whole flush budget.
                    self.record_failure();
                    self.drop_entries(DropReason::Unconfirmed, entries.len());
                    return Shipped::DeadlineReached;
                }
                AttemptOutcome::Answered(Ok(result)) => {
                    let failed: HashMap<_, _> = result
                        .failed
                        .into_iter()
                        .map(|entry| (entry.id.clone(), entry))
                        .collect();
                    let before = entries.len();
                    let mut rejected = 0;
                    let mut rejected_code = None;
                    entries.retain(|entry| match failed.get(&entry.id) {
                        None => false,
                        Some(failure) if failure.sender_fault => {
                            rejected += 1;
                            rejected_code.get_or_insert_with(|| failure.code.clone());
                            false
                        }
                        Some(_) => true,
                    });
                    let sent = before - entries.len() - rejected;
                    self.window.sent += sent as u64;
                    if rejected > 0 {
                        let code = rejected_code.unwrap_or_default();
                        tracing::warn!(rejected, code, "sqs rejected telemetry entries");
                        self.drop_entries(DropReason::SendFailed, rejected);
                    }
                    if sent > 0 || entries.is_empty() {
                        self.shared.breaker.record_success();
                    } else {
                        self.record_failure();
                    }
                    if entries.is_empty() {
                        return Shipped::Done;
                    }
                    tracing::debug!(retrying = entries.len(), attempt, "sqs failed some entries");
                    RetryAction::Retry
                }
                AttemptOutcome::Answered(Err(error)) => {
                    let cause = error_chain(&error);
                    tracing::debug!(attempt, error = %cause, "telemetry batch failed");
                    self.record_failure();
                    ambiguous |= error.ambiguous;
                    error.action
                }
                AttemptOutcome::TimedOut => {
                    tracing::debug!(attempt, "telemetry batch attempt timed out");
                    self.record_failure();
                    ambiguous = true;
                    RetryAction::Retry
                }
            };

            let out_of_budget = started.elapsed() >= self.config.retry_budget;
            let breaker_open = self.shared.breaker.state(Instant::now()) == BreakerState::Open;
            if retry_action == RetryAction::Drop
                || attempt >= max_attempts
                || out_of_budget
                || breaker_open
            {
                let reason = if ambiguous {
                    DropReason::Unconfirmed
                } else {
                    DropReason::SendFailed
                };
                self.drop_entries(reason, entries.len());
                return Shipped::Done;
            }

            let remaining = self.config.retry_budget.saturating_sub(started.elapsed());
            let delay = self.backoff.delay(attempt, &mut self.rng).min(remaining);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = deadline_passed(&mut self.deadline) => {
                    let reason = if ambiguous { DropReason::Unconfirmed } else { DropReason::FlushTimeout };
                    self.drop_entries(reason, entries.len());
                    return Shipped::DeadlineReached;
                }
            }
        }
    }

    fn drop_entries(&mut self, reason: DropReason, n: usize) {
        self.window.dropped.add(reason, n as u64);
    }

    fn record_failure(&self) {
        if self.shared.breaker.record_failure(Instant::now()) {
            tracing::warn!(
                cooldown_ms = self.config.breaker_cooldown.as_millis() as u64,
                "telemetry circuit breaker opened; events are dropped until a probe succeeds"
            );
        }
    }
}

/// Resolves once a flush deadline is set and has passed; never resolves otherwise.
async fn deadline_passed(deadline: &mut watch::Receiver<Option<Instant>>) {
    loop {
        let current = *deadline.borrow_and_update();
        match current {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => return,
                    changed = deadline.changed() => {
                        if changed.is_err() {
                            tokio::time::sleep_until(at).await;
                            return;
                        }
                    }
                }
            }
            None => {
                if deadline.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}
