//! Errors of the generate function and how Lambda should treat them.
//!
//! A bad document is not an error of the invocation: it ends as a failed manifest and the
//! invocation succeeds, so Lambda does not retry it. What fails an invocation is a transient
//! fault (S3 unreachable, throttled, 5xx), reported as `Retryable` so Lambda's asynchronous
//! retries and on-failure destination take over; anything else is `NonRetryable`.

use lambda_runtime::Diagnostic;

/// An error of the generate function.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Configuration is missing or malformed.
    #[error("invalid configuration `{name}`: {problem}")]
    Config {
        /// The variable's name.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// S3 could not be read or written.
    #[error("s3 {operation} of `{bucket}/{key}` failed")]
    Storage {
        /// `get`, `put` or `head`.
        operation: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An artifact could not be encoded.
    #[error("artifact `{artifact}` could not be encoded")]
    Encode {
        /// Which artifact.
        artifact: &'static str,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
}

impl GenerateError {
    /// Stable snake_case name of the error, the `error.kind` of the run it ended.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config { .. } => "invalid_configuration",
            Self::Storage {
                retryable: true, ..
            } => "storage_unavailable",
            Self::Storage { .. } => "storage_error",
            Self::Encode { .. } => "internal_error",
        }
    }

    /// Whether retrying the invocation can help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Storage {
                retryable: true,
                ..
            }
        )
    }
}

/// Lambda's view of a failed invocation.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InvocationError {
    /// Whether Lambda's retry can help.
    pub retryable: bool,
    /// What failed, with sources, on one line.
    pub message: String,
}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Self {
        Diagnostic {
            error_type: if error.retryable {
                "Retryable"
            } else {
                "NonRetryable"
            }
            .into(),
            error_message: error.message,
        }
    }
}

pub use packforge_telemetry::error_chain;
