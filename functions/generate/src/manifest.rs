//! The manifest written beside every run's outputs: what was processed, how it ended, where
//! the artifacts are, and what the run's telemetry delivered and lost.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// `succeeded` or `failed`.
    pub status: ManifestStatus,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ManifestError>,
    /// Stable id of the object version processed.
    pub document_id: String,
    /// Id of this run; the telemetry events carry it.
    pub run_id: String,
    /// The upload.
    pub source: ManifestSource,
    /// Keys of the artifacts written (none for failed runs).
    pub artifacts: ManifestArtifacts,
    /// Facts about the document (kind, pages, words), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// The run's telemetry flush report: emitted, sent, dropped by reason.
    pub telemetry: Value,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time of the run up to writing the manifest.
    pub duration_ms: u64,
}

/// Error kinds the document itself causes: the same version fails the same way every time.
/// Others (`internal_error`, `object_missing`, `generation_failed`) may not happen again.
pub const DOCUMENT_FAULT_KINDS: &[&str] = &[
    "too_large",
    "unsupported_type",
    "invalid_encoding",
    "encrypted_pdf",
    "corrupt_document",
    "unsafe_archive",
    "empty_document",
    "guardrail_failed",
];

impl Manifest {
    /// Whether the run settled its object version for good, so a later delivery of the same
    /// version is a duplicate: it succeeded, or it failed for the document's own fault.
    pub fn is_settled(&self) -> bool {
        match (self.status, &self.error) {
            (ManifestStatus::Succeeded, _) => true,
            (ManifestStatus::Failed, Some(error)) => {
                DOCUMENT_FAULT_KINDS.contains(&error.kind.as_str())
            }
            (ManifestStatus::Failed, None) => false,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestStatus {
    /// Pack and games written.
    Succeeded,
    /// No pack: the document was refused or generation failed its guardrails.
    Failed,
}

/// A failed run's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestError {
    /// Stable kind, e.g. `empty_document`.
    pub kind: String,
    /// Human-readable message.
    pub message: String,
}

/// The upload a run processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    /// Bucket.
    pub bucket: String,
    /// Decoded key.
    pub key: String,
    /// ETag, when known.
    #[serde(default)]
    pub etag: Option<String>,
    /// Version id, for versioned buckets.
    #[serde(default)]
    pub version_id: Option<String>,
    /// Size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
}

/// Artifact keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestArtifacts {
    /// `learning-pack.json` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_pack: Option<String>,
    /// `games.json` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub games: Option<String>,
}

impl ManifestSource {
    /// Whether `self` (from an earlier manifest) names the same object version as `other`:
    /// the version ids match when both have one, else the ETags match. Without either,
    /// nothing can be proven the same.
    pub fn same_version(&self, other: &ManifestSource) -> bool {
        if self.bucket != other.bucket || self.key != other.key {
            return false;
        }
        match (&self.version_id, &other.version_id) {
            (Some(a), Some(b)) => a == b,
            _ => matches!((&self.etag, &other.etag), (Some(a), Some(b)) if a == b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(etag: Option<&str>, version: Option<&str>) -> ManifestSource {
        ManifestSource {
            bucket: "b".into(),
            key: "uploads/a.md".into(),
            etag: etag.map(str::to_string),
            version_id: version.map(str::to_string),
            size: None,
        }
    }

    fn manifest(status: ManifestStatus, kind: Option<&str>) -> Manifest {
        Manifest {
            manifest_version: MANIFEST_VERSION,
            status,
            error: kind.map(|kind| ManifestError {
                kind: kind.into(),
                message: "m".into(),
            }),
            document_id: "d".into(),
            run_id: "r".into(),
            source: source(Some("e1"), None),
            artifacts: ManifestArtifacts::default(),
            document: None,
            telemetry: Value::Null,
            started_at: String::new(),
            duration_ms: 0,
        }
    }

    #[test]
    fn successes_and_document_faults_settle_a_version_but_transient_failures_do_not() {
        assert!(manifest(ManifestStatus::Succeeded, None).is_settled());
        assert!(manifest(ManifestStatus::Failed, Some("empty_document")).is_settled());
        assert!(manifest(ManifestStatus::Failed, Some("guardrail_failed")).is_settled());
        assert!(!manifest(ManifestStatus::Failed, Some("internal_error")).is_settled());
        assert!(!manifest(ManifestStatus::Failed, Some("object_missing")).is_settled());
        assert!(!manifest(ManifestStatus::Failed, None).is_settled());
    }

    #[test]
    fn same_version_prefers_version_ids_then_etags() {
        assert!(source(Some("e1"), None).same_version(&source(Some("e1"), None)));
        assert!(!source(Some("e1"), None).same_version(&source(Some("e2"), None)));
        assert!(!source(Some("e1"), Some("v1")).same_version(&source(Some("e1"), Some("v2"))));
        assert!(source(Some("e1"), Some("v1")).same_version(&source(Some("e9"), Some("v1"))));
        assert!(!source(None, None).same_version(&source(None, None)));
    }
}
