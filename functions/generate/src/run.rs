//! One generation run: an uploaded object in, pack, games and manifest out, telemetry at every
//! step.
//!
//! Telemetry is emitted with `emit`, which never blocks or fails, and flushed once per run
//! before the manifest is written, so the manifest carries the run's own flush report. A bad
//! document ends as a failed manifest and an `Ok` outcome; only storage and encoding faults are
//! errors, and a run they end reports `run_completed` as failed before they are returned,
//! even when an earlier `run_completed` said it succeeded (the manifest could not be written).
//!
//! The run reads the object version its notification names (its ETag and version id) and no
//! other. When a newer upload replaced that version first, the run is skipped without a
//! manifest, so a late notification never overwrites newer outputs. A notification naming no
//! version is read first, so the document id and the duplicate check use the version
//! actually read.

use std::time::Instant as StdInstant;

use packforge_telemetry::{
    DropContext, FlushOptions, FlushReport, TelemetryClient, TelemetryEvent,
    event::{
        ArtifactRecorded, EventBody, Extra, GuardrailEvaluated, Pipeline, RunCompleted, RunError,
        RunStarted, RunStatus, Source,
    },
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::time::Instant;

use crate::{
    config::GenerateConfig,
    error::{GenerateError, error_chain},
    keys::{OutputKeys, output_keys},
    manifest::{
        MANIFEST_VERSION, Manifest, ManifestArtifacts, ManifestError, ManifestSource,
        ManifestStatus,
    },
    notification::ObjectRef,
    pipeline::{Artifacts, PipelineOutput, RunFailure, run_pipeline},
    storage::{Fetched, ObjectStore, RequestedVersion, StoredObject},
};

/// The invocation a run belongs to.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Identifies the function and request in every event.
    pub source: Source,
    /// The invocation's deadline, which bounds the telemetry flush.
    pub deadline: Option<Instant>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Pack, games and a succeeded manifest were written.
    Succeeded {
        /// The manifest's key.
        manifest_key: String,
        /// The run's telemetry report.
        telemetry: FlushReport,
    },
    /// The document was refused or failed its guardrails; a failed manifest was written.
    Failed {
        /// The manifest's key.
        manifest_key: String,
        /// The error kind.
        kind: String,
        /// The run's telemetry report.
        telemetry: FlushReport,
    },
    /// This object version was already processed; nothing was regenerated.
    Duplicate {
        /// The existing manifest's key.
        manifest_key: String,
    },
    /// A newer upload replaced the version the notification named; nothing was written.
    Superseded,
    /// The key is outside the upload prefix.
    Ignored,
}

/// Processes one uploaded object.
///
/// # Errors
///
/// Storage and encoding faults, which the caller turns into a failed invocation.
pub async fn process<S: ObjectStore>(
    store: &S,
    config: &GenerateConfig,
    telemetry: &TelemetryClient,
    invocation: &Invocation,
    object: &ObjectRef,
) -> Result<RunOutcome, GenerateError> {
    let Some(keys) = output_keys(&object.key, &config.upload_prefix, &config.output_prefix) else {
        tracing::info!(key = %object.key, "key outside the upload prefix; ignored");
        return Ok(RunOutcome::Ignored);
    };
    let started = StdInstant::now();
    let started_at = OffsetDateTime::now_utc();
    let mut source = ManifestSource {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        etag: object.etag.clone(),
        version_id: object.version_id.clone(),
        size: object.size,
    };
    // EventBridge replays and some emulators name no version: without reading the object
    // first, every version of the key would share one document id and none could be
    // recognised as already processed.
    let read_early = if source.etag.is_none() && source.version_id.is_none() {
        let fetched = store
            .fetch(
                &source.bucket,
                &source.key,
                RequestedVersion::default(),
                config.max_document_bytes,
            )
            .await?;
        identify(&mut source, &fetched);
        Some(fetched)
    } else {
        None
    };
    if is_duplicate(store, &keys, &source).await? {
        tracing::info!(manifest = %keys.manifest, "object version already processed; skipped");
        return Ok(RunOutcome::Duplicate {
            manifest_key: keys.manifest,
        });
    }

    let mut run = Run {
        telemetry,
        invocation,
        run_id: uuid::Uuid::now_v7().to_string(),
        document_id: document_id(&source),
        pipeline: Pipeline::LearningPack,
    };
    run.emit(EventBody::RunStarted(RunStarted {
        bucket: source.bucket.clone(),
        key: source.key.clone(),
        etag: source.etag.clone(),
        size_bytes: source.size.unwrap_or(0),
        extra: Extra::new(),
    }));

    let fetched = match read_early {
        Some(fetched) => fetched,
        None => {
            let requested = RequestedVersion {
                version_id: source.version_id.as_deref(),
                etag: source.etag.as_deref(),
            };
            let fetched = store
                .fetch(
                    &source.bucket,
                    &source.key,
                    requested,
                    config.max_document_bytes,
                )
                .await;
            match fetched {
                Ok(fetched) => {
                    identify(&mut source, &fetched);
                    fetched
                }
                Err(error) => return Err(run.abort(error, started).await),
            }
        }
    };
    let object = match fetched {
        Fetched::Object(object) => object,
        Fetched::Missing => {
            let failure = RunFailure::new(
                "object_missing",
                "the uploaded object no longer exists",
                Pipeline::LearningPack,
            );
            let output = PipelineOutput::failed(failure);
            return run
                .finish(store, &keys, source, output, started, started_at)
                .await;
        }
        Fetched::TooLarge { size, .. } => {
            source.size = Some(size);
            let failure = RunFailure::new(
                "too_large",
                format!(
                    "object is {size} bytes, more than `MAX_DOCUMENT_BYTES` ({})",
                    config.max_document_bytes
                ),
                Pipeline::LearningPack,
            );
            let output = PipelineOutput::failed(failure);
            return run
                .finish(store, &keys, source, output, started, started_at)
                .await;
        }
        Fetched::Superseded => {
            tracing::info!(run_id = %run.run_id, "a newer version replaced this one; skipped");
            run.completed(
                RunStatus::Failed,
                Some(RunError {
                    kind: SUPERSEDED.into(),
                    message: "a newer upload replaced this version before it was read".into(),
                }),
                0,
                started,
            );
            let _ = run.flush().await;
            return Ok(RunOutcome::Superseded);
        }
    };
    let StoredObject { bytes, .. } = object;
    source.size = Some(bytes.len() as u64);

    // Extraction and generation are CPU-bound; off the async workers they leave the telemetry
    // shipper free to deliver events while they run.
    let key = source.key.clone();
    let max_bytes = config.max_document_bytes;
    let output = tokio::task::spawn_blocking(move || run_pipeline(&bytes, &key, max_bytes))
        .await
        .unwrap_or_else(|panic| {
            tracing::error!(error = %panic, "generation panicked; the run is failed");
            PipelineOutput::failed(RunFailure::new(
                "internal_error",
                "generation failed unexpectedly",
                Pipeline::LearningPack,
            ))
        });
    run.finish(store, &keys, source, output, started, started_at)
        .await
}

/// `run_completed` error kind of a run skipped because a newer upload replaced its version.
pub const SUPERSEDED: &str = "superseded";

/// Completes `source` with the identity of the version read, where the notification left it out.
fn identify(source: &mut ManifestSource, fetched: &Fetched) {
    let (etag, version_id) = match fetched {
        Fetched::Object(object) => (&object.etag, &object.version_id),
        Fetched::TooLarge {
            etag, version_id, ..
        } => (etag, version_id),
        Fetched::Missing | Fetched::Superseded => return,
    };
    // Only what the notification left out: what it named is what the fetch checked.
    if source.etag.is_none() {
        source.etag.clone_from(etag);
    }
    if source.version_id.is_none() {
        source.version_id.clone_from(version_id);
    }
}

struct Run<'a> {
    telemetry: &'a TelemetryClient,
    invocation: &'a Invocation,
    run_id: String,
    document_id: String,
    pipeline: Pipeline,
}

impl Run<'_> {
    fn emit(&self, body: EventBody) {
        self.telemetry.emit(TelemetryEvent::new(
            self.run_id.clone(),
            self.document_id.clone(),
            self.pipeline,
            self.invocation.source.clone(),
            body,
        ));
    }

    fn completed(
        &self,
        status: RunStatus,
        error: Option<RunError>,
        artifacts: u32,
        started: StdInstant,
    ) {
        self.emit(EventBody::RunCompleted(RunCompleted {
            status,
            duration_ms: started.elapsed().as_millis() as u64,
            artifact_count: artifacts,
            error,
            extra: Extra::new(),
        }));
    }

    async fn flush(&self) -> FlushReport {
        self.telemetry
            .flush(FlushOptions {
                lambda_deadline: self.invocation.deadline,
                context: DropContext {
                    run_id: Some(self.run_id.clone()),
                    document_id: Some(self.document_id.clone()),
                },
            })
            .await
    }

    /// Ends a run that hit a storage or encoding fault: its telemetry still says how it ended.
    async fn abort(&self, error: GenerateError, started: StdInstant) -> GenerateError {
        tracing::warn!(run_id = %self.run_id, error = %error_chain(&error), "run aborted");
        self.completed(
            RunStatus::Failed,
            Some(RunError {
                kind: error.kind().into(),
                message: error.to_string(),
            }),
            0,
            started,
        );
        let _ = self.flush().await;
        error
    }

    async fn finish<S: ObjectStore>(
        &mut self,
        store: &S,
        keys: &OutputKeys,
        source: ManifestSource,
        output: PipelineOutput,
        started: StdInstant,
        started_at: OffsetDateTime,
    ) -> Result<RunOutcome, GenerateError> {
        for verdict in &output.verdicts {
            self.pipeline = verdict.pipeline;
            let sensitive = (!verdict.excerpts.is_empty()).then(|| {
                let mut map = Extra::new();
                map.insert("excerpts".into(), json!(verdict.excerpts));
                map
            });
            self.emit(EventBody::GuardrailEvaluated(GuardrailEvaluated {
                guardrail: verdict.guardrail.clone(),
                verdict: verdict.verdict,
                items_checked: verdict.items_checked,
                items_repaired: verdict.items_repaired,
                items_removed: verdict.items_removed,
                detail: verdict.detail.clone(),
                sensitive,
                extra: Extra::new(),
            }));
        }

        let (status, error, artifacts) = match output.result {
            Ok(artifacts) => match self.write_artifacts(store, keys, &source, artifacts).await {
                Ok(written) => (ManifestStatus::Succeeded, None, written),
                Err(error) => return Err(self.abort(error, started).await),
            },
            Err(failure) => {
                self.pipeline = failure.stage;
                tracing::info!(run_id = %self.run_id, kind = %failure.kind, "document refused");
                let error = ManifestError {
                    kind: failure.kind,
                    message: failure.message,
                };
                (
                    ManifestStatus::Failed,
                    Some(error),
                    ManifestArtifacts::default(),
                )
            }
        };
        let artifact_count =
            u32::from(artifacts.learning_pack.is_some()) + u32::from(artifacts.games.is_some());
        let run_status = match status {
            ManifestStatus::Succeeded => RunStatus::Succeeded,
            ManifestStatus::Failed => RunStatus::Failed,
        };
        let run_error = error.as_ref().map(|error| RunError {
            kind: error.kind.clone(),
            message: error.message.clone(),
        });
        self.completed(run_status, run_error, artifact_count, started);
        let report = self.flush().await;

        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            status,
            error: error.clone(),
            document_id: self.document_id.clone(),
            run_id: self.run_id.clone(),
            source: source.clone(),
            artifacts,
            document: output.document,
            telemetry: serde_json::to_value(report).unwrap_or(Value::Null),
            started_at: started_at.format(&Rfc3339).unwrap_or_default(),
            duration_ms: started.elapsed().as_millis() as u64,
        };
        // `run_completed` was already emitted and flushed, so the manifest carries a complete
        // report; a manifest that cannot be written must then still mark the run failed.
        let body = match serde_json::to_vec_pretty(&manifest) {
            Ok(body) => body,
            Err(source) => {
                let error = GenerateError::Encode {
                    artifact: "manifest",
                    source,
                };
                return Err(self.abort(error, started).await);
            }
        };
        if let Err(error) = store.put_json(&source.bucket, &keys.manifest, body).await {
            return Err(self.abort(error, started).await);
        }

        Ok(match error {
            None => RunOutcome::Succeeded {
                manifest_key: keys.manifest.clone(),
                telemetry: report,
            },
            Some(error) => RunOutcome::Failed {
                manifest_key: keys.manifest.clone(),
                kind: error.kind,
                telemetry: report,
            },
        })
    }

    async fn write_artifacts<S: ObjectStore>(
        &mut self,
        store: &S,
        keys: &OutputKeys,
        source: &ManifestSource,
        artifacts: Artifacts,
    ) -> Result<ManifestArtifacts, GenerateError> {
        let writes = [
            (
                "learning_pack",
                Pipeline::LearningPack,
                &keys.learning_pack,
                artifacts.learning_pack_json,
                artifacts.pack_items,
            ),
            (
                "games",
                Pipeline::Games,
                &keys.games,
                artifacts.games_json,
                artifacts.game_items,
            ),
        ];
        for (artifact, pipeline, key, body, items) in writes {
            let bytes = body.len() as u64;
            store.put_json(&source.bucket, key, body).await?;
            self.pipeline = pipeline;
            let mut sensitive = Extra::new();
            sensitive.insert("title".into(), json!(artifacts.title));
            self.emit(EventBody::ArtifactRecorded(ArtifactRecorded {
                artifact: artifact.into(),
                key: key.clone(),
                bytes,
                item_count: items,
                sensitive: Some(sensitive),
                extra: Extra::new(),
            }));
        }
        Ok(ManifestArtifacts {
            learning_pack: Some(keys.learning_pack.clone()),
            games: Some(keys.games.clone()),
        })
    }
}

async fn is_duplicate<S: ObjectStore>(
    store: &S,
    keys: &OutputKeys,
    source: &ManifestSource,
) -> Result<bool, GenerateError> {
    let Some(existing) = store.read_optional(&source.bucket, &keys.manifest).await? else {
        return Ok(false);
    };
    match serde_json::from_slice::<Manifest>(&existing) {
        Ok(manifest) => Ok(manifest.source.same_version(source) && manifest.is_settled()),
        Err(error) => {
            tracing::warn!(manifest = %keys.manifest, %error, "existing manifest unreadable; regenerating");
            Ok(false)
        }
    }
}

/// A stable id for an object version: the same upload always maps to the same document.
pub fn document_id(source: &ManifestSource) -> String {
    let mut hasher = Sha256::new();
    for part in [
        source.bucket.as_str(),
        source.key.as_str(),
        source
            .version_id
            .as_deref()
            .or(source.etag.as_deref())
            .unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{MemoryStore, RecordingTransport, invocation, recorded_telemetry};

    const SAMPLE: &[u8] = include_bytes!("../../../shared/learning/samples/photosynthesis.md");
    const MANIFEST: &str = "packs/a.md/manifest.json";

    fn upload(etag: Option<&str>) -> ObjectRef {
        ObjectRef {
            bucket: "uploads".into(),
            key: "uploads/a.md".into(),
            size: None,
            etag: etag.map(str::to_string),
            version_id: None,
        }
    }

    fn stored_manifest(store: &MemoryStore) -> Option<Manifest> {
        let bytes = store.get(MANIFEST)?;
        Some(serde_json::from_slice(&bytes).expect("manifest decodes"))
    }

    async fn run_recorded(
        store: &MemoryStore,
        object: &ObjectRef,
    ) -> (Result<RunOutcome, GenerateError>, RecordingTransport) {
        let (telemetry, recorded) = recorded_telemetry();
        let config = GenerateConfig::default();
        let outcome = process(store, &config, &telemetry, &invocation(), object).await;
        (outcome, recorded)
    }

    async fn run(store: &MemoryStore, object: &ObjectRef) -> Result<RunOutcome, GenerateError> {
        run_recorded(store, object).await.0
    }

    #[tokio::test]
    async fn a_manifest_that_cannot_be_written_reports_the_run_failed() {
        let store = MemoryStore::default();
        store.insert("uploads/a.md", SAMPLE, "e1");
        store.refuse_writes("manifest.json", true);

        let (outcome, recorded) = run_recorded(&store, &upload(Some("e1"))).await;

        assert!(outcome.unwrap_err().is_retryable());
        let completions = recorded.completions();
        let last = completions.last().expect("run_completed");
        assert_eq!(last.status, RunStatus::Failed, "{completions:?}");
        assert_eq!(
            last.error.as_ref().map(|error| error.kind.as_str()),
            Some("storage_unavailable")
        );
        assert!(stored_manifest(&store).is_none());
    }

    #[tokio::test]
    async fn a_superseded_version_is_skipped_without_a_manifest() {
        let store = MemoryStore::default();
        store.insert("uploads/a.md", SAMPLE, "newer");

        let (outcome, recorded) = run_recorded(&store, &upload(Some("older"))).await;
        let outcome = outcome.unwrap();

        assert_eq!(outcome, RunOutcome::Superseded);
        assert!(stored_manifest(&store).is_none());
        let completions = recorded.completions();
        assert_eq!(completions.len(), 1, "{completions:?}");
        assert_eq!(completions[0].status, RunStatus::Failed);
        assert_eq!(completions[0].error.as_ref().unwrap().kind, SUPERSEDED);
    }

    #[tokio::test]
    async fn a_notification_without_etag_takes_the_identity_of_the_version_read() {
        let store = MemoryStore::default();
        store.insert("uploads/a.md", SAMPLE, "e1");

        let outcome = run(&store, &upload(None)).await.unwrap();

        assert!(
            matches!(outcome, RunOutcome::Succeeded { .. }),
            "{outcome:?}"
        );
        let manifest = stored_manifest(&store).unwrap();
        assert_eq!(manifest.source.etag.as_deref(), Some("e1"));
        let mut unidentified = manifest.source.clone();
        unidentified.etag = None;
        assert_eq!(manifest.document_id, document_id(&manifest.source));
        assert_ne!(manifest.document_id, document_id(&unidentified));
        assert!(matches!(
            run(&store, &upload(None)).await.unwrap(),
            RunOutcome::Duplicate { .. }
        ));
    }

    #[tokio::test]
    async fn a_transient_failure_does_not_block_the_same_version() {
        let store = MemoryStore::default();
        store.insert("uploads/a.md", SAMPLE, "e1");
        run(&store, &upload(Some("e1"))).await.unwrap();
        let mut manifest = stored_manifest(&store).unwrap();
        manifest.status = ManifestStatus::Failed;
        manifest.error = Some(ManifestError {
            kind: "internal_error".into(),
            message: "generation failed unexpectedly".into(),
        });
        store.insert(MANIFEST, &serde_json::to_vec(&manifest).unwrap(), "m");

        let outcome = run(&store, &upload(Some("e1"))).await.unwrap();

        assert!(
            matches!(outcome, RunOutcome::Succeeded { .. }),
            "{outcome:?}"
        );
        assert_ne!(stored_manifest(&store).unwrap().run_id, manifest.run_id);
    }

    #[tokio::test]
    async fn a_bad_document_settles_its_version() {
        let store = MemoryStore::default();
        store.insert("uploads/a.md", b"", "e1");
        let first = run(&store, &upload(Some("e1"))).await.unwrap();
        assert!(matches!(first, RunOutcome::Failed { .. }), "{first:?}");

        let again = run(&store, &upload(Some("e1"))).await.unwrap();

        assert!(matches!(again, RunOutcome::Duplicate { .. }), "{again:?}");
    }
}
