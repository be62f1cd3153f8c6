//! Telemetry event schema, version 1: one JSON object per SQS message.
//!
//! The wire shape is fixed by the storage contract: `schema_version`, `event_id` (UUIDv7),
//! `type`, `occurred_at` (RFC 3339 UTC), `run_id`, `document_id`, `pipeline`, `source` and a
//! type-specific `payload`. Fields this version does not know are kept in `extra` maps so a newer
//! producer never loses data on its way through an older writer. Anything derived from document
//! text or model output lives under `payload.sensitive`, which the writer encrypts before
//! storage; nothing outside that object may hold such text.
//!
//! Decoding never panics: [`TelemetryEvent::from_json`] returns a [`DecodeError`] that says
//! whether the message is poison (retrying cannot help) and why.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// The only schema version this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Arbitrary extra JSON fields, kept as received.
pub type Extra = Map<String, Value>;

/// One telemetry event about a generation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    /// Always [`SCHEMA_VERSION`] for events built by this crate.
    pub schema_version: u32,
    /// Unique id (UUIDv7, so ids sort by creation time); MongoDB `_id` of the stored event.
    pub event_id: Uuid,
    /// When the event happened, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The generation run this event belongs to.
    pub run_id: String,
    /// The document being processed (stable across runs of the same object version).
    pub document_id: String,
    /// The stage that emitted the event.
    pub pipeline: Pipeline,
    /// Which function invocation emitted the event.
    pub source: Source,
    /// `type` and `payload` on the wire.
    #[serde(flatten)]
    pub body: EventBody,
    /// Top-level fields unknown to this version, kept as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The generation stage an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pipeline {
    /// Document to learning pack (summary, concepts, flashcards, questions).
    LearningPack,
    /// Learning pack to games.
    Games,
}

/// The emitting function invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Lambda function name.
    pub function_name: String,
    /// Lambda function version (`$LATEST` when unpublished).
    pub function_version: String,
    /// Lambda request id of the invocation.
    pub request_id: String,
    /// X-Ray trace id, when tracing is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Fields unknown to this version.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The event `type` with its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum EventBody {
    /// A run began for an uploaded object.
    RunStarted(RunStarted),
    /// An artifact was written.
    ArtifactRecorded(ArtifactRecorded),
    /// A guardrail checked the items of one stage.
    GuardrailEvaluated(GuardrailEvaluated),
    /// The run finished, successfully or not.
    RunCompleted(RunCompleted),
}

/// The discriminant of [`EventBody`], as written in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// `run_started`
    RunStarted,
    /// `artifact_recorded`
    ArtifactRecorded,
    /// `guardrail_evaluated`
    GuardrailEvaluated,
    /// `run_completed`
    RunCompleted,
}

impl EventType {
    /// The wire name, as in the `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunStarted => "run_started",
            Self::ArtifactRecorded => "artifact_recorded",
            Self::GuardrailEvaluated => "guardrail_evaluated",
            Self::RunCompleted => "run_completed",
        }
    }
}

/// Payload of `run_started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// Source bucket.
    pub bucket: String,
    /// Source key, decoded.
    pub key: String,
    /// Source object ETag, when the notification carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Source object size in bytes.
    pub size_bytes: u64,
    /// Fields unknown to this version.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Payload of `artifact_recorded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRecorded {
    /// Which artifact, e.g. `learning_pack` or `games`.
    pub artifact: String,
    /// S3 key it was written to.
    pub key: String,
    /// Size of the written object.
    pub bytes: u64,
    /// Number of items (questions, cards, games) it holds.
    pub item_count: u32,
    /// Document-derived text (for example a title); encrypted by the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<Extra>,
    /// Fields unknown to this version.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Payload of `guardrail_evaluated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardrailEvaluated {
    /// Guardrail name, e.g. `answer_in_options`.
    pub guardrail: String,
    /// Overall verdict for the stage.
    pub verdict: Verdict,
    /// Items the guardrail looked at.
    pub items_checked: u32,
    /// Items it repaired.
    pub items_repaired: u32,
    /// Items it removed.
    pub items_removed: u32,
    /// Short reason, free of document text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Excerpts of offending items; encrypted by the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<Extra>,
    /// Fields unknown to this version.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A guardrail's verdict on one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every item passed unchanged.
    Passed,
    /// Some items were repaired or removed; enough remain.
    Repaired,
    /// Too few items remain; the run fails.
    Failed,
}

/// Payload of `run_completed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCompleted {
    /// How the run ended.
    pub status: RunStatus,
    /// Wall time of the run, milliseconds.
    pub duration_ms: u64,
    /// Artifacts written.
    pub artifact_count: u32,
    /// Why the run failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// Fields unknown to this version.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Final status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Pack and games were written.
    Succeeded,
    /// The document could not be turned into a pack.
    Failed,
}

/// The error of a failed run: a stable kind and a message free of document text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    /// Stable machine-readable kind, e.g. `empty_document`.
    pub kind: String,
    /// Human-readable message.
    pub message: String,
}

/// Why a message could not be decoded as a telemetry event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not a JSON object.
    #[error("message body is not a JSON object")]
    NotJson(#[source] serde_json::Error),
    /// `schema_version` is absent or not a number.
    #[error("message has no numeric `schema_version`")]
    MissingSchemaVersion,
    /// A version this crate cannot read.
    #[error("unsupported schema version `{0}`")]
    UnsupportedSchemaVersion(u64),
    /// Required fields are missing or have the wrong type.
    #[error("event does not match schema v1")]
    Invalid(#[source] serde_json::Error),
}

impl DecodeError {
    /// A short stable reason, used as the DLQ message attribute and drop-counter name.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "not_json",
            Self::MissingSchemaVersion => "missing_schema_version",
            Self::UnsupportedSchemaVersion(_) => "unsupported_schema_version",
            Self::Invalid(_) => "invalid_event",
        }
    }
}

impl TelemetryEvent {
    /// Builds an event with a fresh UUIDv7 id, stamped now.
    pub fn new(
        run_id: impl Into<String>,
        document_id: impl Into<String>,
        pipeline: Pipeline,
        source: Source,
        body: EventBody,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            occurred_at: OffsetDateTime::now_utc(),
            run_id: run_id.into(),
            document_id: document_id.into(),
            pipeline,
            source,
            body,
            extra: Extra::new(),
        }
    }

    /// The event's `type`.
    pub fn event_type(&self) -> EventType {
        match self.body {
            EventBody::RunStarted(_) => EventType::RunStarted,
            EventBody::ArtifactRecorded(_) => EventType::ArtifactRecorded,
            EventBody::GuardrailEvaluated(_) => EventType::GuardrailEvaluated,
            EventBody::RunCompleted(_) => EventType::RunCompleted,
        }
    }

    /// Decodes one SQS message body, checking the schema version before the shape so that a
    /// future version is reported as such rather than as a malformed v1 event.
    ///
    /// # Errors
    ///
    /// Every error is a poison message: the same body will never decode.
    pub fn from_json(body: &str) -> Result<Self, DecodeError> {
        let value: Value = serde_json::from_str(body).map_err(DecodeError::NotJson)?;
        let Some(object) = value.as_object() else {
            return Err(DecodeError::NotJson(serde::de::Error::custom(
                "not an object",
            )));
        };
        let version = object
            .get("schema_version")
            .and_then(Value::as_u64)
            .ok_or(DecodeError::MissingSchemaVersion)?;
        if version != u64::from(SCHEMA_VERSION) {
            return Err(DecodeError::UnsupportedSchemaVersion(version));
        }
        serde_json::from_value(value).map_err(DecodeError::Invalid)
    }

    /// Encodes the event as one SQS message body.
    ///
    /// # Errors
    ///
    /// Fails only if a caller-supplied extra value cannot be represented as JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source() -> Source {
        Source {
            function_name: "generate".into(),
            function_version: "$LATEST".into(),
            request_id: "c6af9ac6-7b61-11e6-9a41-93e812345678".into(),
            trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793".into()),
            extra: Extra::new(),
        }
    }

    fn completed() -> TelemetryEvent {
        TelemetryEvent::new(
            "run-1",
            "doc-1",
            Pipeline::Games,
            source(),
            EventBody::RunCompleted(RunCompleted {
                status: RunStatus::Failed,
                duration_ms: 42,
                artifact_count: 0,
                error: Some(RunError {
                    kind: "empty_document".into(),
                    message: "document has no text".into(),
                }),
                extra: Extra::new(),
            }),
        )
    }

    #[test]
    fn every_event_type_round_trips_through_json() {
        let bodies = [
            EventBody::RunStarted(RunStarted {
                bucket: "uploads".into(),
                key: "uploads/a b.pdf".into(),
                etag: Some("abc".into()),
                size_bytes: 10,
                extra: Extra::new(),
            }),
            EventBody::ArtifactRecorded(ArtifactRecorded {
                artifact: "learning_pack".into(),
                key: "packs/a/learning-pack.json".into(),
                bytes: 100,
                item_count: 12,
                sensitive: Some(
                    json!({"title": "Photosynthesis"})
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
                extra: Extra::new(),
            }),
            EventBody::GuardrailEvaluated(GuardrailEvaluated {
                guardrail: "answer_in_options".into(),
                verdict: Verdict::Repaired,
                items_checked: 10,
                items_repaired: 1,
                items_removed: 2,
                detail: None,
                sensitive: None,
                extra: Extra::new(),
            }),
            completed().body,
        ];
        for body in bodies {
            let event = TelemetryEvent::new("r", "d", Pipeline::LearningPack, source(), body);
            let text = event.to_json().unwrap();
            assert_eq!(TelemetryEvent::from_json(&text).unwrap(), event, "{text}");
        }
    }

    #[test]
    fn wire_shape_matches_the_storage_contract() {
        let event = completed();
        let value: Value = serde_json::from_str(&event.to_json().unwrap()).unwrap();

        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["type"], "run_completed");
        assert_eq!(value["pipeline"], "games");
        assert_eq!(value["payload"]["status"], "failed");
        assert_eq!(value["payload"]["error"]["kind"], "empty_document");
        assert_eq!(value["source"]["function_name"], "generate");
        assert_eq!(event.event_id.get_version_num(), 7);
        let occurred = value["occurred_at"].as_str().unwrap();
        assert!(occurred.ends_with('Z'), "not UTC: {occurred}");
    }

    #[test]
    fn unknown_fields_are_kept_at_every_level() {
        let mut value: Value = serde_json::to_value(completed()).unwrap();
        value["future_top"] = json!({"a": 1});
        value["source"]["region"] = json!("eu-west-1");
        value["payload"]["tokens"] = json!(17);

        let event = TelemetryEvent::from_json(&value.to_string()).unwrap();
        let again: Value = serde_json::from_str(&event.to_json().unwrap()).unwrap();

        assert_eq!(again["future_top"], json!({"a": 1}));
        assert_eq!(again["source"]["region"], "eu-west-1");
        assert_eq!(again["payload"]["tokens"], 17);
    }

    #[test]
    fn unknown_schema_version_is_reported_before_shape() {
        let body = json!({"schema_version": 2, "whatever": true}).to_string();
        let error = TelemetryEvent::from_json(&body).unwrap_err();
        assert!(matches!(error, DecodeError::UnsupportedSchemaVersion(2)));
        assert_eq!(error.reason(), "unsupported_schema_version");
    }

    #[test]
    fn malformed_bodies_are_classified() {
        let cases = [
            ("not json", "not_json"),
            ("[1,2]", "not_json"),
            ("{\"run_id\": \"r\"}", "missing_schema_version"),
            (
                "{\"schema_version\": 1, \"run_id\": \"r\"}",
                "invalid_event",
            ),
        ];
        for (body, reason) in cases {
            let error = TelemetryEvent::from_json(body).unwrap_err();
            assert_eq!(error.reason(), reason, "{body}");
        }
    }

    #[test]
    fn unknown_event_type_is_invalid() {
        let mut value: Value = serde_json::to_value(completed()).unwrap();
        value["type"] = json!("run_paused");
        let error = TelemetryEvent::from_json(&value.to_string()).unwrap_err();
        assert_eq!(error.reason(), "invalid_event");
    }
}
