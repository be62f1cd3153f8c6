//! The Lambda handler: one invocation payload in, one run per object, a summary out.
//!
//! Each record runs in its own span (bucket, key) and on its own: a bad document or a
//! malformed record never fails the others, and ends as a finished run. Once every record was
//! tried, a record that hit a transient fault fails the invocation with a `Retryable` error
//! (the retry finds the finished records by their manifests and skips them); failing that, a
//! record that hit a permanent fault (access denied, an encoding error) fails it with a
//! `NonRetryable` one, so the event reaches the on-failure destination instead of vanishing.
//! Lambda's asynchronous retries do not read the error type: a `NonRetryable` invocation is
//! still retried (twice by default) before it goes there; the type tells operators which
//! failures a retry can cure.

use packforge_telemetry::{TelemetryClient, event::Source};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::{
    config::GenerateConfig,
    error::{InvocationError, error_chain},
    notification::{Entry, Notification, parse},
    run::{Invocation, RunOutcome, process},
    storage::ObjectStore,
};

/// What the invocation did, record by record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvocationSummary {
    /// One line per record, in order.
    pub records: Vec<RecordSummary>,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordSummary {
    /// Decoded key, when the record named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `succeeded`, `failed`, `duplicate`, `superseded`, `ignored`, `malformed` or `error`.
    pub outcome: &'static str,
    /// The manifest written or found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Error kind or reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Handles one invocation payload.
///
/// # Errors
///
/// After every record was tried: a `Retryable` error when a record hit a transient fault,
/// else a `NonRetryable` one when a record hit a permanent fault.
pub async fn handle<S: ObjectStore>(
    store: &S,
    config: &GenerateConfig,
    telemetry: &TelemetryClient,
    invocation: &Invocation,
    payload: &Value,
) -> Result<InvocationSummary, InvocationError> {
    let entries = match parse(payload) {
        Notification::TestEvent => {
            tracing::info!("s3 test event ignored");
            return Ok(InvocationSummary::default());
        }
        Notification::Unrecognized(reason) => {
            tracing::error!(reason, "invocation payload not understood");
            return Err(InvocationError {
                retryable: false,
                message: format!("unrecognized payload: {reason}"),
            });
        }
        Notification::Entries(entries) => entries,
    };

    let mut summary = InvocationSummary::default();
    let mut retryable_errors = Vec::new();
    let mut permanent_errors = Vec::new();
    for entry in entries {
        let object = match entry {
            Entry::Object(object) => object,
            Entry::Malformed(reason) => {
                tracing::error!(reason, "malformed record skipped");
                summary.records.push(RecordSummary {
                    key: None,
                    outcome: "malformed",
                    manifest: None,
                    detail: Some(reason),
                });
                continue;
            }
        };
        let span = tracing::info_span!("record", bucket = %object.bucket, key = %object.key);
        let result = process(store, config, telemetry, invocation, &object)
            .instrument(span)
            .await;
        let key = Some(object.key.clone());
        let record = match result {
            Ok(RunOutcome::Succeeded { manifest_key, .. }) => RecordSummary {
                key,
                outcome: "succeeded",
                manifest: Some(manifest_key),
                detail: None,
            },
            Ok(RunOutcome::Failed {
                manifest_key, kind, ..
            }) => RecordSummary {
                key,
                outcome: "failed",
                manifest: Some(manifest_key),
                detail: Some(kind),
            },
            Ok(RunOutcome::Duplicate { manifest_key }) => RecordSummary {
                key,
                outcome: "duplicate",
                manifest: Some(manifest_key),
                detail: None,
            },
            Ok(RunOutcome::Superseded) => RecordSummary {
                key,
                outcome: "superseded",
                manifest: None,
                detail: Some("a newer upload replaced this version".into()),
            },
            Ok(RunOutcome::Ignored) => RecordSummary {
                key,
                outcome: "ignored",
                manifest: None,
                detail: Some("outside the upload prefix".into()),
            },
            Err(error) => {
                let message = error_chain(&error);
                tracing::error!(key = %object.key, error = %message, retryable = error.is_retryable(), "record failed");
                if error.is_retryable() {
                    retryable_errors.push(message.clone());
                } else {
                    permanent_errors.push(message.clone());
                }
                RecordSummary {
                    key,
                    outcome: "error",
                    manifest: None,
                    detail: Some(message),
                }
            }
        };
        summary.records.push(record);
    }

    // A retry may clear the transient faults and reach the permanent ones again, so those
    // decide; only a retry that cannot help sends the event on as non-retryable.
    for (retryable, errors, what) in [
        (true, &retryable_errors, "a transient fault"),
        (false, &permanent_errors, "a permanent fault"),
    ] {
        if !errors.is_empty() {
            return Err(InvocationError {
                retryable,
                message: format!(
                    "{} of {} records hit {what}: {}",
                    errors.len(),
                    summary.records.len(),
                    errors.join("; ")
                ),
            });
        }
    }
    Ok(summary)
}

/// The event source fields of a Lambda invocation.
pub fn lambda_source(context: &lambda_runtime::Context) -> Source {
    Source {
        function_name: context.env_config.function_name.clone(),
        function_version: context.env_config.version.clone(),
        request_id: context.request_id.clone(),
        trace_id: context.xray_trace_id.clone(),
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use lambda_runtime::Diagnostic;
    use serde_json::json;

    use super::*;
    use crate::test_support::{MemoryStore, invocation, recorded_telemetry};

    const SAMPLE: &[u8] = include_bytes!("../../../shared/learning/samples/photosynthesis.md");

    fn notification(keys: &[&str]) -> Value {
        let records: Vec<Value> = keys
            .iter()
            .map(|key| {
                json!({
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": { "name": "uploads" },
                        "object": { "key": key, "eTag": "e1" }
                    }
                })
            })
            .collect();
        json!({ "Records": records })
    }

    async fn invoke(
        store: &MemoryStore,
        keys: &[&str],
    ) -> Result<InvocationSummary, InvocationError> {
        let (telemetry, _) = recorded_telemetry();
        let config = GenerateConfig::default();
        handle(
            store,
            &config,
            &telemetry,
            &invocation(),
            &notification(keys),
        )
        .await
    }

    fn store_with(keys: &[&str]) -> MemoryStore {
        let store = MemoryStore::default();
        for key in keys {
            store.insert(key, SAMPLE, "e1");
        }
        store
    }

    #[tokio::test]
    async fn a_permanent_fault_fails_the_invocation_as_non_retryable_after_every_record() {
        let keys = ["uploads/denied.md", "uploads/fine.md"];
        let store = store_with(&keys);
        store.refuse_writes("denied.md/learning-pack.json", false);

        let error = invoke(&store, &keys).await.unwrap_err();

        assert!(!error.retryable, "{error}");
        assert_eq!(Diagnostic::from(error).error_type, "NonRetryable");
        assert!(store.get("packs/fine.md/manifest.json").is_some());
    }

    #[tokio::test]
    async fn a_transient_fault_outranks_a_permanent_one() {
        let keys = ["uploads/denied.md", "uploads/throttled.md"];
        let store = store_with(&keys);
        store.refuse_writes("denied.md/learning-pack.json", false);
        store.refuse_writes("throttled.md/learning-pack.json", true);

        let error = invoke(&store, &keys).await.unwrap_err();

        assert!(error.retryable, "{error}");
        assert_eq!(Diagnostic::from(error).error_type, "Retryable");
    }

    #[tokio::test]
    async fn a_bad_document_is_a_finished_run_and_the_invocation_succeeds() {
        let store = MemoryStore::default();
        store.insert("uploads/empty.txt", b"", "e1");

        let summary = invoke(&store, &["uploads/empty.txt"]).await.unwrap();

        assert_eq!(summary.records[0].outcome, "failed");
        assert!(store.get("packs/empty.txt/manifest.json").is_some());
    }
}
