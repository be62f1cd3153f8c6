//! The writer's error type.
//!
//! Configuration errors stop the container at cold start, before any message is received, and
//! name the variable to fix. Everything else is scoped to a batch or to one record: the handler
//! turns record-level errors into `batchItemFailures` and returns an error for the whole
//! invocation only when it cannot report a failure record by record.

use lambda_runtime::Diagnostic;

/// Boxed source error from an AWS SDK call.
pub type SdkError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in the telemetry writer.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// A required environment variable is unset or empty.
    #[error("missing required configuration `{name}`: {hint}")]
    MissingConfig {
        /// The variable to set.
        name: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// A variable is set to a value the writer cannot use.
    #[error("invalid configuration `{name}`: {reason}")]
    InvalidConfig {
        /// The variable at fault.
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// A value and the Secrets Manager ARN for the same setting are both set.
    #[error("set either `{value}` or `{secret_arn}`, not both")]
    ConflictingConfig {
        /// The plain variable.
        value: &'static str,
        /// The variable naming a secret.
        secret_arn: &'static str,
    },
    /// Secrets Manager did not return the secret.
    #[error("could not read secret `{arn}` named by `{name}`")]
    Secret {
        /// The variable holding the ARN.
        name: &'static str,
        /// The secret's ARN.
        arn: String,
        /// The SDK error.
        #[source]
        source: SdkError,
    },
    /// The secret exists but holds binary data or nothing.
    #[error("secret `{arn}` named by `{name}` has no string value")]
    SecretNotString {
        /// The variable holding the ARN.
        name: &'static str,
        /// The secret's ARN.
        arn: String,
    },
    /// The encryption key is not base64 of 32 bytes.
    #[error("invalid encryption key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// AES-GCM refused to encrypt (the plaintext is beyond its length limit).
    #[error("encrypting sensitive fields failed")]
    Encrypt,
    /// The ciphertext was not produced by this key for this event, or was altered.
    #[error("decrypting with key `{key_id}` failed")]
    Decrypt {
        /// The key id recorded beside the ciphertext.
        key_id: String,
    },
    /// A stored envelope has the wrong shape.
    #[error("malformed encrypted field: {reason}")]
    MalformedEnvelope {
        /// What is missing or wrong.
        reason: String,
    },
    /// No configured key has the id recorded beside the ciphertext.
    #[error("no key with id `{key_id}` was given")]
    UnknownKey {
        /// The key id recorded beside the ciphertext.
        key_id: String,
    },
    /// MongoDB could not be reached or refused the operation.
    #[error("mongodb {operation} failed")]
    Mongo {
        /// What was attempted.
        operation: &'static str,
        /// The driver error.
        #[source]
        source: mongodb::error::Error,
    },
    /// An operation did not finish within its time budget.
    #[error("{operation} timed out")]
    Timeout {
        /// What was attempted.
        operation: &'static str,
    },
    /// A decoded event could not be turned into a BSON document.
    #[error("event cannot be stored as bson")]
    Document(#[source] mongodb::bson::error::Error),
    /// A decoded event could not be turned back into JSON.
    #[error("event cannot be serialized as json")]
    Json(#[source] serde_json::Error),
    /// The dead-letter queue did not accept a poison message.
    #[error("sending poison message to the dead-letter queue failed")]
    DeadLetter(#[source] SdkError),
    /// Records without a message id failed, so the failure cannot be reported per record.
    #[error(
        "{count} failed record(s) have no message id; failing the whole batch so it is retried"
    )]
    UnreportableFailures {
        /// How many such records failed.
        count: usize,
    },
}

impl WriterError {
    /// Whether retrying the same work later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Secret { .. }
                | Self::Mongo { .. }
                | Self::Timeout { .. }
                | Self::DeadLetter(_)
                | Self::UnreportableFailures { .. }
        )
    }
}

/// Lambda reports the error type, so operators can tell at a glance whether a retry can help.
impl From<WriterError> for Diagnostic {
    fn from(error: WriterError) -> Self {
        let error_type = if error.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error_chain(&error),
        }
    }
}

pub use packforge_telemetry::error_chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_say_whether_a_retry_can_help() {
        let missing = WriterError::MissingConfig {
            name: "MONGODB_URI",
            hint: "a mongodb:// connection string",
        };
        let diagnostic = Diagnostic::from(missing);
        assert_eq!(diagnostic.error_type, "NonRetryable");
        assert!(diagnostic.error_message.contains("`MONGODB_URI`"));

        let timeout = Diagnostic::from(WriterError::Timeout {
            operation: "insert",
        });
        assert_eq!(timeout.error_type, "Retryable");

        // A plaintext too long to encrypt stays too long.
        assert!(!WriterError::Encrypt.is_retryable());
    }
}
