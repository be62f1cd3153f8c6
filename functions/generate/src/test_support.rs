//! Doubles for the unit tests: an in-memory [`ObjectStore`] that can be told to refuse writes,
//! and a telemetry client whose events can be read back.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use packforge_telemetry::{
    TelemetryClient, TelemetryConfig, TelemetryEvent,
    event::{EventBody, RunCompleted, Source},
    transport::{BatchResult, OutgoingEntry, Transport, TransportError},
};

use crate::{
    error::GenerateError,
    run::Invocation,
    storage::{Fetched, ObjectStore, RequestedVersion, StoredObject},
};

/// Objects in memory, each with an ETag; writes to keys ending in a refused suffix fail.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<String, StoredObject>>,
    refused: Mutex<Vec<(String, bool)>>,
}

impl MemoryStore {
    /// Stores `bytes` at `key` under `etag`, replacing what was there.
    pub fn insert(&self, key: &str, bytes: &[u8], etag: &str) {
        let object = StoredObject {
            bytes: bytes.to_vec(),
            etag: Some(etag.into()),
            version_id: None,
        };
        self.lock_objects().insert(key.into(), object);
    }

    /// Makes writes to keys ending in `suffix` fail, retryable or not.
    pub fn refuse_writes(&self, suffix: &str, retryable: bool) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(|error| error.into_inner());
        refused.push((suffix.into(), retryable));
    }

    /// The bytes at `key`, if any.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.lock_objects()
            .get(key)
            .map(|object| object.bytes.clone())
    }

    fn lock_objects(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredObject>> {
        self.objects
            .lock()
            .unwrap_or_else(|error| error.into_inner())
    }
}

impl ObjectStore for MemoryStore {
    async fn fetch(
        &self,
        _bucket: &str,
        key: &str,
        requested: RequestedVersion<'_>,
        _max_bytes: u64,
    ) -> Result<Fetched, GenerateError> {
        let Some(object) = self.lock_objects().get(key).cloned() else {
            return Ok(Fetched::Missing);
        };
        if requested.etag.is_some() && requested.etag != object.etag.as_deref() {
            return Ok(Fetched::Superseded);
        }
        Ok(Fetched::Object(object))
    }

    async fn read_optional(
        &self,
        _bucket: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, GenerateError> {
        Ok(self.get(key))
    }

    async fn put_json(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), GenerateError> {
        let refusal = self
            .refused
            .lock()
            .unwrap_or_else(|error| error.into_inner())
            .iter()
            .find(|(suffix, _)| key.ends_with(suffix.as_str()))
            .map(|(_, retryable)| *retryable);
        if let Some(retryable) = refusal {
            return Err(GenerateError::Storage {
                operation: "put",
                bucket: bucket.into(),
                key: key.into(),
                retryable,
                source: "refused by the test".into(),
            });
        }
        self.insert(key, &body, "written");
        Ok(())
    }
}

/// Keeps every event delivered to it.
#[derive(Debug, Clone, Default)]
pub struct RecordingTransport {
    bodies: Arc<Mutex<Vec<String>>>,
}

impl RecordingTransport {
    /// The events delivered so far, decoded.
    pub fn events(&self) -> Vec<TelemetryEvent> {
        self.bodies
            .lock()
            .unwrap_or_else(|error| error.into_inner())
            .iter()
            .map(|body| TelemetryEvent::from_json(body).expect("delivered event decodes"))
            .collect()
    }

    /// The `run_completed` events delivered so far.
    pub fn completions(&self) -> Vec<RunCompleted> {
        self.events()
            .into_iter()
            .filter_map(|event| match event.body {
                EventBody::RunCompleted(completed) => Some(completed),
                _ => None,
            })
            .collect()
    }
}

impl Transport for RecordingTransport {
    async fn send_batch(&self, entries: Vec<OutgoingEntry>) -> Result<BatchResult, TransportError> {
        self.bodies
            .lock()
            .unwrap_or_else(|error| error.into_inner())
            .extend(entries.into_iter().map(|entry| entry.body));
        Ok(BatchResult::default())
    }
}

/// A telemetry client delivering to a [`RecordingTransport`], and the transport.
pub fn recorded_telemetry() -> (TelemetryClient, RecordingTransport) {
    let transport = RecordingTransport::default();
    let client = TelemetryClient::builder(TelemetryConfig {
        component: "generate".into(),
        ..TelemetryConfig::default()
    })
    .start(transport.clone());
    (client, transport)
}

/// An invocation with no deadline.
pub fn invocation() -> Invocation {
    Invocation {
        source: Source {
            function_name: "generate".into(),
            function_version: "$LATEST".into(),
            request_id: "request".into(),
            trace_id: None,
            extra: Default::default(),
        },
        deadline: None,
    }
}
