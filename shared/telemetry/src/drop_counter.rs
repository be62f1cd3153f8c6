//! Durable drop accounting: one DynamoDB `UpdateItem ADD` per flush, with a CloudWatch EMF line
//! on stdout as the fallback record.
//!
//! The table item is keyed by component (`pk`) and UTC day (`sk`), one number attribute per
//! drop reason, plus `expires_at` for TTL. Recording is fail-open: the table write is bounded by
//! a deadline, and whatever happens to it an EMF line carries the same counts (with
//! `DropCounterWritten` saying whether the table has them too), so a lost write is still visible
//! in CloudWatch and can drive an alarm. When the write's answer was lost rather than refused,
//! the line also says `DropCounterWriteUncertain`: the table may hold those counts as well.
//! A WARN log with the run and document ids accompanies every record.

use std::{fmt, io::Write, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, format_description::well_known::Iso8601};
use tokio::time::Instant;

use crate::error::error_chain;

/// CloudWatch namespace of the EMF drop metrics.
pub const METRIC_NAMESPACE: &str = "Packforge/Telemetry";
/// Metric carrying the total number of dropped events in one record.
pub const TOTAL_METRIC: &str = "TelemetryDropped";

/// How long counter items are kept before DynamoDB's TTL removes them.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);

/// Where EMF lines go: stdout in Lambda, a capture buffer in tests.
pub type EmfSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Prints each EMF line on stdout, where Lambda ships it to CloudWatch Logs.
pub fn stdout_sink() -> EmfSink {
    // `println!` panics when stdout is closed; losing the line is better than failing a flush.
    Arc::new(|line| {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    })
}

/// The drop-counter table for one component.
#[derive(Clone)]
pub struct DropCounterTable {
    client: Client,
    table_name: String,
    component: String,
    retention: Duration,
}

impl fmt::Debug for DropCounterTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropCounterTable")
            .field("table_name", &self.table_name)
            .field("component", &self.component)
            .finish_non_exhaustive()
    }
}

/// Why the drop counters could not be written to DynamoDB.
#[derive(Debug, thiserror::Error)]
pub enum DropCounterError {
    /// The write did not finish before the deadline.
    #[error("drop-counter write timed out")]
    Timeout,
    /// DynamoDB or the network failed the request.
    #[error("drop-counter write failed")]
    Request {
        /// Whether DynamoDB may have applied the write although no answer arrived.
        ambiguous: bool,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl DropCounterError {
    /// Whether the table may hold the counts despite the error (the answer, not the request,
    /// was lost), in which case the EMF line may count them a second time.
    pub fn is_uncertain(&self) -> bool {
        match self {
            Self::Timeout => true,
            Self::Request { ambiguous, .. } => *ambiguous,
        }
    }
}

impl DropCounterTable {
    /// Counters of `component` (`generate`, `telemetry-writer`) in `table_name`.
    pub fn new(
        client: Client,
        table_name: impl Into<String>,
        component: impl Into<String>,
    ) -> Self {
        Self {
            client,
            table_name: table_name.into(),
            component: component.into(),
            retention: DEFAULT_RETENTION,
        }
    }

    /// Overrides how long items live before TTL expiry (default about 13 months).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The component this table writes under (`pk`).
    pub fn component(&self) -> &str {
        &self.component
    }

    /// Adds `counts` to today's item in one `UpdateItem`; reasons with a zero count are skipped.
    ///
    /// # Errors
    ///
    /// Returns the SDK error, boxed; the caller decides how to fall back.
    pub async fn add(
        &self,
        counts: &[(&str, u64)],
        now: OffsetDateTime,
    ) -> Result<(), DropCounterError> {
        let counts: Vec<_> = counts.iter().filter(|(_, n)| *n > 0).collect();
        if counts.is_empty() {
            return Ok(());
        }
        let day = utc_day(now);
        let expires_at = now.unix_timestamp() + self.retention.as_secs() as i64;

        // Reason names are attribute names; `#` placeholders keep any that collide with
        // DynamoDB's reserved words legal.
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .key("pk", AttributeValue::S(self.component.clone()))
            .key("sk", AttributeValue::S(day))
            .expression_attribute_names("#expires_at", "expires_at")
            .expression_attribute_values(":expires_at", AttributeValue::N(expires_at.to_string()));
        let mut additions = Vec::with_capacity(counts.len());
        for (index, (reason, n)) in counts.iter().enumerate() {
            additions.push(format!("#r{index} :r{index}"));
            request = request
                .expression_attribute_names(format!("#r{index}"), *reason)
                .expression_attribute_values(
                    format!(":r{index}"),
                    AttributeValue::N(n.to_string()),
                );
        }
        let expression = format!("ADD {} SET #expires_at = :expires_at", additions.join(", "));

        request
            .update_expression(expression)
            .send()
            .await
            .map_err(|error| DropCounterError::Request {
                ambiguous: crate::transport::is_ambiguous(&error),
                source: Box::new(error),
            })?;
        Ok(())
    }
}

/// Identifies what the drops belong to, for the WARN log and the EMF line.
#[derive(Debug, Clone, Default)]
pub struct DropContext {
    /// Generation run id, when known.
    pub run_id: Option<String>,
    /// Document id, when known.
    pub document_id: Option<String>,
}

/// Records drops: the table write bounded by `deadline`, then one EMF line and one WARN log.
///
/// Returns whether the table write succeeded. Never fails and never waits past `deadline`.
pub async fn record_drops(
    table: Option<&DropCounterTable>,
    component: &str,
    counts: &[(&str, u64)],
    context: &DropContext,
    deadline: Instant,
    emf: &EmfSink,
) -> bool {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return true;
    }
    let now = OffsetDateTime::now_utc();

    let mut uncertain = false;
    let written = match table {
        Some(table) => {
            let attempt = tokio::time::timeout_at(deadline, table.add(counts, now)).await;
            match attempt.unwrap_or(Err(DropCounterError::Timeout)) {
                Ok(()) => true,
                Err(error) => {
                    uncertain = error.is_uncertain();
                    tracing::warn!(
                        component,
                        error = %error_chain(&error),
                        uncertain,
                        "drop counters not written to table; emf line carries them"
                    );
                    false
                }
            }
        }
        None => false,
    };

    emf(&emf_line(
        component, counts, context, written, uncertain, now,
    ));
    let reasons = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| format!("{reason}={n}"))
        .collect::<Vec<_>>()
        .join(",");
    tracing::warn!(
        component,
        run_id = context.run_id.as_deref().unwrap_or(""),
        document_id = context.document_id.as_deref().unwrap_or(""),
        dropped = total,
        reasons,
        table_written = written,
        "telemetry dropped"
    );
    written
}

/// One CloudWatch embedded-metric-format line carrying `counts`. `write_uncertain` marks a
/// table write whose answer was lost, so whoever reconciles the table with the metrics knows
/// these counts may be in both.
pub fn emf_line(
    component: &str,
    counts: &[(&str, u64)],
    context: &DropContext,
    table_written: bool,
    write_uncertain: bool,
    now: OffsetDateTime,
) -> String {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let mut metrics = vec![json!({"Name": TOTAL_METRIC, "Unit": "Count"})];
    let mut root = Map::new();
    root.insert(TOTAL_METRIC.into(), json!(total));
    for (reason, n) in counts {
        let name = format!("Dropped_{reason}");
        metrics.push(json!({"Name": name, "Unit": "Count"}));
        root.insert(name, json!(n));
    }
    let timestamp_ms = now.unix_timestamp_nanos() / 1_000_000;
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms as i64,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["Component"]],
                "Metrics": metrics,
            }],
        }),
    );
    root.insert("Component".into(), json!(component));
    root.insert("DropCounterWritten".into(), json!(table_written));
    if write_uncertain {
        root.insert("DropCounterWriteUncertain".into(), json!(true));
    }
    if let Some(run_id) = &context.run_id {
        root.insert("run_id".into(), json!(run_id));
    }
    if let Some(document_id) = &context.document_id {
        root.insert("document_id".into(), json!(document_id));
    }
    Value::Object(root).to_string()
}

/// The UTC day `YYYY-MM-DD` used as the sort key.
pub fn utc_day(now: OffsetDateTime) -> String {
    let date = now.to_offset(time::UtcOffset::UTC).date();
    let text = date.format(&Iso8601::DATE).unwrap_or_default();
    // Iso8601::DATE renders years beyond 9999 with a sign; plain years are what we store.
    text.trim_start_matches('+').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn day_key_is_the_utc_date() {
        assert_eq!(utc_day(datetime!(2026-12-03 23:30 -02:00)), "2026-12-04");
        assert_eq!(utc_day(datetime!(2026-01-05 00:00 UTC)), "2026-01-05");
    }

    #[test]
    fn emf_line_declares_every_metric_it_carries() {
        let context = DropContext {
            run_id: Some("run-1".into()),
            document_id: Some("doc-1".into()),
        };
        let counts = [("buffer_full", 2), ("flush_timeout", 5)];
        let line = emf_line(
            "generate",
            &counts,
            &context,
            false,
            true,
            datetime!(2026-12-03 12:00 UTC),
        );
        let value: Value = serde_json::from_str(&line).unwrap();

        assert!(!line.contains('\n'));
        assert_eq!(value["TelemetryDropped"], 7);
        assert_eq!(value["Dropped_flush_timeout"], 5);
        assert_eq!(value["Component"], "generate");
        assert_eq!(value["DropCounterWritten"], false);
        assert_eq!(value["DropCounterWriteUncertain"], true);
        assert_eq!(value["run_id"], "run-1");
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], METRIC_NAMESPACE);
        let names: Vec<_> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|metric| metric["Name"].as_str().unwrap().to_string())
            .collect();
        for name in &names {
            assert!(value.get(name).is_some(), "metric {name} has no value");
        }
        assert_eq!(value["_aws"]["Timestamp"], 1_796_299_200_000_i64);
    }
}
