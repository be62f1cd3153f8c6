//! The run summary in `generation_runs`: one document per run, `_id` = run id.
//!
//! SQS delivers at least once and in no particular order, so the summary is maintained only
//! with updates that are idempotent and commutative: minimum and maximum of dates and ranks,
//! and sorted set unions of ids and names. Applying the same events again, in any order, any
//! number of times, gives the same document. Counters are sizes of those sets, never `$inc`,
//! which would count a redelivered event twice.
//!
//! Each update is an aggregation pipeline so the counters and the status are derived from the
//! merged sets in the same atomic write. Every field is set on every update (null while
//! unknown), so field order does not depend on which event arrived first. Values from events
//! are wrapped in `$literal`: a string starting with `$` must never be read as a field path.

use std::collections::BTreeSet;

use mongodb::bson::{Bson, Document, doc};
use packforge_telemetry::{
    TelemetryEvent,
    event::{EventBody, RunStatus, Verdict},
};

use crate::document::bson_date;

/// Collection of run summaries, `_id` = run id.
pub const RUNS_COLLECTION: &str = "generation_runs";

/// Rank of a run's status; the summary keeps the highest seen. A run that reported both
/// outcomes shows as failed: the generate function reports a failure after a success when the
/// run's manifest could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusRank {
    /// Events arrived but no `run_completed`.
    Running = 0,
    /// A `run_completed` with status `succeeded`.
    Succeeded = 1,
    /// A `run_completed` with status `failed`.
    Failed = 2,
}

/// The upsert of one run's summary with the events of one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RunUpdate {
    /// The run's id, the summary's `_id`.
    pub run_id: String,
    /// The update pipeline.
    pub pipeline: Vec<Document>,
}

/// Builds the summary update for `events`, which all belong to `run_id`.
pub fn run_update(run_id: &str, events: &[&TelemetryEvent]) -> RunUpdate {
    let mut contribution = Contribution::default();
    for event in events {
        contribution.add(event);
    }
    RunUpdate {
        run_id: run_id.to_string(),
        pipeline: contribution.pipeline(),
    }
}

#[derive(Default)]
struct Contribution {
    document_ids: BTreeSet<String>,
    event_ids: BTreeSet<String>,
    event_types: BTreeSet<String>,
    pipelines: BTreeSet<String>,
    artifacts: BTreeSet<String>,
    failed_guardrails: BTreeSet<String>,
    error_kinds: BTreeSet<String>,
    first_event_at: Option<time::OffsetDateTime>,
    last_event_at: Option<time::OffsetDateTime>,
    started_at: Option<time::OffsetDateTime>,
    completed_at: Option<time::OffsetDateTime>,
    source_bucket: Option<String>,
    source_key: Option<String>,
    duration_ms: Option<u64>,
    status_rank: Option<StatusRank>,
}

impl Contribution {
    fn add(&mut self, event: &TelemetryEvent) {
        let at = event.occurred_at;
        self.document_ids.insert(event.document_id.clone());
        self.event_ids.insert(event.event_id.to_string());
        self.event_types
            .insert(event.event_type().as_str().to_string());
        self.pipelines.insert(pipeline_name(event));
        self.first_event_at = min(self.first_event_at, Some(at));
        self.last_event_at = max(self.last_event_at, Some(at));
        self.status_rank = max(self.status_rank, Some(StatusRank::Running));

        match &event.body {
            EventBody::RunStarted(started) => {
                self.started_at = min(self.started_at, Some(at));
                self.source_bucket = min(self.source_bucket.take(), Some(started.bucket.clone()));
                self.source_key = min(self.source_key.take(), Some(started.key.clone()));
            }
            EventBody::ArtifactRecorded(artifact) => {
                self.artifacts.insert(artifact.key.clone());
            }
            EventBody::GuardrailEvaluated(guardrail) => {
                if guardrail.verdict == Verdict::Failed {
                    self.failed_guardrails.insert(guardrail.guardrail.clone());
                }
            }
            EventBody::RunCompleted(completed) => {
                self.completed_at = max(self.completed_at, Some(at));
                self.duration_ms = max(self.duration_ms, Some(completed.duration_ms));
                let rank = match completed.status {
                    RunStatus::Succeeded => StatusRank::Succeeded,
                    RunStatus::Failed => StatusRank::Failed,
                };
                self.status_rank = max(self.status_rank, Some(rank));
                if let Some(error) = &completed.error {
                    self.error_kinds.insert(error.kind.clone());
                }
            }
        }
    }

    fn pipeline(self) -> Vec<Document> {
        let document_id = self.document_ids.into_iter().next();
        let rank = self.status_rank.unwrap_or(StatusRank::Running) as i32;
        let merge = doc! {
            "document_id": keep_min("document_id", literal(document_id)),
            "source_bucket": keep_min("source_bucket", literal(self.source_bucket)),
            "source_key": keep_min("source_key", literal(self.source_key)),
            "first_event_at": keep_min("first_event_at", date(self.first_event_at)),
            "last_event_at": keep_max("last_event_at", date(self.last_event_at)),
            "started_at": keep_min("started_at", date(self.started_at)),
            "completed_at": keep_max("completed_at", date(self.completed_at)),
            "duration_ms": keep_max("duration_ms", number(self.duration_ms)),
            "status_rank": { "$max": [{ "$ifNull": ["$status_rank", 0] }, rank] },
            "event_ids": sorted_union("event_ids", self.event_ids),
            "event_types": sorted_union("event_types", self.event_types),
            "pipelines": sorted_union("pipelines", self.pipelines),
            "artifacts": sorted_union("artifacts", self.artifacts),
            "failed_guardrails": sorted_union("failed_guardrails", self.failed_guardrails),
            "error_kinds": sorted_union("error_kinds", self.error_kinds),
        };
        let derive = doc! {
            "status": {
                "$switch": {
                    "branches": [
                        { "case": { "$eq": ["$status_rank", StatusRank::Failed as i32] },
                          "then": "failed" },
                        { "case": { "$eq": ["$status_rank", StatusRank::Succeeded as i32] },
                          "then": "succeeded" },
                    ],
                    "default": "running",
                }
            },
            "event_count": { "$size": "$event_ids" },
            "artifact_count": { "$size": "$artifacts" },
        };
        vec![doc! { "$set": merge }, doc! { "$set": derive }]
    }
}

fn pipeline_name(event: &TelemetryEvent) -> String {
    serde_json::to_value(event.pipeline)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn min<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    a.max(b)
}

/// `$min` ignores null and missing operands, so an unknown value keeps what is stored.
fn keep_min(field: &str, value: Bson) -> Document {
    doc! { "$min": [format!("${field}"), value] }
}

fn keep_max(field: &str, value: Bson) -> Document {
    doc! { "$max": [format!("${field}"), value] }
}

fn sorted_union(field: &str, values: BTreeSet<String>) -> Document {
    let values: Vec<Bson> = values.into_iter().map(Bson::String).collect();
    doc! {
        "$sortArray": {
            "input": { "$setUnion": [
                { "$ifNull": [format!("${field}"), []] },
                { "$literal": values },
            ] },
            "sortBy": 1,
        }
    }
}

fn literal(value: Option<String>) -> Bson {
    match value {
        Some(text) => Bson::Document(doc! { "$literal": text }),
        None => Bson::Null,
    }
}

fn date(value: Option<time::OffsetDateTime>) -> Bson {
    value.map(bson_date).unwrap_or(Bson::Null)
}

fn number(value: Option<u64>) -> Bson {
    value
        .and_then(|n| i64::try_from(n).ok())
        .map(Bson::Int64)
        .unwrap_or(Bson::Null)
}

#[cfg(test)]
mod tests {
    use packforge_telemetry::event::{
        Extra, GuardrailEvaluated, Pipeline, RunCompleted, RunError, RunStarted, Source,
    };

    use super::*;

    fn event(body: EventBody) -> TelemetryEvent {
        let source = Source {
            function_name: "generate".into(),
            function_version: "1".into(),
            request_id: "req".into(),
            trace_id: None,
            extra: Extra::new(),
        };
        TelemetryEvent::new("run-1", "doc-1", Pipeline::LearningPack, source, body)
    }

    fn started() -> TelemetryEvent {
        event(EventBody::RunStarted(RunStarted {
            bucket: "uploads".into(),
            key: "$uploads/notes.pdf".into(),
            etag: None,
            size_bytes: 1,
            extra: Extra::new(),
        }))
    }

    fn failed() -> TelemetryEvent {
        event(EventBody::RunCompleted(RunCompleted {
            status: RunStatus::Failed,
            duration_ms: 12,
            artifact_count: 0,
            error: Some(RunError {
                kind: "empty_document".into(),
                message: "no text".into(),
            }),
            extra: Extra::new(),
        }))
    }

    fn guardrail(verdict: Verdict) -> TelemetryEvent {
        event(EventBody::GuardrailEvaluated(GuardrailEvaluated {
            guardrail: "answer_in_options".into(),
            verdict,
            items_checked: 4,
            items_repaired: 0,
            items_removed: 4,
            detail: None,
            sensitive: None,
            extra: Extra::new(),
        }))
    }

    #[test]
    fn the_same_events_in_any_order_build_the_same_update() {
        let events = [started(), guardrail(Verdict::Failed), failed()];
        let forward: Vec<_> = events.iter().collect();
        let backward: Vec<_> = events.iter().rev().collect();
        let doubled: Vec<_> = events.iter().chain(events.iter()).collect();

        let update = run_update("run-1", &forward);
        assert_eq!(update, run_update("run-1", &backward));
        assert_eq!(update, run_update("run-1", &doubled));
    }

    #[test]
    fn every_field_is_set_whatever_the_events() {
        let only_started = run_update("run-1", &[&started()]);
        let only_failed = run_update("run-1", &[&failed()]);
        let keys = |update: &RunUpdate| -> Vec<String> {
            update.pipeline[0]
                .get_document("$set")
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(keys(&only_started), keys(&only_failed));
    }

    #[test]
    fn event_values_are_literals() {
        let update = run_update("run-1", &[&started()]);
        let merge = update.pipeline[0].get_document("$set").unwrap();
        let key = merge.get_document("source_key").unwrap();
        let operands = key.get_array("$min").unwrap();
        assert_eq!(operands[0], Bson::String("$source_key".into()));
        assert_eq!(
            operands[1],
            Bson::Document(doc! { "$literal": "$uploads/notes.pdf" })
        );
    }

    #[test]
    fn failure_outranks_success() {
        assert!(StatusRank::Failed > StatusRank::Succeeded);
        let update = run_update("run-1", &[&failed(), &guardrail(Verdict::Passed)]);
        let merge = update.pipeline[0].get_document("$set").unwrap();
        let rank = merge.get_document("status_rank").unwrap();
        assert_eq!(rank.get_array("$max").unwrap()[1], Bson::Int32(2));
    }
}
