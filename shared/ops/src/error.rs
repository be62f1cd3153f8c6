//! The operations CLI's error type: each variant says which call failed and on what.

/// Boxed source error from an AWS SDK call.
pub type SdkError = Box<dyn std::error::Error + Send + Sync>;

/// Everything an operations command can fail on.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// An SQS call failed.
    #[error("sqs {operation} on `{queue}` failed")]
    Sqs {
        /// The API call.
        operation: &'static str,
        /// The queue URL or ARN.
        queue: String,
        /// The SDK error.
        #[source]
        source: SdkError,
    },
    /// A queue has no ARN attribute (not an SQS queue, or a broken endpoint).
    #[error("queue `{queue}` reported no QueueArn")]
    MissingQueueArn {
        /// The queue URL.
        queue: String,
    },
    /// A DynamoDB query failed.
    #[error("reading drop counters of `{component}` from table `{table}` failed")]
    DynamoDb {
        /// The table.
        table: String,
        /// The component queried.
        component: String,
        /// The SDK error.
        #[source]
        source: SdkError,
    },
    /// A MongoDB call failed.
    #[error("mongodb {operation} failed")]
    Mongo {
        /// What was attempted.
        operation: &'static str,
        /// The driver error.
        #[source]
        source: mongodb::error::Error,
    },
    /// A decryption key could not be loaded.
    #[error("decryption key from `{variable}` is unusable")]
    Key {
        /// The environment variable that held it.
        variable: String,
        /// Why it was rejected.
        #[source]
        source: telemetry_writer::WriterError,
    },
    /// The variable named by `--key-env` is unset.
    #[error("`{variable}` is not set; export the base64 key there or drop `--key-env`")]
    MissingKey {
        /// The variable name.
        variable: String,
    },
}
