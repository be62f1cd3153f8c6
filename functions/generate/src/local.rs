//! Running the generate job on a local file, with no cloud account: the document is copied
//! into a directory that stands in for the bucket, processed by the same [`process`] as in
//! Lambda, and its telemetry is written as JSON lines beside the outputs instead of to SQS.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{Context, bail};
use packforge_telemetry::{
    TelemetryClient, TelemetryConfig,
    event::Source,
    transport::{BatchResult, OutgoingEntry, Transport, TransportError},
};

use crate::{
    config::GenerateConfig,
    notification::ObjectRef,
    run::{Invocation, RunOutcome, process},
    storage::{DirectoryStore, ObjectStore},
};

/// The bucket name the local directory stands in for.
pub const LOCAL_BUCKET: &str = "local";

/// Appends each delivered event to a JSON-lines file, so the local run's telemetry can be read.
#[derive(Debug, Clone)]
pub struct JsonLinesTransport {
    path: PathBuf,
    lock: Arc<Mutex<()>>,
}

impl JsonLinesTransport {
    /// Events go to `path`, appended.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Arc::default(),
        }
    }
}

impl Transport for JsonLinesTransport {
    async fn send_batch(&self, entries: Vec<OutgoingEntry>) -> Result<BatchResult, TransportError> {
        use std::io::Write;
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            for entry in &entries {
                writeln!(file, "{}", entry.body)?;
            }
            Ok(())
        };
        write().map_err(|error| {
            TransportError::new(
                packforge_telemetry::retry::RetryAction::Drop,
                false,
                format!("writing `{}`", self.path.display()),
                error,
            )
        })?;
        Ok(BatchResult::default())
    }
}

/// What a local run produced.
#[derive(Debug)]
pub struct LocalRun {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The directory standing in for the bucket.
    pub store: DirectoryStore,
    /// The JSON-lines telemetry file.
    pub telemetry_file: PathBuf,
}

/// Processes `document` as if it had been uploaded to `uploads/<file name>`, writing outputs
/// under `out_dir`.
///
/// # Errors
///
/// Fails when the document cannot be copied or an output cannot be written.
pub async fn run_local(document: &Path, out_dir: &Path) -> anyhow::Result<LocalRun> {
    let config = GenerateConfig::default();
    let Some(name) = document.file_name().and_then(|name| name.to_str()) else {
        bail!("document path `{}` has no file name", document.display());
    };
    let bytes =
        std::fs::read(document).with_context(|| format!("reading `{}`", document.display()))?;
    let store = DirectoryStore::new(out_dir);
    let key = format!("{}{name}", config.upload_prefix);
    store.put_json(LOCAL_BUCKET, &key, bytes.clone()).await?;

    std::fs::create_dir_all(out_dir)?;
    let telemetry_file = out_dir.join("telemetry.jsonl");
    let telemetry = TelemetryClient::builder(TelemetryConfig {
        component: "generate".into(),
        ..TelemetryConfig::default()
    })
    .start(JsonLinesTransport::new(&telemetry_file));
    let invocation = Invocation {
        source: Source {
            function_name: "packforge-generate".into(),
            function_version: env!("CARGO_PKG_VERSION").into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            trace_id: None,
            extra: Default::default(),
        },
        deadline: None,
    };
    let object = ObjectRef {
        bucket: LOCAL_BUCKET.into(),
        key,
        size: Some(bytes.len() as u64),
        // A content hash stands in for the ETag, so a changed file is processed again.
        etag: Some(content_hash(&bytes)),
        version_id: None,
    };
    let outcome = process(&store, &config, &telemetry, &invocation, &object).await?;
    Ok(LocalRun {
        outcome,
        store,
        telemetry_file,
    })
}

fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
