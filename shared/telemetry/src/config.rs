//! Settings of the telemetry client, with documented defaults and loading from the
//! environment.

use std::time::Duration;

use crate::error::ConfigError;

/// Default number of events the buffer holds before `emit` starts dropping (`buffer_full`).
pub const DEFAULT_BUFFER_EVENTS: usize = 1024;
/// Default time `flush` may wait for the buffer to drain.
pub const DEFAULT_FLUSH_BUDGET: Duration = Duration::from_millis(200);
/// SQS's message and batch size limit on AWS today (1 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The longest flush budget accepted: a Lambda invocation lasts at most 15 minutes.
const MAX_FLUSH_MS: u64 = 15 * 60 * 1000;

/// The largest buffer accepted; each slot is one event held in memory.
const MAX_BUFFER_EVENTS: u64 = 1 << 20;

/// The largest message limit accepted: well past SQS's own limit, far below what a batch of ten
/// could not hold in memory.
const MAX_MESSAGE_BYTES_LIMIT: u64 = 16 * 1024 * 1024;

/// Configuration of a [`TelemetryClient`](crate::TelemetryClient).
///
/// Every field has a default suited to a Lambda function that emits a few dozen events per
/// invocation; see each constant or field for its value.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Component name written to the drop-counter table and metrics (`generate`).
    pub component: String,
    /// Events buffered before `emit` drops. Default [`DEFAULT_BUFFER_EVENTS`].
    pub buffer_events: usize,
    /// Longest `flush` waits for delivery. Default [`DEFAULT_FLUSH_BUDGET`].
    pub flush_budget: Duration,
    /// Time kept free before the Lambda deadline. Default 50 ms.
    pub deadline_margin: Duration,
    /// Part of the flush budget kept for the drop-counter write. Default 50 ms, at most a
    /// quarter of the budget.
    pub drop_record_reserve: Duration,
    /// Largest encoded event accepted (`oversized` beyond). Default 1 MiB.
    pub max_message_bytes: usize,
    /// Largest total of one SendMessageBatch. Default 1 MiB.
    pub max_batch_bytes: usize,
    /// Time one SQS attempt may take, connection included. Default 500 ms.
    pub attempt_timeout: Duration,
    /// Time to establish a connection. Default 200 ms.
    pub connect_timeout: Duration,
    /// Attempts per batch, first one included. Default 4.
    pub max_attempts: u32,
    /// Total time one batch may spend in retries. Default 2 s.
    pub retry_budget: Duration,
    /// First backoff step. Default 25 ms.
    pub backoff_base: Duration,
    /// Largest backoff step. Default 400 ms.
    pub backoff_cap: Duration,
    /// Consecutive failed attempts that open the circuit breaker. Default 3.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before a probe. Default 30 s.
    pub breaker_cooldown: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            component: "generate".into(),
            buffer_events: DEFAULT_BUFFER_EVENTS,
            flush_budget: DEFAULT_FLUSH_BUDGET,
            deadline_margin: Duration::from_millis(50),
            drop_record_reserve: Duration::from_millis(50),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_batch_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            attempt_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(200),
            max_attempts: 4,
            retry_budget: Duration::from_secs(2),
            backoff_base: Duration::from_millis(25),
            backoff_cap: Duration::from_millis(400),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

/// Where the client sends events and counts drops, read from the environment.
#[derive(Debug, Clone)]
pub struct TelemetryTargets {
    /// `TELEMETRY_QUEUE_URL`.
    pub queue_url: String,
    /// `TELEMETRY_DROP_TABLE`.
    pub drop_table: String,
}

impl TelemetryConfig {
    /// Reads `TELEMETRY_FLUSH_MS`, `TELEMETRY_BUFFER_EVENTS` and `TELEMETRY_MAX_MESSAGE_BYTES`
    /// over the defaults, and the required `TELEMETRY_QUEUE_URL` and `TELEMETRY_DROP_TABLE`.
    ///
    /// # Errors
    ///
    /// Names the variable that is missing or malformed.
    pub fn from_env(component: &str) -> Result<(Self, TelemetryTargets), ConfigError> {
        Self::from_lookup(component, |name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any variable source, for tests.
    ///
    /// # Errors
    ///
    /// Names the variable that is missing or malformed.
    pub fn from_lookup(
        component: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, TelemetryTargets), ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .ok_or(ConfigError::Missing { name })
        };
        let number = |name: &'static str, max: u64| -> Result<Option<u64>, ConfigError> {
            match lookup(name).filter(|value| !value.trim().is_empty()) {
                None => Ok(None),
                Some(value) => match value.trim().parse::<u64>() {
                    Ok(n) if n > max => Err(ConfigError::TooLarge {
                        name,
                        value: n,
                        max,
                    }),
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(ConfigError::Invalid { name, value }),
                },
            }
        };

        let mut config = Self {
            component: component.into(),
            ..Self::default()
        };
        if let Some(ms) = number("TELEMETRY_FLUSH_MS", MAX_FLUSH_MS)? {
            config.flush_budget = Duration::from_millis(ms);
        }
        if let Some(events) = number("TELEMETRY_BUFFER_EVENTS", MAX_BUFFER_EVENTS)? {
            config.buffer_events = events as usize;
        }
        if let Some(bytes) = number("TELEMETRY_MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES_LIMIT)? {
            config.max_message_bytes = bytes as usize;
            config.max_batch_bytes = bytes as usize;
        }
        let targets = TelemetryTargets {
            queue_url: required("TELEMETRY_QUEUE_URL")?,
            drop_table: required("TELEMETRY_DROP_TABLE")?,
        };
        Ok((config, targets))
    }

    /// The reserve for the drop-counter write, capped at a quarter of the flush budget.
    pub(crate) fn effective_drop_record_reserve(&self) -> Duration {
        self.drop_record_reserve.min(self.flush_budget / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_overrides_defaults() {
        let vars = lookup(&[
            ("TELEMETRY_QUEUE_URL", "http://q"),
            ("TELEMETRY_DROP_TABLE", "drops"),
            ("TELEMETRY_FLUSH_MS", "150"),
            ("TELEMETRY_BUFFER_EVENTS", "64"),
        ]);
        let (config, targets) = TelemetryConfig::from_lookup("generate", vars).unwrap();

        assert_eq!(config.flush_budget, Duration::from_millis(150));
        assert_eq!(config.buffer_events, 64);
        assert_eq!(config.max_message_bytes, DEFAULT_MAX_MESSAGE_BYTES);
        assert_eq!(targets.queue_url, "http://q");
    }

    #[test]
    fn missing_queue_url_names_the_variable() {
        let vars = lookup(&[("TELEMETRY_DROP_TABLE", "drops")]);
        let error = TelemetryConfig::from_lookup("generate", vars).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing required environment variable `TELEMETRY_QUEUE_URL`"
        );
    }

    #[test]
    fn numbers_past_what_the_client_honours_are_rejected() {
        for (name, value) in [
            ("TELEMETRY_FLUSH_MS", "18446744073709551615"),
            ("TELEMETRY_BUFFER_EVENTS", "100000000000"),
            ("TELEMETRY_MAX_MESSAGE_BYTES", "1073741824"),
        ] {
            let pairs = [
                ("TELEMETRY_QUEUE_URL", "http://q"),
                ("TELEMETRY_DROP_TABLE", "drops"),
                (name, value),
            ];
            let vars = lookup(&pairs);
            let error = TelemetryConfig::from_lookup("generate", vars).unwrap_err();
            assert!(
                matches!(error, ConfigError::TooLarge { name: found, .. } if found == name),
                "{error}"
            );
        }
    }

    #[test]
    fn malformed_numbers_are_rejected_with_their_value() {
        let vars = lookup(&[
            ("TELEMETRY_QUEUE_URL", "http://q"),
            ("TELEMETRY_DROP_TABLE", "drops"),
            ("TELEMETRY_FLUSH_MS", "soon"),
        ]);
        let error = TelemetryConfig::from_lookup("generate", vars).unwrap_err();
        assert!(
            error.to_string().contains("`TELEMETRY_FLUSH_MS`"),
            "{error}"
        );
        assert!(error.to_string().contains("`soon`"), "{error}");
    }
}
