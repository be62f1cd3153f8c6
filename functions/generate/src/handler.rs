//! The Lambda handler: one invocation payload in, one run per object, a summary out.
//!
//! Each record runs in its own span (bucket, key) and on its own: a bad document or a
//! malformed record never fails the others. If any record hit a retryable storage fault, the
//! invocation fails with a `Retryable` error after all records were tried; the retry finds
//! the finished ones by their manifests and skips them.

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
    /// `succeeded`, `failed`, `duplicate`, `ignored`, `malformed` or `error`.
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
/// A `Retryable` error when a record hit a transient storage fault, after every record was
/// tried.
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
    let mut retry_errors = Vec::new();
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
                    retry_errors.push(message.clone());
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

    if !retry_errors.is_empty() {
        return Err(InvocationError {
            retryable: true,
            message: format!(
                "{} of {} records hit a transient fault: {}",
                retry_errors.len(),
                summary.records.len(),
                retry_errors.join("; ")
            ),
        });
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
